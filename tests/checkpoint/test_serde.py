"""State values come back as their own types, and what cannot be stored is named precisely."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

from agentgraph.checkpoint import SQLAlchemySaver, StateSerializer, UnrestorableTypeWarning, UnserializableValueError
from agentgraph.db import make_engine
from agentgraph.errors import StorageError

from .graphs import config


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: int
    color: Color = Color.RED


class Inner(BaseModel):
    when: datetime
    amount: Decimal


class Order(BaseModel):
    id: int
    inner: Inner
    tags: set[str]


VALUES: dict[str, Any] = {
    "dataclass": Point(1, 2, Color.BLUE),
    "pydantic": Order(id=1, inner=Inner(when=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), amount=Decimal("9.99")), tags={"a"}),
    "enum": Color.BLUE,
    "datetime": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2))),
    "date": date(2024, 2, 29),
    "set": {1, 2, 3},
    "frozenset": frozenset({"x", "y"}),
    "decimal": Decimal("3.14159265358979323846"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "nested": {"points": [Point(0, 0)], "when": date(2020, 1, 1)},
}


def _put(saver: SQLAlchemySaver, thread: str, values: dict[str, Any]) -> dict:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = {k: saver.get_next_version(None, None) for k in values}
    return saver.put(config(thread), checkpoint, {"source": "loop", "step": 0}, checkpoint["channel_versions"])


@pytest.mark.parametrize("name", list(VALUES))
def test_values_round_trip_as_their_own_types(db_url: str, name: str) -> None:
    value = VALUES[name]
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        stored = _put(saver, name, {name: value})
        saver.put_writes(stored, [(name, value)], task_id="t")
    with SQLAlchemySaver.from_conn_string(db_url) as fresh:
        tup = fresh.get_tuple(stored)
    assert tup is not None
    loaded = tup.checkpoint["channel_values"][name]
    assert type(loaded) is type(value)
    assert loaded == value
    assert tup.pending_writes == [("t", name, value)]
    assert type(tup.pending_writes[0][2]) is type(value)


def test_nested_types_inside_models_survive() -> None:
    order = VALUES["pydantic"]
    with SQLAlchemySaver.from_conn_string("sqlite://") as saver:
        saver.setup()
        loaded = saver.get_tuple(_put(saver, "t", {"order": order})).checkpoint["channel_values"]["order"]
    assert isinstance(loaded.inner, Inner) and isinstance(loaded.inner.amount, Decimal)
    assert loaded.inner.when == order.inner.when and loaded.tags == {"a"}
    point = VALUES["nested"]["points"][0]
    assert type(point.color) is Color


def test_a_local_class_is_stored_as_langgraph_stores_it_with_a_warning(sqlite_url: str) -> None:
    @dataclasses.dataclass
    class Local:
        n: int

    value = {"rows": [1, Local(2)]}
    with SQLAlchemySaver.from_conn_string(sqlite_url, strict_types=False) as saver:
        with pytest.warns(UnrestorableTypeWarning) as warned:
            stored = _put(saver, "local-lax", {"report": value})
        with pytest.warns(UnrestorableTypeWarning, match="Local cannot be restored"):
            loaded = saver.get_tuple(stored).checkpoint["channel_values"]["report"]
    message = str(warned[0].message)
    assert "channel 'report'" in message and "['rows'][1]" in message and "<locals>.Local" in message
    with pytest.warns(UnrestorableTypeWarning):
        assert saver.serde.dumps_typed(value) == JsonPlusSerializer().dumps_typed(value)  # the same bytes
    assert loaded == {"rows": [1, {"n": 2}]}  # what LangGraph's serializer reads back


def test_strict_types_refuse_a_local_class_naming_channel_and_field(sqlite_url: str) -> None:
    @dataclasses.dataclass
    class Local:
        n: int

    with SQLAlchemySaver.from_conn_string(sqlite_url, strict_types=True) as saver:
        with pytest.raises(UnserializableValueError) as err:
            _put(saver, "local", {"report": {"rows": [1, Local(2)]}})
        assert saver.get_tuple(config("local")) is None  # nothing half-written
    message = str(err.value)
    assert "channel 'report'" in message and "['rows'][1]" in message
    assert "Local" in message and "module level" in message


def test_strict_types_default_to_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentgraph.settings import get_settings

    try:
        for env, strict in (("true", True), ("false", False)):
            monkeypatch.setenv("AGENTGRAPH_CHECKPOINT__STRICT_TYPES", env)
            get_settings.cache_clear()
            assert StateSerializer().strict is strict
    finally:
        get_settings.cache_clear()
    assert StateSerializer(strict=True).strict is True
    with pytest.raises(ValueError, match="not both"):
        SQLAlchemySaver(make_engine("sqlite://"), serde=StateSerializer(), strict_types=True)


def test_an_unserializable_object_is_named(sqlite_url: str) -> None:
    class Opaque:
        pass

    with SQLAlchemySaver.from_conn_string(sqlite_url) as saver:
        with pytest.raises(UnserializableValueError, match=r"channel 'ctx' at \['inner'\]\.x: .*Opaque"):
            _put(saver, "opaque", {"ctx": {"inner": Point(x=Opaque(), y=1)}})  # type: ignore[arg-type]
        stored = _put(saver, "opaque-writes", {})
        with pytest.raises(UnserializableValueError, match=r"channel 'out' at \[0\]: .*Opaque"):
            saver.put_writes(stored, [("out", [Opaque()])], task_id="t")


def test_a_stored_type_that_cannot_be_rebuilt(sqlite_url: str) -> None:
    Gone = dataclasses.make_dataclass("Gone", [("n", int)])
    Gone.__module__ = "tests.checkpoint.no_such_module"
    with SQLAlchemySaver.from_conn_string(sqlite_url, serde=JsonPlusSerializer()) as lenient:
        stored = _put(lenient, "gone", {"thing": Gone(1)})
    with SQLAlchemySaver.from_conn_string(sqlite_url, strict_types=True) as saver:
        with pytest.raises(StorageError, match=r"tests\.checkpoint\.no_such_module\.Gone cannot be restored"):
            saver.get_tuple(stored)
    with SQLAlchemySaver.from_conn_string(sqlite_url, strict_types=False) as saver:
        with pytest.warns(UnrestorableTypeWarning, match=r"no_such_module\.Gone cannot be restored"):
            assert saver.get_tuple(stored).checkpoint["channel_values"]["thing"] == {"n": 1}


def test_allowlist_is_enforced_when_configured(sqlite_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(sqlite_url) as saver:
        stored = _put(saver, "allow", {"p": Point(1, 2)})
    strict = StateSerializer(allowed_msgpack_modules=None)
    with SQLAlchemySaver.from_conn_string(sqlite_url, serde=strict) as saver:
        with pytest.raises(StorageError, match="allowed_msgpack_modules"):
            saver.get_tuple(stored)
        allowed = saver.with_allowlist([Point, Color])
        assert allowed.get_tuple(stored).checkpoint["channel_values"]["p"] == Point(1, 2)


def _conversation() -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

    return [
        SystemMessage("You are the math agent.", id="s"),
        HumanMessage("What is 17% of 2400?", id="h", additional_kwargs={"k": 1}),
        AIMessage(
            "",
            id="a",
            tool_calls=[{"name": "calculator", "args": {"expression": "17% * 2400"}, "id": "call-1", "type": "tool_call"}],
            usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        ),
        ToolMessage("408", tool_call_id="call-1", id="t", name="calculator"),
        AIMessage([{"type": "text", "text": "17% of 2400 is 408."}], id="b", response_metadata={"model": "math"}),
    ]


def test_messages_round_trip_equal_with_their_own_fields(db_url: str) -> None:
    messages = _conversation()
    with SQLAlchemySaver.from_conn_string(db_url) as saver:
        loaded = saver.get_tuple(_put(saver, "conversation", {"messages": messages})).checkpoint["channel_values"]["messages"]
    assert loaded == messages
    assert [type(m) for m in loaded] == [type(m) for m in messages]
    assert loaded[2].tool_calls[0]["args"] == {"expression": "17% * 2400"}
    # As validation would have rebuilt them from the stored fields.
    assert [m.model_fields_set for m in loaded] == [type(m)(**m.model_dump()).model_fields_set for m in messages]


def test_a_message_stored_in_another_shape_is_validated() -> None:
    """An AI message from an older LangChain (tool calls only in additional_kwargs) is upgraded."""
    import ormsgpack
    from langchain_core.messages import AIMessage
    from langgraph.checkpoint.serde import jsonplus

    from agentgraph.checkpoint import StateSerializer

    old_fields = {
        "content": "",
        "additional_kwargs": {
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "1+1"}'}}]
        },
        "type": "ai",
        "id": "old",
    }
    payload = ormsgpack.packb(("langchain_core.messages.ai", "AIMessage", old_fields, "model_validate_json"))
    loaded = StateSerializer().loads_typed(("msgpack", ormsgpack.packb(ormsgpack.Ext(jsonplus.EXT_PYDANTIC_V2, payload))))
    assert isinstance(loaded, AIMessage)
    assert loaded.tool_calls == [{"name": "calculator", "args": {"expression": "1+1"}, "id": "c1", "type": "tool_call"}]


def test_a_message_is_rebuilt_with_the_state_model_construct_gives() -> None:
    """Every LangChain message class round-trips to the instance state `model_construct` would set:
    fields (in order), fields set, extras and private state; and it still behaves as a model."""
    from langchain_core.messages import AIMessageChunk, ChatMessage, FunctionMessage, RemoveMessage, SystemMessage

    from agentgraph.checkpoint import StateSerializer

    serde = StateSerializer()
    extra = [
        SystemMessage("You are the math agent.", id="s"),
        ChatMessage("hi", role="critic", id="c"),
        FunctionMessage("42", name="calculator", id="f"),
        AIMessageChunk("partial", id="k"),
        RemoveMessage(id="gone"),
    ]
    for message in [*_conversation(), *extra]:
        loaded = serde.loads_typed(serde.dumps_typed(message))
        expected = type(message).model_construct(**dict(message.__dict__))
        assert type(loaded) is type(message) and loaded == message
        assert list(loaded.__dict__) == list(expected.__dict__)
        assert loaded.__pydantic_fields_set__ == expected.__pydantic_fields_set__
        assert loaded.__pydantic_extra__ == expected.__pydantic_extra__
        assert loaded.__pydantic_private__ == expected.__pydantic_private__
        assert loaded.model_dump() == message.model_dump()
        assert loaded.model_copy(update={"id": "new"}).id == "new" and loaded.id == message.id
