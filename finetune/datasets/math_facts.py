"""Math rows whose numbers come from facts: the user turn of a step that needs an earlier step's result.

The supervisor gives such a step the earlier results as its facts (`agentgraph.agent.facts_request`):
"Facts: The Kelm Bridge is 450 metres long. [source: kelm-bridge.md]\nTask: Multiply that by 3." ->
`calculator(expression="450*3")`. The facts are what earlier steps return: a document's sentence with its
citation, a math result ("15% of 80 is 12."), or the previous turn of the conversation ("Earlier in this
conversation: <question> <answer>"); a task refers to the number ("that", "it", "the result") or names
what it is ("the length of Kelm Bridge"), sometimes beside a second fact it must not use, or asks about
two facts at once. Numbers are taken as the facts write them, without thousands separators.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from agentgraph.agent import facts_request
from agentgraph.citations import cite
from agentgraph.finetune.datasets.common import pick
from agentgraph.finetune.datasets.math_numbers import MathItem, Num, integer, written
from agentgraph.finetune.datasets.retrieval import random_fact, slug

_CONVERSATION = "Earlier in this conversation: "


@dataclass(frozen=True)
class Known:
    """A number an earlier step stated: the fact's text, the number as code writes it, and what it is."""

    text: str
    number: Num
    phrase: str | None
    """What the number is ("the length of Kelm Bridge"), when the fact says."""
    year: bool = False


def _from_document(rng: random.Random, split: str) -> Known:
    fact = random_fact(rng, split, numeric=True)
    value = fact.value.replace(",", "")
    number = Num(Fraction(value), value)
    source = slug(fact.entity) + rng.choice((".md", ".txt"))
    text = cite(fact.sentence, source) if rng.random() < 0.7 else fact.sentence
    if rng.random() < 0.35:
        text = f"{_CONVERSATION}{fact.question} {text}"
    return Known(text, number, fact.attribute.phrases[0].format(e=fact.entity), fact.attribute.is_year)


def _from_math(rng: random.Random) -> Known:
    p, x = rng.choice((5, 10, 12, 15, 18, 20, 25, 30, 40, 75)), rng.randint(12, 9000)
    value = Fraction(p * x, 100)
    shown = str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
    question = rng.choice((f"What is {p}% of {x}?", f"{p}% of {written(rng, Num(Fraction(x), str(x)))}?", f"Work out {p}% of {x}."))
    answer = rng.choice((f"{p}% of {x} is {shown}.", f"{question} The answer is {shown}."))
    if rng.random() < 0.5:
        answer = f"{_CONVERSATION}{question} {answer if not answer.startswith(question) else answer[len(question) + 1 :]}"
    return Known(answer, Num(value, shown), None)


Operation = tuple[str, str, Callable[[Fraction, Fraction], Fraction]]
"""(task with {n} for the number's name and {k} for the operand, expression with {a} and {k}, value)."""
ON_ONE: tuple[Operation, ...] = (
    ("Multiply {n} by {k}.", "{a}*{k}", lambda a, k: a * k),
    ("What is {n} times {k}?", "{a}*{k}", lambda a, k: a * k),
    ("What would {k} of those come to?", "{a}*{k}", lambda a, k: a * k),
    ("Double {n}.", "{a}*2", lambda a, k: a * 2),
    ("Now triple {n}.", "{a}*3", lambda a, k: a * 3),
    ("Halve {n}.", "{a}/2", lambda a, k: a / 2),
    ("Divide {n} by {k}.", "{a}/{k}", lambda a, k: a / k),
    ("Split {n} {k} ways.", "{a}/{k}", lambda a, k: a / k),
    ("Add {k} to {n}.", "{a}+{k}", lambda a, k: a + k),
    ("What is {n} plus {k}?", "{a}+{k}", lambda a, k: a + k),
    ("Subtract {k} from {n}.", "{a}-{k}", lambda a, k: a - k),
    ("Take {k} away from {n}.", "{a}-{k}", lambda a, k: a - k),
    ("What is {k}% of {n}?", "{k}%*{a}", lambda a, k: a * k / 100),
    ("Take {k}% off {n}.", "{a}*(1-{k}%)", lambda a, k: a * (1 - k / 100)),
    ("Increase {n} by {k}%.", "{a}*(1+{k}%)", lambda a, k: a * (1 + k / 100)),
    ("Square {n}.", "{a}**2", lambda a, k: a * a),
    ("How much is that over {k} years?", "{a}*{k}", lambda a, k: a * k),
    ("If that happens {k} times, what is the total?", "{a}*{k}", lambda a, k: a * k),
)
ON_TWO: tuple[Operation, ...] = (
    ("Add the two numbers together.", "{a}+{b}", lambda a, b: a + b),
    ("What is {n1} plus {n2}?", "{a}+{b}", lambda a, b: a + b),
    ("What is {n1} minus {n2}?", "{a}-{b}", lambda a, b: a - b),
    ("Multiply {n1} by {n2}.", "{a}*{b}", lambda a, b: a * b),
    ("Divide {n1} by {n2}.", "{a}/{b}", lambda a, b: a / b),
    ("What percentage of {n2} is {n1}?", "{a}/{b}*100", lambda a, b: a / b * 100),
)
ON_YEAR: tuple[Operation, ...] = (
    ("How many years ago was {n}, counting from {k}?", "{k}-{a}", lambda a, k: k - a),
    ("How many years had passed by {k}?", "{k}-{a}", lambda a, k: k - a),
    ("How long before {k} was {n}, in years?", "{k}-{a}", lambda a, k: k - a),
)
"""Operations on a year: {k} is a later year."""
THAT = ("that", "it", "that number", "the result", "this")


def _operand(rng: random.Random, template: str) -> Num:
    if "%" in template:
        return integer(rng, 1, 9) if rng.random() < 0.2 else Num(Fraction(p := rng.choice((5, 10, 12, 15, 20, 25, 30, 50))), str(p))
    return integer(rng, 2, 12) if rng.random() < 0.7 else integer(rng, 13, 400)


def _known(rng: random.Random, split: str) -> Known:
    return _from_document(rng, split) if rng.random() < 0.65 else _from_math(rng)


def facts_item(rng: random.Random, split: str) -> MathItem:
    """A task on the number(s) of one or two facts, with the call that computes it."""
    first = _known(rng, split)
    if rng.random() < 0.2:
        second = _from_document(rng, split)
        if first.year != second.year:  # a year and a count do not add up
            return facts_item(rng, split)
        (task, shape, value), held = pick(rng, ON_TWO, split)
        if "{n1}" in task and not (first.phrase and second.phrase):
            task, shape, value = ON_TWO[0]
        if second.number.value == 0 and "/" in shape:
            shape, value = "{a}+{b}", ON_TWO[0][2]
            task = ON_TWO[0][0]
        if first.year:  # two years: only the time between them
            task, shape, value = "How many years lie between the two?", "{a}-{b}", lambda a, b: a - b
            if first.number.value < second.number.value:
                first, second = second, first
        text = task.format(n1=first.phrase, n2=second.phrase)
        expression = shape.format(a=first.number.text, b=second.number.text)
        return MathItem(
            facts_request(text, [first.text, second.text]),
            "calculator",
            expression,
            value(first.number.value, second.number.value),
            "facts",
            held,
        )
    (task, shape, value), held = pick(rng, ON_YEAR if first.year else ON_ONE, split)
    k = integer(rng, int(first.number.value) + 1, 2030) if first.year else _operand(rng, shape)
    facts = [first.text]
    named = first.phrase is not None and ("{n}" in task) and rng.random() < 0.45
    if named:
        other = _from_document(rng, split)
        if rng.random() < 0.5:
            facts.insert(rng.randint(0, 1), other.text)  # a fact the task does not ask about
    name = first.phrase if named and first.phrase else rng.choice(THAT)
    text = task.format(n=name, k=k.text)
    text = text[:1].upper() + text[1:]
    if rng.random() < 0.15:
        text = text[:1].lower() + text[1:]
    expression = shape.format(a=first.number.text, k=k.text)
    return MathItem(facts_request(text, facts), "calculator", expression, value(first.number.value, k.value), "facts", held)
