"""The async saver's API beyond the conformance suite: graphs, retention, sync calls from threads."""

from __future__ import annotations

import asyncio

import pytest

from agentgraph.checkpoint import AsyncSQLAlchemySaver, Retention

from .graphs import chat_graph, config, say


async def test_async_graph_and_retention(db_url: str) -> None:
    async with AsyncSQLAlchemySaver.from_conn_string(db_url, snapshot_every=3) as saver:
        graph = chat_graph(saver)
        for i in range(5):
            await graph.ainvoke(say(f"q{i}"), config("chat"))
        state = await graph.aget_state(config("chat"))
        assert [m.content for m in state.values["messages"]][::2] == [f"q{i}" for i in range(5)]

        exported: list = []
        result = await saver.aretain(Retention(keep_last=2), export=exported.extend)
        assert result.checkpoints == len(exported) > 0
        assert len([s async for s in graph.aget_state_history(config("chat"))]) == 2
        assert (await graph.aget_state(config("chat"))).values == state.values


async def test_sync_calls_work_from_other_threads_only(sqlite_url: str) -> None:
    async with AsyncSQLAlchemySaver.from_conn_string(sqlite_url) as saver:
        graph = chat_graph(saver)
        await graph.ainvoke(say("hello"), config("sync-from-thread"))
        found = await asyncio.to_thread(saver.get_tuple, config("sync-from-thread"))
        assert found is not None and found.checkpoint["channel_values"]["messages"][0].content == "hello"
        assert len(await asyncio.to_thread(lambda: list(saver.list(config("sync-from-thread"))))) == 3
        with pytest.raises(asyncio.InvalidStateError, match="a\\* methods"):
            saver.get_tuple(config("sync-from-thread"))
