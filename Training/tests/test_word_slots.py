"""Word slots: a property word right before <obj> ("a red <obj>") sets the object token that the
encoder stage aligned to that attribute's word (models.word_slot_edits / apply_word_slots). The
Swift engine's PromptEncoder.wordSlotEdits follows the same rule (scripts/fixtures/pipeline.py
writes the parity case; Tests/LikenessEngineTests/PipelineParityTests.swift)."""
import dataclasses

import pytest
import torch

from likeness_train import models, world
from likeness_train.pipeline import LikenessPipeline
from likeness_train.stage_encoder import EncoderConfig, word_slots_of

SLOTS = world.word_slots(4)


@pytest.mark.parametrize("prompt,expected", [
    ("a red <obj>", [(0, "red")]),
    ("a small red striped <obj> on the beach", [(3, "stripes"), (0, "red")]),
    ("a Dotted <obj>", [(3, "dots")]),
    ("a blue red <obj>", [(0, "red")]),            # the word nearest the placeholder sets its slot
    ("a red large <obj>", []),                     # the run of property words ends at "large"
    ("a <obj> in the red city", []),               # only words before the placeholder
    ("a red, <obj>", []),                          # "red," is not a property word
    ("a red car", []),                             # no placeholder
])
def test_word_slot_edits(prompt, expected):
    assert models.word_slot_edits(prompt, "<obj>", SLOTS) == expected


def test_no_word_slots_no_edits():
    assert models.word_slot_edits("a red <obj>", "<obj>", []) == []


def test_world_word_slots_are_single_words_of_the_world():
    assert world.word_slots(3) == []
    colour, pattern = world.word_slots(4)
    assert colour["slot"] == 0 and set(colour["words"]) == set(world.COLORS)
    assert pattern["slot"] == 3 and pattern["words"]["striped"] == "stripes"
    assert set(pattern["words"]) == set(world.PATTERNS[1:])


def test_word_slots_follow_how_the_tokens_were_trained():
    aligned = EncoderConfig(word_align_weight=0.3, num_tokens=4)
    assert word_slots_of(aligned) == world.word_slots(4)
    assert word_slots_of(dataclasses.asdict(aligned)) == world.word_slots(4)  # a train_config.json
    assert word_slots_of(EncoderConfig()) == []
    assert word_slots_of(dataclasses.replace(aligned, dataset="x.jsonl")) == []
    assert word_slots_of(dataclasses.replace(aligned, injection="hidden_state")) == []


def test_bad_word_slots_are_refused():
    vision = models.clip_vision_config(True)
    with pytest.raises(ValueError, match="slot must be in"):
        models.ObjectEncoder(models.ObjectEncoderConfig(vision_config=vision, text_hidden_size=32, num_tokens=2,
                                                        word_slots=SLOTS))
    with pytest.raises(ValueError, match="input_embedding"):
        models.ObjectEncoder(models.ObjectEncoderConfig(vision_config=vision, text_hidden_size=32, num_tokens=4,
                                                        injection="hidden_state", word_slots=SLOTS))


def _with_slots(chain):
    pipe = LikenessPipeline.from_folder(chain / "model")
    pipe.object_encoder.cfg.word_slots = [{"slot": 0, "attribute": "color", "words": {"red": "red"}},
                                          {"slot": 2, "attribute": "pattern", "words": {"striped": "stripes"}}]
    return pipe


def test_apply_word_slots_sets_the_word_direction_at_the_tokens_norm(chain):
    pipe = _with_slots(chain)
    tokens = torch.randn(1, 4, pipe.text_encoder.config.hidden_size)
    out = pipe.word_slot_tokens("a large red striped <obj> in the snow", tokens)
    table = pipe.text_encoder.get_input_embeddings().weight
    for slot, word in [(0, "red"), (2, "stripes")]:
        v = table[pipe.tokenizer(word, add_special_tokens=False)["input_ids"][0]]
        assert torch.nn.functional.cosine_similarity(out[0, slot], v, dim=0) > 0.9999
        assert out[0, slot].norm() == pytest.approx(tokens[0, slot].norm().item(), rel=1e-5)
    for slot in (1, 3):
        assert torch.equal(out[0, slot], tokens[0, slot])
    assert torch.equal(pipe.word_slot_tokens("a large <obj> in the snow", tokens), tokens)


def test_generation_uses_word_slots_unless_turned_off(chain):
    pipe = _with_slots(chain)
    tokens = pipe.encode_object(torch.zeros(3, 64, 64))
    kw = dict(object_tokens=tokens, steps=2, seed=3, output_type="pt")
    on = pipe("a red <obj>", **kw)
    off = pipe("a red <obj>", word_slots=False, **kw)
    assert not torch.equal(on, off)
    pipe.object_encoder.cfg.word_slots = []
    assert torch.equal(pipe("a red <obj>", **kw), off)
