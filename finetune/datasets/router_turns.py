"""Router rows beyond one standalone request: steps that need an earlier step's result, follow-ups read
after earlier turns of the thread, and rosters of agents the router was never trained on.

- Dependent steps: "How many lanes does Kelm Road have? Multiply that by 3." -> retrieval, then
  `transfer_to_math(task="Multiply that by 3.", needs=["retrieval"])`: the later step is the user's words,
  and the graph gives it the earlier step's answer as its facts.
- Follow-ups: the router's user turn holds the earlier turns as data (`supervisor.router_request`, the
  same function the graph uses). A follow-up on a number becomes a task that stands alone ("Now double
  that." -> "What is 12 * 2?"), one asking another fact of the same thing names it ("And the number of
  lanes on it?" -> "Find the number of lanes on Kelm Road."), a writing follow-up needs the conversation
  (`needs=["conversation"]`: the graph gives it the previous answer), and a new question ignores the history.
- Rosters: 2-7 agents drawn from invented ones (and sometimes the shipped ones), each with its name and
  description as the only thing the router reads of it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from agentgraph.agent import AgentSpec
from agentgraph.agents import DEFAULT_AGENTS
from agentgraph.finetune.datasets.common import pick
from agentgraph.finetune.datasets.math import math_question
from agentgraph.finetune.datasets.retrieval import cite, follow_up_on, random_fact, slug
from agentgraph.finetune.datasets.vocab import FIRST_NAMES
from agentgraph.finetune.datasets.writing import writing_task
from agentgraph.router import CONVERSATION
from agentgraph.supervisor import router_request

Handoff = tuple[str, str, tuple[str, ...]]
"""(agent, task, needs) of one handoff call."""


@dataclass(frozen=True)
class Turns:
    """A router row's content: the earlier turns, the request and the handoffs it gets."""

    earlier: tuple[tuple[str, str], ...]
    request: str
    handoffs: tuple[Handoff, ...]
    agents: tuple[AgentSpec, ...] = DEFAULT_AGENTS
    held_out: bool = False

    @property
    def user_turn(self) -> str:
        return router_request(self.request, self.earlier)


# -- numbers the follow-ups act on -------------------------------------------------------------------


def _shown(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.10g}"


@dataclass(frozen=True)
class Computed:
    """A math question, its value, and how the graph's answer stated it."""

    question: str
    value: Fraction
    answer: str
    variant: tuple[str, str, str] | None = None
    """(number as written, template with {n} in its place, plural noun of what changes) for "And 20%?"."""


def _computed(rng: random.Random) -> Computed:
    roll = rng.random()
    if roll < 0.4:
        p, x = rng.choice((5, 8, 10, 12, 15, 18, 20, 25, 30, 35, 40, 60, 75)), rng.randint(12, 4000)
        value = Fraction(p * x, 100)
        question = rng.choice(("What is {p}% of {x}?", "{p}% of {x}?", "Calculate {p} percent of {x}.", "what's {p}% of {x}"))
        answer = rng.choice((f"{p}% of {x} is {_shown(value)}.", f"The answer is {_shown(value)}."))
        return Computed(question.format(p=p, x=x), value, answer, (str(p), f"What is {{n}}% of {x}?", "%"))
    a, b = rng.randint(3, 250), rng.randint(2, 60)
    op, symbol, value = rng.choice((("times", "*", Fraction(a * b)), ("plus", "+", Fraction(a + b)), ("minus", "-", Fraction(a - b))))
    question = rng.choice((f"What is {a} {symbol} {b}?", f"{a} {op} {b}?", f"Work out {a} {symbol} {b}.", f"what's {a}{symbol}{b}"))
    answer = rng.choice((f"{a} {symbol} {b} = {_shown(value)}.", f"The answer is {_shown(value)}."))
    return Computed(question, value, answer, (str(b), f"What is {a} {symbol} {{n}}?", ""))


NUMBER_FOLLOW_UPS: tuple[tuple[str, str], ...] = (
    ("Now double that.", "What is {v} * 2?"),
    ("Double it.", "What is {v} * 2?"),
    ("and twice that?", "What is {v} * 2?"),
    ("Triple that.", "What is {v} * 3?"),
    ("Halve it.", "What is {v} / 2?"),
    ("What's half of that?", "What is {v} / 2?"),
    ("Add {k} to that.", "What is {v} + {k}?"),
    ("Plus {k}?", "What is {v} + {k}?"),
    ("what if I add {k} more", "What is {v} + {k}?"),
    ("Take away {k}.", "What is {v} - {k}?"),
    ("Minus {k}?", "What is {v} - {k}?"),
    ("Subtract {k} from it.", "What is {v} - {k}?"),
    ("Multiply that by {k}.", "What is {v} * {k}?"),
    ("Times {k}?", "What is {v} * {k}?"),
    ("And {k} times that?", "What is {v} * {k}?"),
    ("Divide it by {k}.", "What is {v} / {k}?"),
    ("Split that {k} ways.", "What is {v} / {k}?"),
    ("Now divide that by {k}", "What is {v} / {k}?"),
    ("What is {q}% of that?", "What is {q}% of {v}?"),
    ("And {q}% of it?", "What is {q}% of {v}?"),
    ("Take {q}% off that.", "What is {v} - {q}% * {v}?"),
    ("Square it.", "What is {v}^2?"),
    ("And that squared?", "What is {v}^2?"),
)
"""A follow-up acting on the previous answer's number, and the task that stands alone."""
VARIANT_FOLLOW_UPS = (
    "And {n}{u}?",
    "What about {n}{u}?",
    "Same with {n}{u}?",
    "Now try {n}{u}.",
    "and for {n}{u}?",
    "What if it were {n}{u} instead?",
)
"""A follow-up asking the previous question again with one number changed."""
DEPENDENT_STEPS: tuple[str, ...] = (
    "Multiply that number by {k}.",
    "Then double it.",
    "What is {q}% of that?",
    "Divide that by {k}.",
    "How much is that plus {k}?",
    "Then multiply it by {k}.",
    "and take {q}% of that",
    "Now add {k} to that figure.",
    "Subtract {k} from that.",
    "What would {k} times that be?",
    "Halve that number.",
    "then square it",
)
"""A later part of one request that works on the number an earlier part finds."""
COMPOSED_MATH: tuple[tuple[str, str], ...] = (
    ("What is {k} times {p}?", "Multiply {p} by {k}."),
    ("Look up {p} and multiply it by {k}.", "Multiply {p} by {k}."),
    ("If {p} doubled, what would it be?", "Double {p}."),
    ("How much is {p} plus {k}?", "Add {k} to {p}."),
    ("what's {p} minus {k}", "Subtract {k} from {p}."),
    ("Find {p} and divide it by {k}.", "Divide {p} by {k}."),
    ("What would {p} be, split {k} ways?", "Split {p} {k} ways."),
    ("What is {q}% of {p}?", "What is {q}% of {p}?"),
    ("Take {p} and knock {q}% off it.", "Take {q}% off {p}."),
    ("What would {p} be after a {q}% rise?", "Increase {p} by {q}%."),
    ("Can you check {p} and tell me what half of it is?", "Halve {p}."),
    ("I need {p} times {k} - can you work it out?", "Multiply {p} by {k}."),
)
"""One sentence that asks for a document's number and what to do with it, and the math step's task,
which names the number the search finds."""
COMPOSED_WRITING: tuple[str, ...] = (
    "Write a short email to {who} explaining {p}.",
    "Draft a two-sentence note for {who} about {p}.",
    "Tell {who} {p} in one friendly sentence.",
    "write {who} a quick message saying what {p} is",
    "Put together a short reminder for {who} about {p}.",
)
"""A writing request whose content is a document's fact: the fact is searched first."""
RECIPIENTS = ("the team", "new members", "the committee", "our customers", "Sam", "the volunteers", "everyone on the rota")


def _number_follow_up(rng: random.Random, value: Fraction, split: str) -> tuple[str, str, bool]:
    (phrase, task), held = pick(rng, NUMBER_FOLLOW_UPS, split)
    k, q = rng.randint(2, 12), rng.choice((5, 10, 15, 20, 25, 50))
    return phrase.format(k=k, q=q), task.format(v=_shown(value), k=k, q=q), held


def _variant_follow_up(rng: random.Random, computed: Computed, split: str) -> tuple[str, str, bool] | None:
    if computed.variant is None:
        return None
    written, template, unit = computed.variant
    new = str(rng.choice([n for n in range(2, 90) if str(n) != written]))
    phrase, held = pick(rng, VARIANT_FOLLOW_UPS, split)
    return phrase.format(n=new, u=unit), template.format(n=new), held


# -- rows --------------------------------------------------------------------------------------------


def dependent_request(rng: random.Random, split: str) -> Turns:
    """Retrieval finds a number; a later math part of the same request works on it (sometimes then writing)."""
    fact = random_fact(rng, split, numeric=True)
    step, held = pick(rng, DEPENDENT_STEPS, split)
    step = step.format(k=rng.randint(2, 12), q=rng.choice((10, 15, 20, 25)))
    step = step[:1].upper() + step[1:] if not step.endswith("?") or rng.random() < 0.7 else step
    handoffs: list[Handoff] = [("retrieval", fact.question, ()), ("math", step, ("retrieval",))]
    if rng.random() < 0.25:
        task, held_writing = writing_task(rng, split, True)
        handoffs.append(("writing", task, ()))
        held |= held_writing
    return Turns((), " ".join(task for _, task, _ in handoffs), tuple(handoffs), held_out=held or fact.held_out)


def composed_request(rng: random.Random, split: str) -> Turns:
    """One sentence that needs a document's fact first: a search, then a math step on its number or a
    writing step about it ("What is 3 times the length of Kelm Bridge?" -> retrieval "Find the length
    of Kelm Bridge.", then math "Multiply the length of Kelm Bridge by 3." after it)."""
    writing = rng.random() < 0.3
    fact = random_fact(rng, split, numeric=not writing)
    while not writing and fact.attribute.is_year:  # a year is not an amount to multiply
        fact = random_fact(rng, split, numeric=True)
    phrase = fact.attribute.phrases[0].format(e=fact.entity)
    search: Handoff = ("retrieval", f"Find {phrase}.", ())
    if writing:
        request, held = pick(rng, COMPOSED_WRITING, split)
        request = request.format(who=rng.choice(RECIPIENTS), p=phrase)
        return Turns((), request, (search, ("writing", request, ("retrieval",))), held_out=held or fact.held_out)
    (request, task), held = pick(rng, COMPOSED_MATH, split)
    k, q = rng.randint(2, 24), rng.choice((5, 10, 15, 20, 25, 30))
    request = request.format(p=phrase, k=k, q=q)
    request = request[:1].upper() + request[1:] if rng.random() < 0.85 else request
    step = task.format(p=phrase, k=k, q=q)
    return Turns((), request, (search, ("math", step, ("retrieval",))), held_out=held or fact.held_out)


def math_chain_request(rng: random.Random, split: str) -> Turns:
    """A math part whose result a second math part works on ("What is 12 * 4? Then add 10 to that.")."""
    computed = _computed(rng)
    step, held = pick(rng, DEPENDENT_STEPS, split)
    step = step.format(k=rng.randint(2, 12), q=rng.choice((10, 15, 20, 25)))
    question = computed.question if computed.question.endswith(("?", ".")) else computed.question + "?"
    return Turns((), f"{question} {step}", (("math", question, ()), ("math", step, ("math",))), held_out=held)


def follow_up(rng: random.Random, split: str) -> Turns | None:
    """One to three earlier turns, then a follow-up that only makes sense after them (or a new question)."""
    earlier: list[tuple[str, str]] = []
    for _ in range(rng.choice((0, 0, 1, 2))):  # older turns the follow-up does not use
        question, _ = math_question(rng, split)
        earlier.append((question, f"The answer is {rng.randint(2, 900)}."))
    roll = rng.random()
    if roll < 0.45:
        computed = _computed(rng)
        earlier.append((computed.question, computed.answer))
        made = _variant_follow_up(rng, computed, split) if rng.random() < 0.35 else None
        phrase, task, held = made or _number_follow_up(rng, computed.value, split)
        return Turns(tuple(earlier), phrase, (("math", task, ()),), held_out=held)
    fact = random_fact(rng, split, numeric=roll < 0.6)
    source = slug(fact.entity) + ".md"
    earlier.append((fact.question, cite(fact.sentence, source)))
    if roll < 0.6 and fact.value.replace(",", "").isdigit():
        phrase, task, held = _number_follow_up(rng, Fraction(int(fact.value.replace(",", ""))), split)
        return Turns(tuple(earlier), phrase, (("math", task, ()),), held_out=held)
    if roll < 0.75:
        phrase, task = follow_up_on(rng, fact)
        return Turns(tuple(earlier), phrase, (("retrieval", task, ()),), held_out=fact.held_out)
    if roll < 0.9:
        task, held = writing_task(rng, split, True)
        return Turns(tuple(earlier), task, (("writing", task, (CONVERSATION,)),), held_out=held)
    question, held = math_question(rng, split)  # a new question: the history does not change it
    return Turns(tuple(earlier), question, (("math", question, ()),), held_out=held)


# -- rosters of agents the router was never trained on -----------------------------------------------

ROSTER_POOL: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "parcels",
        "Tracks parcels and deliveries.",
        ("Where is parcel {n}?", "When will my parcel from {co} arrive?", "track package {n} please"),
    ),
    (
        "weather",
        "Gives the weather forecast for a place and day.",
        ("What's the weather in {city} tomorrow?", "Will it rain in {city} on {day}?", "Forecast for {city} please"),
    ),
    (
        "calendar",
        "Creates, moves and lists calendar events.",
        ("Book a meeting with {name} on {day} at {h}:00.", "What's on my calendar for {day}?", "Move my {h}:00 call to {day}."),
    ),
    (
        "translate",
        "Translates text between languages.",
        ("Translate 'good morning' into {lang}.", "How do you say 'see you soon' in {lang}?", "put 'the shop is closed' in {lang}"),
    ),
    (
        "tickets",
        "Opens, updates and closes support tickets.",
        ("Open a ticket: the printer in room {n} is jammed.", "Close ticket {n}.", "What's the status of ticket {n}?"),
    ),
    (
        "shopping",
        "Keeps the shopping list.",
        ("Add {n} lemons to my shopping list.", "What's on my shopping list?", "Take milk off the shopping list."),
    ),
    (
        "flights",
        "Searches flights and their fares.",
        ("Find a flight from {city} to {city2} on {day}.", "Cheapest fare to {city2} next week?", "any flights to {city} on {day}"),
    ),
    (
        "stocks",
        "Looks up share prices and market moves.",
        ("What is the share price of {co}?", "How did {co} shares do today?", "{co} stock price"),
    ),
    ("music", "Plays, pauses and queues music.", ("Play some {genre}.", "Queue a {genre} playlist.", "Pause the music.")),
    (
        "timer",
        "Sets timers and alarms.",
        ("Set a timer for {n} minutes.", "Wake me at {h}:30.", "Remind me in {n} minutes to check the oven."),
    ),
    (
        "recipes",
        "Suggests recipes from the ingredients given.",
        ("What can I cook with leeks and {food}?", "A quick recipe using {food}?", "Dinner idea with {food} and rice"),
    ),
    (
        "crm",
        "Looks up and updates customer accounts.",
        ("Find the account for {co}.", "Who is the contact at {co}?", "Update {co}'s phone number to 555-01{n}."),
    ),
    (
        "leave",
        "Answers questions about holiday balances and leave requests.",
        ("How many days of leave do I have left?", "Request leave for {day}.", "Book me off on {day}"),
    ),
    (
        "database",
        "Runs read-only queries on the sales database.",
        ("How many orders came in on {day}?", "Total sales for {co} this month?", "List the top {n} customers by revenue."),
    ),
    (
        "mail",
        "Sends and reads email.",
        ("Send {name} an email saying the report is ready.", "Read my latest email.", "Any new mail from {name}?"),
    ),
    (
        "maps",
        "Finds routes and travel times.",
        ("How long is the drive from {city} to {city2}?", "Route to {city} avoiding tolls?", "How far is {city} from {city2}?"),
    ),
    ("dictionary", "Defines words and gives synonyms.", ("What does '{word}' mean?", "Give me a synonym for '{word}'.", "define {word}")),
    ("news", "Summarises recent headlines on a topic.", ("Any news about {co}?", "Headlines on {topic} today?", "What's new in {topic}?")),
    (
        "memory",
        "Remembers facts the user tells it to remember and recalls them later, across conversations.",
        ("Remember that my {thing} is {value}.", "What is my {thing}?", "Please remember my {thing} is {value}."),
    ),
    (
        "booking",
        "Reserves tables, rooms and desks.",
        ("Reserve a table for {n} on {day} at {h}:00.", "Book meeting room {n} for {day}.", "Get me a desk on {day}"),
    ),
    (
        "currency",
        "Converts amounts between currencies.",
        ("Convert {n}0 euros to dollars.", "How much is {n}00 yen in pounds?", "{n}5 dollars in euros?"),
    ),
    (
        "files",
        "Finds and shares files on the team drive.",
        ("Find the {topic} slides.", "Share the {topic} report with {name}.", "Where is the {topic} spreadsheet?"),
    ),
)
"""Invented agents: name, description, request templates."""
SLOTS = {
    "city": ("Oslo", "Lima", "Porto", "Kyoto", "Perth", "Quito", "Tartu", "Leeds", "Dakar", "Hanoi"),
    "city2": ("Rome", "Cairo", "Vigo", "Bergen", "Austin", "Delhi", "Riga", "Cork"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "the 14th", "next Friday"),
    "lang": ("French", "Spanish", "German", "Italian", "Japanese", "Polish", "Dutch"),
    "co": ("Norveth", "Calbrook", "Tessaly Ltd", "Orrin Systems", "Bravik", "Quellon"),
    "genre": ("jazz", "folk", "piano music", "reggae", "classical"),
    "food": ("chickpeas", "spinach", "tofu", "mushrooms", "eggs"),
    "word": ("laconic", "brittle", "ardent", "wane", "tacit"),
    "topic": ("budget", "hiring", "energy", "sport", "quarterly"),
    "thing": ("team name", "desk number", "manager's name", "project code", "parking spot"),
    "value": ("Blue Kite", "B-17", "Ruth", "ORCA-4", "level 2 bay 9"),
}


def _fill(rng: random.Random, template: str) -> str:
    values = {key: rng.choice(options) for key, options in SLOTS.items()}
    return template.format(n=rng.randint(2, 40), h=rng.randint(8, 18), name=rng.choice(FIRST_NAMES), **values)


def _invented(name: str, description: str) -> AgentSpec:
    return AgentSpec(name=name, description=description, system_prompt=f"You are the {name} agent.")


SHIPPED_ONLY = ("math", "retrieval")
SHIPPED_ONLY_SHARE = 0.3
"""Share of roster rows that hold a shipped agent and ask only it (math or retrieval) beside the invented ones."""


def _shipped_request(rng: random.Random, split: str, agent: str) -> str:
    """A request for a shipped agent that has its own requests (math or retrieval)."""
    return math_question(rng, split)[0] if agent == "math" else random_fact(rng, split).question


def roster_request(rng: random.Random, split: str) -> Turns:
    """A roster of 2-7 agents (invented ones, sometimes with shipped ones) and a request for one or two of them."""
    size = rng.randint(2, 7)
    shipped = [a for a in DEFAULT_AGENTS if rng.random() < 0.35]
    invented = rng.sample(ROSTER_POOL, max(1, size - len(shipped)))
    roster = [_invented(name, description) for name, description, _ in invented] + shipped
    rng.shuffle(roster)
    held = False
    if any(a.name in SHIPPED_ONLY for a in shipped) and rng.random() < SHIPPED_ONLY_SHARE:
        # the invented agents only stand by: a request they do not serve is not theirs, however close
        extra = rng.choice([a.name for a in shipped if a.name in SHIPPED_ONLY])
        text = _shipped_request(rng, split, extra)
        return Turns((), text, ((extra, text, ()),), tuple(roster), held)
    chosen = rng.sample(invented, min(len(invented), rng.choice((1, 1, 1, 2))))
    parts = [(name, _fill(rng, rng.choice(templates))) for name, _, templates in chosen]
    if shipped and rng.random() < 0.3:
        extra = rng.choice(shipped).name
        text = _shipped_request(rng, split, extra) if extra in SHIPPED_ONLY else None
        if text:
            parts.append((extra, text))
    parts = [
        (agent, text if text.endswith((".", "?", "!")) or i == len(parts) - 1 else text + ".") for i, (agent, text) in enumerate(parts)
    ]
    return Turns((), " ".join(text for _, text in parts), tuple((a, t, ()) for a, t in parts), tuple(roster), held)


def roster_names(turns: Turns) -> Sequence[str]:
    """The agent names of a row's roster."""
    return [agent.name for agent in turns.agents]
