"""The user's long-term memories: facts a user asked to be remembered, shared by all of that user's threads.

Layout in the store (any LangGraph `BaseStore` with a vector index on "text", as `runtime.open_store`
opens it): namespace ``("memory", <user>)``, one item per fact, value ``{"text": fact}``. The key is a
hash of the fact's words (case and punctuation aside), so one fact is stored once however often it is
remembered. A user id is stored as given, except that '%' and '.' (which a namespace label cannot hold)
are escaped, so every user id has a namespace of its own.

The user of a thread is `config["configurable"]["user_id"]`, or `graph.default_user` when the config
gives none (the CLI). Every function takes the user explicitly: no user ever reads another's memories.

What may be remembered is checked twice: the tool policy refuses a memory write that copies tool
results or facts given to the agent (`declare_tool(..., memory_write=True)`), and `user_stated` tells
whether a fact is in the user's own messages, for the graph to check before a write.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.store.base import BaseStore, Item, PutOp, SearchItem

from agentgraph.errors import AgentgraphError
from agentgraph.settings import MemorySettings, Settings, get_settings
from agentgraph.untrusted import FUNCTION_WORDS as _FUNCTION_WORDS

__all__ = [
    "MEMORY_NAMESPACE",
    "USER_ID_KEY",
    "Memory",
    "UserMemoryError",
    "aforget",
    "aforget_all",
    "alist_memories",
    "arecall",
    "arecall_facts",
    "aremember",
    "forget",
    "forget_all",
    "has_index",
    "list_memories",
    "memory_id",
    "memory_namespace",
    "recall",
    "recall_facts",
    "remember",
    "unstated_words",
    "user_of",
    "user_stated",
]

MEMORY_NAMESPACE = "memory"
"""First label of every user's memory namespace."""
USER_ID_KEY = "user_id"
"""Key of a thread's config (`configurable`) naming its user."""

_WORD = re.compile(r"\w+")
_CANDIDATES = 20
"""Memories a relevance search looks at beyond the `k` it returns."""
_REQUEST_WORDS = frozenset("remember recall know tell say write note draft make give get send".split())
"""Words of a request, not of its subject: also ignored when a memory is matched to a question."""


class UserMemoryError(AgentgraphError):
    """A memory cannot be written, read or forgotten as asked (empty or too long fact, bad user, no index)."""


@dataclass(frozen=True)
class Memory:
    """One remembered fact of one user."""

    id: str
    text: str
    created_at: datetime
    score: float | None = None
    """Cosine similarity to the query it was recalled for (None when listed)."""


# -- users, namespaces, ids -------------------------------------------------------------------------


def user_of(config: Mapping[str, Any] | None, settings: Settings | None = None) -> str:
    """The user of a thread: its config's `configurable.user_id`, else `graph.default_user`."""
    user = ((config or {}).get("configurable") or {}).get(USER_ID_KEY)
    if user is None or user == "":
        return (settings or get_settings()).graph.default_user
    return _checked_user(user)


def memory_namespace(user: str) -> tuple[str, str]:
    """Where `user`'s memories live: ("memory", user), with '%' and '.' escaped."""
    return (MEMORY_NAMESPACE, _checked_user(user).replace("%", "%25").replace(".", "%2E"))


def memory_id(fact: str) -> str:
    """The id of a fact: the same for the same words, whatever their case and punctuation."""
    return hashlib.sha256(_normalised(fact).encode()).hexdigest()[:16]


def _checked_user(user: Any) -> str:
    if not isinstance(user, str) or not user.strip():
        raise UserMemoryError(f"a user id must be a non-empty string, got {user!r} (config key configurable.{USER_ID_KEY})")
    return user


def _normalised(fact: str) -> str:
    return " ".join(_WORD.findall(fact.casefold()))


def _checked_fact(fact: Any, settings: MemorySettings) -> str:
    if not isinstance(fact, str):
        raise UserMemoryError(f"a fact to remember must be text, got {type(fact).__name__}")
    text = " ".join(fact.split())
    if not _normalised(text):
        raise UserMemoryError("the fact to remember is empty")
    if len(text) > settings.max_fact_chars:
        raise UserMemoryError(f"the fact to remember has {len(text)} characters; memory.max_fact_chars allows {settings.max_fact_chars}")
    return text


def _checked_query(query: Any) -> str:
    if not isinstance(query, str) or not query.strip():
        raise UserMemoryError("the query to recall memories for is empty")
    return query.strip()


def has_index(store: BaseStore) -> bool:
    """Whether `store` has the vector index memories are recalled with."""
    return getattr(store, "index_config", None) is not None


def _require_index(store: BaseStore) -> None:
    if not has_index(store):
        raise UserMemoryError("the store has no vector index to recall memories with: open it with agentgraph.runtime.open_store")


def _memory(item: Item) -> Memory:
    score = item.score if isinstance(item, SearchItem) else None
    return Memory(id=item.key, text=str(item.value.get("text", "")), created_at=item.created_at, score=score)


def _content_words(text: str, ignored: frozenset[str] = _FUNCTION_WORDS) -> set[str]:
    return {word for word in _WORD.findall(text.casefold()) if word not in ignored}


def _relevant(memories: Iterable[Memory], question: str, k: int, min_score: float) -> list[Memory]:
    """The `k` best memories that pass the relevance cut-off: similar enough, or sharing a content word."""
    ignored = _FUNCTION_WORDS | _REQUEST_WORDS
    asked = _content_words(question, ignored)
    return [m for m in memories if (m.score or 0.0) >= min_score or asked & _content_words(m.text, ignored)][:k]


def _own(items: Iterable[Item], namespace: tuple[str, ...]) -> list[Memory]:
    return [_memory(item) for item in items if tuple(item.namespace) == namespace]


# -- sync ---------------------------------------------------------------------------------------------


def remember(store: BaseStore, user: str, text: str, settings: Settings | None = None) -> str:
    """Store `text` as a memory of `user`; returns its id (the existing one when the fact is known)."""
    namespace = memory_namespace(user)
    fact = _checked_fact(text, (settings or get_settings()).memory)
    key = memory_id(fact)
    if store.get(namespace, key) is None:
        store.put(namespace, key, {"text": fact})
    return key


def recall(store: BaseStore, user: str, query: str, k: int | None = None, settings: Settings | None = None) -> list[Memory]:
    """`user`'s `k` memories (default `memory.top_k`) most similar to `query`, best first."""
    _require_index(store)
    k = k or (settings or get_settings()).memory.top_k
    namespace = memory_namespace(user)
    return _own(store.search(namespace, query=_checked_query(query), limit=k), namespace)


def recall_facts(store: BaseStore, user_id: str, question: str, k: int | None = None, settings: Settings | None = None) -> list[str]:
    """The texts of `user_id`'s memories relevant to `question` (at most `k`, default `memory.top_k`), best
    first; empty when none is. Relevant: cosine similarity at least `memory.min_score`, or a content word
    shared with the question."""
    cfg = (settings or get_settings()).memory
    _require_index(store)
    namespace = memory_namespace(user_id)
    k = k or cfg.top_k
    found = _own(store.search(namespace, query=_checked_query(question), limit=k + _CANDIDATES), namespace)
    return [m.text for m in _relevant(found, question, k, cfg.min_score)]


def list_memories(store: BaseStore, user: str) -> list[Memory]:
    """All of `user`'s memories, oldest first."""
    from agentgraph.retrieval.index import list_items

    namespace = memory_namespace(user)
    return sorted(_own(list_items(store, namespace), namespace), key=lambda m: (m.created_at, m.id))


def forget(store: BaseStore, user: str, memory: str) -> bool:
    """Delete `user`'s memory with id `memory`; False when `user` has none with that id."""
    namespace = memory_namespace(user)
    if store.get(namespace, memory) is None:
        return False
    store.delete(namespace, memory)
    return True


def forget_all(store: BaseStore, user: str) -> int:
    """Delete all of `user`'s memories; returns how many there were."""
    memories = list_memories(store, user)
    if memories:
        store.batch(_deletions(user, memories))
    return len(memories)


def _deletions(user: str, memories: Sequence[Memory]) -> list[PutOp]:
    namespace = memory_namespace(user)
    return [PutOp(namespace, m.id, None) for m in memories]


# -- async --------------------------------------------------------------------------------------------


async def aremember(store: BaseStore, user: str, text: str, settings: Settings | None = None) -> str:
    """`remember`, async."""
    namespace = memory_namespace(user)
    fact = _checked_fact(text, (settings or get_settings()).memory)
    key = memory_id(fact)
    if await store.aget(namespace, key) is None:
        await store.aput(namespace, key, {"text": fact})
    return key


async def arecall(store: BaseStore, user: str, query: str, k: int | None = None, settings: Settings | None = None) -> list[Memory]:
    """`recall`, async."""
    _require_index(store)
    k = k or (settings or get_settings()).memory.top_k
    namespace = memory_namespace(user)
    return _own(await store.asearch(namespace, query=_checked_query(query), limit=k), namespace)


async def arecall_facts(store: BaseStore, user_id: str, question: str, k: int | None = None, settings: Settings | None = None) -> list[str]:
    """`recall_facts`, async."""
    cfg = (settings or get_settings()).memory
    _require_index(store)
    namespace = memory_namespace(user_id)
    k = k or cfg.top_k
    found = _own(await store.asearch(namespace, query=_checked_query(question), limit=k + _CANDIDATES), namespace)
    return [m.text for m in _relevant(found, question, k, cfg.min_score)]


async def alist_memories(store: BaseStore, user: str) -> list[Memory]:
    """`list_memories`, async."""
    from agentgraph.retrieval.index import alist_items

    namespace = memory_namespace(user)
    return sorted(_own(await alist_items(store, namespace), namespace), key=lambda m: (m.created_at, m.id))


async def aforget(store: BaseStore, user: str, memory: str) -> bool:
    """`forget`, async."""
    namespace = memory_namespace(user)
    if await store.aget(namespace, memory) is None:
        return False
    await store.adelete(namespace, memory)
    return True


async def aforget_all(store: BaseStore, user: str) -> int:
    """`forget_all`, async."""
    memories = await alist_memories(store, user)
    if memories:
        await store.abatch(_deletions(user, memories))
    return len(memories)


# -- what the user said -------------------------------------------------------------------------------


def unstated_words(fact: str, user_messages: Iterable[str | BaseMessage]) -> list[str]:
    """The words of `fact` that the user's own messages never use, in order (function words such as
    "the", "is", "my", "user" aside); empty when the user's words state the whole fact.

    Word for word on purpose: a fact is only the user's when the user said each of its words. Give the
    user's messages only (HumanMessage, or their texts), never tool results or answers.
    """
    said: set[str] = set()
    for message in user_messages:
        said |= set(_WORD.findall((message.text if isinstance(message, BaseMessage) else str(message)).casefold()))
    words = [word for word in _WORD.findall(fact.casefold()) if word not in _FUNCTION_WORDS and word not in said]
    return list(dict.fromkeys(words))


def user_stated(fact: str, user_messages: Iterable[str | BaseMessage]) -> bool:
    """Whether every content word of `fact` appears in the user's own messages (see `unstated_words`)."""
    return bool(_content_words(fact)) and not unstated_words(fact, user_messages)
