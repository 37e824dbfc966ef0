"""Word pools shared by the dataset builders: people, invented place and entity names, numbers as people
write them."""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Sam",
    "Dana",
    "Priya",
    "Tom",
    "Mei",
    "Jordan",
    "Alex",
    "Lena",
    "Omar",
    "Grace",
    "Ines",
    "Kofi",
    "Ravi",
    "Yuki",
    "Noor",
    "Ben",
    "Carla",
    "Hugo",
    "Zara",
    "Felix",
    "Amara",
    "Diego",
    "Elif",
    "Jonas",
    "Leila",
    "Marco",
    "Nadia",
    "Oscar",
    "Paula",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aiko",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Esme",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Julia",
)
_ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t", "tr", "v", "z", "")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ia", "ei")
_CODAS = ("", "", "n", "r", "l", "s", "m", "x")


def invented_word(rng: random.Random, syllables: int | None = None) -> str:
    """A pronounceable made-up word, capitalised (`Veltrana`, `Oskel`)."""
    count = syllables or rng.choice((2, 2, 2, 3))
    parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(count)]
    word = "".join(parts) + rng.choice(_CODAS)
    return word[:1].upper() + word[1:]


def person(rng: random.Random) -> str:
    """A full name with an invented surname."""
    return f"{rng.choice(FIRST_NAMES)} {invented_word(rng)}"


def place(rng: random.Random) -> str:
    """An invented town name, sometimes with a suffix (`Oskel Harbor`)."""
    suffix = rng.choice(("", "", "", " Harbor", " Falls", " Bay", " Crossing", " Hill"))
    return invented_word(rng) + suffix


def thousands(value: int | float) -> str:
    """A number with thousands separators (`12,500`, `3,400.5`)."""
    return f"{value:,}"


def plain(value: int | float) -> str:
    """A number as code writes it: no separators, no trailing `.0`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_written(rng: random.Random, value: int | float) -> str:
    """A number as a person may write it: with or without thousands separators."""
    return thousands(value) if abs(value) >= 1000 and rng.random() < 0.6 else plain(value)
