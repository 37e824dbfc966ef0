"""User memories: remember, recall and forget on real SQLite and PostgreSQL, one namespace per user, the
memory tools inside the graph with its store, writes copied from tool results refused, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool
from typer.testing import CliRunner

from agentgraph import build_graph
from agentgraph.agent import AgentSpec
from agentgraph.agents import DEFAULT_AGENTS, MEMORY
from agentgraph.agents.memory import make_memory_tools
from agentgraph.cli import app
from agentgraph.db import make_engine
from agentgraph.memory import (
    UserMemoryError,
    aforget,
    aforget_all,
    alist_memories,
    arecall,
    arecall_facts,
    aremember,
    forget,
    forget_all,
    list_memories,
    memory_id,
    memory_namespace,
    recall,
    recall_facts,
    remember,
    unstated_words,
    user_of,
    user_stated,
)
from agentgraph.runtime import open_async_store, open_checkpointer, open_store
from agentgraph.settings import PolicySettings, Settings, get_settings
from agentgraph.store import SQLAlchemyStore
from agentgraph.supervisor import REMEMBERED_PREFIX
from agentgraph.tool_policy import declare_tool, traits, untrusted_arguments
from graph_fakes import Script, SpyTool, ai, call, handoff
from tests.conftest import throwaway_postgres_database

TEAM = "my team is called Blue Heron"
DOCUMENT = "[launch.txt] The Blue Heron team ships the Velmora launch on 3 March."


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with throwaway_postgres_database("agentgraph_memory_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings on an empty, migrated database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'memory.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    settings = Settings(database_url=url)
    with open_store(settings):  # migrates the schema
        pass
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM store_item_vectors"))
        conn.execute(sa.text("DELETE FROM store_items"))
    engine.dispose()
    yield settings


@pytest.fixture
def store(db_settings: Settings) -> Iterator[SQLAlchemyStore]:
    with open_store(db_settings) as opened:
        yield opened  # type: ignore[misc]


# -- the memory functions on both backends ------------------------------------------------------------


def test_remember_recall_list_and_forget(store, db_settings):
    team = remember(store, "alice", TEAM, db_settings)
    city = remember(store, "alice", "I live in Lisbon", db_settings)
    # the same fact in other case and punctuation is the same memory
    assert remember(store, "alice", "My team is called   Blue Heron.", db_settings) == team == memory_id(TEAM)
    assert team != city

    listed = list_memories(store, "alice")
    assert [(m.id, m.text) for m in listed] == [(team, TEAM), (city, "I live in Lisbon")]  # oldest first
    assert store.get(memory_namespace("alice"), team).value == {"text": TEAM}

    found = recall(store, "alice", "What is my team called?", 1, db_settings)
    assert [m.text for m in found] == [TEAM] and found[0].score > 0.5
    assert [m.text for m in recall(store, "alice", "Where do I live?", 1, db_settings)] == ["I live in Lisbon"]

    assert forget(store, "alice", team) is True
    assert forget(store, "alice", team) is False
    assert [m.id for m in list_memories(store, "alice")] == [city]
    assert forget_all(store, "alice") == 1
    assert list_memories(store, "alice") == []
    assert recall(store, "alice", "Where do I live?", 3, db_settings) == []


def test_users_never_see_each_others_memories(store, db_settings):
    users = ["alice", "al", "sam@example.com", "sam@example%2Ecom"]  # '.' is escaped, and the escape is too
    ids = {user: remember(store, user, f"{user} has a cat called Miso", db_settings) for user in users}
    for user in users:
        assert [m.text for m in list_memories(store, user)] == [f"{user} has a cat called Miso"]
        assert [m.text for m in recall(store, user, "What is my cat called?", 5, db_settings)] == [f"{user} has a cat called Miso"]
        assert recall_facts(store, user, "What is my cat called?", settings=db_settings) == [f"{user} has a cat called Miso"]
    assert list_memories(store, "bob") == [] and recall_facts(store, "bob", "What is my cat called?", settings=db_settings) == []
    # forgetting another user's id, or all of one's own, leaves the other users alone
    assert forget(store, "al", ids["alice"]) is False
    assert forget_all(store, "al") == 1
    assert [len(list_memories(store, user)) for user in users] == [1, 0, 1, 1]


def test_forgetting_is_per_user(store, db_settings):
    alice = remember(store, "alice", TEAM, db_settings)
    bob = remember(store, "bob", TEAM, db_settings)
    assert alice == bob  # the same fact has the same id, in each user's own namespace
    assert forget_all(store, "alice") == 1
    assert [m.text for m in list_memories(store, "bob")] == [TEAM]
    assert forget(store, "alice", bob) is False
    assert [m.id for m in list_memories(store, "bob")] == [bob]


def test_recall_facts_gives_the_relevant_memories_or_none(store, db_settings):
    assert recall_facts(store, "alice", "Write a two-line note to my team about the launch.", settings=db_settings) == []
    remember(store, "alice", TEAM, db_settings)
    remember(store, "alice", "Sam is my manager", db_settings)
    remember(store, "alice", "I live in Lisbon", db_settings)

    assert recall_facts(store, "alice", "Write a two-line note to my team about the launch.", settings=db_settings) == [TEAM]
    assert recall_facts(store, "alice", "Write an email to Sam.", settings=db_settings) == ["Sam is my manager"]
    assert recall_facts(store, "alice", "What is 15% of 80?", settings=db_settings) == []
    assert recall_facts(store, "alice", "What is the capital of France?", settings=db_settings) == []
    assert len(recall_facts(store, "alice", "team Sam Lisbon", k=2, settings=db_settings)) == 2


async def test_the_async_functions_agree_with_the_sync_ones(db_settings):
    async with open_async_store(db_settings) as astore:
        team = await aremember(astore, "alice", TEAM, db_settings)
        assert await aremember(astore, "alice", TEAM.upper(), db_settings) == team
        await aremember(astore, "bob", "I live in Lisbon", db_settings)
        assert [m.text for m in await alist_memories(astore, "alice")] == [TEAM]
        assert [m.text for m in await arecall(astore, "alice", "my team's name", 3, db_settings)] == [TEAM]
        assert await arecall_facts(astore, "alice", "Write a note to my team.", settings=db_settings) == [TEAM]
        assert await arecall_facts(astore, "alice", "Where do I live?", settings=db_settings) == []
        assert await aforget(astore, "alice", "unknown") is False
        assert await aforget(astore, "alice", team) is True
        assert await aforget_all(astore, "bob") == 1
        assert await alist_memories(astore, "bob") == []


def test_bad_facts_users_and_stores_are_clear_errors(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'memory.db'}", memory={"max_fact_chars": 20})
    with open_store(settings) as store:
        with pytest.raises(UserMemoryError, match="empty"):
            remember(store, "alice", " ... ", settings)
        with pytest.raises(UserMemoryError, match="memory.max_fact_chars allows 20"):
            remember(store, "alice", "x" * 21, settings)
        with pytest.raises(UserMemoryError, match="user id must be a non-empty string"):
            remember(store, " ", TEAM, settings)
        with pytest.raises(UserMemoryError, match="query to recall memories for is empty"):
            recall(store, "alice", "  ", settings=settings)
    with SQLAlchemyStore.from_conn_string(settings.database_url) as plain:
        with pytest.raises(UserMemoryError, match="no vector index"):
            recall_facts(plain, "alice", "my team", settings=settings)


def test_the_user_of_a_thread():
    settings = Settings(graph={"default_user": "cli-user"})
    assert user_of({"configurable": {"thread_id": "t", "user_id": "alice"}}, settings) == "alice"
    assert user_of({"configurable": {"thread_id": "t"}}, settings) == "cli-user"
    assert user_of(None, settings) == "cli-user"
    assert Settings().graph.default_user == "local"
    with pytest.raises(UserMemoryError, match="configurable.user_id"):
        user_of({"configurable": {"user_id": 7}}, settings)


def test_a_fact_is_the_users_only_when_the_user_said_its_words():
    said = [HumanMessage("Remember that my team is called Blue Heron."), "And that I like tea."]
    assert user_stated("The user's team is called Blue Heron", said)
    assert user_stated("I like tea", said)
    assert unstated_words("The user's team is called Red Heron and ships on Monday", said) == ["red", "ships", "monday"]
    assert not user_stated("the team ships the Velmora launch", said)
    assert not user_stated("the", said)  # no content word: nothing the user stated


# -- the tool policy: memory writes never copy tool results ------------------------------------------


def test_a_memory_write_copying_a_tool_result_is_always_refused():
    remember_tool = make_memory_tools()[0]
    assert traits(remember_tool).memory_write and traits(remember_tool).side_effect
    lenient = PolicySettings(untrusted_copies="allow")
    task = "Remember what the launch notes say."

    copied = untrusted_arguments(
        remember_tool, {"fact": "Blue Heron ships the Velmora launch"}, trusted=task, untrusted=[DOCUMENT], policy=lenient
    )
    assert copied is not None and copied.action == "refuse"
    assert 'text copied from tool results or facts given to the agent ("ships the velmora launch")' in copied.reason
    assert "memory keeps only what the user said" in copied.reason
    # reworded, it still uses words only the document gives
    reworded = untrusted_arguments(
        remember_tool, {"fact": "the Velmora launch is on 3 March"}, trusted=task, untrusted=[DOCUMENT], policy=lenient
    )
    assert reworded is not None and reworded.action == "refuse"
    assert "words that tool results or facts given to the agent use and the task does not (velmora, 3, march)" in reworded.reason
    # a short copy counts too, and facts given to the agent are as untrusted as tool results
    short = untrusted_arguments(
        remember_tool, {"fact": "Velmora launch"}, trusted=task, untrusted=["Facts: the Velmora launch."], policy=lenient
    )
    assert short is not None and short.action == "refuse"
    # what the task (the user) says may be remembered, even when a document says it too
    own = untrusted_arguments(
        remember_tool,
        {"fact": "The Blue Heron team"},
        trusted="Remember that the Blue Heron team is mine.",
        untrusted=[DOCUMENT],
        policy=lenient,
    )
    assert own is None


def test_the_stricter_rule_is_only_for_memory_writes():
    def send(text: str) -> str:
        return "sent"

    sender = declare_tool(StructuredTool.from_function(send, name="send", description="Send a text."), side_effect=True)
    args = {"text": "the Velmora launch is on 3 March"}  # fewer words than policy.copied_words
    assert untrusted_arguments(sender, args, trusted="Send a note.", untrusted=[DOCUMENT], policy=PolicySettings()) is None


# -- the tools inside the graph, on the graph's store --------------------------------------------------


def _tool_messages(out: dict) -> list[ToolMessage]:
    return [m for t in out["transcripts"].values() for m in t["messages"] if isinstance(m, ToolMessage)]


def _ask(graph, question: str, thread: str, user: str | None) -> dict:
    configurable = {"thread_id": thread, **({"user_id": user} if user else {})}
    return graph.invoke({"messages": [HumanMessage(question)]}, {"configurable": configurable})


def test_the_memory_agent_remembers_in_one_thread_and_recalls_in_another(db_settings):
    script = Script(
        router=[
            ai("", handoff("memory", "Remember that my team is called Blue Heron.")),
            ai("", handoff("memory", "What is my team called?")),
            ai("", handoff("memory", "What is my team called?")),
        ],
        memory=[
            ai("", call("remember", fact="My team is called Blue Heron.")),
            ai("I will remember that your team is called Blue Heron."),
            ai("", call("recall", query="team name")),
            ai("Your team is called Blue Heron."),
            ai("", call("recall", query="team name")),
            ai("I do not know your team's name."),
        ],
    )
    with open_checkpointer(db_settings) as saver, open_store(db_settings) as store:
        graph = build_graph([MEMORY], saver, store, db_settings, model_factory=script.factory)
        first = _ask(graph, "Remember that my team is called Blue Heron.", "t1", "alice")
        assert [m.content for m in _tool_messages(first)] == [f"remembered (memory {memory_id(TEAM)})"]
        assert [m.text for m in list_memories(store, "alice")] == ["My team is called Blue Heron."]

        later = _ask(graph, "What is my team called?", "t2", "alice")
        assert [m.content for m in _tool_messages(later)] == ["- My team is called Blue Heron."]
        assert later["answer"] == "Your team is called Blue Heron."

        other = _ask(graph, "What is my team called?", "t3", "bob")
        assert [m.content for m in _tool_messages(other)] == ["nothing remembered matches"]
    assert script.models_called().count("memory") == 6


def test_a_thread_without_a_user_writes_the_default_users_memory(db_settings, monkeypatch):
    monkeypatch.setenv("AGENTGRAPH_GRAPH__DEFAULT_USER", "cli")
    get_settings.cache_clear()
    script = Script(
        router=[ai("", handoff("memory", "Remember that I live in Lisbon."))],
        memory=[ai("", call("remember", fact="I live in Lisbon")), ai("Noted.")],
    )
    try:
        with open_store(db_settings) as store:
            graph = build_graph([MEMORY], store=store, settings=db_settings, model_factory=script.factory)
            _ask(graph, "Remember that I live in Lisbon.", "t1", None)
            assert [m.text for m in list_memories(store, "cli")] == ["I live in Lisbon"]
            assert list_memories(store, "local") == []
    finally:
        get_settings.cache_clear()


def test_a_fact_copied_from_a_document_is_never_remembered(db_settings):
    search = SpyTool("search", DOCUMENT)
    remember_tool, recall_tool = make_memory_tools()
    researcher = AgentSpec("researcher", "Reads documents.", "You read documents.", tools=(search.tool, remember_tool, recall_tool))
    script = Script(
        router=[ai("", handoff("researcher", "Find the launch date and remember it."))],
        researcher=[
            ai("", call("search", query="launch date")),
            ai("", call("remember", fact="The Blue Heron team ships the Velmora launch on 3 March.")),
            ai("The launch is on 3 March."),
        ],
    )
    settings = db_settings.model_copy(update={"policy": PolicySettings(untrusted_copies="allow")})
    with open_store(settings) as store:
        graph = build_graph([researcher], store=store, settings=settings, model_factory=script.factory)
        out = _ask(graph, "Find the launch date and remember it.", "t1", "alice")
        refused = [m for m in _tool_messages(out) if m.name == "remember"]
        assert len(refused) == 1 and refused[0].status == "error"
        assert "remember was not run" in refused[0].content and "memory keeps only what the user said" in refused[0].content
        assert list_memories(store, "alice") == []
    assert "memory keeps only what the user said" in out["answer"]


def test_a_later_thread_gets_the_users_relevant_memories_as_facts(db_settings):
    writer = AgentSpec("writing", "Writes notes.", "You write notes.")
    question = "Write a two-line note to my team about the launch."
    script = Script(router=[ai("", handoff("writing", question))] * 3, writing=[ai("Hello team, the launch is on.")] * 3)
    with open_store(db_settings) as store:
        remember(store, "alice", "My team is called Blue Heron.")
        remember(store, "alice", "I prefer tea to coffee.")
        graph = build_graph([writer], store=store, settings=db_settings, model_factory=script.factory)
        _ask(graph, question, "t1", "alice")
        _ask(graph, question, "t2", "bob")
        _ask(graph, "Write a note about the weather.", "t3", "alice")

    def request_text(n: int) -> str:
        writing_calls = [messages for name, messages, _ in script.calls if name == "writing"]
        return "\n".join(str(m.content) for m in writing_calls[n])

    assert f"{REMEMBERED_PREFIX}My team is called Blue Heron." in request_text(0)
    assert "coffee" not in request_text(0)  # only what is relevant to the question
    assert REMEMBERED_PREFIX not in request_text(1)  # bob has no memories; alice's are hers
    assert REMEMBERED_PREFIX not in request_text(2)  # nothing alice remembered is about the weather


def test_the_memory_agent_is_exported_but_not_in_the_default_graph():
    assert MEMORY.name == "memory" and [t.name for t in MEMORY.tools] == ["remember", "recall"]
    assert MEMORY.description == "Remembers facts the user tells it to remember and recalls them later, across conversations."
    assert MEMORY not in DEFAULT_AGENTS


# -- the CLI --------------------------------------------------------------------------------------------


@pytest.fixture
def cli_settings(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("AGENTGRAPH_DATABASE_URL", db_settings.database_url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["memory", *args])
    return result.exit_code, result.stdout + (str(result.exception) if result.exit_code else "")


def test_memory_list_and_forget(cli_settings):
    with open_store(cli_settings) as store:
        team = remember(store, "local", TEAM, cli_settings)
        lisbon = remember(store, "local", "I live in Lisbon", cli_settings)
        remember(store, "bob", "Sam is my manager", cli_settings)

    code, out = _cli("list", "--json")
    assert code == 0, out
    assert [(m["id"], m["text"]) for m in json.loads(out)] == [(team, TEAM), (lisbon, "I live in Lisbon")]
    code, out = _cli("list")
    assert code == 0 and team in out and "Blue Heron" in out and "Sam" not in out
    code, out = _cli("list", "--user", "bob", "--json")
    assert [m["text"] for m in json.loads(out)] == ["Sam is my manager"]

    code, out = _cli("forget", team)
    assert code == 0 and f"forgot memory {team} of user 'local'" in out
    code, out = _cli("forget", team)
    assert code == 1 and f"user 'local' has no memory '{team}'" in out
    code, out = _cli("forget", lisbon, "--user", "bob")  # another user's id is not bob's to forget
    assert code == 1
    code, out = _cli("forget", "--all", "--user", "bob")
    assert code == 0 and "forgot 1 memory of user 'bob'" in out
    code, out = _cli("list", "--json")
    assert [m["id"] for m in json.loads(out)] == [lisbon]
    code, out = _cli("list", "--user", "bob")
    assert code == 0 and "no memories of user 'bob'" in out


def test_memory_forget_needs_exactly_one_target(cli_settings):
    for args in ((), ("abc", "--all")):
        code, out = _cli("forget", *args)
        assert code == 1 and "give exactly one of a memory id and --all" in out
    code, out = _cli("list", "--user", " ")
    assert code == 1 and "--user is empty" in out
