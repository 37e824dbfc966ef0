"""Math adapter rows: a question, one call to `calculator` or `solve`, the tool's exact result, then
`final_answer(result)`.

Questions come from many phrasings (symbols and words, percentages, word problems about prices, speeds,
areas, savings, rates, unit changes and shares, linear and quadratic equations, systems, and the everyday
wording of `math_everyday`: numbers in words, dozens, unit changes, means of lists, fractions of amounts)
with numbers from 1 to 6 digits and decimals. Every item carries its value computed independently with fractions; the row is kept only when
the real tool (through `agentgraph.mathexpr`) returns that value. Some rows are steps that take their
numbers from earlier steps' results, given as facts (`math_facts`). A few rows show a call the tool
refuses (its ToolException text is the tool response) followed by a corrected call. The item of a row is
its final tool argument: no expression or equation appears in two splits.
"""

from __future__ import annotations

import json
import operator
import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agentgraph import mathexpr
from agentgraph.agents.math import MATH, calculator, final_answer, solve
from agentgraph.finetune.datasets.common import Example, normalise_key, pick, swift_row, tool_call
from agentgraph.finetune.datasets.math_everyday import everyday_item
from agentgraph.finetune.datasets.math_facts import facts_item
from agentgraph.finetune.datasets.math_numbers import MathItem, Num, any_number, decimal, integer, money, written
from agentgraph.finetune.datasets.vocab import FIRST_NAMES, as_written

RETRY_SHARE = 0.06
FACTS_SHARE = 0.35
"""Share of rows whose numbers come from facts given by earlier steps (`math_facts`)."""


_OPERATOR_WORDS = {
    "+": ("+", " + ", " plus "),
    "-": ("-", " - ", " minus ", " − "),
    "*": ("*", " * ", " x ", " × ", " times "),
    "/": ("/", " / ", " ÷ ", " divided by "),
}

ARITH_WRAPPERS = (
    "What is {e}?",
    "What's {e}?",
    "Compute {e}.",
    "Calculate {e}",
    "How much is {e}?",
    "{e} = ?",
    "Evaluate {e}.",
    "Work out {e}.",
    "Could you calculate {e} for me?",
    "I need the value of {e}.",
    "quick one: {e}",
    "Please compute {e}.",
    "What does {e} come to?",
    "Find {e}.",
    "{e}?",
    "Tell me what {e} is.",
    "what is {e}",
    "Can you work out {e}?",
    "Give me the result of {e}.",
    "Figure out {e} please.",
    "How much do you get for {e}?",
    "calc {e}",
    "Result of {e}?",
    "Help me compute {e}.",
    "I'd like to know {e}.",
)

# (question, expression) per operator; {a} and {b} are the operands as written
BINARY_WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "+": (
        ("Add {a} and {b}.", "{a}+{b}"),
        ("What is the sum of {a} and {b}?", "{a}+{b}"),
        ("What do {a} and {b} add up to?", "{a}+{b}"),
        ("Add {b} to {a}.", "{a}+{b}"),
        ("What is {a} increased by {b}?", "{a}+{b}"),
        ("Total of {a} and {b}?", "{a}+{b}"),
    ),
    "-": (
        ("Subtract {b} from {a}.", "{a}-{b}"),
        ("What is {a} minus {b}?", "{a}-{b}"),
        ("What is the difference between {a} and {b}?", "{a}-{b}"),
        ("Take {b} away from {a}.", "{a}-{b}"),
        ("How much is {a} less {b}?", "{a}-{b}"),
        ("What's left if you take {b} from {a}?", "{a}-{b}"),
    ),
    "*": (
        ("Multiply {a} by {b}.", "{a}*{b}"),
        ("What is the product of {a} and {b}?", "{a}*{b}"),
        ("What do you get when you multiply {a} by {b}?", "{a}*{b}"),
        ("What is {a} times {b}?", "{a}*{b}"),
        ("{a} multiplied by {b}?", "{a}*{b}"),
        ("How much is {b} lots of {a}?", "{b}*{a}"),
    ),
    "/": (
        ("Divide {a} by {b}.", "{a}/{b}"),
        ("What is {a} divided by {b}?", "{a}/{b}"),
        ("How many times does {b} go into {a}?", "{a}/{b}"),
        ("What is the quotient of {a} and {b}?", "{a}/{b}"),
        ("Split {a} into {b} equal parts. How big is each part?", "{a}/{b}"),
        ("If {a} is shared equally by {b}, how much is each share?", "{a}/{b}"),
    ),
}

MULTI_WORDS: tuple[tuple[str, str, Callable[[Fraction, Fraction, Fraction], Fraction]], ...] = (
    ("Add {a} and {b}, then multiply by {c}.", "({a}+{b})*{c}", lambda a, b, c: (a + b) * c),
    ("Multiply {a} by {b} and subtract {c}.", "{a}*{b}-{c}", lambda a, b, c: a * b - c),
    ("Divide {a} by the sum of {b} and {c}.", "{a}/({b}+{c})", lambda a, b, c: a / (b + c)),
    ("What is {a} plus {b} minus {c}?", "{a}+{b}-{c}", lambda a, b, c: a + b - c),
    ("Take {a}, double it, and add {b}.", "2*{a}+{b}", lambda a, b, c: 2 * a + b),
    ("What is {a} times {b} plus {c}?", "{a}*{b}+{c}", lambda a, b, c: a * b + c),
    ("Subtract {c} from the product of {a} and {b}.", "{a}*{b}-{c}", lambda a, b, c: a * b - c),
    ("What is half of {a} plus {b}?", "{a}/2+{b}", lambda a, b, c: a / 2 + b),
)
MULTI_SHAPES: tuple[tuple[str, Callable[[Fraction, Fraction, Fraction], Fraction]], ...] = (
    ("({a}+{b})*{c}", lambda a, b, c: (a + b) * c),
    ("{a}*{b}-{c}", lambda a, b, c: a * b - c),
    ("{a}/({b}+{c})", lambda a, b, c: a / (b + c)),
    ("{a}+{b}-{c}", lambda a, b, c: a + b - c),
    ("{a}*({b}-{c})", lambda a, b, c: a * (b - c)),
    ("({a}-{b})/{c}", lambda a, b, c: (a - b) / c),
    ("{a}+{b}*{c}", lambda a, b, c: a + b * c),
)

POWER_WORDS = (
    ("What is {a} squared?", "{a}**2"),
    ("What is {a} cubed?", "{a}**3"),
    ("What is {a} to the power of {n}?", "{a}**{n}"),
    ("What is {a}^{n}?", "{a}**{n}"),
    ("Raise {a} to the {n}th power.", "{a}**{n}"),
    ("Compute {a}**{n}.", "{a}**{n}"),
)
ROOT_WORDS = (
    "What is the square root of {s}?",
    "What is √{s}?",
    "Find the square root of {s}.",
    "sqrt of {s}?",
    "Take the square root of {s}.",
)

PERCENT_OF = (
    "What is {p}% of {x}?",
    "What's {p} percent of {x}?",
    "Find {p}% of {x}.",
    "Calculate {p}% of {x}.",
    "How much is {p}% of {x}?",
    "{p}% of {x}?",
    "What is {p} per cent of {x}?",
    "Take {p}% of {x}.",
    "Work out {p}% of {x}.",
    "what's {p}% of {x}",
)
PERCENT_UP = (
    "Increase {x} by {p}%.",
    "What is {x} increased by {p}%?",
    "Add {p}% to {x}.",
    "{x} plus {p}%?",
    "If {x} grows by {p}%, what is the new value?",
    "Raise {x} by {p} percent.",
)
PERCENT_DOWN = (
    "Decrease {x} by {p}%.",
    "What is {x} reduced by {p}%?",
    "Take {p}% off {x}.",
    "{x} minus {p}%?",
    "If {x} drops by {p}%, what is left?",
    "Lower {x} by {p} percent.",
)
PERCENT_RATIO = (
    "What percent of {y} is {x}?",
    "{x} is what percentage of {y}?",
    "What percentage is {x} out of {y}?",
    "Express {x} as a percentage of {y}.",
    "What share of {y} is {x}, in percent?",
)
PERCENT_MONEY = (
    ("A ${x} jacket is {p}% off. What's the sale price?", "{x}*(1-{p}%)", -1),
    ("What is a {p}% tip on a ${x} bill?", "{p}%*{x}", 0),
    ("Add {p}% sales tax to ${x}.", "{x}*(1+{p}%)", 1),
    ("A ${x} bill plus a {p}% service charge comes to how much?", "{x}*(1+{p}%)", 1),
    ("The rent of ${x} goes up {p}%. What's the new rent?", "{x}*(1+{p}%)", 1),
    ("A stock worth ${x} fell {p}%. What is it worth now?", "{x}*(1-{p}%)", -1),
    ("How much is the {p}% deposit on a ${x} car?", "{p}%*{x}", 0),
)

LINEAR = (
    "Solve {eq}.",
    "Solve {eq} for {v}.",
    "Find {v} if {eq}.",
    "What is {v} when {eq}?",
    "What value of {v} makes {eq} true?",
    "Solve for {v}: {eq}",
    "{eq}, what is {v}?",
    "If {eq}, find {v}.",
    "Determine {v} given {eq}.",
    "{eq}. {v} = ?",
)
LINEAR_WORDS = (
    ("If {b} more than {a} times a number is {c}, what is the number?", "{a}*x+{b}={c}"),
    ("{a} times a number minus {m} equals {c}. What is the number?", "{a}*x-{m}={c}"),
    ("I think of a number, multiply it by {a} and add {b}. The result is {c}. What was my number?", "{a}*x+{b}={c}"),
    ("A number multiplied by {a}, plus {b}, gives {c}. Find the number.", "{a}*x+{b}={c}"),
)
QUADRATIC = (
    "Solve {eq}.",
    "Find the roots of {eq}.",
    "What are the solutions of {eq}?",
    "For which x is {eq}?",
    "Solve the quadratic {eq}.",
)
SYSTEM = (
    "Solve the system {e1} and {e2}.",
    "Find x and y if {e1} and {e2}.",
    "Solve: {e1}; {e2}",
    "Given {e1} and {e2}, what are x and y?",
    "{e1}, {e2}. Solve for x and y.",
)
SYSTEM_WORDS = (
    ("Two numbers add up to {s} and differ by {d}. What are they?", "x+y={s}; x-y={d}"),
    ("The sum of two numbers is {s} and their difference is {d}. Find them.", "x+y={s}; x-y={d}"),
)
ITEMS = ("notebooks", "pens", "coffees", "tickets", "apples", "shirts", "books", "lamps", "chairs", "mugs", "cables", "plants")

STYLE_PREFIXES = ("Hey, ", "Quick question: ", "Hi! ", "Please help: ", "")
STYLE_SUFFIXES = (" Thanks!", " Thank you.", " Exact answer please.", "")


_APPLY: dict[str, Callable[[Fraction, Fraction], Fraction]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
"""The four operators as functions on exact values."""


def _signed(value: int, first: bool = False) -> str:
    if first:
        return str(value)
    return f" + {value}" if value >= 0 else f" - {-value}"


def _compact_signed(value: int) -> str:
    return f"+{value}" if value >= 0 else f"-{-value}"


def _arith_binary(rng: random.Random, split: str) -> MathItem:
    op = rng.choice("+-*/")
    a, b = any_number(rng), any_number(rng)
    if (op == "-" or op == "/" and rng.random() < 0.8) and a.value < b.value:
        a, b = b, a
    if op == "/" and rng.random() < 0.6:  # mostly exact quotients
        b = integer(rng, 2, 99)
        a = Num(b.value * int(integer(rng, 2, 9999).value), "")
        a = Num(a.value, str(int(a.value)))
    if op == "/" and b.value == 0:
        b = integer(rng, 1, 9)
    expected = _APPLY[op](a.value, b.value)
    if rng.random() < 0.5:
        glyph = rng.choice(_OPERATOR_WORDS[op])
        shown = f"{written(rng, a)}{glyph}{written(rng, b)}"
        template, held = pick(rng, ARITH_WRAPPERS, split)
        return MathItem(template.format(e=shown), "calculator", f"{a.text}{op}{b.text}", expected, "arithmetic", held)
    (question, expression), held = pick(rng, BINARY_WORDS[op], split)
    text = question.format(a=written(rng, a), b=written(rng, b))
    return MathItem(text, "calculator", expression.format(a=a.text, b=b.text), expected, "arithmetic", held)


def _arith_multi(rng: random.Random, split: str) -> MathItem:
    nums = {k: (integer(rng, 2, 999) if rng.random() < 0.8 else decimal(rng, 1, 99, 1)) for k in "abc"}
    a, b, c = (nums[k].value for k in "abc")
    code = {k: v.text for k, v in nums.items()}
    if rng.random() < 0.5:
        shape, value = rng.choice(MULTI_SHAPES)
        if "/" in shape and 0 in (b + c, c):
            return _arith_binary(rng, split)
        glyphs = {op: rng.choice((*_OPERATOR_WORDS[op][:2], _OPERATOR_WORDS[op][-1 if op in "+" else 3])) for op in "+-*/"}
        shown = "".join(glyphs.get(ch, ch) for ch in shape).format(**{k: written(rng, v) for k, v in nums.items()})
        template, held = pick(rng, ARITH_WRAPPERS, split)
        return MathItem(template.format(e=shown), "calculator", shape.format(**code), value(a, b, c), "arithmetic", held)
    (question, shape, value), held = pick(rng, MULTI_WORDS, split)
    if "/(" in shape and b + c == 0:
        return _arith_binary(rng, split)
    text = question.format(**{k: written(rng, v) for k, v in nums.items()})
    return MathItem(text, "calculator", shape.format(**code), value(a, b, c), "arithmetic", held)


@dataclass(frozen=True)
class _Term:
    """Part of an explicit expression: as the user writes it, as code writes it, its value, its precedence."""

    shown: str
    code: str
    value: Fraction
    precedence: int


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_GLYPHS = {"+": ("+",), "-": ("-", "-", "−"), "*": ("*", "*", "×"), "/": ("/", "/", "÷")}


def _operand(rng: random.Random) -> _Term:
    if rng.random() < 0.12:  # a power inside the expression: 2^5, 3**2
        base, exponent = rng.randint(2, 12), rng.randint(2, 3)
        return _Term(f"{base}{rng.choice(('^', '**'))}{exponent}", f"{base}**{exponent}", Fraction(base) ** exponent, 3)
    number = integer(rng, 1, 99) if rng.random() < 0.75 else integer(rng, 100, 999) if rng.random() < 0.6 else decimal(rng, 1, 50, 1)
    return _Term(number.text, number.text, number.value, 4)


def _grouped(term: _Term, rng: random.Random, needed: bool) -> _Term:
    if not needed and (term.precedence > 2 or rng.random() > 0.15):
        return term
    return _Term(f"({term.shown})", f"({term.code})", term.value, 4)


def _expression(rng: random.Random, depth: int, glyphs: dict[str, str], gap: str) -> _Term:
    """A random expression tree of up to `depth` operator levels, parenthesised where the user would,
    written with the user's operator `glyphs` and spacing."""
    if depth == 0 or rng.random() < 0.25:
        return _operand(rng)
    op = rng.choice("+-*/+-*")
    left, right = _expression(rng, depth - 1, glyphs, gap), _expression(rng, depth - 1, glyphs, gap)
    if op == "/" and right.value == 0:
        op = "*"
    level = _PRECEDENCE[op]
    left = _grouped(left, rng, left.precedence < level)
    right = _grouped(right, rng, right.precedence < level or (right.precedence == level and op in "-/"))
    value = _APPLY[op](left.value, right.value)
    return _Term(f"{left.shown}{gap}{glyphs[op]}{gap}{right.shown}", f"{left.code}{op}{right.code}", value, level)


def _arith_expression(rng: random.Random, split: str) -> MathItem:
    """An explicit expression of three to six numbers, nested parentheses included, copied exactly."""
    glyphs, gap = {op: rng.choice(options) for op, options in _GLYPHS.items()}, " " if rng.random() < 0.7 else ""
    term = _expression(rng, rng.choice((2, 2, 3)), glyphs, gap)
    while term.precedence > 2:  # at least one operator
        term = _expression(rng, 2, glyphs, gap)
    template, held = pick(rng, ARITH_WRAPPERS, split)
    return MathItem(template.format(e=term.shown), "calculator", term.code, term.value, "arithmetic", held)


def _power(rng: random.Random, split: str) -> MathItem:
    if rng.random() < 0.4:
        root = rng.randint(2, 400)
        square = root * root
        template, held = pick(rng, ROOT_WORDS, split)
        return MathItem(
            template.format(s=written(rng, Num(Fraction(square), str(square)))),
            "calculator",
            f"sqrt({square})",
            Fraction(root),
            "power",
            held,
        )
    (question, shape), held = pick(rng, POWER_WORDS, split)
    a = rng.randint(2, 30)
    n = 2 if "squared" in question else 3 if "cubed" in question else rng.randint(2, 6 if a < 10 else 3)
    return MathItem(question.format(a=a, n=n), "calculator", shape.format(a=a, n=n), Fraction(a) ** n, "power", held)


def _percent_value(rng: random.Random) -> Num:
    roll = rng.random()
    if roll < 0.7:
        return Num(Fraction(p := rng.choice((5, 10, 12, 15, 18, 20, 25, 30, 35, 40, 45, 50, 60, 75, 80, 90, 3, 7, 8, 2))), str(p))
    if roll < 0.85:
        return decimal(rng, 1, 30, 1)
    return integer(rng, 1, 99)


def _percent(rng: random.Random, split: str) -> MathItem:
    p, x = _percent_value(rng), (integer(rng, 10, 99_999) if rng.random() < 0.8 else decimal(rng, 1, 9999, 2))
    fmt = {"p": p.text, "x": written(rng, x)}
    code = {"p": p.text, "x": x.text}
    roll = rng.random()
    if roll < 0.35:
        template, held = pick(rng, PERCENT_OF, split)
        return MathItem(template.format(**fmt), "calculator", "{p}%*{x}".format(**code), p.value / 100 * x.value, "percent", held)
    if roll < 0.5:
        template, held = pick(rng, PERCENT_UP, split)
        return MathItem(template.format(**fmt), "calculator", "{x}*(1+{p}%)".format(**code), x.value * (1 + p.value / 100), "percent", held)
    if roll < 0.65:
        template, held = pick(rng, PERCENT_DOWN, split)
        return MathItem(template.format(**fmt), "calculator", "{x}*(1-{p}%)".format(**code), x.value * (1 - p.value / 100), "percent", held)
    if roll < 0.8:
        whole = integer(rng, 10, 9999)
        part = Num(Fraction(v := rng.randint(1, int(whole.value))), str(v))
        template, held = pick(rng, PERCENT_RATIO, split)
        text = template.format(x=written(rng, part), y=written(rng, whole))
        return MathItem(text, "calculator", f"{part.text}/{whole.text}*100", part.value / whole.value * 100, "percent", held)
    (question, shape, sign), held = pick(rng, PERCENT_MONEY, split)
    price = money(rng, 5, 2000) if rng.random() < 0.5 else integer(rng, 5, 5000)
    text = question.format(p=p.text, x=written(rng, price))
    share = p.value / 100
    expected = price.value * (1 + sign * share) if sign else share * price.value
    return MathItem(text, "calculator", shape.format(p=p.text, x=price.text), expected, "percent", held)


def _word_problem(rng: random.Random, split: str) -> MathItem:
    name, item = rng.choice(FIRST_NAMES), rng.choice(ITEMS)
    n, price = rng.randint(2, 24), money(rng, 1, 99)
    problems: list[tuple[str, str, Fraction]] = [
        (f"{name} buys {n} {item} at ${price.text} each. What is the total?", f"{n}*{price.text}", n * price.value),
    ]
    extra = money(rng, 1, 20)
    problems.append(
        (
            f"{name} buys {n} {item} at ${price.text} each and a bag for ${extra.text}. How much is that in total?",
            f"{n}*{price.text}+{extra.text}",
            n * price.value + extra.value,
        )
    )
    pack = money(rng, 5, 300)
    problems.append((f"A pack of {n} {item} costs ${pack.text}. What does one cost?", f"{pack.text}/{n}", pack.value / n))
    note = next(v for v in (20, 50, 100, 500, 1000, 5000) if v > n * price.value)
    problems.append(
        (
            f"{name} pays for {n} {item} at ${price.text} each with a ${note} note. How much change is due?",
            f"{note}-{n}*{price.text}",
            note - n * price.value,
        )
    )
    speed, hours = rng.randint(12, 320), decimal(rng, 1, 12, 1)
    problems += [
        (f"A train travels at {speed} km/h for {hours.text} hours. How far does it go?", f"{speed}*{hours.text}", speed * hours.value),
        (
            f"A car covers {speed * 3} km in {hours.text} hours. What is its average speed in km/h?",
            f"{speed * 3}/{hours.text}",
            speed * 3 / hours.value,
        ),
        (f"How long does it take to drive {speed * n} km at {speed} km/h?", f"{speed * n}/{speed}", Fraction(n)),
        (f"A cyclist rides {n} miles in {speed} minutes. What is the speed in miles per hour?", f"{n}/{speed}*60", Fraction(n, speed) * 60),
    ]
    bill, people = money(rng, 20, 2000), rng.randint(2, 12)
    width, length = decimal(rng, 2, 40, 1), decimal(rng, 2, 60, 1)
    problems += [
        (
            f"Split a ${written(rng, bill)} bill among {people} people. How much does each pay?",
            f"{bill.text}/{people}",
            bill.value / people,
        ),
        (
            f"A room is {width.text} m by {length.text} m. What is its area in square metres?",
            f"{width.text}*{length.text}",
            width.value * length.value,
        ),
        (
            f"What is the perimeter of a {width.text} m by {length.text} m garden?",
            f"2*({width.text}+{length.text})",
            2 * (width.value + length.value),
        ),
    ]
    monthly, months, rate = rng.randint(20, 2500), rng.randint(2, 48), rng.choice((2, 3, 4, 5, 6, 8))
    principal, years = rng.randint(500, 250_000), rng.randint(2, 15)
    problems += [
        (f"{name} saves ${monthly} a month for {months} months. How much is saved?", f"{monthly}*{months}", Fraction(monthly * months)),
        (
            f"What is the simple interest on ${as_written(rng, principal)} at {rate}% a year for {years} years?",
            f"{principal}*{rate}%*{years}",
            Fraction(principal * rate * years, 100),
        ),
    ]
    big, days = rng.randint(2, 9999), rng.randint(2, 400)
    problems += [
        (f"How many minutes are in {hours.text} hours?", f"{hours.text}*60", hours.value * 60),
        (f"How many seconds are in {days} days?", f"{days}*24*60*60", Fraction(days * 86400)),
        (f"Convert {big} miles to km, with 1 mile = 1.609 km.", f"{big}*1.609", big * Fraction("1.609")),
        (f"How many weeks is {days} days?", f"{days}/7", Fraction(days, 7)),
    ]
    scores = [rng.randint(40, 100) for _ in range(rng.choice((3, 4, 5)))]
    listed = ", ".join(map(str, scores[:-1])) + f" and {scores[-1]}"
    eggs, box = rng.randint(25, 5000), rng.choice((6, 10, 12, 24, 30))
    litres, distance = decimal(rng, 3, 15, 1), rng.randint(20, 2000)
    born, year = rng.randint(1900, 2015), rng.randint(2016, 2040)
    problems += [
        (
            f"The scores were {listed}. What is the average?",
            f"({'+'.join(map(str, scores))})/{len(scores)}",
            Fraction(sum(scores), len(scores)),
        ),
        (
            f"A box holds {box} eggs. How many boxes are needed for {as_written(rng, eggs)} eggs?",
            f"ceil({eggs}/{box})",
            Fraction(-(-eggs // box)),
        ),
        (
            f"A car uses {litres.text} litres per 100 km. How much fuel does it need for {distance} km?",
            f"{litres.text}*{distance}/100",
            litres.value * distance / 100,
        ),
        (f"{name} was born in {born}. How old does {name} turn in {year}?", f"{year}-{born}", Fraction(year - born)),
    ]
    (question, expression, expected), held = pick(rng, problems, split)
    return MathItem(question, "calculator", expression, expected, "word problem", held)


def _everyday_problem(rng: random.Random, split: str) -> MathItem:
    """Everyday word problems of more shapes: two-step totals, rates, unit changes, geometry, shares.

    Each shape has several phrasings, so held-out phrasings test wording and held-out shapes test
    whether the adapter reads an unseen problem into the right expression (brackets included).
    """
    shapes = _everyday_shapes(_EverydayNumbers.draw(rng))
    (phrasings_, expression, expected), held = pick(rng, shapes, split)
    question, held_phrasing = pick(rng, phrasings_, split)
    return MathItem(question, "calculator", expression, expected, "word problem", held or held_phrasing)


@dataclass(frozen=True)
class _EverydayNumbers:
    """The names and numbers of one everyday problem: every shape is written from the same draw."""

    name: str
    item: str
    a: Num
    b: Num
    n: int
    m: int
    wage: Num
    hours: int
    d1: int
    d2: int
    t1: Num
    t2: Num
    celsius: int
    side: int
    base: int
    height: int
    old: int
    new: int
    boys: int
    girls: int
    per_day: int
    days: int
    fee: int
    monthly: int
    mps: int
    grams: int
    servings: int
    wanted: int
    x: Num
    y: Num
    had: int
    gave: int
    got: int
    rows: int
    seats: int
    taken: int
    length: int
    width: int
    depth: Num

    @classmethod
    def draw(cls, rng: random.Random) -> _EverydayNumbers:
        """One draw, in a fixed order (the rows, and so the dataset's hash, depend on it)."""
        name, item = rng.choice(FIRST_NAMES), rng.choice(ITEMS)
        a, b = money(rng, 20, 900), money(rng, 1, 19)
        n, m = rng.randint(2, 30), rng.randint(2, 30)
        wage, hours = money(rng, 8, 60), rng.randint(2, 60)
        d1, d2, t1, t2 = rng.randint(10, 400), rng.randint(10, 400), decimal(rng, 1, 6, 1), decimal(rng, 1, 6, 1)
        celsius, side = rng.randint(-30, 45), rng.randint(2, 40)
        base, height = rng.randint(2, 90), rng.randint(2, 90)
        old, new = rng.randint(20, 900), rng.randint(20, 900)
        while new == old:
            new = rng.randint(20, 900)
        boys, girls = rng.randint(1, 40), rng.randint(1, 40)
        per_day, days = rng.randint(5, 80), rng.randint(2, 40)
        fee, monthly = rng.randint(10, 200), rng.randint(5, 120)
        mps = rng.randint(2, 90)
        grams, servings, wanted = rng.choice((150, 200, 250, 300, 400, 450, 500, 600)), rng.choice((2, 4, 6, 8)), rng.randint(1, 20)
        x, y = money(rng, 1, 40), money(rng, 1, 40)
        had, gave, got = rng.randint(30, 900), rng.randint(1, 29), rng.randint(1, 300)
        rows, seats, taken = rng.randint(5, 40), rng.randint(2, 8), rng.randint(1, 30)
        length, width, depth = rng.randint(2, 50), rng.randint(2, 25), decimal(rng, 1, 4, 1)
        return cls(
            name,
            item,
            a,
            b,
            n,
            m,
            wage,
            hours,
            d1,
            d2,
            t1,
            t2,
            celsius,
            side,
            base,
            height,
            old,
            new,
            boys,
            girls,
            per_day,
            days,
            fee,
            monthly,
            mps,
            grams,
            servings,
            wanted,
            x,
            y,
            had,
            gave,
            got,
            rows,
            seats,
            taken,
            length,
            width,
            depth,
        )


EverydayShape = tuple[tuple[str, ...], str, Fraction]
"""Phrasings of one problem, its calculator expression and its exact value."""


def _everyday_shapes(v: _EverydayNumbers) -> list[EverydayShape]:
    """Every everyday shape written with the numbers of `v`, in a fixed order."""
    return [
        (
            (
                f"{v.name} has ${v.a.text} and spends ${v.b.text}. How much is left?",
                f"{v.name} had ${v.a.text} and paid ${v.b.text} for lunch. What remains?",
                f"After spending ${v.b.text} out of ${v.a.text}, how much money does {v.name} still have?",
            ),
            f"{v.a.text}-{v.b.text}",
            v.a.value - v.b.value,
        ),
        (
            (
                f"{v.name} earns ${v.wage.text} an hour and works {v.hours} hours. What is the pay?",
                f"At ${v.wage.text} per hour, how much does {v.name} make in {v.hours} hours?",
                f"What are {v.hours} hours of work worth at ${v.wage.text} an hour?",
            ),
            f"{v.wage.text}*{v.hours}",
            v.wage.value * v.hours,
        ),
        (
            (
                f"A car drives {v.d1} km in {v.t1.text} hours and then {v.d2} km in {v.t2.text} hours. What is its average speed in km/h?",
                f"{v.name} cycles {v.d1} km in {v.t1.text} h, rests, then rides {v.d2} km in {v.t2.text} h. Average speed over both legs?",
                f"Two legs of a trip: {v.d1} km taking {v.t1.text} hours and {v.d2} km taking {v.t2.text} hours. What is the overall speed in km/h?",
            ),
            f"({v.d1}+{v.d2})/({v.t1.text}+{v.t2.text})",
            (v.d1 + v.d2) / (v.t1.value + v.t2.value),
        ),
        (
            (
                f"It is {v.celsius} °C. What is that in Fahrenheit?",
                f"Convert {v.celsius} degrees Celsius to Fahrenheit.",
                f"How many °F is {v.celsius} °C?",
            ),
            f"{v.celsius}*9/5+32",
            Fraction(v.celsius) * 9 / 5 + 32,
        ),
        (
            (
                f"A cube has sides of {v.side} cm. What is its volume in cubic cm?",
                f"What is the volume of a cube with {v.side} cm edges?",
                f"How many cubic centimetres does a {v.side} cm cube hold?",
            ),
            f"{v.side}**3",
            Fraction(v.side**3),
        ),
        (
            (
                f"A triangle has a base of {v.base} cm and a height of {v.height} cm. What is its area?",
                f"Find the area of a triangle with base {v.base} m and height {v.height} m.",
                f"What is the area of a triangular sail {v.base} ft wide at the base and {v.height} ft tall?",
            ),
            f"{v.base}*{v.height}/2",
            Fraction(v.base * v.height, 2),
        ),
        (
            (
                f"The price went from ${v.old} to ${v.new}. What is the percentage change?",
                f"A value moved from {v.old} to {v.new}. By what percent did it change?",
                f"Sales were {v.old} last month and {v.new} this month. What is the percent change?",
            ),
            f"({v.new}-{v.old})/{v.old}*100",
            Fraction(v.new - v.old, v.old) * 100,
        ),
        (
            (
                f"A class has {v.boys} boys and {v.girls} girls. What percentage are girls?",
                f"There are {v.boys} cats and {v.girls} dogs at a shelter. What percent of the animals are dogs?",
                f"A team has {v.boys} juniors and {v.girls} seniors. What share of the team are seniors, in percent?",
            ),
            f"{v.girls}/({v.boys}+{v.girls})*100",
            Fraction(v.girls, v.boys + v.girls) * 100,
        ),
        (
            (
                f"{v.name} reads {v.per_day} pages a day for {v.days} days. How many pages is that?",
                f"{v.name} runs {v.per_day} km a week for {v.days} weeks. What is the total distance?",
                f"A machine makes {v.per_day} parts an hour. How many parts does it make in {v.days} hours?",
            ),
            f"{v.per_day}*{v.days}",
            Fraction(v.per_day * v.days),
        ),
        (
            (
                f"A gym charges a ${v.fee} joining fee plus ${v.monthly} a month. What does it cost for {v.n} months?",
                f"A phone plan is ${v.monthly} per month plus a one-off ${v.fee} fee. Total for {v.n} months?",
                f"Renting a locker costs ${v.fee} up front and ${v.monthly} each month. How much for {v.n} months?",
            ),
            f"{v.fee}+{v.monthly}*{v.n}",
            Fraction(v.fee + v.monthly * v.n),
        ),
        (
            (
                f"What is {v.mps} m/s in km/h?",
                f"Convert a speed of {v.mps} metres per second to kilometres per hour.",
                f"A drone flies at {v.mps} m/s. How fast is that in km/h?",
            ),
            f"{v.mps}*3.6",
            v.mps * Fraction("3.6"),
        ),
        (
            (
                f"A recipe needs {v.grams} g of flour for {v.servings} servings. How much flour for {v.wanted} servings?",
                f"{v.grams} g of rice feeds {v.servings} people. How many grams feed {v.wanted} people?",
                f"For {v.servings} portions you need {v.grams} ml of milk. How much milk for {v.wanted} portions?",
            ),
            f"{v.grams}/{v.servings}*{v.wanted}",
            Fraction(v.grams, v.servings) * v.wanted,
        ),
        (
            (
                f"{v.name} buys {v.n} {v.item} at ${v.x.text} each and {v.m} more at ${v.y.text} each. What is the total?",
                f"What do {v.n} items at ${v.x.text} and {v.m} items at ${v.y.text} cost altogether?",
                f"An order has {v.n} {v.item} priced ${v.x.text} each plus {v.m} priced ${v.y.text} each. How much is it?",
            ),
            f"{v.n}*{v.x.text}+{v.m}*{v.y.text}",
            v.n * v.x.value + v.m * v.y.value,
        ),
        (
            (
                f"{v.name} had {v.had} stickers, gave away {v.gave} and then got {v.got} more. How many now?",
                f"A shop had {v.had} {v.item}, sold {v.gave} and received {v.got}. How many are in stock?",
                f"There were {v.had} people on a train; {v.gave} got off and {v.got} got on. How many are on board?",
            ),
            f"{v.had}-{v.gave}+{v.got}",
            Fraction(v.had - v.gave + v.got),
        ),
        (
            (
                f"A bus has {v.rows} rows of {v.seats} seats and {v.taken} seats are taken. How many are free?",
                f"A hall has {v.rows} rows with {v.seats} chairs each; {v.taken} chairs are occupied. How many are empty?",
                f"{v.rows} shelves hold {v.seats} boxes each, and {v.taken} boxes were removed. How many remain?",
            ),
            f"{v.rows}*{v.seats}-{v.taken}",
            Fraction(v.rows * v.seats - v.taken),
        ),
        (
            (
                f"A pool is {v.length} m long, {v.width} m wide and {v.depth.text} m deep. What is its volume in cubic metres?",
                f"How much water fills a tank {v.length} m by {v.width} m by {v.depth.text} m?",
                f"What is the volume of a box measuring {v.length} by {v.width} by {v.depth.text} metres?",
            ),
            f"{v.length}*{v.width}*{v.depth.text}",
            v.length * v.width * v.depth.value,
        ),
        (
            (
                f"What is the mean of {v.d1} and {v.d2}?",
                f"What is the average of {v.d1} and {v.d2}?",
                f"Find the midpoint between {v.d1} and {v.d2}.",
            ),
            f"({v.d1}+{v.d2})/2",
            Fraction(v.d1 + v.d2, 2),
        ),
        (
            (
                f"{v.name} splits ${v.a.text} equally among {v.n} friends after keeping ${v.b.text}. How much does each friend get?",
                f"After a ${v.b.text} fee, ${v.a.text} is shared by {v.n} people. What does each get?",
                f"Take ${v.b.text} from ${v.a.text} and divide the rest by {v.n}. How much is each share?",
            ),
            f"({v.a.text}-{v.b.text})/{v.n}",
            (v.a.value - v.b.value) / v.n,
        ),
    ]


def _show_linear(a: int, v: str, b: int, c: int) -> str:
    coefficient = "" if a == 1 else str(a)
    return f"{coefficient}{v}{_signed(b) if b else ''} = {c}"


def _linear(rng: random.Random, split: str) -> MathItem:
    v = rng.choice("xxxynta")
    a, solution = rng.randint(1, 12), rng.randint(-20, 60)
    if rng.random() < 0.3:
        (question, shape), held = pick(rng, LINEAR_WORDS, split)
        a, m = max(a, 2), rng.randint(1, 50)
        b = -m if "{m}" in question else m
        fmt = {"a": a, "b": m, "m": m, "c": a * solution + b}
        return MathItem(question.format(**fmt), "solve", shape.format(**fmt), f"x: {solution}", "equation", held)
    b = rng.choice((0, rng.randint(-50, 50)))
    c = a * solution + b
    shown = f"{'' if a == 1 else a}{v}{_signed(b) if b else ''} = {c}"
    if rng.random() < 0.3:
        shown = shown.replace(" ", "")
    equation = f"{'' if a == 1 else f'{a}*'}{v}{_compact_signed(b) if b else ''}={c}"
    template, held = pick(rng, LINEAR, split)
    return MathItem(template.format(eq=shown, v=v), "solve", equation, f"{v}: {solution}", "equation", held)


def _linear_term(k: int, compact: bool) -> str:
    if k == 0:
        return ""
    sign = "+" if k > 0 else "-"
    size = "" if abs(k) == 1 else str(abs(k))
    return f"{sign}{size}{'*' if size else ''}x" if compact else f" {sign} {size}x"


def _quadratic(rng: random.Random, split: str) -> MathItem:
    r1, r2 = sorted(rng.sample(range(-12, 13), 2))
    k, p = -(r1 + r2), r1 * r2
    square = rng.choice(("x^2", "x²", "x**2"))
    shown = f"{square}{_linear_term(k, False)}{_signed(p) if p else ''} = 0"
    equation = f"x**2{_linear_term(k, True)}{_compact_signed(p) if p else ''}=0"
    template, held = pick(rng, QUADRATIC, split)
    return MathItem(template.format(eq=shown), "solve", equation, {f"x: {r1}", f"x: {r2}"}, "equation", held)


def _system(rng: random.Random, split: str) -> MathItem:
    x, y = rng.randint(-10, 40), rng.randint(-10, 40)
    if rng.random() < 0.3 and x > y >= 0:
        (question, shape), held = pick(rng, SYSTEM_WORDS, split)
        fmt = {"s": x + y, "d": x - y}
        return MathItem(question.format(**fmt), "solve", shape.format(**fmt), f"x: {x}, y: {y}", "system", held)
    a, b, d, e = rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 6)
    c, f = a * x + b * y, d * x - e * y

    def side(k: int, v: str) -> str:
        return v if k == 1 else f"{k}{v}"

    e1, e2 = f"{side(a, 'x')} + {side(b, 'y')} = {c}", f"{side(d, 'x')} - {side(e, 'y')} = {f}"
    code = f"{'' if a == 1 else f'{a}*'}x+{'' if b == 1 else f'{b}*'}y={c}; {'' if d == 1 else f'{d}*'}x-{'' if e == 1 else f'{e}*'}y={f}"
    template, held = pick(rng, SYSTEM, split)
    return MathItem(template.format(e1=e1, e2=e2), "solve", code, f"x: {x}, y: {y}", "system", held)


GENERATORS: tuple[tuple[Callable[[random.Random, str], MathItem], float], ...] = (
    (_arith_binary, 0.11),
    (_arith_multi, 0.06),
    (_arith_expression, 0.06),
    (_power, 0.03),
    (_percent, 0.12),
    (_word_problem, 0.12),
    (_everyday_problem, 0.11),
    (everyday_item, 0.27),
    (_linear, 0.07),
    (_quadratic, 0.02),
    (_system, 0.03),
)


def math_item(rng: random.Random, split: str) -> MathItem:
    """A question of any kind with the call that answers it (not yet checked against the tool)."""
    generator = rng.choices([g for g, _ in GENERATORS], weights=[w for _, w in GENERATORS])[0]
    return generator(rng, split)


def math_question(rng: random.Random, split: str) -> tuple[str, bool]:
    """Just a math question (for the router's rows) and whether its phrasing is held out."""
    item = math_item(rng, split)
    return item.question, item.held_out


def _styled(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.12:
        text = text[:1].lower() + text[1:]
    elif roll < 0.2:
        text = text.rstrip("?.")
    if rng.random() < 0.15:
        prefix = rng.choice(STYLE_PREFIXES)
        text = prefix + (text[:1].lower() + text[1:] if prefix.endswith((": ", ", ")) else text)
    if rng.random() < 0.08:
        text = (text if text.endswith(("?", ".")) else text + "?") + rng.choice(STYLE_SUFFIXES)
    return text


def check_result(item: MathItem, result: str) -> bool:
    """True when the tool's result text is the item's expected value."""
    if isinstance(item.expected, set):
        return set(result.split("; ")) == item.expected
    if isinstance(item.expected, str):
        return result == item.expected
    exact = result.split(" ≈ ")[0]
    if isinstance(item.expected, Fraction):
        try:
            return Fraction(exact) == item.expected
        except ValueError:
            return False
    return abs(float(exact) - item.expected) <= 1e-9 * max(1.0, abs(item.expected))


def run_tool(tool_name: str, argument: str) -> tuple[str, bool]:
    """The tool's reply (or its error text, as the agent's tool node returns it) and whether it failed."""
    tool = calculator if tool_name == "calculator" else solve
    key = "expression" if tool_name == "calculator" else "equations"
    try:
        (mathexpr.evaluate if tool_name == "calculator" else mathexpr.solve)(argument)
        failed = False
    except mathexpr.MathInputError:
        failed = True
    return str(tool.invoke({key: argument})), failed


def _wrong_first(rng: random.Random, item: MathItem) -> tuple[str, str] | None:
    """A plausible call the tool refuses, to be corrected by the item's call."""
    if item.tool == "solve" and item.kind == "equation" and ";" not in item.argument:
        return "calculator", item.argument
    if item.tool != "calculator":
        return None
    options = []
    if "*" in item.argument and "**" not in item.argument:
        options.append(item.argument.replace("*", " x ", 1))
    if item.argument.startswith(tuple("0123456789")):
        options.append("$" + item.argument)
    if "%*" in item.argument:
        percent, rest = item.argument.split("%*", 1)
        options.append(f"{percent}% of {rest}")
    return ("calculator", rng.choice(options)) if options else None


def make_example(rng: random.Random, split: str) -> Example | None:
    """One verified math row (sometimes with a refused first call, sometimes a step given earlier results
    as facts), or None when the draw is unusable."""
    item = facts_item(rng, split) if rng.random() < FACTS_SHARE else math_item(rng, split)
    result, failed = run_tool(item.tool, item.argument)
    if failed or not check_result(item, result):
        raise AssertionError(f"math item disagrees with the tool: {item} -> {result}")
    question = item.question if item.kind == "facts" else _styled(rng, item.question)
    messages = [SystemMessage(MATH.system_prompt), HumanMessage(question)]
    kind = item.kind
    wrong = _wrong_first(rng, item) if rng.random() < RETRY_SHARE else None
    if wrong is not None:
        wrong_reply, wrong_failed = run_tool(*wrong)
        if not wrong_failed:
            return None
        arg = "expression" if wrong[0] == "calculator" else "equations"
        messages += [
            AIMessage("", tool_calls=[tool_call(wrong[0], "call_0", **{arg: wrong[1]})]),
            ToolMessage(wrong_reply, tool_call_id="call_0"),
        ]
        kind = "retry after error"
    messages += solved(item.tool, item.argument, result)
    return Example(swift_row(messages, MATH.openai_tools()), (normalise_key(item.argument),), kind, item.held_out)


def solved(tool_name: str, argument: str, result: str) -> list[BaseMessage]:
    """The reference turns after the question: the call, the tool's `result`, the final answer."""
    arg = "expression" if tool_name == "calculator" else "equations"
    return [
        AIMessage("", tool_calls=[tool_call(tool_name, "call_1", **{arg: argument})]),
        ToolMessage(result, tool_call_id="call_1"),
        AIMessage(final_answer(result)),
    ]


def item_keys(row: dict) -> set[str]:
    """The items a written math row uses: its final tool argument."""
    calls = [json.loads(m["content"]) for m in row["messages"] if m["role"] == "tool_call"]
    return {normalise_key(next(iter(calls[-1]["arguments"].values())))}
