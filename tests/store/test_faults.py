"""Failures are reported as StorageError naming the database (never its password)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from alembic import command

from agentgraph.db.migrate import alembic_config
from agentgraph.errors import StorageError
from agentgraph.store import AsyncSQLAlchemyStore, SQLAlchemyStore


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_database_names_the_url_without_password() -> None:
    port = _closed_port()
    url = f"postgresql://agent:s3cret-pw@127.0.0.1:{port}/memories"
    with SQLAlchemyStore.from_conn_string(url, index=None) as store, pytest.raises(StorageError) as excinfo:
        store.get(("a",), "k")
    message = str(excinfo.value)
    assert f"127.0.0.1:{port}/memories" in message
    assert "s3cret-pw" not in message
    with SQLAlchemyStore.from_conn_string(url, index=None) as store, pytest.raises(StorageError, match=str(port)):
        store.setup()


async def test_unreachable_database_async() -> None:
    port = _closed_port()
    url = f"postgresql://agent:s3cret-pw@127.0.0.1:{port}/memories"
    async with AsyncSQLAlchemyStore.from_conn_string(url, index=None) as store:
        with pytest.raises(StorageError) as excinfo:
            await store.aput(("a",), "k", {"v": 1})
    assert f"127.0.0.1:{port}/memories" in str(excinfo.value)
    assert "s3cret-pw" not in str(excinfo.value)


def test_database_without_schema_asks_for_an_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with SQLAlchemyStore.from_conn_string(url, index=None) as store:
        with pytest.raises(StorageError, match="upgrade"):
            store.get(("a",), "k")
        store.setup()
        store.put(("a",), "k", {"v": 1})
        assert store.get(("a",), "k") is not None
    with SQLAlchemyStore.from_conn_string(f"sqlite:///{tmp_path / 'other.db'}", index=None, setup=True) as store:
        assert store.get(("a",), "k") is None


def test_migration_0002_up_and_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    with SQLAlchemyStore.from_conn_string(url, index=None) as store:
        store.setup()
        store.put(("a",), "k", {"v": 1})
    command.downgrade(alembic_config(url), "0001")
    with SQLAlchemyStore.from_conn_string(url, index=None) as store:
        with pytest.raises(StorageError, match="0001"):
            store.get(("a",), "k")
        store.setup()
        assert store.get(("a",), "k") is None


def test_unsupported_database_and_index_settings(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cosine"):
        SQLAlchemyStore.from_conn_string(
            f"sqlite:///{tmp_path / 'x.db'}",
            index={"distance_type": "l2"},  # type: ignore[typeddict-item]
        ).__enter__()
    with pytest.raises(StorageError, match="unsupported database URL"):
        SQLAlchemyStore.from_conn_string("mysql://u@h/db").__enter__()


async def test_async_setup_then_use(tmp_path: Path) -> None:
    async with AsyncSQLAlchemyStore.from_conn_string(f"sqlite:///{tmp_path / 'a.db'}", index=None) as store:
        with pytest.raises(StorageError, match="no agentgraph schema"):
            await store.acount_items(("a",))
        await store.setup()
        await store.aput(("a",), "k", {"v": 1})
        assert (await store.acount_items(("a",)))[0] == 1
    async with AsyncSQLAlchemyStore.from_conn_string(f"sqlite:///{tmp_path / 'b.db'}", setup=True) as store:
        assert await store.acount_items(("a",)) == (0, None)
