# The same scan data again: box after box of one lot-level code (no serial),
# the same EAN-13 on every retail pack.  A result depends only on the scan
# data, the profile and the reference date, so a code read a second time is
# kept whole and its next reads get a copy.  Kept only from the second read
# (most codes carry a serial and never come again) and only when every entry
# is flat, which every scheme's are; each read gets its own lists and dicts,
# since callers may change them.  A gateway only: a handheld has no heap for
# it.  tests/test_caches.py checks every result against a cold parse.

_LISTS = ("errors", "warnings", "notes", "elements")
_MAX = 32768
# Codes read once, by their hash (a collision costs one needless copy): a
# long window, since a lot-level code may come back only after 100,000 others.
_SEEN_MAX = 1 << 17

_seen = set()
_kept = {}  # raw -> (profile, today, result with the lists as tuples of item tuples)


def result(raw, profile, today):
    t = _kept.get(raw)
    if t is None or t[0] != profile or t[1] != today:
        return None
    res = t[2].copy()
    for name in _LISTS:
        res[name] = [dict(items) for items in res[name]]
    res["pi"] = dict(res["pi"])
    return res


def learn(raw, res, profile, today):
    h = hash(raw)
    if h not in _seen:
        if len(_seen) >= _SEEN_MAX:
            _seen.clear()
        _seen.add(h)
        return
    t = dict(res)
    for name in _LISTS:
        t[name] = None
    t["pi"] = None
    if not _flat(t):
        return
    for name in _LISTS:
        entries = []
        for entry in res[name]:
            if not _flat(entry):
                return
            entries.append(tuple(entry.items()))
        t[name] = tuple(entries)
    if not _flat(res["pi"]):
        return
    t["pi"] = tuple(res["pi"].items())
    if len(_kept) >= _MAX:
        _kept.clear()
    _kept[raw] = (profile, today, t)


def _flat(d):
    if type(d) is not dict:
        return False
    for v in d.values():
        if v is not None and type(v) not in (str, int, bool):
            return False
    return True


def clear_caches():
    _seen.clear()
    _kept.clear()
