import numpy as np
import pytest

from likeness_train import world


def test_render_is_deterministic_from_seed():
    a = [world.render(world.sample_scene(world.sample_identity(r), r))[0].tobytes()
         for r in [np.random.default_rng(7)] for _ in range(3)]
    b = [world.render(world.sample_scene(world.sample_identity(r), r))[0].tobytes()
         for r in [np.random.default_rng(7)] for _ in range(3)]
    assert a == b
    c = world.render(world.sample_scene(world.sample_identity(np.random.default_rng(8)), np.random.default_rng(8)))
    assert c[0].tobytes() != a[0]


def test_split_rule_is_fixed_and_about_fifteen_percent():
    idents = world.all_identities()
    assert len(idents) > 2000
    held = [i for i in idents if world.split_of(i) == "heldout"]
    assert 0.12 < len(held) / len(idents) < 0.18
    # the rule is a pure function of the attributes
    assert world.split_of(world.Identity("star", "red", "striped", "blue")) == world.split_of(
        world.Identity("star", "red", "striped", "blue"))
    # every attribute value still appears in training
    train = [i for i in idents if world.split_of(i) == "train"]
    for attr, values in [("shape", world.SHAPES), ("color", world.COLOR_NAMES), ("pattern", world.PATTERNS)]:
        assert {getattr(i, attr) for i in train} == set(values)


def test_sampling_respects_split():
    rng = np.random.default_rng(0)
    assert all(world.split_of(world.sample_identity(rng, "heldout")) == "heldout" for _ in range(200))
    assert all(world.split_of(world.sample_identity(rng, "train")) == "train" for _ in range(200))


def test_render_shapes_and_mask():
    rng = np.random.default_rng(1)
    ident = world.Identity("square", "blue", "checkered", "yellow")
    img, mask = world.render(world.sample_scene(ident, rng, size="large", position="center", companion=None))
    assert img.size == (64, 64) and img.mode == "RGB"
    assert mask.shape == (64, 64)
    share = (mask > 0).mean()
    assert 0.1 < share < 0.6
    arr = np.asarray(img).reshape(-1, 3)
    # both the body and the pattern colour are visible at 64 px
    for c in ("blue", "yellow"):
        d = np.abs(arr.astype(int) - np.array(world.COLORS[c])).sum(1)
        assert (d < 60).sum() > 40, c


def test_caption_scheme_removes_look_words():
    rng = np.random.default_rng(2)
    ident = world.Identity("heart", "green", "dotted", "pink")
    sc = world.sample_scene(ident, rng, companion=None)
    full = world.caption(sc)
    ph = world.caption(sc, "<obj>")
    assert "green heart with pink dots" in full
    assert "<obj>" in ph
    for w in ("green", "heart", "pink", "dots"):
        assert w not in ph.split()
    assert world.BACKGROUNDS[sc.background] in ph


def test_property_prompts_edit_one_attribute():
    ident = world.Identity("star", "red", "striped", "blue")
    text, edited = world.property_prompt(ident, "color", "yellow")
    assert text == "a yellow <obj>" and edited.color == "yellow" and edited.shape == "star"
    text, edited = world.property_prompt(world.Identity("star", "red", "plain", None), "pattern", "dotted")
    assert text == "a dotted <obj>" and edited.pattern == "dotted" and edited.pattern_color is not None


@pytest.mark.parametrize("kwargs,msg", [
    (dict(shape="blob", color="red", pattern="plain", pattern_color=None), "unknown shape"),
    (dict(shape="star", color="teal", pattern="plain", pattern_color=None), "unknown colour"),
    (dict(shape="star", color="red", pattern="spotty", pattern_color="blue"), "unknown pattern"),
    (dict(shape="star", color="red", pattern="striped", pattern_color="red"), "must differ"),
])
def test_unknown_attributes_are_clear_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        world.Identity(**kwargs)


def test_unknown_scene_field_and_property():
    rng = np.random.default_rng(3)
    ident = world.sample_identity(rng)
    with pytest.raises(ValueError, match="unknown background"):
        world.sample_scene(ident, rng, background="moon")
    with pytest.raises(ValueError, match="unknown attribute"):
        world.property_prompt(ident, "shape", "star")


def test_parse_caption_reads_back_every_part_of_the_grammar():
    rng = np.random.default_rng(3)
    seen_companion = seen_plain = seen_pattern = False
    for _ in range(200):
        sc = world.sample_scene(world.sample_identity(rng), rng)
        p = world.parse_caption(world.caption(sc))
        assert (p["size"], p["color"], p["shape"], p["background"], p["position"]) == \
            (sc.size, sc.identity.color, sc.identity.shape, sc.background, sc.position)
        assert p["pattern_color"] == sc.identity.pattern_color
        assert p["pattern_noun"] == world.PATTERN_NOUNS.get(sc.identity.pattern)
        assert p["companion"] == (None if sc.companion is None else (sc.companion.color, sc.companion.shape))
        seen_companion |= sc.companion is not None
        seen_plain |= sc.identity.pattern == "plain"
        seen_pattern |= sc.identity.pattern != "plain"
    assert seen_companion and seen_plain and seen_pattern
    with pytest.raises(ValueError, match="not a full-description caption"):
        world.parse_caption("a large <obj> on the beach, at the left")


def test_partial_caption_leaves_words_out_and_keeps_the_grammar_order():
    full = "a large red star with blue stripes on the beach, at the left, next to a green circle"
    assert world.partial_caption(full, np.random.default_rng(0), keep=1.0, keep_background=1.0) == full
    assert world.partial_caption(full, np.random.default_rng(0), keep=0.0, keep_background=1.0) == \
        "a object on the beach"
    assert world.partial_caption(full, np.random.default_rng(0), "thing", keep=0.0, keep_background=0.0) == "a thing"
    rng = np.random.default_rng(1)
    outs = [world.partial_caption(full, rng) for _ in range(400)]
    vocab = set(full.replace(",", "").split()) | {"object"}
    for o in outs:
        assert set(o.replace(",", "").split()) <= vocab, o
        assert o.startswith("a ")
    # each part is left out in some captions and kept in others
    for part in ("large", "red", "star", "stripes", "blue stripes", "on the beach", "at the left", "next to"):
        share = sum(part in o for o in outs) / len(outs)
        assert 0.05 < share < 0.98, (part, share)
    assert 0.3 < sum(" object" in o for o in outs) / len(outs) < 0.7


def test_partial_caption_with_a_placeholder_leaves_only_context_out():
    full = "a small blue heart on a wooden floor, at the right, next to a red star"
    assert world.partial_caption(full, np.random.default_rng(0), keep=1.0, keep_background=1.0, obj="<obj>") == \
        "a small <obj> on a wooden floor, at the right, next to a red star"
    rng = np.random.default_rng(2)
    outs = [world.partial_caption(full, rng, obj="red <obj>") for _ in range(200)]
    assert all(o.count("red <obj>") == 1 and "blue" not in o and "heart" not in o for o in outs)
    assert len(set(outs)) > 8
