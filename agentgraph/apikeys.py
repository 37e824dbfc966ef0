"""API keys of the HTTP service, and which key owns which thread.

A key is a random token, `agk_` followed by `secrets.token_urlsafe(32)` (256 random bits). The database
keeps only its SHA-256 digest, a short prefix of it for listing (`agk_` + 4 characters, not enough to
use it), its name, role and limit. A fast digest is the usual way to store API keys: slow password
hashes (bcrypt, scrypt, argon2) exist to make guessing a low-entropy password expensive, and a 256-bit
random token cannot be guessed, so its SHA-256 digest is as safe and lets every request find its key
by an indexed lookup. The token is shown once, when the key is created, and never logged.

Roles: `user` asks questions on the threads it created; `approver` may also answer the approvals those
threads wait for; `admin` may do everything on every thread. A revoked key keeps its row (and its
name, which the audit rows carry) and is refused.

Every statement on these tables is built in this module; `ApiKeys` runs them on a sync engine (the
CLI), `AsyncApiKeys` on an async engine (the service).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from agentgraph.db.engine import WRITE_OPTION, aretry_busy, retry_busy
from agentgraph.errors import AgentgraphError
from agentgraph.store.schema import UTCDateTime

__all__ = [
    "ROLES",
    "ApiKeyError",
    "ApiKeys",
    "AsyncApiKeys",
    "KeyInfo",
    "MIN_TOKEN_CHARS",
    "Principal",
    "Role",
    "digest",
    "new_token",
    "token_prefix",
]

Role = Literal["user", "approver", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
TOKEN_PREFIX = "agk_"
MIN_TOKEN_CHARS = 32
"""Shortest token accepted from outside (the bootstrap admin key): at least 32 random characters."""

metadata = sa.MetaData()

keys_table = sa.Table(
    "ag_api_keys",
    metadata,
    sa.Column("id", sa.Text(), primary_key=True),
    sa.Column("name", sa.Text(), nullable=False, unique=True),
    sa.Column("role", sa.Text(), nullable=False),
    sa.Column("prefix", sa.Text(), nullable=False),
    sa.Column("digest", sa.Text(), nullable=False, unique=True),
    sa.Column("runs_per_minute", sa.Integer(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("window_minute", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("window_runs", sa.Integer(), nullable=False, server_default="0"),
)

owners_table = sa.Table(
    "ag_thread_owners",
    metadata,
    sa.Column("thread_id", sa.Text(), primary_key=True),
    sa.Column("key_id", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


class ApiKeyError(AgentgraphError):
    """A key cannot be created, found or revoked as asked."""


@dataclass(frozen=True)
class Principal:
    """Who sends a request: the key it was authenticated with."""

    key_id: str
    name: str
    role: Role
    runs_per_minute: int | None = None
    """The key's own limit of runs per minute (None: the service's `service.runs_per_minute`)."""

    @property
    def is_admin(self) -> bool:
        """Whether it may act on every thread."""
        return self.role == "admin"

    @property
    def may_approve(self) -> bool:
        """Whether it may answer the approval a thread waits for."""
        return self.role in ("approver", "admin")


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as `agentgraph keys list` shows it (never the token)."""

    key_id: str
    name: str
    role: Role
    prefix: str
    runs_per_minute: int | None
    created_at: datetime
    revoked_at: datetime | None


def new_token() -> str:
    """A new API key token (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The stored form of a token: its SHA-256 digest, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    """The non-secret start of a token shown in listings."""
    start = len(TOKEN_PREFIX) if token.startswith(TOKEN_PREFIX) else 0
    return token[: start + 4]


def _checked_role(role: str) -> Role:
    if role not in ROLES:
        raise ApiKeyError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


# --- statements -------------------------------------------------------------------------------------------


def _insert_key(name: str, role: Role, token: str, runs_per_minute: int | None) -> tuple[sa.Insert, KeyInfo]:
    info = KeyInfo(secrets.token_hex(6), name, role, token_prefix(token), runs_per_minute, datetime.now(UTC), None)
    values = {
        "id": info.key_id,
        "name": name,
        "role": role,
        "prefix": info.prefix,
        "digest": digest(token),
        "runs_per_minute": runs_per_minute,
        "created_at": info.created_at,
    }
    return sa.insert(keys_table).values(**values), info


def _select_keys() -> sa.Select[Any]:
    return sa.select(keys_table).order_by(keys_table.c.created_at, keys_table.c.name)


def _select_named(name_or_id: str) -> sa.Select[Any]:
    return sa.select(keys_table).where(sa.or_(keys_table.c.name == name_or_id, keys_table.c.id == name_or_id))


def _revoke(key_id: str, when: datetime) -> sa.Update:
    return sa.update(keys_table).where(keys_table.c.id == key_id, keys_table.c.revoked_at.is_(None)).values(revoked_at=when)


def _select_by_digest(token: str, *, active: bool) -> sa.Select[Any]:
    query = sa.select(keys_table.c.id, keys_table.c.name, keys_table.c.role, keys_table.c.runs_per_minute).where(
        keys_table.c.digest == digest(token)
    )
    return query.where(keys_table.c.revoked_at.is_(None)) if active else query


def _count_run(key_id: str, minute: int) -> sa.Update:
    """Add one run to the key's count of this minute (a count of an earlier minute starts again at one)."""
    c = keys_table.c
    return (
        sa.update(keys_table)
        .where(c.id == key_id)
        .values(window_runs=sa.case((c.window_minute == minute, c.window_runs + 1), else_=1), window_minute=minute)
        .returning(c.window_runs)
    )


def _select_owner(thread_id: str) -> sa.Select[Any]:
    return sa.select(owners_table.c.key_id).where(owners_table.c.thread_id == thread_id)


def _insert_owner(thread_id: str, key_id: str) -> sa.Insert:
    return sa.insert(owners_table).values(thread_id=thread_id, key_id=key_id, created_at=datetime.now(UTC))


def _delete_owner(thread_id: str) -> sa.Delete:
    return sa.delete(owners_table).where(owners_table.c.thread_id == thread_id)


def _info(row: Any) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.role, row.prefix, row.runs_per_minute, row.created_at, row.revoked_at)


def _principal(row: Any) -> Principal:
    return Principal(row.id, row.name, row.role, row.runs_per_minute)


def _one_named(rows: Sequence[Any], name_or_id: str) -> Any:
    if not rows:
        raise ApiKeyError(f"no API key is named {name_or_id!r} or has that id (see `agentgraph keys list`)")
    if len(rows) > 1:  # one key's name is another's id
        raise ApiKeyError(f"{name_or_id!r} is the name of one key and the id of another; give the id")
    return rows[0]


# --- running them -----------------------------------------------------------------------------------------


class ApiKeys:
    """The keys of one database, on a sync engine (schema already current)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = engine.execution_options(**{WRITE_OPTION: True})

    def create(self, name: str, role: str, runs_per_minute: int | None = None) -> tuple[KeyInfo, str]:
        """A new key and its token (the only time the token is available)."""
        if not name.strip():
            raise ApiKeyError("a key needs a name")
        if runs_per_minute is not None and runs_per_minute < 1:
            raise ApiKeyError(f"runs per minute must be at least 1, not {runs_per_minute}")
        token = new_token()
        statement, info = _insert_key(name.strip(), _checked_role(role), token, runs_per_minute)

        def insert() -> None:
            with self._write.begin() as conn:
                conn.execute(statement)

        try:
            retry_busy(insert)
        except IntegrityError:
            raise ApiKeyError(f"an API key named {name.strip()!r} exists already (revoked keys keep their names)") from None
        return info, token

    def list_keys(self) -> list[KeyInfo]:
        """Every key, revoked ones included, oldest first."""
        with self.engine.connect() as conn:
            return [_info(row) for row in conn.execute(_select_keys())]

    def revoke(self, name_or_id: str) -> tuple[KeyInfo, bool]:
        """Revoke the key with that name or id; the key, and False if it was revoked already."""

        def update() -> tuple[KeyInfo, bool]:
            with self._write.begin() as conn:
                row = _one_named(conn.execute(_select_named(name_or_id)).all(), name_or_id)
                when = datetime.now(UTC)
                changed = conn.execute(_revoke(row.id, when)).rowcount == 1
                info = _info(row)
                return (KeyInfo(**{**info.__dict__, "revoked_at": when}) if changed else info), changed

        return retry_busy(update)


class AsyncApiKeys:
    """What the service asks of the keys and the thread owners, on an async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._write = engine.execution_options(**{WRITE_OPTION: True})

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of an active key with this token, or None (unknown or revoked)."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(_select_by_digest(token, active=True))).first()
        return _principal(row) if row is not None else None

    async def ensure(self, token: str, name: str, role: Role) -> str | None:
        """Store a key given from outside (the bootstrap admin key) unless its token is stored already,
        revoked or not; the name it was stored under, or None. A taken name gets the token's prefix appended."""
        if len(token) < MIN_TOKEN_CHARS:
            raise ApiKeyError(f"an API key given from outside needs at least {MIN_TOKEN_CHARS} random characters")
        async with self.engine.connect() as conn:
            if (await conn.execute(_select_by_digest(token, active=False))).first() is not None:
                return None
        for candidate in (name, f"{name}-{token_prefix(token)}"):
            statement, _ = _insert_key(candidate, role, token, None)

            async def insert(statement: sa.Insert = statement) -> None:
                async with self._write.begin() as conn:
                    await conn.execute(statement)

            try:
                await aretry_busy(insert)
                return candidate
            except IntegrityError:  # another worker stored it first, or the name is taken
                async with self.engine.connect() as conn:
                    if (await conn.execute(_select_by_digest(token, active=False))).first() is not None:
                        return None
        raise ApiKeyError(f"cannot store the key given from outside: the names {name!r} and {name}-{token_prefix(token)} are taken")

    async def count_run(self, principal: Principal, minute: int) -> int:
        """Count one run of the key in `minute` (minutes since the epoch); the runs counted in it so far."""

        async def update() -> int:
            async with self._write.begin() as conn:
                return int((await conn.execute(_count_run(principal.key_id, minute))).scalar_one())

        return await aretry_busy(update)

    async def owner(self, thread_id: str) -> str | None:
        """The id of the key that owns the thread (None: no key does, as for threads made by the CLI)."""
        async with self.engine.connect() as conn:
            return (await conn.execute(_select_owner(thread_id))).scalar()

    async def claim(self, thread_id: str, key_id: str) -> bool:
        """Make the key the thread's owner; False if the thread has an owner already."""

        async def insert() -> None:
            async with self._write.begin() as conn:
                await conn.execute(_insert_owner(thread_id, key_id))

        try:
            await aretry_busy(insert)
        except IntegrityError:
            return False
        return True

    async def release(self, thread_id: str) -> None:
        """Forget the thread's owner (its creation failed)."""

        async def delete() -> None:
            async with self._write.begin() as conn:
                await conn.execute(_delete_owner(thread_id))

        await aretry_busy(delete)
