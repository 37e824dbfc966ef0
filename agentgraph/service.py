"""The HTTP service: the configured graph behind a small REST API, run as N worker processes over one store.

    POST /threads                 create a thread                      -> {"thread_id", "created_at"}
    POST /threads/{id}/runs       ask a question, answer an approval,   -> the run's outcome, as
                                  or resume an unfinished run              `agentgraph run --json`
    GET  /threads/{id}/state      the thread's latest state
    GET  /threads/{id}/history    its checkpoints, oldest first
    GET  /healthz                 the worker is up and reaches the database

Every endpoint but /healthz needs an API key (`agentgraph keys create`), sent as `authorization: Bearer
<key>`: 401 without one, with an unknown or a revoked one. A thread belongs to the key that created it:
another key gets 404 for it, as for a thread that does not exist, except an admin key, which reaches
every thread. Answering an approval needs the approver or admin role (403 otherwise). Each key may start
`service.runs_per_minute` runs a minute (its own limit if it was created with one), counted in the
database over all workers, per calendar minute; past it, 429 with `retry-after`. The tool audit rows of a
run carry the name of the key that started it.

Every answer names the worker process that gave it in the `x-agentgraph-worker` header.

Every worker opens the async checkpoint saver and memory store on `database_url`; with PostgreSQL any
number of workers (processes, hosts) share them. The schema is not migrated by the workers: run
`agentgraph db upgrade` first (`agentgraph service` does, unless `--no-upgrade`).

One run per thread at a time: a run that finds another run of its thread in progress, in any worker,
is refused with HTTP 409 instead of waiting. On PostgreSQL the guard is a session-level advisory lock
per thread, held by each worker on one connection of its own for as long as the run lasts (the server
drops it if the worker dies, so a crashed run never leaves its thread locked; if the database drops
that connection instead, the worker takes its locks again within `service.lock_check_s`). On SQLite,
which serves a single worker, the guard is in-process. Runs started outside the service (`agentgraph
run --thread`) are not guarded.

Errors: 401 no valid API key, 403 the key's role does not allow it, 404 unknown thread, 409 thread busy or not in the state the request needs, 422 invalid request
(empty or oversized question), 429 the key's run limit is reached, 503 model server or database unavailable (the message names them; the
thread keeps its progress, and a run with an empty body resumes it), 502 the model server refused the
request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from langchain_core.messages import AnyMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agentgraph.apikeys import ApiKeyError, AsyncApiKeys, Principal
from agentgraph.errors import AgentgraphError, ConfigError, ServingError, StorageError
from agentgraph.loading import GraphBuilder, load_builder
from agentgraph.runrequest import Decision, InvalidRequestError, ThreadConflictError, checked_question, run_input
from agentgraph.settings import Settings, get_settings
from agentgraph.threads import CheckpointInfo, ThreadError, run_summary, thread_config, thread_status

logger = logging.getLogger("agentgraph.service")

_THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


# --- errors, each with its HTTP status ---------------------------------------------------------------


class UnknownThreadError(ThreadError):
    """The thread does not exist (HTTP 404)."""


class ThreadBusyError(ThreadError):
    """Another run of the thread is in progress (HTTP 409)."""


class UnauthenticatedError(AgentgraphError):
    """The request has no API key, or one that is unknown or revoked (HTTP 401)."""


class ForbiddenError(AgentgraphError):
    """The key's role does not allow the request (HTTP 403)."""


class RateLimitedError(AgentgraphError):
    """The key has started as many runs this minute as it may (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# --- request and response bodies -----------------------------------------------------------------------


class CreateThread(BaseModel):
    """Body of POST /threads."""

    model_config = ConfigDict(extra="forbid")
    thread_id: str | None = Field(default=None, description="The id to give the thread; a new UUID if omitted.")


class RunRequest(BaseModel):
    """Body of POST /threads/{id}/runs: a question, an approval decision, or neither (resume)."""

    model_config = ConfigDict(extra="forbid")
    question: str | None = None
    resume: Decision | None = None


class ThreadCreated(BaseModel):
    """Answer of POST /threads."""

    thread_id: str
    created_at: str


class ToolCall(BaseModel):
    """A tool call an agent made during the run."""

    agent: str
    name: str
    arguments: dict[str, Any]
    status: str


class RunResult(BaseModel):
    """The outcome of a run: as `agentgraph run --json`, plus the thread's status and latest checkpoint."""

    thread_id: str
    status: str = Field(description="`done`, `waiting` (for an approval) or `unfinished`.")
    checkpoint_id: str | None
    answer: str
    agents: list[str]
    citations: list[str]
    tool_calls: list[ToolCall]
    errors: list[str]
    interrupts: list[dict[str, Any]]


class Message(BaseModel):
    """One message of the thread's conversation."""

    role: str
    name: str | None = None
    content: str
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)


class ThreadState(RunResult):
    """GET /threads/{id}/state: the latest outcome, the conversation and what runs next."""

    created_at: str | None
    next: list[str]
    messages: list[Message]


# --- one run per thread ----------------------------------------------------------------------------------


def lock_key(thread_id: str) -> int:
    """The 64-bit advisory lock key of a thread (signed, as PostgreSQL's bigint)."""
    digest = hashlib.blake2b(f"agentgraph.thread\0{thread_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class RunLocks:
    """Which threads have a run in progress in this process; `acquire` is false when one does."""

    def __init__(self) -> None:
        self._running: set[str] = set()

    async def acquire(self, thread_id: str) -> bool:
        """Take the thread's run lock, or False if it is taken."""
        if thread_id in self._running:
            return False
        self._running.add(thread_id)
        return True

    async def release(self, thread_id: str) -> None:
        """Give the thread's run lock back."""
        self._running.discard(thread_id)

    async def close(self) -> None:
        """Release everything."""
        self._running.clear()


class PostgresRunLocks(RunLocks):
    """Run locks shared by every worker on one PostgreSQL database: one advisory lock per running thread,
    held on a connection of this worker's own.

    While locks are held the connection is checked every `check_every_s`; if the database closed it,
    a new one is opened and the locks are taken again (a lock another worker took in between is
    logged as lost).
    """

    def __init__(self, engine: AsyncEngine, check_every_s: float = 5.0) -> None:
        super().__init__()
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._mutex = asyncio.Lock()
        self._held: dict[str, int] = {}
        self._check_every_s = check_every_s
        self._checker: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start checking the lock connection (in the running event loop)."""
        if self._checker is None:
            self._checker = asyncio.get_running_loop().create_task(self._check_forever(), name="run-lock-check")

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self._check_every_s)
            if not self._held:
                continue
            try:
                await self._scalar("SELECT :key", 0)
            except StorageError as exc:
                logger.warning("run locks: %s", exc)

    async def acquire(self, thread_id: str) -> bool:
        if not await super().acquire(thread_id):
            return False
        key = lock_key(thread_id)
        try:
            got = bool(await self._scalar("SELECT pg_try_advisory_lock(:key)", key))
        except BaseException:
            await super().release(thread_id)
            raise
        if got:
            self._held[thread_id] = key
        else:
            await super().release(thread_id)
        return got

    async def release(self, thread_id: str) -> None:
        key = self._held.pop(thread_id, None)
        try:
            if key is not None:
                await self._scalar("SELECT pg_advisory_unlock(:key)", key)
        except (StorageError, DBAPIError):
            logger.warning("could not release the run lock of thread %s; its connection is closed instead", thread_id)
        finally:
            await super().release(thread_id)

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
            self._checker = None
        async with self._mutex:
            await self._drop()
        self._held.clear()
        await super().close()

    async def _scalar(self, sql: str, key: int) -> Any:
        async with self._mutex:
            for attempt in (1, 2):  # a lock connection the server closed while idle is reopened once
                try:
                    conn = await self._connection()
                    return (await conn.execute(text(sql), {"key": key})).scalar()
                except DBAPIError as exc:
                    await self._drop()
                    if attempt == 2:
                        raise StorageError(f"the database does not answer for the run locks: {exc.orig}") from exc

    async def _connection(self) -> AsyncConnection:
        if self._conn is not None and not self._conn.closed and not self._conn.invalidated:
            return self._conn
        conn = await self._engine.connect()
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for thread_id, key in list(self._held.items()):
            retaken = (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})).scalar()
            if not retaken:
                logger.warning("thread %s: its run lock was lost with the lock connection and is now held elsewhere", thread_id)
        self._conn = conn
        return conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception:  # the connection is gone already
                pass


# --- the service ----------------------------------------------------------------------------------------


class ThreadService:
    """The service's operations on threads of one compiled graph, independent of HTTP."""

    def __init__(
        self,
        graph: CompiledStateGraph,
        checkpointer: BaseCheckpointSaver,
        settings: Settings,
        locks: RunLocks,
        keys: AsyncApiKeys,
        ping: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.graph = graph
        self.checkpointer = checkpointer
        self.settings = settings
        self.locks = locks
        self.keys = keys
        self._ping = ping
        self._slots = asyncio.Semaphore(settings.service.max_concurrent_runs)

    async def authenticate(self, token: str) -> Principal:
        """The principal of an active API key; UnauthenticatedError for an unknown or revoked one."""
        principal = await self.keys.authenticate(token)
        if principal is None:
            raise UnauthenticatedError("the API key is unknown or revoked")
        return principal

    async def create_thread(self, principal: Principal, thread_id: str | None = None) -> ThreadCreated:
        """A new, empty thread owned by `principal`; 409 if `thread_id` is taken (by any key: ids are global)."""
        if thread_id is not None and not _THREAD_ID.match(thread_id):
            raise InvalidRequestError(f"invalid thread id {thread_id!r}: use letters, digits and . _ : - (at most 128 characters)")
        thread_id = thread_id or str(uuid.uuid4())
        async with self._locked(thread_id):
            taken = f"thread {thread_id!r} exists already"
            if (await self.graph.aget_state(thread_config(thread_id))).created_at is not None:
                raise ThreadConflictError(taken)
            if not await self.keys.claim(thread_id, principal.key_id):
                raise ThreadConflictError(taken)
            checkpoint = empty_checkpoint()
            try:
                await self.checkpointer.aput(
                    {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}},
                    checkpoint,
                    {"source": "input", "step": -1, "parents": {}},  # type: ignore[typeddict-item]
                    {},
                )
            except BaseException:
                await asyncio.shield(self.keys.release(thread_id))
                raise
        return ThreadCreated(thread_id=thread_id, created_at=checkpoint["ts"])

    async def run(self, principal: Principal, thread_id: str, request: RunRequest) -> RunResult:
        """Run a question, answer the approval the thread waits for, or resume its unfinished run."""
        await self._count_run(principal)
        if request.resume is not None and not principal.may_approve:
            raise ForbiddenError(
                f"answering an approval needs the approver or admin role; API key {principal.name!r} has the {principal.role} role"
            )
        question = None if request.question is None else checked_question(request.question, self.settings.policy.max_question_chars)
        await self._visible(principal, thread_id)  # before the lock: a busy thread of another key is not revealed
        async with self._locked(thread_id), self._slots:
            state = await self._existing(thread_id)
            payload = run_input(thread_id, state, question, request.resume)
            config = thread_config(thread_id, principal=principal.name)
            try:
                await self.graph.ainvoke(payload, config)
            except ServingError as exc:
                raise ServingError(f"{exc} (thread {thread_id!r} keeps its progress: a run with an empty body resumes it)") from exc
            return _result(thread_id, await self.graph.aget_state(config))

    async def state(self, principal: Principal, thread_id: str) -> ThreadState:
        """The thread's latest state."""
        await self._visible(principal, thread_id)
        state = await self._existing(thread_id)
        result = _result(thread_id, state)
        messages = [_message(m) for m in state.values.get("messages", [])]
        status = result.status if messages or state.next else "new"
        return ThreadState(
            **{**result.model_dump(), "status": status},
            created_at=state.created_at,
            next=list(state.next),
            messages=messages,
        )

    async def history(self, principal: Principal, thread_id: str) -> list[CheckpointInfo]:
        """The thread's checkpoints, oldest first, with the nodes that wrote each."""
        from agentgraph.threads import history

        await self._visible(principal, thread_id)
        await self._existing(thread_id)
        # The helper is synchronous; the async saver serves it from a worker thread.
        return await asyncio.to_thread(history, self.graph, thread_id)

    async def health(self) -> dict[str, Any]:
        """This worker's process id; raises StorageError when the database does not answer."""
        if self._ping is not None:
            await self._ping()
        return {"status": "ok", "pid": os.getpid()}

    # -- helpers -----------------------------------------------------------------------------------------

    async def _existing(self, thread_id: str) -> StateSnapshot:
        state = await self.graph.aget_state(thread_config(thread_id))
        if state.created_at is None:
            raise UnknownThreadError(_unknown(thread_id))
        return state

    async def _visible(self, principal: Principal, thread_id: str) -> None:
        """404, as for a thread that does not exist, unless the principal owns the thread or is an admin."""
        if not principal.is_admin and await self.keys.owner(thread_id) != principal.key_id:
            raise UnknownThreadError(_unknown(thread_id))

    async def _count_run(self, principal: Principal) -> None:
        """Count a run against the key's limit of runs per minute; RateLimitedError past it."""
        limit = principal.runs_per_minute or self.settings.service.runs_per_minute
        if limit is None:
            return
        now = time.time()
        if await self.keys.count_run(principal, int(now // 60)) > limit:
            retry = max(1, 60 - int(now % 60))
            own = "its own limit" if principal.runs_per_minute else "service.runs_per_minute"
            raise RateLimitedError(
                f"API key {principal.name!r} has started its {limit} runs of this minute ({own}); retry in {retry} s", retry
            )

    @asynccontextmanager
    async def _locked(self, thread_id: str) -> AsyncIterator[None]:
        if not await self.locks.acquire(thread_id):
            raise ThreadBusyError(f"thread {thread_id!r} has a run in progress; retry when it has finished")
        try:
            yield
        finally:
            await asyncio.shield(self.locks.release(thread_id))


def _unknown(thread_id: str) -> str:
    return f"unknown thread {thread_id!r}; create it with POST /threads"


def _result(thread_id: str, state: StateSnapshot) -> RunResult:
    summary = run_summary(thread_id, state.values, state.interrupts)
    checkpoint_id = (state.config or {}).get("configurable", {}).get("checkpoint_id")
    return RunResult(**summary, status=thread_status(state), checkpoint_id=checkpoint_id)


def _message(message: AnyMessage) -> Message:
    calls = [{"name": c["name"], "arguments": c["args"]} for c in getattr(message, "tool_calls", None) or []]
    return Message(role=message.type, name=message.name, content=message.text, tool_calls=calls)


# --- the FastAPI application ----------------------------------------------------------------------------

_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (RateLimitedError, 429),
    (UnknownThreadError, 404),
    (ThreadBusyError, 409),
    (ThreadConflictError, 409),
    (ThreadError, 404),
    (InvalidRequestError, 422),
    (ServingError, 503),
    (StorageError, 503),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status an error of the service is answered with."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    try:
        import openai

        if isinstance(exc, openai.APIStatusError):
            return 502
        if isinstance(exc, openai.APIConnectionError):
            return 503
    except ImportError:  # pragma: no cover - a dependency of langchain-openai
        pass
    return 500


def create_app(settings: Settings | None = None, *, builder: GraphBuilder | None = None) -> FastAPI:
    """The service's FastAPI application; the graph is `builder` (default: `graph.builder` of the settings)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # Graph nodes are synchronous and run in the loop's default executor: one slot per possible
        # concurrent model call (runs x parallel agents), not the interpreter's small default.
        executor = ThreadPoolExecutor(max_workers=max(8, 4 * settings.service.max_concurrent_runs), thread_name_prefix="agentgraph")
        loop.set_default_executor(executor)
        async with open_service(settings, builder) as service:
            app.state.service = service
            yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="agentgraph",
        summary="Multi-agent LangGraph threads over one checkpoint store.",
        lifespan=lifespan,
    )

    worker = str(os.getpid())

    @app.middleware("http")
    async def _name_worker(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        response = await call_next(request)
        response.headers["x-agentgraph-worker"] = worker
        return response

    @app.exception_handler(AgentgraphError)
    async def _known_error(request: Request, exc: AgentgraphError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(exc, UnauthenticatedError):
            headers["www-authenticate"] = "Bearer"
        elif isinstance(exc, RateLimitedError):
            headers["retry-after"] = str(exc.retry_after_s)
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=headers)

    @app.exception_handler(Exception)
    async def _other_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_of(exc)
        if status == 500:
            logger.exception("unexpected error in %s %s", request.method, request.url.path)
            return JSONResponse({"detail": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)
        return JSONResponse({"detail": f"model server error: {exc}"}, status_code=status)

    def service_of(request: Request) -> ThreadService:
        return request.app.state.service  # type: ignore[no-any-return]

    bearer = HTTPBearer(auto_error=False, description="An API key made by `agentgraph keys create`.")

    async def principal_of(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        if credentials is None or not credentials.credentials:
            raise UnauthenticatedError(
                "this endpoint needs an API key: send the header 'authorization: Bearer <key>' (keys come from `agentgraph keys create`)"
            )
        return await service_of(request).authenticate(credentials.credentials)

    Caller = Depends(principal_of)

    @app.post("/threads", status_code=201, response_model=ThreadCreated)
    async def create_thread(request: Request, body: CreateThread | None = None, principal: Principal = Caller) -> ThreadCreated:
        """Create an empty thread, owned by the caller's key."""
        return await service_of(request).create_thread(principal, body.thread_id if body else None)

    @app.post("/threads/{thread_id}/runs", response_model=RunResult)
    async def run(request: Request, thread_id: str, body: RunRequest, principal: Principal = Caller) -> RunResult:
        """Ask a question on the thread, answer the approval it waits for, or (empty body) resume it."""
        return await service_of(request).run(principal, thread_id, body)

    @app.get("/threads/{thread_id}/state", response_model=ThreadState)
    async def state(request: Request, thread_id: str, principal: Principal = Caller) -> ThreadState:
        """The thread's latest state."""
        return await service_of(request).state(principal, thread_id)

    @app.get("/threads/{thread_id}/history", response_model=list[CheckpointInfo])
    async def history(request: Request, thread_id: str, principal: Principal = Caller) -> list[CheckpointInfo]:
        """The thread's checkpoints, oldest first."""
        return await service_of(request).history(principal, thread_id)

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        """The worker is up and its database answers."""
        return await service_of(request).health()

    return app


@asynccontextmanager
async def open_service(settings: Settings, builder: GraphBuilder | None = None) -> AsyncIterator[ThreadService]:
    """A `ThreadService` on the saver and store of `settings.database_url` (schema already current)."""
    from agentgraph.checkpoint import AsyncSQLAlchemySaver
    from agentgraph.db import acheck_schema, make_async_engine
    from agentgraph.retrieval import corpus_index_config
    from agentgraph.store import AsyncSQLAlchemyStore

    if builder is None:
        builder = load_builder(settings.graph.builder)
    url = settings.database_url
    async with AsyncSQLAlchemySaver.from_conn_string(url, pool_size=settings.service.db_pool_size) as saver:
        await acheck_schema(saver.engine)
        keys = AsyncApiKeys(saver.engine)
        await _store_bootstrap_key(keys, settings)
        async with AsyncSQLAlchemyStore.from_conn_string(url, index=corpus_index_config()) as store:  # type: ignore[arg-type]
            graph = builder(checkpointer=saver, store=store, settings=settings)
            lock_engine: AsyncEngine | None = None
            if saver.engine.dialect.name == "postgresql":
                lock_engine = make_async_engine(url, pool_size=1)
                shared = PostgresRunLocks(lock_engine, check_every_s=settings.service.lock_check_s)
                shared.start()
                locks: RunLocks = shared
            else:
                locks = RunLocks()

            async def ping() -> None:
                try:
                    async with saver.engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
                except DBAPIError as exc:
                    raise StorageError(f"the database does not answer: {exc.orig}") from exc

            try:
                yield ThreadService(graph, saver, settings, locks, keys, ping)
            finally:
                await locks.close()
                if lock_engine is not None:
                    await lock_engine.dispose()


async def _store_bootstrap_key(keys: AsyncApiKeys, settings: Settings) -> None:
    """Store `service.bootstrap_admin_key` (hashed) unless the database has it already."""
    secret = settings.service.bootstrap_admin_key
    if secret is None:
        return
    try:
        stored_as = await keys.ensure(secret.get_secret_value(), settings.service.bootstrap_admin_name, "admin")
    except ApiKeyError as exc:
        raise ConfigError(f"service.bootstrap_admin_key: {exc}") from None
    if stored_as is not None:
        logger.info("stored the bootstrap admin API key as %r", stored_as)
