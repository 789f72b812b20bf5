"""The one in-process cache type tells its owner which entries its bound pushed out (and only those)."""

from chalicelib.cache import BoundedCache


def test_entries_pushed_out_by_the_bound_are_reported_oldest_first():
    bound = [3]
    evicted: list[tuple[str, int]] = []
    cache: BoundedCache[str, int] = BoundedCache(lambda: bound[0], on_evict=lambda k, v: evicted.append((k, v)))
    for n, key in enumerate("abcd"):
        cache.put(key, n)
    assert evicted == [("a", 0)]
    assert cache.get("b") == 1  # now the most recently used
    bound[0] = 1
    cache.put("e", 4)
    assert evicted == [("a", 0), ("c", 2), ("d", 3), ("b", 1)]
    cache.discard("e")
    cache.clear()
    assert len(evicted) == 4 and len(cache) == 0  # discarded and cleared entries are not evictions


def test_without_a_listener_the_bound_still_holds():
    cache: BoundedCache[int, int] = BoundedCache(2)
    for n in range(5):
        cache.put(n, n)
    assert len(cache) == 2 and cache.get(4) == 4 and cache.get(0) is None
