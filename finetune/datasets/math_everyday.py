"""Math questions in everyday wording: numbers written as words, dozens and pairs, unit changes, rates
over time, fractions of amounts, means and sums of lists, temperatures below zero, unit prices, percent
rises and drops, and equations told in words.

Each family has many phrasings (every fifth held out of training, as everywhere) and draws its numbers
fresh; the expression is what a careful person would type into the calculator, and the expected value is
computed here independently with fractions.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction

from agentgraph.finetune.datasets.common import pick
from agentgraph.finetune.datasets.math_numbers import MathItem, money
from agentgraph.finetune.datasets.vocab import FIRST_NAMES, as_written

KIND = "everyday"

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINALS = {
    2: "second",
    3: "third",
    4: "fourth",
    5: "fifth",
    6: "sixth",
    7: "seventh",
    8: "eighth",
    9: "ninth",
    10: "tenth",
    11: "eleventh",
    12: "twelfth",
}


def in_words(value: int) -> str:
    """An integer from 0 to 999 written out (`forty-two`, `three hundred and five`)."""
    if not 0 <= value <= 999:
        raise ValueError(f"in_words takes 0 to 999, not {value}")
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(value, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {in_words(rest)}" if rest else "")


def _spoken(rng: random.Random, value: int) -> str:
    """A whole number as people write it in a sentence: in words up to a hundred, else in digits."""
    return in_words(value) if value <= 100 and rng.random() < 0.7 else as_written(rng, value)


SPOKEN_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("{a} plus {b}", "{a}+{b}"),
    ("{a} minus {b}", "{a}-{b}"),
    ("{a} times {b}", "{a}*{b}"),
    ("{a} multiplied by {b}", "{a}*{b}"),
    ("{a} divided by {b}", "{a}/{b}"),
    ("{a} over {b}", "{a}/{b}"),
    ("{a} added to {b}", "{b}+{a}"),
    ("{b} taken away from {a}", "{a}-{b}"),
    ("{a} lots of {b}", "{a}*{b}"),
    ("{a} split into {b} equal parts", "{a}/{b}"),
    ("the product of {a} and {b}", "{a}*{b}"),
    ("{a} shared between {b}", "{a}/{b}"),
)
SPOKEN_WRAPPERS = (
    "What's {e}?",
    "{e} is what?",
    "Tell me {e}.",
    "{e} equals?",
    "How much is {e}?",
    "Answer this: {e}.",
    "Quick: {e}.",
    "Can you do {e} for me?",
    "what is {e}",
    "I need {e}.",
    "{e}, please.",
    "Work out {e}.",
)
POWER_PHRASES = (
    "{a} to the {nth}",
    "{a} to the {nth} power",
    "{a} to the power of {n}",
    "{a} raised to the {nth}",
    "{a} raised to {n}",
    "the {nth} power of {a}",
)


def _spoken_arithmetic(rng: random.Random, split: str) -> MathItem:
    if rng.random() < 0.25:
        a, n = rng.randint(2, 12), rng.randint(2, 12)
        while a**n > 10**7:
            n -= 1
        phrase, held = pick(rng, POWER_PHRASES, split)
        words = phrase.format(a=_spoken(rng, a), n=_spoken(rng, n), nth=_ORDINALS[n])
        template, held_wrapper = pick(rng, SPOKEN_WRAPPERS, split)
        return MathItem(template.format(e=words), "calculator", f"{a}**{n}", Fraction(a) ** n, KIND, held or held_wrapper)
    (phrase, shape), held = pick(rng, SPOKEN_OPERATIONS, split)
    a, b = rng.randint(2, 100), rng.randint(2, 100)
    if "/" in shape:
        a = b * rng.randint(2, 40) if rng.random() < 0.8 else a
    elif "-" in shape and a < b:
        a, b = b, a
    value = {"+": Fraction(a + b), "-": Fraction(a - b), "*": Fraction(a * b), "/": Fraction(a, b)}[shape[3]]
    words = phrase.format(a=_spoken(rng, a), b=_spoken(rng, b))
    template, held_wrapper = pick(rng, SPOKEN_WRAPPERS, split)
    return MathItem(template.format(e=words), "calculator", shape.format(a=a, b=b), value, KIND, held or held_wrapper)


GROUPS = (
    ("{n} dozen {thing}", 12),
    ("{n} pairs of {thing}", 2),
    ("{n} dozen {thing}", 12),
    ("{n} six-packs of {thing}", 6),
    ("{n} boxes of a dozen {thing}", 12),
    ("{n} cartons of ten {thing}", 10),
)
GROUP_THINGS = ("eggs", "roses", "socks", "cans", "donuts", "bottles", "gloves", "cookies", "bagels", "oranges")
GROUP_QUESTIONS = (
    "{amount} means how many {thing}?",
    "{amount}: how many {thing} is that?",
    "{name} buys {amount}. How many {thing} is that?",
    "How many {thing} is {amount}?",
    "I have {amount}. How many single {thing} do I have?",
    "Count the {thing} in {amount}.",
)
CONTAINERS = (
    ("boxes", "box", "apples"),
    ("crates", "crate", "bottles"),
    ("bags", "bag", "marbles"),
    ("shelves", "shelf", "books"),
    ("trays", "tray", "cupcakes"),
    ("rows", "row", "seats"),
    ("buses", "bus", "passengers"),
    ("packs", "pack", "cards"),
)
CONTAINER_QUESTIONS = (
    "How many {thing} fill {n} {box} of {m}?",
    "There are {n} {box} of {m} {thing}. How many {thing} in all?",
    "Each of {n} {box} holds {m} {thing}. What is the total?",
    "{m} {thing} in every one of {n} {box}. How many altogether?",
    "If {n} {box} each contain {m} {thing}, how many {thing} are there?",
    "{n} {box}, {m} {thing} per {one}. Total {thing}?",
)


def _groups(rng: random.Random, split: str) -> MathItem:
    if rng.random() < 0.5:
        group, size = rng.choice(GROUPS)
        n, thing = rng.randint(2, 60), rng.choice(GROUP_THINGS)
        template, held = pick(rng, GROUP_QUESTIONS, split)
        text = template.format(amount=group.format(n=_spoken(rng, n), thing=thing), thing=thing, name=rng.choice(FIRST_NAMES))
        return MathItem(text[:1].upper() + text[1:], "calculator", f"{n}*{size}", Fraction(n * size), KIND, held)
    box, one, thing = rng.choice(CONTAINERS)
    n, m = rng.randint(2, 90), rng.randint(2, 150)
    template, held = pick(rng, CONTAINER_QUESTIONS, split)
    text = template.format(n=as_written(rng, n), m=as_written(rng, m), box=box, one=one, thing=thing)
    return MathItem(text, "calculator", f"{n}*{m}", Fraction(n * m), KIND, held)


# (unit, unit in the singular, how many of `to` make one `from` as an expression, to)
CONVERSIONS: tuple[tuple[str, str, str, str], ...] = (
    ("hours", "an hour", "60", "minutes"),
    ("hours", "an hour", "60*60", "seconds"),
    ("minutes", "a minute", "60", "seconds"),
    ("days", "a day", "24", "hours"),
    ("days", "a day", "24*60", "minutes"),
    ("days", "a day", "24*60*60", "seconds"),
    ("weeks", "a week", "7", "days"),
    ("weeks", "a week", "7*24", "hours"),
    ("weeks", "a week", "7*24*60", "minutes"),
    ("years", "a year", "12", "months"),
    ("years", "a year", "52", "weeks"),
    ("years", "a year", "365", "days"),
    ("kilometres", "a kilometre", "1000", "metres"),
    ("metres", "a metre", "100", "centimetres"),
    ("metres", "a metre", "1000", "millimetres"),
    ("kilograms", "a kilogram", "1000", "grams"),
    ("litres", "a litre", "1000", "millilitres"),
    ("feet", "a foot", "12", "inches"),
    ("yards", "a yard", "3", "feet"),
    ("pounds", "a pound", "16", "ounces"),
    ("tonnes", "a tonne", "1000", "kilograms"),
    ("gallons", "a gallon", "4", "quarts"),
    ("decades", "a decade", "10", "years"),
    ("centuries", "a century", "100", "years"),
)
CONVERT_DOWN = (
    "Turn {n} {big} into {small}.",
    "In {n} {big}, how many {small} are there?",
    "{n} {big} is how many {small}?",
    "{n} {big} in {small}?",
    "What is {n} {big} in {small}?",
    "How many {small} in {n} {big}?",
    "Change {n} {big} to {small}.",
    "Express {n} {big} in {small}.",
    "{n} {big} equals how many {small}?",
    "How many {small} does {n} {big} make?",
)
CONVERT_UP = (
    "Turn {n} {small} into {big}.",
    "How many {big} is {n} {small}?",
    "{n} {small} in {big}?",
    "What is {n} {small} in {big}?",
    "Express {n} {small} in {big}.",
    "{n} {small} makes how many {big}?",
)


def _conversion(rng: random.Random, split: str) -> MathItem:
    big, one, factor, small = rng.choice(CONVERSIONS)
    size = Fraction(eval_product(factor))
    if rng.random() < 0.3:
        count = rng.randint(2, 40) * int(size) if rng.random() < 0.7 else rng.randint(2, 5000)
        template, held = pick(rng, CONVERT_UP, split)
        text = template.format(n=as_written(rng, count), small=small, big=big)
        return MathItem(text, "calculator", f"{count}/{factor}" if "*" not in factor else f"{count}/({factor})", count / size, KIND, held)
    count = rng.randint(1, 90) if rng.random() < 0.85 else rng.randint(91, 5000)
    template, held = pick(rng, CONVERT_DOWN, split)
    amount = one if count == 1 else as_written(rng, count) if rng.random() < 0.6 else _spoken(rng, count)
    text = template.format(n=amount, big=big if count != 1 else "", small=small).replace("  ", " ").replace(" ?", "?").replace(" .", ".")
    return MathItem(text[:1].upper() + text[1:], "calculator", f"{count}*{factor}", count * size, KIND, held)


def eval_product(factor: str) -> int:
    """The value of a product of whole numbers written with `*` (`24*60` -> 1440)."""
    value = 1
    for part in factor.split("*"):
        value *= int(part)
    return value


# (who, rate, what it counts, time unit)
RATES = (
    ("a train", "mph", "miles", "hours"),
    ("a car", "km/h", "km", "hours"),
    ("a cyclist", "miles an hour", "miles", "hours"),
    ("a ship", "kilometres per hour", "kilometres", "hours"),
    ("a drone", "metres per second", "metres", "seconds"),
    ("a printer", "pages a minute", "pages", "minutes"),
    ("a pump", "litres per hour", "litres", "hours"),
    ("a typist", "words a minute", "words", "minutes"),
    ("a runner", "km/h", "km", "hours"),
)
RATE_TOTAL = (
    "{Who} does {s} {rate} for {t} {time}. How many {dist} is that?",
    "{Who} goes at {s} {rate} for {t} {time}. What total?",
    "At a steady {s} {rate}, how many {dist} in {t} {time}?",
    "{Who} keeps up {s} {rate} for {t} {time}. How many {dist}?",
    "{s} {rate} for {t} {time}: how many {dist}?",
    "How many {dist} does {who} do in {t} {time} at {s} {rate}?",
    "If {who} runs at {s} {rate} for {t} {time}, what is the total in {dist}?",
    "{Who} manages {s} {rate}. How many {dist} after {t} {time}?",
    "{Who} averages {s} {rate} over {t} {time}. Total {dist}?",
    "How many {dist} at {s} {rate} in {t} {time}?",
)
RATE_PER = (
    "{Who} does {d} {dist} in {t} {time}. What is the rate in {rate}?",
    "{d} {dist} in {t} {time}: how many {rate} is that?",
    "{Who} covers {d} {dist} in {t} {time}. Average in {rate}?",
    "What is the average rate if {d} {dist} take {t} {time}?",
    "It took {who} {t} {time} to do {d} {dist}. How many {rate}?",
)
RATE_TIME = (
    "How long does {d} {dist} take at {s} {rate}?",
    "At {s} {rate}, how many {time} for {d} {dist}?",
    "{Who} needs {d} {dist} at {s} {rate}. How many {time} is that?",
    "Time to get through {d} {dist} at {s} {rate}?",
    "How many {time} to do {d} {dist} at {s} {rate}?",
)


def _rate(rng: random.Random, split: str) -> MathItem:
    who, rate, dist, time = rng.choice(RATES)
    speed = rng.randint(3, 120)
    hours = Fraction(rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 12))) + Fraction(rng.choice((0, 0, 1, 2, 3)), 4)
    words = {
        "who": who,
        "Who": who[:1].upper() + who[1:],
        "s": speed,
        "rate": rate,
        "dist": dist,
        "time": time,
        "t": f"{float(hours):g}",
        "d": f"{float(speed * hours):g}",
    }
    roll = rng.random()
    if roll < 0.6:
        template, held = pick(rng, RATE_TOTAL, split)
        return MathItem(template.format(**words), "calculator", "{s}*{t}".format(**words), speed * hours, KIND, held)
    if roll < 0.8:
        template, held = pick(rng, RATE_PER, split)
        return MathItem(template.format(**words), "calculator", "{d}/{t}".format(**words), Fraction(speed), KIND, held)
    template, held = pick(rng, RATE_TIME, split)
    return MathItem(template.format(**words), "calculator", "{d}/{s}".format(**words), hours, KIND, held)


FRACTIONS = (
    ("half", 1, 2),
    ("a third", 1, 3),
    ("a quarter", 1, 4),
    ("two thirds", 2, 3),
    ("three quarters", 3, 4),
    ("a fifth", 1, 5),
    ("a tenth", 1, 10),
    ("three fifths", 3, 5),
)
FRACTION_OF = (
    "What is {f} of {a}?",
    "{F} of {a} is how much?",
    "Take {f} of {a}.",
    "How much is {f} of {a}?",
    "{F} of {a}, please.",
    "Find {f} of {a}.",
    "{name} spends {f} of ${a}. How much is that?",
    "{F} of the {a} tickets are sold. How many is that?",
    "What do you get for {f} of {a}?",
    "{f} of {a} = ?",
)
FRACTION_PAIR = (
    ("{F} of {a} plus {g} of {b}: what's that?", 1),
    ("What is {f} of {a} minus {g} of {b}?", -1),
    ("Add {f} of {a} to {g} of {b}.", 1),
    ("{F} of {a} take away {g} of {b}?", -1),
    ("Work out {f} of {a} plus {g} of {b}.", 1),
)


def _fraction_of(rng: random.Random, split: str) -> MathItem:
    (word, top, bottom) = rng.choice(FRACTIONS)
    a = bottom * rng.randint(1, 400) if rng.random() < 0.8 else rng.randint(2, 5000)
    part = Fraction(a * top, bottom)
    code = f"{a}/{bottom}" if top == 1 else f"{a}*{top}/{bottom}"
    name = rng.choice(FIRST_NAMES)
    if rng.random() < 0.65:
        template, held = pick(rng, FRACTION_OF, split)
        text = template.format(f=word, F=word[:1].upper() + word[1:], a=as_written(rng, a), name=name)
        return MathItem(text, "calculator", code, part, KIND, held)
    (other, top2, bottom2) = rng.choice(FRACTIONS)
    b = bottom2 * rng.randint(1, 400)
    (template, sign), held = pick(rng, FRACTION_PAIR, split)
    other_code = f"{b}/{bottom2}" if top2 == 1 else f"{b}*{top2}/{bottom2}"
    text = template.format(f=word, F=word[:1].upper() + word[1:], a=as_written(rng, a), g=other, b=as_written(rng, b))
    value = part + sign * Fraction(b * top2, bottom2)
    return MathItem(text, "calculator", f"{code}{'+' if sign > 0 else '-'}{other_code}", value, KIND, held)


MEAN_QUESTIONS = (
    "Compute the mean of {list}.",
    "Average these: {list}.",
    "Find the average of {list}.",
    "What is the arithmetic mean of {list}?",
    "{name} scored {list} on the tests. What is the average score?",
    "Mean of {list}?",
    "The daily sales were {list}. What was the average per day?",
    "Give me the average of {list}.",
    "What do {list} average out to?",
    "Temperatures this week: {list}. What was the mean temperature?",
)
SUM_QUESTIONS = (
    "Add up {list}.",
    "What is the sum of {list}?",
    "Total these: {list}.",
    "What do {list} add up to?",
    "{name} paid {list} dollars on separate days. How much in total?",
    "Sum {list}.",
    "What's the total of {list}?",
    "Combine {list}. What's the total?",
    "Add {list} together.",
    "{list} - total?",
)


def _listed(values: list[int]) -> str:
    return ", ".join(map(str, values[:-1])) + f" and {values[-1]}"


def _mean_or_sum(rng: random.Random, split: str) -> MathItem:
    count = rng.randint(2, 6)
    negative = rng.random() < 0.15
    values = [rng.randint(-20 if negative else 1, 40 if negative else rng.choice((50, 100, 1000))) for _ in range(count)]
    joined = "+".join(map(str, values)).replace("+-", "-")
    name = rng.choice(FIRST_NAMES)
    if rng.random() < 0.6:
        template, held = pick(rng, MEAN_QUESTIONS, split)
        text = template.format(list=_listed(values), name=name)
        return MathItem(text, "calculator", f"({joined})/{count}", Fraction(sum(values), count), KIND, held)
    template, held = pick(rng, SUM_QUESTIONS, split)
    return MathItem(template.format(list=_listed(values), name=name), "calculator", joined, Fraction(sum(values)), KIND, held)


TEMPERATURE_CHANGES = (
    ("The thermometer read {t} degrees and then climbed {d}. What does it read now?", 1),
    ("The temperature is {t} °C and rises {d} degrees. What is it now?", 1),
    ("At dawn it was {t} degrees; by noon it was {d} degrees warmer. Noon temperature?", 1),
    ("It is {t} °C and the temperature drops by {d} degrees. What is the new temperature?", -1),
    ("The freezer was at {t} degrees and cooled a further {d}. What is it now?", -1),
    ("A lift is at floor {t} and goes up {d} floors. Which floor is it on now?", 1),
    ("It was {t} °F at midnight and fell {d} degrees by morning. How cold is it?", -1),
    ("Starting at {t} degrees, the air warms {d} degrees. Final temperature?", 1),
    ("My bank balance is {t} dollars and I pay in {d}. What's the balance?", 1),
    ("A reading of {t} goes down by {d}. What is the new reading?", -1),
)


def _signed_change(rng: random.Random, split: str) -> MathItem:
    (template, sign), held = pick(rng, TEMPERATURE_CHANGES, split)
    start, change = rng.randint(-30, 25), rng.randint(1, 35)
    text = template.format(t=start, d=change)
    return MathItem(text, "calculator", f"{start}{'+' if sign > 0 else '-'}{change}", Fraction(start + sign * change), KIND, held)


UNIT_PRICE = (
    "{n} {item} are ${x} in total. Cost of one?",
    "If {n} {item} come to ${x}, what is the price of one?",
    "{name} paid ${x} for {n} {item}. How much each?",
    "${x} buys {n} {item}. Price per item?",
    "A bundle of {n} {item} is ${x}. What's the cost of a single one?",
    "What is the unit price when {n} {item} cost ${x}?",
)
SCALED_PRICE = (
    "{n} {item} sell for ${x}. What do {k} cost?",
    "If {n} {item} are ${x}, how much are {k}?",
    "{name} paid ${x} for {n} {item}. What would {k} cost at the same price?",
    "At ${x} for {n} {item}, what do {k} {item} cost?",
    "The price of {n} {item} is ${x}. Find the price of {k}.",
)
ITEMS = ("pens", "notebooks", "tickets", "mugs", "apples", "stamps", "batteries", "candles", "towels", "bulbs")


def _unit_price(rng: random.Random, split: str) -> MathItem:
    n, item, name = rng.randint(2, 24), rng.choice(ITEMS), rng.choice(FIRST_NAMES)
    each = money(rng, 1, 25)
    total = n * each.value
    x = f"{float(total):.2f}"
    if rng.random() < 0.6:
        template, held = pick(rng, UNIT_PRICE, split)
        return MathItem(template.format(n=n, item=item, x=x, name=name), "calculator", f"{x}/{n}", total / n, KIND, held)
    k = rng.randint(2, 40)
    while k == n:
        k = rng.randint(2, 40)
    template, held = pick(rng, SCALED_PRICE, split)
    return MathItem(template.format(n=n, item=item, x=x, k=k, name=name), "calculator", f"{x}/{n}*{k}", total / n * k, KIND, held)


PERCENT_DROPS = (
    "A used bike listed at {a} now goes for {b}. What is the percent decrease?",
    "The price fell from ${a} to ${b}. What is the percentage decrease?",
    "Membership went down from {a} to {b}. By what percent did it shrink?",
    "A {a} g bag now holds {b} g. What percent smaller is it?",
    "Visitors dropped from {a} to {b}. What is the drop in percent?",
    "{name}'s time went from {a} to {b} seconds. By how many percent did it fall?",
)
PERCENT_RISES = (
    "A salary rose from ${a} to ${b}. What is the percentage increase?",
    "The population grew from {a} to {b}. By what percent did it grow?",
    "Rent went up from ${a} to ${b}. What percent rise is that?",
    "Sales climbed from {a} to {b} units. Percent increase?",
    "{name}'s savings went from ${a} to ${b}. By how many percent did they increase?",
    "A share price moved up from {a} to {b}. What is the rise in percent?",
)
INTEREST_ONE_YEAR = (
    "Interest at {p}% on ${x} for a single year?",
    "What is a year's interest on ${x} at {p}%?",
    "How much interest does ${x} earn in a year at {p}% a year?",
    "{p}% annual interest on ${x}: how much after one year?",
    "A loan of ${x} charges {p}% a year. What is the interest for the year?",
)


def _percent_change(rng: random.Random, split: str) -> MathItem:
    a = rng.choice((rng.randint(20, 999), rng.randint(1000, 90_000)))
    b = rng.randint(1, a - 1)
    name = rng.choice(FIRST_NAMES)
    roll = rng.random()
    if roll < 0.4:
        template, held = pick(rng, PERCENT_DROPS, split)
        text = template.format(a=as_written(rng, a), b=as_written(rng, b), name=name)
        return MathItem(text, "calculator", f"({a}-{b})/{a}*100", Fraction(a - b, a) * 100, KIND, held)
    if roll < 0.8:
        template, held = pick(rng, PERCENT_RISES, split)
        text = template.format(a=as_written(rng, b), b=as_written(rng, a), name=name)
        return MathItem(text, "calculator", f"({a}-{b})/{b}*100", Fraction(a - b, b) * 100, KIND, held)
    p = rng.choice(("2.5", "3", "4", "4.5", "5", "6", "7.5", "8", "12"))
    x = rng.randint(100, 50_000)
    template, held = pick(rng, INTEREST_ONE_YEAR, split)
    text = template.format(p=p, x=as_written(rng, x))
    return MathItem(text, "calculator", f"{p}%*{x}", Fraction(p) / 100 * x, KIND, held)


EQUATION_WORDS: tuple[tuple[str, str], ...] = (
    ("If x² is {k}, what are the values of x?", "x**2={k}"),
    ("What number squared gives {k}?", "x**2={k}"),
    ("Find every x with x² = {k}.", "x**2={k}"),
    ("Which numbers have a square of {k}?", "x**2={k}"),
    ("The square of a number is {k}. What is the number?", "x**2={k}"),
    ("{a} times a number is {c}. What is the number?", "{a}*x={c}"),
    ("What number plus {b} makes {c}?", "x+{b}={c}"),
    ("Twice a number minus {b} is {c}. Find it.", "2*x-{b}={c}"),
    ("A number less {b} equals {c}. What is it?", "x-{b}={c}"),
    ("When I add {b} to {a} times a number I get {c}. What number?", "{a}*x+{b}={c}"),
    ("Three times a number, plus {b}, is {c}. Solve for the number.", "3*x+{b}={c}"),
    ("Half a number plus {b} is {c}. What's the number?", "x/2+{b}={c}"),
)


def _equation_words(rng: random.Random, split: str) -> MathItem:
    (question, shape), held = pick(rng, EQUATION_WORDS, split)
    if "**2" in shape:
        root = rng.randint(1, 30)
        return MathItem(question.format(k=root * root), "solve", shape.format(k=root * root), {f"x: {-root}", f"x: {root}"}, KIND, held)
    a, b, x = rng.randint(2, 12), rng.randint(1, 60), rng.randint(1, 80)
    if "x/2" in shape:
        x = 2 * x
    value = {
        "{a}*x={c}": a * x,
        "x+{b}={c}": x + b,
        "2*x-{b}={c}": 2 * x - b,
        "x-{b}={c}": x - b,
        "{a}*x+{b}={c}": a * x + b,
        "3*x+{b}={c}": 3 * x + b,
        "x/2+{b}={c}": x // 2 + b,
    }[shape]
    fmt = {"a": a, "b": b, "c": value}
    return MathItem(question.format(**fmt), "solve", shape.format(**fmt), f"x: {x}", KIND, held)


FAMILIES: tuple[Callable[[random.Random, str], MathItem], ...] = (
    _spoken_arithmetic,
    _groups,
    _conversion,
    _rate,
    _fraction_of,
    _mean_or_sum,
    _signed_change,
    _unit_price,
    _percent_change,
    _equation_words,
)


def everyday_item(rng: random.Random, split: str) -> MathItem:
    """A question from one of the everyday families, with the call that answers it."""
    return rng.choice(FAMILIES)(rng, split)
