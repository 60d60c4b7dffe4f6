# The GS1 AI dictionary as the engine sees it: lookup of one AI in the
# generated table, parsed into a small tuple and cached.
#
# Entry tuple (index names below):
#   AI_LEN, FNC1 (separator required when not last), DL_ATTR (allowed as a
#   Digital Link query attribute), COMPONENTS, REQ, EX, DLPKEY
# COMPONENTS: tuple of (type, min, max, optional, linter names)
# REQ: tuple of requirements; each is a tuple of alternatives; each
#      alternative a tuple of AI patterns that must all be present.
# EX: tuple of AI patterns that must not be present.
# DLPKEY: None (not a primary key) or tuple of qualifier sequences.

from .gs1_ai_table import TABLE
from .gs1_lint import CSET39, CSET82, DIGITS

AI_LEN = 0
FNC1 = 1
DL_ATTR = 2
COMPONENTS = 3
REQ = 4
EX = 5
DLPKEY = 6
FIXED = 7  # total data length of a predefined-length AI, else 0
SIMPLE = 8  # the allowed characters when the AI is one component without linters, else None

_ALPHABETS = {"N": DIGITS, "X": CSET82, "Y": CSET39}

_cache = {}
# MicroPython keeps only a few parsed entries (heap); CPython keeps them all.
try:
    import micropython  # noqa: F401

    _CACHE_MAX = 12
except ImportError:
    _CACHE_MAX = 10000


def lookup(ai):
    # The parsed entry for an AI string, or None when the dictionary has none.
    e = _cache.get(ai)
    if e is not None:
        return e
    line = _find_line(ai)
    if line is None:
        return None
    e = _parse_line(ai, line)
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[ai] = e
    return e


def table_line(table, ai):
    # The line of a generated table for an AI: its own, or its range's
    # ("310n" for 3103).  None when there is none.
    i = table.find("\n" + ai + ";")
    if i < 0:
        i = table.find("\n" + ai[:-1] + "n;")
        if i < 0:
            return None
    j = table.find("\n", i + 1)
    return table[i + 1 : j if j > 0 else len(table)]


def _find_line(ai):
    for c in ai:
        if c < "0" or c > "9":
            return None
    line = table_line(TABLE, ai)
    if line is None:
        return None
    f = line.split(";")
    if f[1]:
        lo, hi = f[1].split("-")
        if not (lo <= ai[-1] <= hi):
            return None
    return f


def _parse_line(ai, f):
    flags = f[2]
    comps = []
    for tok in f[3].split():
        parts = tok.split(",")
        t = parts[0]
        optional = t.startswith("[")
        if optional:
            t = t[1:-1]
        typ = t[0]
        if t[1:3] == "..":
            mn, mx = 1, int(t[3:])
        else:
            mn = mx = int(t[1:])
        comps.append((typ, mn, mx, optional, tuple(parts[1:])))
    req = []
    ex = ()
    dlpkey = None  # type: tuple | None
    for attr in f[4].split():
        if attr.startswith("req="):
            req.append(tuple(tuple(alt.split("+")) for alt in attr[4:].split(",")))
        elif attr.startswith("ex="):
            ex = ex + tuple(attr[3:].split(","))
        elif attr == "dlpkey":
            dlpkey = ((),)
        elif attr.startswith("dlpkey="):
            dlpkey = tuple(tuple(seq.split(",")) for seq in attr[7:].split("|"))
    fixed = 0
    if "*" in flags:
        for c in comps:
            fixed += c[2]
    simple = None
    if len(comps) == 1 and not comps[0][4] and "*" not in flags:
        simple = _ALPHABETS.get(comps[0][0])
    return (len(ai), "*" not in flags, "?" in flags, tuple(comps), tuple(req), ex, dlpkey, fixed, simple)


def matches(pattern, ai):
    # "310n" matches 3100..3109; "31nn" matches 3100..3199.
    if len(pattern) != len(ai):
        return False
    for i in range(len(ai)):
        p = pattern[i]
        if p != "n" and p != ai[i]:
            return False
    return True


_titles = {}
_NO_TITLES = []  # set once the titles module turned out to be absent


def title(ai):
    # Data title from the dictionary ("GTIN", "BATCH/LOT", ...); the titles
    # module is left out of the firmware bundle to save memory.
    if _NO_TITLES:
        return None
    t = _titles.get(ai)
    if t is None:
        t = _title(ai)
        if len(_titles) < _CACHE_MAX:
            _titles[ai] = t
    return t


def _title(ai):
    try:
        from .gs1_ai_titles import TITLES
    except ImportError:
        _NO_TITLES.append(True)
        return None
    line = table_line(TITLES, ai)
    if line is None:
        return None
    return line[line.find(";") + 1 :]
