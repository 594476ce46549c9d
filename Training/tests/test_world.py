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
