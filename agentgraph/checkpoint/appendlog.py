"""Which list values were last stored, so a list that only grew is stored as its new items.

The saver remembers, per (thread, namespace, channel), the last list it wrote or read and the
version it is stored under. When the next value of the channel starts with exactly those items
(the same objects, or equal objects of the same type), only the new items are written, as a delta
pointing at that version. A full value is written every `snapshot_every` versions so reading the
latest state never replays more than that many deltas.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["AppendLog", "extends", "Key", "StoredList"]

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class StoredList:
    """A list value as stored: its version, its items (a copy), its delta depth and the version
    of the full value its delta chain starts from."""

    version: str
    items: list[Any]
    depth: int
    snapshot: str


def extends(prefix: list[Any], value: list[Any]) -> bool:
    """Whether `value` starts with the items of `prefix`."""
    n = len(prefix)
    if len(value) < n:
        return False
    for old, new in zip(prefix, value, strict=False):
        if old is not new and (type(old) is not type(new) or old != new):
            return False
    return True


class AppendLog:
    """A bounded, thread-safe map from (thread, namespace, channel) to the last stored list."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Key, StoredList] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> StoredList | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def remember(self, updates: list[tuple[Key, StoredList]]) -> None:
        with self._lock:
            for key, entry in updates:
                self._entries[key] = entry
                self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def remember_read(self, updates: list[tuple[Key, StoredList]]) -> None:
        """Remember lists just read, unless the same version is already remembered."""
        with self._lock:
            fresh = [(k, e) for k, e in updates if (old := self._entries.get(k)) is None or old.version != e.version]
        if fresh:
            self.remember(fresh)

    def forget_threads(self, thread_ids: set[str] | None = None) -> None:
        """Drop what is remembered of these threads (all threads when None)."""
        with self._lock:
            if thread_ids is None:
                self._entries.clear()
            else:
                for key in [k for k in self._entries if k[0] in thread_ids]:
                    del self._entries[key]
