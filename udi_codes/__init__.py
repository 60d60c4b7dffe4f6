# UDI Edge code engine: one parse() entry for every code on Chinese medical
# packaging.  Scheme modules (gs1, hibc, ma, ahm, cn_drug, nhsa) each export
#   parse(data, res, opts) -> res
# where data has the AIM symbology identifier stripped, res comes from
# result.new(raw, scheme, symbology) and opts = {"profile": "read"|"print",
# "today": "YYYY-MM-DD" or None}.  Modules fill res (errors, warnings, notes,
# elements, di, pi, package_level, hri) but do not call result.finish() and do
# not emit "expired": the dispatcher does both for every scheme.
# See udi_codes/README.md for the MicroPython constraints every module obeys.

from . import dates
from . import gs1  # the scheme nearly every scan is; others load on demand
from . import result as R
from . import symbology as S

ENGINE_VERSION = "1.0.0"

def parse(raw, profile="read", today=None, rules=None, lean=False):
    # The single entry: any string a scanner, a keyboard wedge or a file
    # gives -> result dict (see result.py).  Never raises.
    # profile: "read" (scanning) or "print" (labels about to be printed);
    # today: reference date "YYYY-MM-DD" for expiry and the century rule;
    # rules: GS1 message-level rules to apply (default all: "mutex",
    # "requisites", "repeats", "digsig_serial"); lean: the verdict only (the
    # handheld's pre-check: errors, DI and package level, no elements, HRI,
    # Digital Link or warnings for GS1).
    if not isinstance(today, str) or not today:
        today = dates.today_iso()
    if _items is not None and rules is None and not lean and type(raw) is str:
        try:
            res = _items.result(raw, profile, today)
            if res is None:
                res = _repeats.result(raw, profile, today)
        except Exception:  # a remembered result is a shortcut, never a way to fail
            res = None
        if res is not None:
            return res
    year = _years.get(today)
    if year is None:
        year = _year(today)
    opts = {"profile": profile, "today": today, "rules": rules, "year": year,
            "lean_read": lean and profile != "print"}
    if type(raw) is not str:
        raw = _decode(raw)
    if len(raw) >= 3 and raw[0] == "]" and raw[1] != "]":  # AIM identifier (symbology.split)
        sym = raw[:3]
        data = raw[3:]
    else:
        sym = None
        data = raw
    try:
        res = _route(raw, sym, data, opts)
    except Exception as e:  # the engine's contract is a result, not an exception
        res = R.new(raw, "unknown", sym)
        R.error(res, "internal_error", "engine error: %s" % e)
    exp = res["pi"].get("expiry")
    if exp and today and exp[:10] < today:
        R.warning(res, "expired", "expired on %s (reference date %s)" % (exp[:10], today), "expiry")
    res["valid"] = not res["errors"]
    if _items is not None and rules is None and not lean and res["raw"] is raw:
        try:
            _repeats.learn(raw, res, profile, today)
            if res["scheme"] == "gs1":
                _items.learn(raw, res, profile, today)
        except Exception:  # not kept: the next read takes the full way
            pass
    return res


_years = {}
# Whole results remembered, on a gateway only: the same code read again
# (repeats) and the next item of a lot, a serial apart (gs1_items).
_items = None
_repeats = None
if gs1._VERDICTS_MAX > 100:
    from . import gs1_items as _items  # type: ignore[assignment]
    from . import repeats as _repeats  # type: ignore[assignment]


def _year(today):
    # The reference year from "YYYY-MM-DD"; 0 (unknown) for anything else.
    year = 0
    if isinstance(today, str) and len(today) >= 4 and dates.digits(today[0:4]):
        year = int(today[0:4])
    if len(_years) > 8:
        _years.clear()
    _years[today] = year
    return year


def _decode(raw):
    try:
        return bytes(raw).decode("utf-8")
    except Exception:
        return "".join(chr(b) for b in bytes(raw))


def _route(raw, sym, data, opts):
    if sym in S.GS1_MODE:
        return gs1.parse(data, R.new(raw, "gs1", sym), opts)
    if sym in S.GTIN_ONLY:
        return gs1.parse_gtin(data, R.new(raw, "gs1", sym), opts, S.GTIN_ONLY[sym])
    if _is_http(data):
        return scheme_module("gs1_dl").parse(data, R.new(raw, "gs1", sym), opts)
    res = _by_shape(raw, sym, data, opts)
    if res is not None:
        return res
    if sym is None:
        return _bare(raw, data, opts)
    res = R.new(raw, "unknown", sym)
    R.error(
        res,
        "plain_carrier",
        "%s carries plain data; it is not GS1 element strings, HIBC, MA or a drug code" % S.name(sym),
    )
    return res


def _is_http(data):
    head = data[:8]
    return head.startswith("http://") or head.startswith("https://") or head.startswith("HTTP://") or head.startswith("HTTPS://")


_modules = {}
try:
    import gc

    # MicroPython: a handheld's heap holds GS1 plus one other scheme at a time.
    _ROOM = 64 * 1024 if hasattr(gc, "mem_free") else 0
except ImportError:
    _ROOM = 0


def scheme_module(name):
    # Scheme modules load on first use; on a small heap the ones loaded
    # before are dropped first (they load again when needed), and a load that
    # still finds no room is retried once with everything else dropped.
    m = _modules.get(name)
    if m is None:
        if _ROOM:
            gc.collect()
            if gc.mem_free() < _ROOM:
                _drop_all()
        try:
            m = __import__("udi_codes." + name, None, None, [name])
        except MemoryError:
            if not _ROOM:
                raise
            _drop_all()
            m = __import__("udi_codes." + name, None, None, [name])
        _modules[name] = m
    return m


def clear_caches():
    # Forget everything remembered to go faster: cached verdicts and lot
    # templates and, on a small heap, the scheme modules loaded on demand
    # (they load again when needed).  A handheld short of heap calls this
    # before retrying; a gateway keeps its modules (gs1_lint keeps their
    # linters there).
    gs1.clear_caches()
    if _ROOM and _modules:
        _drop_all()


def _drop_all():
    import sys

    pkg = sys.modules[__name__]
    for name in list(_modules):
        del _modules[name]
        sys.modules.pop("udi_codes." + name, None)
        try:
            delattr(pkg, name)
        except AttributeError:
            pass
    gc.collect()


def _by_shape(raw, sym, data, opts):
    # Schemes recognised by their own shape, with or without an identifier.
    first = data[:1]
    if first == "+":
        return scheme_module("hibc").parse(data, R.new(raw, "hibc", sym), opts)
    if first == "M":
        if data.startswith("MA."):
            return scheme_module("ma").parse(data, R.new(raw, "ma", sym), opts)
        if data.startswith("MF"):
            return scheme_module("ahm").parse(data, R.new(raw, "ahm", sym), opts)
    if first == "8" and len(data) == 20 and dates.digits(data):
        return scheme_module("cn_drug").parse(data, R.new(raw, "cn-drug", sym), opts)
    if first in ("X", "Z", "C"):
        scheme = scheme_module("nhsa").scheme_of(data)
        if scheme:
            return scheme_module("nhsa").parse(data, R.new(raw, scheme, sym), opts)
    if sym is not None and first == "8" and scheme_module("cn_drug").looks_like(data):
        return scheme_module("cn_drug").parse(data, R.new(raw, "cn-drug", sym), opts)
    return None


def _bare(raw, data, opts):
    # No identifier and no scheme of its own shape: bracketed HRI, or digits
    # that are GS1 element strings only if they parse completely and validly.
    cn_drug = scheme_module("cn_drug")
    if data.startswith("("):
        return gs1.parse_hri(data, R.new(raw, "gs1", None), opts)
    if data and dates.digits(data.replace(gs1.GS, "")):
        res = gs1.parse(data, R.new(raw, "gs1", None), opts)
        if not res["errors"]:
            R.warning(res, "no_symbology_id", "no symbology identifier: read as GS1 element strings", 0)
            return res
        if len(data) in (8, 12, 13, 14):
            res2 = gs1.parse_gtin(data, R.new(raw, "gs1", None), opts, len(data))
            if not res2["errors"]:
                R.warning(res2, "no_symbology_id", "no symbology identifier: read as a GTIN-%d" % len(data), 0)
                return res2
        if cn_drug.looks_like(data):
            return cn_drug.parse(data, R.new(raw, "cn-drug", None), opts)
        why = res["errors"][0]["message"]
    else:
        why = "no known scheme has this shape"
    res = R.new(raw, "unknown", None)
    R.error(res, "unknown_scheme", "not a recognised code: %s" % why)
    return res
