"""A real StateGraph gives the same states with our saver as with LangGraph's SqliteSaver, including
state types LangGraph's serializer cannot import back (classes defined inside a function)."""

import dataclasses
import enum
import operator
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from agentgraph.checkpoint import AsyncSQLAlchemySaver, SQLAlchemySaver, UnrestorableTypeWarning, UnserializableValueError

from .graphs import config


class Mood(enum.Enum):
    CALM = "calm"
    BUSY = "busy"


@dataclasses.dataclass
class Tally:
    total: int
    mood: Mood = Mood.CALM


def _graph(checkpointer: BaseCheckpointSaver) -> Any:
    """Two nodes over a pydantic state holding a function-local model, a function-local dataclass,
    a module-level dataclass and an enum."""

    class Item(BaseModel):
        name: str
        qty: int

    @dataclasses.dataclass
    class Label:
        text: str

    class State(BaseModel):
        items: list[Item] = []
        label: Any = None
        tally: Tally = Tally(0)
        mood: Mood = Mood.CALM
        count: int = 0

    def add(state: State) -> dict[str, Any]:
        item = Item(name=f"item-{state.count}", qty=state.count + 1)
        return {"items": [*state.items, item], "count": state.count + 1, "mood": Mood.BUSY}

    def count(state: State) -> dict[str, Any]:
        total = sum(item.qty for item in state.items)  # items read back must still work as models
        return {"tally": Tally(total, state.mood), "label": Label(f"{len(state.items)} items")}

    builder = StateGraph(State)
    builder.add_node("add", add)
    builder.add_node("count", count)
    builder.add_edge(START, "add")
    builder.add_edge("add", "count")
    builder.add_edge("count", END)
    return builder.compile(checkpointer=checkpointer)


def _run(checkpointer: BaseCheckpointSaver) -> dict[str, Any]:
    """Three runs on one thread (each resumes from the stored state), then what the saver gives back."""
    graph = _graph(checkpointer)
    cfg = config("dropin")
    outputs = [graph.invoke({}, cfg) for _ in range(3)]
    history = list(graph.get_state_history(cfg))
    return {
        "outputs": [_plain(o) for o in outputs],
        "state": _plain(graph.get_state(cfg).values),
        "history": [(_plain(s.values), s.next, s.metadata["step"]) for s in history],
    }


def _plain(value: Any) -> Any:
    """`value` with function-local instances replaced by (class name, fields), for comparison."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if "<locals>" in type(value).__qualname__:
        fields = value.model_dump() if isinstance(value, BaseModel) else dataclasses.asdict(value)
        return (type(value).__name__, fields)
    return value


@contextmanager
def _official() -> Iterator[SqliteSaver]:
    with SqliteSaver.from_conn_string(":memory:") as saver:
        yield saver


def _same_as_official(run: Callable[[], dict[str, Any]]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnrestorableTypeWarning)
        ours = run()
    with _official() as official:
        expected = _run(official)
    assert ours == expected
    # the module-level types come back as themselves, the local ones as LangGraph's serializer reads them
    state = ours["state"]
    assert type(state["tally"]) is Tally and state["tally"] == Tally(6, Mood.BUSY)
    assert state["mood"] is Mood.BUSY
    assert state["items"][0] == {"name": "item-0", "qty": 1}
    assert [o["count"] for o in ours["outputs"]] == [1, 2, 3]


def test_a_graph_with_local_types_behaves_as_with_the_official_saver(db_url: str) -> None:
    def run() -> dict[str, Any]:
        with SQLAlchemySaver.from_conn_string(db_url, strict_types=False) as saver:
            return _run(saver)

    _same_as_official(run)


async def test_the_async_saver_behaves_as_the_official_saver(db_url: str) -> None:
    async with AsyncSQLAlchemySaver.from_conn_string(db_url, strict_types=False) as saver:
        graph = _graph(saver)
        cfg = config("dropin-async")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnrestorableTypeWarning)
            outputs = [_plain(await graph.ainvoke({}, cfg)) for _ in range(3)]
            state = _plain((await graph.aget_state(cfg)).values)
    with _official() as official:
        expected = _run(official)
    assert outputs == expected["outputs"] and state == expected["state"]


def test_the_warning_names_channel_field_and_type(sqlite_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(sqlite_url, strict_types=False) as saver:
        with pytest.warns(UnrestorableTypeWarning) as warned:
            _graph(saver).invoke({}, config("dropin-warn"))
    messages = [str(w.message) for w in warned if "stored as LangGraph" in str(w.message)]
    assert any("channel 'items' at [0]" in m and "_graph.<locals>.Item" in m for m in messages)
    assert any("channel 'label'" in m and "_graph.<locals>.Label" in m for m in messages)


def test_strict_types_stop_the_graph_at_the_first_local_type(sqlite_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(sqlite_url, strict_types=True) as saver:
        with pytest.raises(UnserializableValueError, match=r"channel 'items' at \[0\].*Item"):
            _graph(saver).invoke({}, config("dropin-strict"))


def _interrupted_run(checkpointer: BaseCheckpointSaver) -> list[Any]:
    """A pydantic state holding a function-local model, stopped after one node, resumed, then updated
    by hand: what each phase streams and the state at the end."""

    class Inner(BaseModel):
        level: int

    class State(BaseModel):
        topic: str
        inner: Inner
        notes: Annotated[list[str], operator.add] = []
        summary: str | None = None

    def collect(state: State) -> dict[str, Any]:
        assert isinstance(state.inner, Inner)  # rebuilt by the state model from what was stored
        return {"notes": [f"{state.topic} at level {state.inner.level}"]}

    def summarise(state: State) -> dict[str, Any]:
        assert isinstance(state.inner, Inner)
        return {"summary": "; ".join(state.notes)}

    builder = StateGraph(State)
    builder.add_node("collect", collect)
    builder.add_node("summarise", summarise)
    builder.add_edge(START, "collect")
    builder.add_edge("collect", "summarise")
    builder.add_edge("summarise", END)
    graph = builder.compile(checkpointer=checkpointer, interrupt_after=["collect"])
    cfg = config("dropin-interrupt")
    first = list(graph.stream({"topic": "bridges", "inner": Inner(level=2)}, cfg))
    resumed = list(graph.stream(None, cfg))
    updated = graph.update_state(cfg, {"notes": ["by hand"]}, as_node="collect")
    return [first, resumed, sorted(updated["configurable"]), _plain(graph.get_state(cfg).values)]


def test_an_interrupted_graph_with_a_local_model_resumes_as_with_the_official_saver(db_url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnrestorableTypeWarning)
        with SQLAlchemySaver.from_conn_string(db_url, strict_types=False) as saver:
            ours = _interrupted_run(saver)
    with _official() as official:
        expected = _interrupted_run(official)
    assert ours == expected
    assert ours[1] == [{"summarise": {"summary": "bridges at level 2"}}]
    assert ours[3]["inner"] == {"level": 2} and ours[3]["notes"] == ["bridges at level 2", "by hand"]
