"""The one in-process cache type: bounded, least recently used first out, optionally expiring.

Warm containers keep a few derived values (parsed graphs, run contexts,
validated connector definitions, opened webhook secrets) so repeated requests
skip the work. Every such cache is a :class:`BoundedCache`: thread-safe, never
larger than its bound (a number, or a function read on each insert so a setting
can change it), and, with ``ttl_seconds``, forgetting an entry once it is that old.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class BoundedCache[K: Hashable, V]:
    """A thread-safe LRU map with a size bound and an optional time to live."""

    def __init__(self, max_size: int | Callable[[], int], *, ttl_seconds: float | None = None) -> None:
        self._max_size = max_size
        self._ttl = ttl_seconds
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def _bound(self) -> int:
        return self._max_size() if callable(self._max_size) else self._max_size

    def get(self, key: K) -> V | None:
        """The value under ``key`` (now the most recently used), or ``None`` when absent or expired."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            expires, value = found
            if expires < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Store ``value``; the least recently used entries leave while the cache is over its bound."""
        expires = time.monotonic() + self._ttl if self._ttl is not None else float("inf")
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            bound = self._bound()
            while len(self._entries) > bound:
                self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        """Forget ``key`` (a value its owner found stale by a rule of its own)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
