"""amumo_ng.lru.LRUCache: the package's one memo cache (eviction order, counters, threads)."""
from __future__ import annotations

import threading

import pytest

from amumo_ng.lru import LRUCache


def test_evicts_the_least_recently_used():
    cache = LRUCache(maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.lookup("a") == 1  # "a" is now the most recent
    cache.put("c", 3)  # evicts "b"
    assert "b" not in cache and "a" in cache and "c" in cache and len(cache) == 2
    cache.put("a", 10)  # overwriting refreshes too
    cache.put("d", 4)  # evicts "c"
    assert ("c" in cache, cache.peek("a"), cache.peek("d"), len(cache)) == (False, 10, 4, 2)


def test_get_computes_a_missing_value_once_and_counts_hits_and_misses():
    cache = LRUCache(maxsize=4)
    made = []

    def make():
        made.append(1)
        return "value"

    assert cache.get("k", make) == "value" and cache.get("k", make) == "value"
    assert len(made) == 1 and (cache.hits, cache.misses) == (1, 1)
    assert cache.lookup("missing") is None and (cache.hits, cache.misses) == (1, 2)
    assert cache.peek("k") == "value" and (cache.hits, cache.misses) == (1, 2)  # peek counts nothing


def test_peek_does_not_refresh_and_pop_removes():
    cache = LRUCache(maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.peek("a") == 1
    cache.put("c", 3)  # "a" is still the least recently used
    assert "a" not in cache
    assert cache.pop("b") == 2 and cache.pop("b") is None and len(cache) == 1


def test_a_size_one_cache_keeps_the_last_entry():
    cache = LRUCache(maxsize=1)
    for key in "xyz":
        cache.put(key, key.upper())
    assert len(cache) == 1 and cache.peek("z") == "Z" and "x" not in cache


@pytest.mark.parametrize("bad", [0, -3, 2.5, "4"])
def test_bad_maxsize(bad):
    with pytest.raises((ValueError, TypeError)):
        LRUCache(maxsize=bad)


def test_threads_share_one_consistent_cache():
    cache = LRUCache(maxsize=50)
    n_threads, rounds, keys = 4, 500, 80
    start = threading.Barrier(n_threads)
    errors = []

    def worker(seed):
        start.wait()
        try:
            for i in range(rounds):
                key = (seed * 7 + i) % keys
                value = cache.get(key, lambda key=key: key * key)
                if value != key * key:
                    errors.append((key, value))
                if i % 50 == 0:
                    cache.pop((key + 1) % keys)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert errors == [] and not any(th.is_alive() for th in threads)
    assert cache.hits + cache.misses == n_threads * rounds
    assert len(cache) <= 50
    for key in range(keys):
        assert cache.peek(key) in (None, key * key)
