"""The numbers of math questions: an item (question, call, independently computed value) and how its
numbers are drawn and written."""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from agentgraph.finetune.datasets.vocab import as_written


@dataclass(frozen=True)
class MathItem:
    """A question with the call that answers it and the value that call must return."""

    question: str
    tool: str
    argument: str
    expected: Fraction | float | set[str] | str
    """Exact value, approximate value (irrational), set of `x: v` roots, or solve's exact text."""
    kind: str
    held_out: bool = False


@dataclass(frozen=True)
class Num:
    """A number: its exact value and how it is written in an expression."""

    value: Fraction
    text: str


def integer(rng: random.Random, low: int, high: int) -> Num:
    value = rng.randint(low, high)
    return Num(Fraction(value), str(value))


def decimal(rng: random.Random, low: int, high: int, places: int = 2) -> Num:
    scale = 10**places
    value = rng.randint(low * scale, high * scale)
    if value % scale == 0:
        value += rng.randint(1, scale - 1)
    text = f"{value // scale}.{value % scale:0{places}d}".rstrip("0")
    return Num(Fraction(value, scale), text)


def money(rng: random.Random, low: int, high: int) -> Num:
    """A price in dollars and cents, written with two decimals."""
    cents = rng.randint(low * 100, high * 100)
    return Num(Fraction(cents, 100), f"{cents // 100}.{cents % 100:02d}")


def any_number(rng: random.Random) -> Num:
    """A number from one of four ranges: small, medium, large (up to 6 digits), decimal."""
    roll = rng.random()
    if roll < 0.25:
        return integer(rng, 1, 20)
    if roll < 0.6:
        return integer(rng, 21, 999)
    if roll < 0.85:
        return integer(rng, 1000, 999_999)
    return decimal(rng, 0, 999, rng.choice((1, 2)))


def written(rng: random.Random, num: Num) -> str:
    """How the question writes a number (thousands separators sometimes)."""
    if "." in num.text:
        return num.text
    return as_written(rng, int(num.text))
