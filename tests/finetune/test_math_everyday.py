"""The everyday math questions: numbers in words, and every family's call gives its independent value."""

from __future__ import annotations

import random

import pytest

from agentgraph.finetune.datasets import math as math_data
from agentgraph.finetune.datasets import math_everyday


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (19, "nineteen"),
        (40, "forty"),
        (42, "forty-two"),
        (100, "one hundred"),
        (305, "three hundred and five"),
        (999, "nine hundred and ninety-nine"),
    ],
)
def test_in_words(value: int, words: str) -> None:
    assert math_everyday.in_words(value) == words


def test_in_words_names_the_range_it_takes() -> None:
    with pytest.raises(ValueError, match="0 to 999, not 1000"):
        math_everyday.in_words(1000)


@pytest.mark.parametrize("family", math_everyday.FAMILIES, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("split", ["train", "test"])
def test_every_family_calls_the_tool_with_its_independent_value(family, split: str) -> None:
    rng = random.Random(f"{family.__name__}:{split}")
    for _ in range(150):
        item = family(rng, split)
        result, failed = math_data.run_tool(item.tool, item.argument)
        assert not failed and math_data.check_result(item, result), (item, result)
        assert item.kind == math_everyday.KIND and not any(ch in item.question for ch in "{}")


def test_held_out_everyday_phrasings_stay_out_of_training() -> None:
    rng = random.Random(0)
    train = {family(rng, "train").held_out for family in math_everyday.FAMILIES for _ in range(100)}
    test = {family(rng, "test").held_out for family in math_everyday.FAMILIES for _ in range(100)}
    assert train == {False} and test == {False, True}


def test_math_items_include_the_everyday_families() -> None:
    rng = random.Random(5)
    kinds = {math_data.math_item(rng, "train").kind for _ in range(300)}
    assert math_everyday.KIND in kinds and "word problem" in kinds
