"""A bounded, thread-safe least-recently-used mapping: the one memo cache of the package."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable, Optional

__all__ = ["LRUCache"]


class LRUCache:
    """At most ``maxsize`` entries key -> value; the least recently used is evicted first.

    ``get(key, make)`` returns the cached value or stores and returns ``make()`` (called outside
    the lock, so two threads may both compute a missing value; the last one stored wins).
    ``hits`` and ``misses`` count :meth:`get` and :meth:`lookup` calls.
    """

    def __init__(self, maxsize: int = 64):
        if int(maxsize) != maxsize or maxsize < 1:
            raise ValueError(f"maxsize must be a positive integer, got {maxsize!r}")
        self.maxsize = int(maxsize)
        self.hits = 0
        self.misses = 0
        self._data: "OrderedDict[Hashable, Any]" = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, key: Hashable) -> Optional[Any]:
        """The value for ``key`` (marked as recently used) or None; counts a hit or a miss."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return None

    def peek(self, key: Hashable) -> Optional[Any]:
        """The value for ``key`` or None, without counting or reordering."""
        with self._lock:
            return self._data.get(key)

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        value = self.lookup(key)
        if value is not None:
            return value
        value = make()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def pop(self, key: Hashable) -> Optional[Any]:
        with self._lock:
            return self._data.pop(key, None)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)
