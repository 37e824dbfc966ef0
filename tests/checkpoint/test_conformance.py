"""LangGraph's checkpointer conformance suite, every capability, both savers, both databases."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES, DetectedCapabilities

from agentgraph.checkpoint import AsyncSQLAlchemySaver, SQLAlchemySaver


@pytest.mark.parametrize("saver_class", [SQLAlchemySaver, AsyncSQLAlchemySaver], ids=["sync", "async"])
async def test_conformance(db_url: str, saver_class: type) -> None:
    @checkpointer_test(name=f"{saver_class.__name__}-{db_url.split(':')[0]}")
    async def factory():  # type: ignore[no-untyped-def]
        if saver_class is AsyncSQLAlchemySaver:
            async with AsyncSQLAlchemySaver.from_conn_string(db_url) as saver:
                yield saver
        else:
            with SQLAlchemySaver.from_conn_string(db_url) as saver:
                yield saver

    report = await validate(factory)
    for capability in ALL_CAPABILITIES:
        result = report.results[capability.value]
        assert result.detected, f"{capability.value} not detected"
        assert result.passed, f"{capability.value}: {result.failures}"


def test_every_capability_is_detected(sqlite_url: str) -> None:
    with SQLAlchemySaver.from_conn_string(sqlite_url) as saver:
        assert DetectedCapabilities.from_instance(saver).missing == frozenset()
