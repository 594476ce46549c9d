"""The placeholder is found as a word of its own, also next to punctuation, never inside a
longer word; the Swift engine's PromptEncoder.placeholderRanges follows the same rule
(Tests/LikenessEngineTests/MultiSeedJobTests.swift testPlaceholderNextToPunctuation)."""
import pytest

from likeness_train import models


@pytest.mark.parametrize("prompt,expected", [
    ("a <obj> on the beach", ("a", "on the beach")),
    ("a small <obj>, at the left", ("a small", ", at the left")),
    ("(<obj>)", ("(", ")")),
    ("a <obj>.", ("a", ".")),
    ("a   <obj>\tin  snow", ("a", "in snow")),
])
def test_split_finds_standalone_placeholder(prompt, expected):
    assert models.split_placeholder(prompt, "<obj>") == expected


def test_placeholder_inside_a_word_is_not_one():
    assert models.split_placeholder("x<obj> and <obj>y and <obj>_", "<obj>") is None


def test_two_placeholders_are_an_error():
    with pytest.raises(ValueError, match="once"):
        models.split_placeholder("<obj>,<obj>", "<obj>")


def test_replace_placeholder_for_identity_guidance():
    assert models.replace_placeholder("a small <obj>, left", "<obj>", "object") == "a small object, left"
    assert models.replace_placeholder("x<obj>", "<obj>", "object") == "x<obj>"
