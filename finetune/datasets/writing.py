"""Writing adapter rows: `writing_request(task, facts)` -> a note, an email or a summary that passes
`check_format` for the form and length the task asks for.

Tasks name a form (many wordings), often a recipient and a tone (formal, friendly or neutral), and
sometimes a length ("in at most 40 words", "under 30 words", "in 2 sentences", both). Facts come from
a dozen everyday topics (meetings, deliveries, budgets, trips, outages...) and from the other agents'
answers (math results, cited document sentences). Texts are assembled from the facts, copied word for
word, with tone-dependent greetings, openings, closings and sign-offs; facts are joined into one
sentence when fewer sentences are asked for than there are facts. A free request gets the richest
text; a request with a length gets the plainest one (the facts, padded with an opening, then a
closing, only when more sentences are asked for than there are facts). Every row is checked at generation
time: `parse_request(task)` must give the intended form and limits, and the text must pass
`check_format`. The item of a row is its fact set.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agentgraph.agents.retrieval import cite
from agentgraph.agents.writing import WRITING, check_format, parse_request, word_count, writing_request
from agentgraph.finetune.datasets.common import Example, normalise_key, pick, swift_row
from agentgraph.finetune.datasets.retrieval import KINDS
from agentgraph.finetune.datasets.vocab import FIRST_NAMES, invented_word, person, place, thousands

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
TIMES = ("8:30", "9:00", "9:15", "10:00", "10:30", "11:00", "13:00", "14:00", "14:30", "15:45", "16:00", "17:30")
_LOWERABLE = {
    "The",
    "It",
    "A",
    "An",
    "Please",
    "This",
    "There",
    "Our",
    "Your",
    "Each",
    "All",
    "Order",
    "Flight",
    "Sales",
    "Revenue",
    "Tickets",
    "Backups",
    "Registration",
    "Lunch",
    "Parking",
    "Check-in",
    "That",
    "Calculators",
}
TONES = ("formal", "friendly", "neutral")
TONE_WORDS = {
    "formal": ("formal", "polite", "professional"),
    "friendly": ("friendly", "casual", "warm"),
    "neutral": ("short", "brief", "quick"),
}


@dataclass(frozen=True)
class Topic:
    """What the text is about: how a task names it, and the facts to use."""

    phrase: str
    facts: tuple[str, ...]


def _date(rng: random.Random) -> str:
    return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"


def _money(rng: random.Random, low: int, high: int) -> str:
    return f"${thousands(rng.randint(low, high))}"


def _meeting(rng: random.Random) -> Topic:
    project = invented_word(rng)
    return Topic(
        rng.choice((f"the {project} review", "the meeting change", f"the new time of the {project} review")),
        (
            f"The {project} review moved to {rng.choice(DAYS)} at {rng.choice(TIMES)}.",
            f"It will take place in room {rng.randint(1, 9)}{rng.choice('ABCD')}.",
            f"Please bring {rng.choice(('the latest figures', 'your laptop', 'the draft slides', 'questions for the team'))}.",
        ),
    )


def _delivery(rng: random.Random) -> Topic:
    order = rng.randint(1000, 99999)
    return Topic(
        rng.choice(("the delayed order", f"order #{order}", "the late delivery")),
        (
            f"Order #{order} will arrive on {rng.choice(DAYS)}, {rng.randint(2, 9)} days late.",
            f"The delay was caused by {rng.choice(('a storm', 'a customs check', 'a missing part', 'a strike at the port'))}.",
            f"A refund of {_money(rng, 5, 400)} has been issued.",
        ),
    )


def _project(rng: random.Random) -> Topic:
    project = invented_word(rng)
    return Topic(
        rng.choice((f"the {project} project", f"progress on {project}", f"the status of {project}")),
        (
            f"The {project} project is {rng.randint(10, 95)}% complete.",
            f"The next milestone is due on {_date(rng)}.",
            f"{person(rng)} is leading the testing.",
        ),
    )


def _budget(rng: random.Random) -> Topic:
    event = rng.choice(("offsite", "launch party", "office move", "training week", "trade fair"))
    return Topic(
        rng.choice((f"the {event} budget", f"the cost of the {event}", "the budget")),
        (
            f"The total cost of the {event} is {_money(rng, 300, 250_000)}.",
            f"That is {rng.randint(2, 30)}% under budget.",
            f"The money comes from the {rng.choice(('marketing', 'travel', 'research', 'operations'))} budget.",
        ),
    )


def _event(rng: random.Random) -> Topic:
    event = rng.choice(("summer party", "book club", "charity run", "quiz night", "open day"))
    return Topic(
        rng.choice((f"the {event}", f"the plans for the {event}")),
        (
            f"The {event} starts at {rng.choice(TIMES)} on {rng.choice(DAYS)}.",
            f"Tickets cost {_money(rng, 5, 80)}.",
            f"{rng.randint(8, 300)} guests have replied so far.",
        ),
    )


def _sales(rng: random.Random) -> Topic:
    quarter = rng.choice(("the first quarter", "the second quarter", "the third quarter", "the fourth quarter"))
    return Topic(
        rng.choice(("the sales results", f"sales in {quarter}", "the quarterly results")),
        (
            f"Sales rose {rng.randint(2, 45)}% in {quarter}.",
            f"Revenue reached ${rng.randint(2, 900)} million.",
            f"The best seller was the {invented_word(rng)} {rng.choice(('lamp', 'chair', 'backpack', 'kettle', 'bike'))}.",
        ),
    )


def _travel(rng: random.Random) -> Topic:
    city = place(rng)
    return Topic(
        rng.choice((f"the trip to {city}", "the travel plans", f"the {city} trip")),
        (
            f"Flight {rng.choice('ABCDEFGKLMNPRSTUVWXYZ')}{rng.choice('ABCDEFGKLMNPRSTUVWXYZ')}{rng.randint(100, 9999)} leaves for {city} at {rng.choice(TIMES)} on {rng.choice(DAYS)}.",
            f"The hotel is the {invented_word(rng)} Inn.",
            f"Check-in opens at {rng.choice(TIMES)}.",
        ),
    )


def _outage(rng: random.Random) -> Topic:
    system = rng.choice(("email server", "booking system", "shared drive", "payroll system", "website"))
    return Topic(
        rng.choice((f"the {system} maintenance", f"the planned {system} outage", "the maintenance window")),
        (
            f"The {system} will be offline on {rng.choice(DAYS)} from {rng.choice(TIMES[:6])} to {rng.choice(TIMES[6:])}.",
            "Backups will run before the work starts.",
            f"{person(rng)} is the contact for questions.",
        ),
    )


def _exam(rng: random.Random) -> Topic:
    course = rng.choice(("statistics", "chemistry", "history", "French", "biology", "accounting"))
    first = rng.randint(1, 9)
    return Topic(
        rng.choice((f"the {course} exam", f"the upcoming {course} exam")),
        (
            f"The {course} exam is on {_date(rng)}.",
            f"It covers chapters {first} to {first + rng.randint(2, 8)}.",
            f"Calculators {rng.choice(('are', 'are not'))} allowed.",
        ),
    )


def _hiring(rng: random.Random) -> Topic:
    newcomer, team = rng.choice(FIRST_NAMES), rng.choice(("design", "sales", "support", "data", "finance"))
    return Topic(
        rng.choice((f"{newcomer} joining the {team} team", "the new hire", f"the new {team} colleague")),
        (
            f"{newcomer} joins the {team} team on {_date(rng)}.",
            f"{rng.choice([n for n in FIRST_NAMES if n != newcomer])} will be the mentor.",
            "The first week is for training.",
        ),
    )


def _math_answer(rng: random.Random) -> Topic:
    p, x = rng.choice((5, 10, 12, 15, 18, 20, 25, 30, 40)), rng.randint(20, 9000)
    value = Fraction(p * x, 100)
    shown = str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
    facts = rng.choice(
        (
            (f"{p}% of {x} is {shown}.",),
            (f"The answer is {shown}.",),
            (f"The total comes to ${shown}.", f"That includes a discount of {p}%."),
        )
    )
    return Topic(rng.choice(("the result", "the calculation", "the answer")), facts)


def _document_fact(rng: random.Random) -> Topic:
    kind = rng.choice(sorted(KINDS))
    make_name, attributes = KINDS[kind]
    entity = make_name(rng)
    chosen = rng.sample(attributes, rng.choice((1, 1, 2)))
    source = f"{'-'.join(entity.lower().split())}.{rng.choice(('md', 'txt'))}"
    facts = tuple(cite(a.sentence.format(e=entity, v=a.value(rng)), source) for a in chosen)
    return Topic(rng.choice((entity, f"what the documents say about {entity}", f"the findings on {entity}")), facts)


TOPICS: tuple[Callable[[random.Random], Topic], ...] = (
    _meeting,
    _delivery,
    _project,
    _budget,
    _event,
    _sales,
    _travel,
    _outage,
    _exam,
    _hiring,
    _math_answer,
    _document_fact,
)

EMAIL_TASKS = (
    "Write {a_tone}email to {to} about {topic}{len}.",
    "Email {to} about {topic}{len}.",
    "Send {to} {a_tone}email about {topic}{len}.",
    "Draft an email to {to} on {topic}{len}.",
    "Can you email {to} about {topic}{len}?",
    "Let {to} know by email about {topic}{len}.",
    "Compose {a_tone}e-mail for {to} on {topic}{len}.",
    "Please write {to} {a_tone}email covering {topic}{len}.",
    "Email {to} what we know about {topic}{len}.",
    "Mail {to} an update on {topic}{len}.",
)
NOTE_TASKS = (
    "Write {a_tone}note about {topic}{len}.",
    "Jot down a quick note on {topic}{len}.",
    "Leave {a_tone}note for {to} about {topic}{len}.",
    "Make a reminder about {topic}{len}.",
    "Draft a memo on {topic}{len}.",
    "Write a note for {to}{len}.",
    "Take a note of {topic}{len}.",
    "Turn these facts into a note{len}.",
    "Note down {topic} for {to}{len}.",
    "Write {to} {a_tone}note on {topic}{len}.",
)
SUMMARY_TASKS = (
    "Summarize the facts{len}.",
    "Write a summary of {topic}{len}.",
    "Give me a recap of {topic}{len}.",
    "Sum up what we know about {topic}{len}.",
    "Summarize what you found{len}.",
    "Provide an overview of {topic}{len}.",
    "Write {a_tone}summary for {to}{len}.",
    "Summarise {topic}{len}.",
    "Can you give a short summary of {topic}{len}?",
    "Summarize {topic} for {to}{len}.",
)
FOLLOW_UPS = (
    ("email", "Then email {to} the result{len}."),
    ("note", "Then write a short note with the answer{len}."),
    ("email", "Email {to} what you find{len}."),
    ("summary", "Then summarize it for {to}{len}."),
    ("note", "Put the result in a note for {to}{len}."),
    ("email", "Then draft {a_tone}email to {to} with the answer{len}."),
    ("summary", "After that, write a summary{len}."),
    ("email", "Send the answer to {to} by email{len}."),
    ("note", "Then write {to} a note about it{len}."),
    ("summary", "Finally, give {to} a recap{len}."),
)
TASKS = {"email": EMAIL_TASKS, "note": NOTE_TASKS, "summary": SUMMARY_TASKS}

WORD_LIMITS = (
    " in at most {n} words",
    " in no more than {n} words",
    " within {n} words",
    ", {n} words max",
    " ({n} words or fewer)",
    ", up to {n} words",
    " in a maximum of {n} words",
    ", keeping it to {n} words at most",
)
WORD_LIMITS_STRICT = (" in under {n} words", " in fewer than {n} words", " in less than {n} words")
SENTENCE_COUNTS = (" in {n} sentences", " in exactly {n} sentences", " using {n} sentences", " as {n} sentences")
ONE_SENTENCE = (" in one sentence", " in a single sentence", " in 1 sentence")
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}

INTROS = {
    "formal": ("I am writing with an update on {topic}.", "I would like to share a short update."),
    "friendly": ("Quick update for you!", "Here's the latest on {topic}!", "Just a heads-up about {topic}."),
    "neutral": ("Here is an update on {topic}.", "A quick update on {topic}."),
}
OUTROS = {
    "formal": ("Please let me know if you have any questions.", "Thank you for your attention."),
    "friendly": ("Talk soon!", "Let me know if anything is unclear.", "Have a great day!"),
    "neutral": ("Let me know if you have questions.", "Thanks for reading."),
}
NOTE_OUTROS = ("Please keep this in mind.", "Thanks!")
SIGN_OFFS = {
    "formal": ("Kind regards,", "Best regards,", "Regards,"),
    "friendly": ("Cheers,", "Thanks,", "Best,"),
    "neutral": ("Best regards,", "Thanks,", "Best,"),
}


@dataclass(frozen=True)
class Recipient:
    """How a task names the reader, and the name a greeting uses (None: a group greeting)."""

    phrase: str
    greeting_name: str | None


def _recipient(rng: random.Random) -> Recipient:
    roll = rng.random()
    if roll < 0.6:
        name = rng.choice(FIRST_NAMES)
        return Recipient(name, name)
    if roll < 0.7:
        name = f"{rng.choice(('Ms', 'Mr', 'Dr'))} {invented_word(rng)}"
        return Recipient(name, name)
    group = rng.choice(("the team", "the board", "the clients", "the committee", "everyone", "the staff"))
    return Recipient(group, None)


def _greeting(rng: random.Random, tone: str, recipient: Recipient) -> str:
    name = recipient.greeting_name
    if tone == "formal":
        return f"Dear {name}," if name else rng.choice(("Dear all,", "Dear colleagues,"))
    if tone == "friendly":
        return f"{rng.choice(('Hi', 'Hello'))} {name}!" if name else rng.choice(("Hi all!", "Hello everyone!"))
    return f"{rng.choice(('Hi', 'Hello'))} {name}," if name else rng.choice(("Hi all,", "Hello everyone,"))


def _lowered(sentence: str) -> str | None:
    """`sentence` as the continuation of another one, or None when it starts with a name."""
    head = sentence.split()[0]
    return f"{head.lower()}{sentence[len(head) :]}" if head in _LOWERABLE else None


def _join(group: list[str]) -> str:
    """Facts as one sentence: `A, and b.` or `A, b, and c.`."""
    if len(group) == 1:
        return group[0]
    parts = [group[0][:-1]] + [(_lowered(s) or s)[:-1] for s in group[1:]]
    return ", ".join(parts[:-1]) + ", and " + parts[-1] + "."


def _fit_sentences(facts: list[str], count: int) -> list[str] | None:
    """The facts as exactly `count` sentences (joining neighbours), or None when they cannot be."""
    groups = [[fact] for fact in facts]
    while len(groups) > count:
        for i in range(len(groups) - 1):
            joinable = all(f.endswith(".") for f in groups[i] + groups[i + 1]) and _lowered(groups[i + 1][0]) is not None
            if joinable:
                groups[i : i + 2] = [groups[i] + groups[i + 1]]
                break
        else:
            return None
    return [_join(group) for group in groups]


@dataclass(frozen=True)
class Spec:
    """The requested form and limits (what `parse_request` must read back)."""

    form: str
    max_words: int | None
    sentences: int | None


def render(form: str, body: list[str], greeting: str, sign_off: str, sender: str) -> str:
    """The text of `form` with `body`'s sentences (an email framed by greeting, sign-off and sender)."""
    text = " ".join(body)
    if form == "email":
        return f"{greeting}\n\n{text}\n\n{sign_off}\n{sender}"
    return f"{'Note' if form == 'note' else 'Summary'}: {text}"


@dataclass(frozen=True)
class Candidate:
    """One way to write the facts: the text, its word count and which padding sentences it has."""

    text: str
    words: int
    intro: bool
    outro: bool

    @property
    def padding(self) -> tuple[int, int]:
        """Sort key of the plainest structure: fewest extra sentences, an opening before a closing."""
        return int(self.intro) + int(self.outro), int(self.outro)


def compose(
    rng: random.Random, form: str, tone: str, topic: Topic, recipient: Recipient, sentences: int | None, sender: str
) -> list[Candidate]:
    """Candidate texts for the facts, richest first (all with `sentences` if set)."""
    greeting, sign_off = _greeting(rng, tone, recipient), rng.choice(SIGN_OFFS[tone])
    intro = rng.choice(INTROS[tone]).format(topic=topic.phrase) if form == "email" else None
    outro = rng.choice(OUTROS[tone] if form == "email" else NOTE_OUTROS) if form != "summary" else None
    facts = list(topic.facts)
    if sentences is None and len(facts) > 1 and rng.random() < 0.2:
        facts = _fit_sentences(facts, len(facts) - 1) or facts
    options: list[list[str]] = []
    for with_intro, with_outro in ((True, True), (True, False), (False, True), (False, False)):
        if (with_intro and not intro) or (with_outro and not outro):
            continue
        if sentences is None and form == "note" and with_outro and rng.random() < 0.7:
            continue
        extra = int(with_intro) + int(with_outro)
        core = facts if sentences is None else _fit_sentences(facts, sentences - extra) if sentences - extra >= 1 else None
        if core is None or (sentences is not None and len(core) + extra != sentences):
            continue
        body = ([intro] if with_intro else []) + core + ([outro] if with_outro else [])
        options.append((body, with_intro, with_outro))
    texts = [(render(form, body, greeting, sign_off, sender), i, o) for body, i, o in options]
    return [Candidate(text, word_count(text), i, o) for text, i, o in texts]


def _a_tone(rng: random.Random, tone: str) -> str:
    word = rng.choice(TONE_WORDS[tone])
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word} "


def _length(rng: random.Random, kind: str, sentences: int | None, max_words: int | None, strict: bool) -> str:
    parts = []
    if sentences is not None:
        if sentences == 1:
            parts.append(rng.choice(ONE_SENTENCE))
        else:
            shown = NUMBER_WORDS.get(sentences, str(sentences)) if rng.random() < 0.4 else str(sentences)
            parts.append(rng.choice(SENTENCE_COUNTS).format(n=shown))
    if max_words is not None:
        template = rng.choice(WORD_LIMITS_STRICT if strict else WORD_LIMITS)
        number = max_words + 1 if strict else max_words
        parts.append(
            template.format(n=number) if not parts else " and" + template.format(n=number).lstrip(",").replace(" (", " ").replace(")", "")
        )
    return "".join(parts)


def writing_example(rng: random.Random, split: str, follow_up: bool = False) -> tuple[Example, str] | None:
    """One checked writing row and its task text (None when the draw cannot satisfy its own request)."""
    topic = rng.choice(TOPICS)(rng)
    if follow_up:
        (form, template), held = pick(rng, FOLLOW_UPS, split)
    else:
        form = rng.choice(("email", "email", "note", "summary"))
        template, held = pick(rng, TASKS[form], split)
    tone = rng.choice(TONES) if "{a_tone}" in template else "neutral"
    recipient = _recipient(rng)
    signer = rng.choice(FIRST_NAMES) if form == "email" and rng.random() < 0.4 else None
    kind = rng.choices(("none", "words", "sentences", "both"), weights=(0.3, 0.35, 0.2, 0.15))[0]
    sentences = None
    if kind in ("sentences", "both"):
        most = len(topic.facts) + (2 if form == "email" else 1 if form == "note" else 0)
        sentences = rng.randint(1, most)
    candidates = compose(rng, form, tone, topic, recipient, sentences, signer or "[Your name]")
    if not candidates:
        return None
    max_words, strict = None, False
    fitting = candidates
    if kind in ("words", "both"):
        shortest, longest = candidates[-1].words, candidates[0].words
        limit = rng.randint(shortest, longest + 15)
        limit += -limit % 5
        strict = rng.random() < 0.25
        max_words = limit - 1 if strict else limit
        fitting = [c for c in candidates if c.words <= max_words]
        if not fitting:
            return None
    # Free requests get the richest text; a requested length gets the plainest structure, so that
    # the count maps to one shape: the facts one per sentence, joined when fewer are asked for,
    # then an opening and a closing sentence when more are.
    text = fitting[0].text if kind == "none" else min(fitting, key=lambda c: c.padding).text
    length = _length(rng, kind, sentences, max_words, strict)
    task = template.format(to=recipient.phrase, topic=topic.phrase, a_tone=_a_tone(rng, tone), len=length)
    if signer:
        task += f" Sign it {signer}."
    spec = Spec(form, max_words, sentences)
    if parse_request(task) != (spec.form, spec.max_words, spec.sentences):
        return None
    if not check_format(text, form, max_words=max_words, sentences=sentences).ok:
        raise AssertionError(f"composed text fails its own request: {task!r} -> {text!r}")
    messages = [SystemMessage(WRITING.system_prompt), HumanMessage(writing_request(task, topic.facts)), AIMessage(text)]
    key = "|".join(normalise_key(f) for f in topic.facts)
    return Example(swift_row(messages), (key,), f"{form}{' follow-up' if follow_up else ''}", held), task


def make_example(rng: random.Random, split: str) -> Example | None:
    """One writing row: standalone requests, and about a fifth follow-ups ("Then email Sam the result.")."""
    made = writing_example(rng, split, follow_up=rng.random() < 0.2)
    return made[0] if made else None


def writing_task(rng: random.Random, split: str, follow_up: bool) -> tuple[str, bool]:
    """Just a writing task (for router rows) and whether its phrasing is held out."""
    while True:
        made = writing_example(rng, split, follow_up)
        if made is not None:
            return made[1], made[0].held_out


def request_parts(user: str) -> tuple[str, list[str]]:
    """The task and the facts of a writing user turn (the inverse of `writing_request`)."""
    task, _, listed = user.partition("\nFacts:\n")
    return task, [line[2:] for line in listed.splitlines() if line.startswith("- ")]


def wrong_count_reply(user: str, reply: str) -> str | None:
    """`reply` with the wrong number of sentences for a request that names one (None when it names none):
    the facts one per sentence, or, when that is the requested count, the first two facts joined."""
    task, facts = request_parts(user)
    form, _, sentences = parse_request(task)
    if sentences is None or not facts:
        return None
    body = facts if len(facts) != sentences else _fit_sentences(facts, len(facts) - 1)
    if not body:
        return None
    lines = reply.splitlines()
    greeting, sign_off, sender = (lines[0], *lines[-2:]) if form == "email" and len(lines) >= 3 else ("", "", "")
    wrong = render(form, body, greeting, sign_off, sender)
    return wrong if wrong != reply and check_format(wrong, form, sentences=sentences).problems else None
