"""Retrieval adapter rows over a generated corpus of fictional documents.

Each split has its own documents (invented companies, towers, towns, festivals, ships, species,
observatories and bridges, with three facts each), written as .md or .txt files under
`corpus/<split>/`. A document reads as prose: its facts sit at any place among sentences that name the
entity but answer nothing (so the answer is the sentence that holds the asked fact, not the first one
naming the entity). A row asks about one fact: question -> `search(query="<entity> <attribute>")` ->
the search tool's text (`format_passages`) holding the passage with the fact among 2-3 passages of
other documents of the same split, in random order (or, with `retrieval.focus_sentences`, as the search
tool shows them: each passage's best sentences for the query and question, best first) ->
`cite(<the sentence holding the fact>, <file name>)`.
Passages are the documents' chunks as the real index cuts them (`split_text` with the configured chunk
size), so the tool text looks like what the running agent gets.
The item of a row is its document, so test questions are about test documents only and an evaluation can
ingest `corpus/test` alone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agentgraph.agent import AgentSpec
from agentgraph.agents.retrieval import Passage, cite, format_passages, make_retrieval_agent, make_search_tool
from agentgraph.finetune.datasets.common import Example, SplitLedger, normalise_key, pick, swift_row, tool_call
from agentgraph.finetune.datasets.vocab import invented_word, person, place, thousands
from agentgraph.retrieval.focus import focus
from agentgraph.retrieval.loaders import split_text
from agentgraph.settings import RetrievalSettings, get_settings

FACTS_PER_DOCUMENT = 3
FILLERS_PER_DOCUMENT = (2, 5)
"""How many sentences that answer nothing a document holds (at least, at most)."""
FILLERS = (
    "{e} is often mentioned in local guides.",
    "Many visitors ask about {e} every year.",
    "The story of {e} is told in several books.",
    "A small team looks after {e} today.",
    "Photographs of {e} hang in the {p} library.",
    "{e} has its own page in the regional archive.",
    "People in {p} speak warmly of {e}.",
    "A new leaflet about {e} is planned.",
    "Questions about {e} can be sent to the {w} office.",
    "Not everyone agrees about the future of {e}.",
    "This page gives an overview of {e}.",
    "The {w} society keeps notes on {e}.",
    "Some details about {e} are still being checked.",
    "Local newspapers have written about {e} many times.",
    "School groups sometimes visit {e}.",
    "Maps of the area show {e} clearly.",
)
"""Sentences that name a document's entity and state no fact (`{e}` entity, `{p}` place, `{w}` invented word)."""


def retrieval_agent() -> AgentSpec:
    """The retrieval agent with its real `search` tool (never run here: only its schema is used)."""
    return make_retrieval_agent((make_search_tool(cast(Any, None)),))


@dataclass(frozen=True)
class Attribute:
    """One fact slot of an entity kind: how documents state it and how people ask for it."""

    name: str
    term: str
    """The key term a search query adds to the entity's name."""
    sentence: str
    questions: tuple[str, ...]
    phrases: tuple[str, ...]
    """Noun phrases for "Look up ..." style requests."""
    value: Callable[[random.Random], str]
    numeric: bool = False

    @property
    def is_year(self) -> bool:
        """Whether the value is a year (a date to count from, not an amount)."""
        return self.name == "founded"


def _year(low: int, high: int) -> Callable[[random.Random], str]:
    return lambda rng: str(rng.randint(low, high))


def _count(low: int, high: int) -> Callable[[random.Random], str]:
    return lambda rng: thousands(rng.randint(low, high))


def _founded(noun: str = "founded") -> Attribute:
    return Attribute(
        "founded",
        noun,
        "{e} was " + noun + " in {v}.",
        (f"When was {{e}} {noun}?", f"In what year was {{e}} {noun}?", f"What year was {{e}} {noun} in?"),
        (f"the year {{e}} was {noun}", f"when {{e}} was {noun}"),
        _year(1850, 2022),
        True,
    )


KINDS: dict[str, tuple[Callable[[random.Random], str], tuple[Attribute, ...]]] = {
    "company": (
        lambda rng: (
            f"{invented_word(rng)} {rng.choice(('Systems', 'Labs', 'Foods', 'Works', 'Logistics', 'Textiles', 'Robotics', 'Motors'))}"
        ),
        (
            _founded(),
            Attribute(
                "founder",
                "founder",
                "{e} was started by {v}.",
                ("Who founded {e}?", "Who started {e}?", "Who is the founder of {e}?"),
                ("the founder of {e}", "who started {e}"),
                person,
            ),
            Attribute(
                "headquarters",
                "headquarters",
                "{e} has its headquarters in {v}.",
                ("Where is {e} based?", "Where are the headquarters of {e}?", "In which town is {e} headquartered?"),
                ("the headquarters of {e}", "where {e} is based"),
                place,
            ),
            Attribute(
                "employees",
                "employees",
                "{e} employs {v} people.",
                ("How many people work at {e}?", "How many employees does {e} have?", "What is the headcount of {e}?"),
                ("the number of employees of {e}", "how many people {e} employs"),
                _count(12, 90_000),
                True,
            ),
            Attribute(
                "product",
                "product",
                "The best-known product of {e} is the {v}.",
                ("What is the best-known product of {e}?", "What is {e} known for making?", "Which product is {e} famous for?"),
                ("the best-known product of {e}", "what {e} is known for making"),
                lambda rng: f"{invented_word(rng)} {rng.choice(('scanner', 'drone', 'kettle', 'tractor', 'sensor', 'loom', 'battery'))}",
            ),
        ),
    ),
    "tower": (
        lambda rng: f"{invented_word(rng)} {rng.choice(('Tower', 'Spire', 'Building', 'Lighthouse'))}",
        (
            Attribute(
                "height",
                "height",
                "{e} is {v} metres tall.",
                ("How tall is {e}?", "What is the height of {e}?", "How high is {e}, in metres?"),
                ("the height of {e}", "how tall {e} is"),
                lambda rng: str(rng.randint(20, 640)),
                True,
            ),
            _founded("completed"),
            Attribute(
                "city",
                "city",
                "{e} stands in {v}.",
                ("Where is {e}?", "In which town does {e} stand?", "Where can I find {e}?"),
                ("the location of {e}", "where {e} stands"),
                place,
            ),
            Attribute(
                "architect",
                "architect",
                "{e} was designed by {v}.",
                ("Who designed {e}?", "Who was the architect of {e}?", "Which architect drew up {e}?"),
                ("the architect of {e}", "who designed {e}"),
                person,
            ),
            Attribute(
                "floors",
                "floors",
                "{e} has {v} floors.",
                ("How many floors does {e} have?", "How many storeys are in {e}?", "What is the floor count of {e}?"),
                ("the number of floors of {e}", "how many floors {e} has"),
                lambda rng: str(rng.randint(3, 160)),
                True,
            ),
        ),
    ),
    "town": (
        lambda rng: place(rng),
        (
            Attribute(
                "population",
                "population",
                "{e} has a population of {v}.",
                ("What is the population of {e}?", "How many people live in {e}?", "How big is the population of {e}?"),
                ("the population of {e}", "how many people live in {e}"),
                _count(200, 900_000),
                True,
            ),
            _founded(),
            Attribute(
                "river",
                "river",
                "{e} lies on the {v} River.",
                ("Which river runs through {e}?", "On what river does {e} lie?", "What river is {e} on?"),
                ("the river of {e}", "which river {e} lies on"),
                lambda rng: invented_word(rng),
            ),
            Attribute(
                "mayor",
                "mayor",
                "The mayor of {e} is {v}.",
                ("Who is the mayor of {e}?", "Who runs {e} as mayor?", "Who leads the town council of {e}?"),
                ("the mayor of {e}", "who the mayor of {e} is"),
                person,
            ),
            Attribute(
                "region",
                "region",
                "{e} is in the {v} region.",
                ("Which region is {e} in?", "In what region does {e} lie?", "What region is {e} part of?"),
                ("the region of {e}", "which region {e} is in"),
                lambda rng: invented_word(rng),
            ),
        ),
    ),
    "festival": (
        lambda rng: (
            f"{invented_word(rng)} {rng.choice(('Lantern Festival', 'Jazz Week', 'Film Days', 'Harvest Fair', 'Kite Festival', 'Book Fair'))}"
        ),
        (
            _founded("first held"),
            Attribute(
                "place",
                "venue",
                "{e} takes place in {v}.",
                ("Where does {e} take place?", "Where is {e} held?", "In which town is {e}?"),
                ("the venue of {e}", "where {e} takes place"),
                place,
            ),
            Attribute(
                "month",
                "month",
                "{e} is held every {v}.",
                ("When in the year is {e} held?", "In which month is {e}?", "What month does {e} happen?"),
                ("the month of {e}", "when in the year {e} is held"),
                lambda rng: rng.choice(
                    (
                        "January",
                        "February",
                        "March",
                        "April",
                        "May",
                        "June",
                        "July",
                        "August",
                        "September",
                        "October",
                        "November",
                        "December",
                    )
                ),
            ),
            Attribute(
                "attendance",
                "visitors",
                "About {v} people attend {e} each year.",
                ("How many people attend {e}?", "How many visitors does {e} get?", "What is the yearly attendance of {e}?"),
                ("the attendance of {e}", "how many people attend {e}"),
                _count(300, 400_000),
                True,
            ),
            Attribute(
                "organiser",
                "organiser",
                "{e} is organised by {v}.",
                ("Who organises {e}?", "Who runs {e}?", "Who is behind {e}?"),
                ("the organiser of {e}", "who organises {e}"),
                person,
            ),
        ),
    ),
    "ship": (
        lambda rng: f"{rng.choice(('MV', 'SS', 'RV'))} {invented_word(rng)}",
        (
            _founded("launched"),
            Attribute(
                "length",
                "length",
                "{e} is {v} metres long.",
                ("How long is {e}?", "What is the length of {e}?", "How many metres long is {e}?"),
                ("the length of {e}", "how long {e} is"),
                lambda rng: str(rng.randint(18, 380)),
                True,
            ),
            Attribute(
                "port",
                "home port",
                "The home port of {e} is {v}.",
                ("What is the home port of {e}?", "Where is {e} based?", "Which port does {e} sail from?"),
                ("the home port of {e}", "where {e} is based"),
                place,
            ),
            Attribute(
                "captain",
                "captain",
                "{e} is commanded by Captain {v}.",
                ("Who is the captain of {e}?", "Who commands {e}?", "Who is in charge of {e}?"),
                ("the captain of {e}", "who commands {e}"),
                person,
            ),
            Attribute(
                "crew",
                "crew",
                "{e} carries a crew of {v}.",
                ("How big is the crew of {e}?", "How many crew members does {e} have?", "How many sailors are on {e}?"),
                ("the crew size of {e}", "how many crew {e} carries"),
                lambda rng: str(rng.randint(4, 900)),
                True,
            ),
        ),
    ),
    "species": (
        lambda rng: f"{invented_word(rng)} {invented_word(rng, 2).lower()}ensis",
        (
            _founded("first described"),
            Attribute(
                "habitat",
                "habitat",
                "{e} grows only in the {v} highlands.",
                ("Where does {e} grow?", "What is the habitat of {e}?", "Where is {e} found?"),
                ("the habitat of {e}", "where {e} grows"),
                lambda rng: invented_word(rng),
            ),
            Attribute(
                "size",
                "height",
                "{e} reaches a height of {v} centimetres.",
                ("How tall does {e} grow?", "How high can {e} get?", "What height does {e} reach?"),
                ("the height of {e}", "how tall {e} grows"),
                lambda rng: str(rng.randint(2, 900)),
                True,
            ),
            Attribute(
                "discoverer",
                "discovered",
                "{e} was discovered by {v}.",
                ("Who discovered {e}?", "Who first found {e}?", "Which botanist discovered {e}?"),
                ("the discoverer of {e}", "who discovered {e}"),
                person,
            ),
            Attribute(
                "colour",
                "flowers colour",
                "{e} has {v} flowers.",
                ("What colour are the flowers of {e}?", "What colour does {e} flower in?", "Which colour are the blooms of {e}?"),
                ("the flower colour of {e}", "what colour {e} flowers are"),
                lambda rng: rng.choice(("white", "yellow", "violet", "pale blue", "crimson", "orange", "pink", "green")),
            ),
        ),
    ),
    "observatory": (
        lambda rng: f"{invented_word(rng)} Observatory",
        (
            _founded("opened"),
            Attribute(
                "location",
                "location",
                "{e} sits on a hill above {v}.",
                ("Where is {e}?", "Where is {e} located?", "Near which town is {e}?"),
                ("the location of {e}", "where {e} is"),
                place,
            ),
            Attribute(
                "director",
                "director",
                "The director of {e} is {v}.",
                ("Who directs {e}?", "Who is the director of {e}?", "Who leads {e}?"),
                ("the director of {e}", "who runs {e}"),
                person,
            ),
            Attribute(
                "mirror",
                "telescope mirror",
                "{e} houses a telescope with a {v}-metre mirror.",
                (
                    "How big is the telescope mirror at {e}?",
                    "What size is the main mirror of {e}?",
                    "How wide is the mirror of the telescope at {e}?",
                ),
                ("the mirror size of {e}", "how big the telescope mirror of {e} is"),
                lambda rng: str(rng.choice((1, 2, 3, 4, 6, 8, 10, 12))),
                True,
            ),
            Attribute(
                "staff",
                "staff",
                "{e} has a staff of {v}.",
                ("How many people work at {e}?", "How large is the staff of {e}?", "What is the staff count of {e}?"),
                ("the staff size of {e}", "how many people work at {e}"),
                lambda rng: str(rng.randint(5, 600)),
                True,
            ),
        ),
    ),
    "bridge": (
        lambda rng: f"{invented_word(rng)} Bridge",
        (
            Attribute(
                "length",
                "length",
                "{e} is {v} metres long.",
                ("How long is {e}?", "What is the length of {e}?", "How many metres does {e} span?"),
                ("the length of {e}", "how long {e} is"),
                _count(40, 9_000),
                True,
            ),
            _founded("opened"),
            Attribute(
                "river",
                "river",
                "{e} crosses the {v} River.",
                ("Which river does {e} cross?", "What river is {e} over?", "What does {e} span?"),
                ("the river under {e}", "which river {e} crosses"),
                lambda rng: invented_word(rng),
            ),
            Attribute(
                "engineer",
                "engineer",
                "{e} was designed by engineer {v}.",
                ("Who designed {e}?", "Who was the engineer of {e}?", "Which engineer built {e}?"),
                ("the engineer of {e}", "who designed {e}"),
                person,
            ),
            Attribute(
                "lanes",
                "lanes",
                "{e} carries {v} lanes of traffic.",
                ("How many lanes does {e} have?", "How many traffic lanes are on {e}?", "How wide is {e}, in lanes?"),
                ("the number of lanes on {e}", "how many lanes {e} carries"),
                lambda rng: str(rng.randint(1, 12)),
                True,
            ),
        ),
    ),
}

QUESTION_WRAPPERS = (
    "{Q}",
    "{Q}",
    "According to the docs, {q}",
    "Based on the documents, {q}",
    "Quick question: {q}",
    "{Q} Please cite the source.",
    "Can you check the documents? {Q}",
    "In our files, {q}",
    "{Q} Look it up please.",
    "Search the docs: {q}",
)
PHRASE_WRAPPERS = (
    "Look up {p}.",
    "Find {p}.",
    "What do the documents say about {p}?",
    "Search the docs for {p}.",
    "I need {p}.",
    "Check the files for {p}.",
    "Please find {p} in the documents.",
    "Can you look up {p}?",
    "Find out {p}.",
    "Tell me {p}, from the docs.",
)


@dataclass(frozen=True)
class Fact:
    attribute: Attribute
    sentence: str


@dataclass(frozen=True)
class Document:
    """A fictional document: its entity, kind, file name, facts, and its sentences in the order written
    (the facts' and the fillers'), as paragraphs."""

    entity: str
    kind: str
    source: str
    facts: tuple[Fact, ...]
    paragraphs: tuple[tuple[str, ...], ...]

    @property
    def text(self) -> str:
        body = "\n\n".join(" ".join(paragraph) for paragraph in self.paragraphs)
        title = f"# {self.entity}" if self.source.endswith(".md") else self.entity
        return f"{title}\n\n{body.strip()}\n"


def prose(rng: random.Random, entity: str, facts: list[Fact]) -> tuple[tuple[str, ...], ...]:
    """The facts among fillers in a random order, cut into paragraphs of two to four sentences."""
    fillers = [
        template.format(e=entity, p=place(rng), w=invented_word(rng).capitalize())
        for template in rng.sample(FILLERS, rng.randint(*FILLERS_PER_DOCUMENT))
    ]
    sentences = [f.sentence for f in facts] + fillers
    rng.shuffle(sentences)
    paragraphs: list[tuple[str, ...]] = []
    while sentences:
        size = rng.randint(2, 4)
        paragraphs.append(tuple(sentences[:size]))
        sentences = sentences[size:]
    return tuple(paragraphs)


def slug(name: str) -> str:
    """A file name stem for an entity ("St. Edda Line" -> "st-edda-line")."""
    return "-".join("".join(ch for ch in word.lower() if ch.isalnum()) for word in name.split())


def make_document(rng: random.Random, ledger: SplitLedger, split: str) -> Document:
    """A new document whose entity name no split has used."""
    kind = rng.choice(sorted(KINDS))
    make_name, attributes = KINDS[kind]
    for _ in range(100):
        entity = make_name(rng)
        key = normalise_key(entity)
        if key not in ledger.owner:
            ledger.claim([key], split)
            break
    else:
        raise RuntimeError("could not invent a new entity name")
    facts = [Fact(a, a.sentence.format(e=entity, v=a.value(rng))) for a in rng.sample(attributes, FACTS_PER_DOCUMENT)]
    source = slug(entity) + rng.choice((".md", ".md", ".txt"))
    return Document(entity, kind, source, tuple(facts), prose(rng, entity, facts))


def question_for(rng: random.Random, entity: str, attribute: Attribute, split: str) -> tuple[str, bool]:
    """A request for one fact of `entity`, and whether its phrasing is held out of training."""
    if rng.random() < 0.6:
        base, held_base = pick(rng, attribute.questions, split)
        wrapper, held_wrapper = pick(rng, QUESTION_WRAPPERS, split)
        question = base.format(e=entity)
        text = wrapper.format(Q=question, q=question[:1].lower() + question[1:])
    else:
        base, held_base = pick(rng, attribute.phrases, split)
        wrapper, held_wrapper = pick(rng, PHRASE_WRAPPERS, split)
        text = wrapper.format(p=base.format(e=entity))
    return text, held_base or held_wrapper


def random_question(rng: random.Random, split: str, numeric: bool = False) -> tuple[str, str, bool]:
    """A question about a fresh fictional entity (for router rows): text, entity, held out."""
    kind = rng.choice(sorted(KINDS))
    make_name, attributes = KINDS[kind]
    attribute = rng.choice([a for a in attributes if a.numeric or not numeric])
    entity = make_name(rng)
    text, held = question_for(rng, entity, attribute, split)
    return text, entity, held


@dataclass(frozen=True)
class AskedFact:
    """A question about a fresh fictional entity and the document sentence that answers it."""

    question: str
    sentence: str
    value: str
    entity: str
    kind: str
    attribute: Attribute
    held_out: bool


def random_fact(rng: random.Random, split: str, numeric: bool = False) -> AskedFact:
    """A question with its answering sentence (for router rows whose later turns or steps use the answer)."""
    kind = rng.choice(sorted(KINDS))
    make_name, attributes = KINDS[kind]
    attribute = rng.choice([a for a in attributes if a.numeric or not numeric])
    entity, value = make_name(rng), attribute.value(rng)
    text, held = question_for(rng, entity, attribute, split)
    return AskedFact(text, attribute.sentence.format(e=entity, v=value), value, entity, kind, attribute, held)


def follow_up_on(rng: random.Random, fact: AskedFact) -> tuple[str, str]:
    """A follow-up asking another fact of the same entity, naming it "it", and its self-contained task
    ("And the number of lanes on it?" -> "Find the number of lanes on Kelm Road.")."""
    attribute = rng.choice([a for a in KINDS[fact.kind][1] if a is not fact.attribute])
    phrase = rng.choice(attribute.phrases)
    opening = rng.choice(("And {p}?", "What about {p}?", "and {p}?", "Also, {p}?", "And what is {p}?"))
    return opening.format(p=phrase.format(e="it")), f"Find {phrase.format(e=fact.entity)}."


def chunks(document: Document, config: RetrievalSettings) -> list[str]:
    """The document's passages as the real index cuts them (chunk size and overlap from `config`)."""
    pieces = split_text(document.text, document.source, chunk_size=config.chunk_size, chunk_overlap=config.chunk_overlap)
    return [piece.text for piece in pieces]


class RetrievalBuilder:
    """Builds one split's documents, then rows about them."""

    def __init__(self, ledger: SplitLedger) -> None:
        self.ledger = ledger
        self.documents: dict[str, list[Document]] = {}

    def documents_for(self, rng: random.Random, split: str, rows: int) -> list[Document]:
        """The split's documents: enough for `rows` questions (two or three per document)."""
        count = max(4, -(-rows * 2 // 5))
        documents = [make_document(rng, self.ledger, split) for _ in range(count)]
        self.documents[split] = documents
        return documents

    def examples(self, rng: random.Random, split: str, rows: int) -> list[Example]:
        """`rows` questions about this split's documents, each fact asked at most once."""
        documents = self.documents_for(rng, split, rows)
        pairs = [(d, i) for d in documents for i in range(len(d.facts))]
        rng.shuffle(pairs)
        agent = retrieval_agent()
        config = get_settings().retrieval
        passages_of = {d: chunks(d, config) for d in documents}
        examples = []
        for document, index in pairs[:rows]:
            fact = document.facts[index]
            question, held = question_for(rng, document.entity, fact.attribute, split)
            others = [d for d in documents if d is not document]
            same_kind = [d for d in others if d.kind == document.kind]
            distractors: list[Document] = []
            for _ in range(min(rng.choice((2, 2, 3)), len(others))):
                similar = [d for d in same_kind if d not in distractors]
                pool = similar if similar and rng.random() < 0.6 else [d for d in others if d not in distractors]
                distractors.append(rng.choice(pool))
            holding = [c for c in passages_of[document] if fact.sentence in " ".join(c.split())]
            passages = [Passage(document.source, rng.choice(holding))]
            passages += [Passage(d.source, rng.choice(passages_of[d])) for d in distractors]
            rng.shuffle(passages)
            query = f"{document.entity} {fact.attribute.term}"
            if config.focus_sentences:
                passages = focus(passages, query, question)
            messages = [
                SystemMessage(agent.system_prompt),
                HumanMessage(question),
                AIMessage("", tool_calls=[tool_call("search", "call_1", query=query)]),
                ToolMessage(format_passages(passages), tool_call_id="call_1"),
                AIMessage(cite(fact.sentence, document.source)),
            ]
            row = swift_row(messages, agent.openai_tools())
            examples.append(Example(row, (normalise_key(document.entity),), document.kind, held))
        return examples

    def write_corpus(self, directory: Path) -> list[Path]:
        """Write each split's documents under `directory/<split>/`; the written paths."""
        paths = []
        for split, documents in self.documents.items():
            for document in documents:
                path = directory / split / document.source
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(document.text, encoding="utf-8")
                paths.append(path)
        return paths


def item_keys(row: dict) -> set[str]:
    """The items a written retrieval row uses: the source file it cites."""
    return {row["messages"][-1]["content"].rsplit("[source: ", 1)[1].rstrip("]")}


def search_query(row: dict) -> str:
    """The query of a row's search call."""
    call = next(m for m in row["messages"] if m["role"] == "tool_call")
    return json.loads(call["content"])["arguments"]["query"]
