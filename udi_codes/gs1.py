# GS1 element strings: scan data (GS = FNC1) and the checks GS1's Barcode
# Syntax Engine makes (AI table, components, linters, req/ex/repeats).  What
# is only text for people (bracketed HRI in, the full read's description,
# the encoders) is in gs1_text; its names are reachable here too (gs1.to_hri).

from . import dates
from . import gs1_dict as D
from .gs1_ai_table import LENGTHS
from . import result as R
from .gs1_lint import LINTERS, TYPE_LINTER, linter

GS = "\x1d"
# The Syntax Engine's limit on element strings in one message.
MAX_AIS = 64
# AIs that identify the trade item (UDI-DI), in order of preference.
DI_AIS = ("01", "03", "8006", "02")
# Serials and signatures: unique on every item, so never part of a lot's stem.
UNIQUE_AIS = ("21", "250", "235", "8030")


def consume(ai, entry, data, pos, end):
    # Apply the entry's components to data[pos:end] the way the Syntax
    # Engine does: fixed components take their length, a variable one takes
    # up to its maximum.  Returns (length consumed, structural error, content
    # error); errors are (code, message).
    p = pos
    for typ, mn, mx, optional, linters in entry[D.COMPONENTS]:
        remaining = end - p
        if remaining <= 0 and optional:
            break
        if mn == mx:
            n = mn
            if remaining < n:
                return p - pos, ("ai_data_too_short", "AI (%s) data is too short: needs %d more characters" % (ai, n - remaining)), None
        else:
            n = remaining if remaining < mx else mx
            if n < mn:
                return p - pos, ("ai_data_too_short", "AI (%s) data is too short" % ai), None
        comp = data[p : p + n]
        err = TYPE_LINTER[typ](comp)
        if err is None:
            for name in linters:
                err = (LINTERS.get(name) or linter(name))(comp)
                if err is not None:
                    break
        p += n
        if err is not None:
            return p - pos, None, (err[0], "AI (%s): %s" % (ai, err[1]))
    return p - pos, None, None



# AI length by its first two digits ("01" -> 2, "24" -> 3, "31" -> 4); 0
# when no AI starts with them.
if D._CACHE_MAX > 100:
    # A gateway (CPython): a dict, the fastest lookup there.
    _AI_LENGTH = {}
    for _i in range(100):
        if LENGTHS[_i] != "0":
            _AI_LENGTH["%02d" % _i] = ord(LENGTHS[_i]) - 48
    ai_length = _AI_LENGTH.get
else:

    def ai_length(two, default=0):
        # A handheld (MicroPython): read LENGTHS, a str constant that stays in
        # flash, instead of holding a dict of the AI prefixes in the heap.
        if len(two) == 2:
            a = ord(two[0]) - 48
            b = ord(two[1]) - 48
            if 0 <= a <= 9 and 0 <= b <= 9:
                n = ord(LENGTHS[a * 10 + b]) - 48
                if n:
                    return n
        return default

# same GTIN, lot and dates recur on thousands of scans, only serials change.
_verdicts = {}
# A gateway remembers whole sites; a handheld (MicroPython) reads one lot
# at a time and has a small heap: a few entries, and one frame.
_VERDICTS_MAX = 32768 if D._CACHE_MAX > 100 else 12
_FRAMES_MAX = 32768 if D._CACHE_MAX > 100 else 2


def _as_tuples(entries):
    # Errors/warnings kept in a cache as plain tuples: CPython's garbage
    # collector then need not walk them (they hold no containers).
    return tuple([(e["code"], e["message"], e["at"]) for e in entries])


def _remember(key, verdict):
    if len(_verdicts) >= _VERDICTS_MAX:
        _verdicts.clear()
    _verdicts[key] = verdict


def parse_elements(data, res):
    # Unbracketed element strings with GS separators -> [(ai, value)], or
    # None after a structural error (the rest cannot be delimited).
    return _parse_scan(data, res)[0]


def _parse_scan(data, res):
    # -> (pairs or None, stem, number of pairs in the stem)
    n = len(data)
    if n == 0:
        R.error(res, "empty_data", "no GS1 data after the symbology identifier", 0)
        return None, None, 0
    caret = data.find("^")
    if caret >= 0:
        R.error(res, "illegal_caret", "character '^' (character %d) is not allowed in GS1 data" % (caret + 1), caret)
        return None, None, 0
    # Items of one lot share everything up to the last GS (GTIN, dates,
    # lot); only what follows (the serial) is new.  Reuse the stem's parse.
    # Without a GS the whole message is the stem (unless it ends in a serial).
    cut = data.rfind(GS) + 1 or n
    if cut:
        stem = data[:cut]
        hit = _stems.get(stem)
        if hit is not None:
            for code, message, at in hit[1]:
                res["errors"].append({"code": code, "message": message, "at": at})
            return _parse_from(data, res, cut, list(hit[0]), 0), stem, len(hit[0])
        pairs = _parse_from(data, res, 0, [], cut)
        hit = _stems.get(stem)
        return pairs, stem, len(hit[0]) if hit is not None else 0
    return _parse_from(data, res, 0, [], cut), None, 0


_stems = {}


def _parse_from(data, res, pos, pairs, cut):
    n = len(data)
    errors = res["errors"]
    e0 = len(errors)
    lookup = D.lookup
    while pos < n:
        ln = ai_length(data[pos : pos + 2], 0)
        entry = lookup(data[pos : pos + ln]) if ln and pos + ln <= n else None
        if entry is None:
            R.error(res, "unknown_ai", "no known GS1 AI at character %d ('%s')" % (pos + 1, _clip(data[pos:])), pos)
            return None
        ai = data[pos : pos + ln]
        pos += ln
        end = data.find(GS, pos)
        if end < 0:
            end = n
        fixed = entry[D.FIXED]
        key = ai + "=" + data[pos : pos + fixed if fixed and fixed <= end - pos else end]
        hit = _verdicts.get(key)
        simple = entry[D.SIMPLE]
        if hit is not None:
            used, structural, content = hit
        elif simple and entry[D.COMPONENTS][0][1] <= end - pos <= entry[D.COMPONENTS][0][2] and not data[pos:end].strip(simple):
            used, structural, content = end - pos, None, None  # one plain component, all characters allowed
        else:
            used, structural, content = consume(ai, entry, data, pos, end)
            # The last value is usually the serial: new on every item.
            if structural is None and (fixed or end < n):
                _remember(key, (used, None, content))
        if structural is not None:
            R.error(res, structural[0], structural[1], ai)
            return None
        if used == 0:
            R.error(res, "ai_data_empty", "AI (%s) has no data" % ai, ai)
            return None
        if entry[D.FNC1] and pos + used != end:
            R.error(res, "ai_data_too_long", "AI (%s) data is too long or the GS separator after it is missing" % ai, ai)
            return None
        if content is not None:
            R.error(res, content[0], content[1], ai)
        pairs.append((ai, data[pos : pos + used]))
        pos += used
        if len(pairs) >= MAX_AIS and pos < n:  # even a trailing GS needs a slot
            R.error(res, "too_many_ais", "more than %d AIs in one message" % MAX_AIS, pos)
            return None
        if pos < n and data[pos] == GS:
            pos += 1  # superfluous separators after fixed-length AIs are tolerated
        # A stem that ends in a serial is one item's own: never seen again.
        if pos == cut and ai not in UNIQUE_AIS:
            if len(_stems) >= _FRAMES_MAX:
                _stems.clear()
            _stems[data[:cut]] = (tuple(pairs), _as_tuples(errors[e0:]))
    return pairs

def check_value(ai, entry, value, res):
    # Validate one complete AI value (bracketed input, Digital Link).
    key = ai + "=" + value
    hit = _verdicts.get(key)
    if hit is not None and hit[0] == len(value):
        if hit[2] is not None:
            R.error(res, hit[2][0], hit[2][1], ai)
            return False
        return True
    if not value:
        R.error(res, "ai_data_empty", "AI (%s) has no data" % ai, ai)
        return False
    if value.find(GS) >= 0 or value.find("^") >= 0:
        R.error(res, "ai_data_too_long", "AI (%s) value contains a separator" % ai, ai)
        return False
    used, structural, content = consume(ai, entry, value, 0, len(value))
    if structural is not None:
        R.error(res, structural[0], structural[1], ai)
        return False
    if used != len(value):
        R.error(res, "ai_data_too_long", "AI (%s) data is too long (%d characters, at most %d)" % (ai, len(value), used), ai)
        return False
    _remember(key, (used, None, content))
    if content is not None:
        R.error(res, content[0], content[1], ai)
        return False
    return True


def distinct_ais(pairs):
    ais = tuple([p[0] for p in pairs])
    if len(ais) > 1 and len(set(ais)) < len(ais):  # a repeated AI: keep the first
        seen = []
        for ai in ais:
            if ai not in seen:
                seen.append(ai)
        ais = tuple(seen)
    return ais


def validate_pairs(pairs, res, rules=None, ais=None):
    # Message-level rules of the Syntax Engine, each a small named function
    # over the whole message: (code, message, at) tuples for what is wrong.
    if ais is None:
        ais = distinct_ais(pairs)
    if rules is None:
        # The usual case, in one step: ex= and req= verdicts for this set of
        # AIs are remembered; repeats and DigSig only matter when present.
        errs = _cached(_assoc_cache, ais, _mutex_and_requisites)
        if len(ais) < len(pairs):
            errs = errs + rule_repeats(pairs, ais)
        if "8030" in ais:
            errs = errs + rule_digsig_serial(pairs, ais)
    else:
        errs = []
        for rule in rules:
            errs = errs + rule(pairs, ais)
    for code, message, at in errs:
        R.error(res, code, message, at)


def _mutex_and_requisites(ais):
    return _mutex(ais) + _requisites(ais)


def rule_mutex(pairs, ais):
    # ex=: an AI must not appear with any AI matching its patterns (an AI
    # is not exclusive of itself).
    return _cached(_mutex_cache, ais, _mutex)


def _mutex(ais):
    errs = []
    for ai in ais:
        for pat in D.lookup(ai)[D.EX]:
            for other in ais:
                if other != ai and D.matches(pat, other):
                    errs.append(("ai_exclusive", "AI (%s) must not be used together with AI (%s)" % (ai, other), ai))
    return errs


def rule_requisites(pairs, ais):
    # req=: every req= key of an AI must be met by one of its alternatives;
    # an alternative "01+21" needs all of its members; an AI never meets its own.
    return _cached(_req_cache, ais, _requisites)


def _requisites(ais):
    errs = []
    for ai in ais:
        for alternatives in D.lookup(ai)[D.REQ]:
            if not _any_group_present(alternatives, ais, ai):
                errs.append(("ai_required", "AI (%s) requires %s" % (ai, _describe_req(alternatives)), ai))
    return errs


def rule_repeats(pairs, ais):
    # The same AI may repeat only with an identical value.
    errs = []
    if len(ais) == len(pairs):
        return errs
    for ai in ais:
        first = None
        for ai2, value in pairs:
            if ai2 == ai:
                if first is None:
                    first = value
                elif value != first:
                    errs.append(("ai_repeated", "AI (%s) appears twice with different values" % ai, ai))
                    break
    return errs


# With a digital signature (8030) the signed key must be serialised: the
# optional serial part of (253), (255) and (8003) must be present.
DIGSIG_KEYS = ("253", "255", "8003")


def rule_digsig_serial(pairs, ais):
    errs = []
    if "8030" not in ais:
        return errs
    for ai, value in pairs:
        if ai in DIGSIG_KEYS:
            need = 0
            for c in D.lookup(ai)[D.COMPONENTS]:
                if not c[3]:
                    need += c[1]
            if len(value) <= need:
                errs.append(("digsig_needs_serial", "AI (%s) must carry its serial component when signed with AI (8030)" % ai, ai))
    return errs


RULES = (rule_mutex, rule_requisites, rule_repeats, rule_digsig_serial)

# The same few AI combinations recur scan after scan (01 17 10 21 ...), and
# ex=/req= depend only on which AIs are present: remember the verdicts.
_mutex_cache = {}
_req_cache = {}
_assoc_cache = {}


def _cached(cache, ais, fn):
    errs = cache.get(ais)
    if errs is None:
        errs = fn(ais)
        if len(cache) >= D._CACHE_MAX:
            cache.clear()
        cache[ais] = errs
    return errs


def _any_group_present(alternatives, ais, own):
    for group in alternatives:
        ok = True
        for pat in group:
            found = False
            for a in ais:
                if a != own and D.matches(pat, a):
                    found = True
                    break
            if not found:
                ok = False
                break
        if ok:
            return True
    return False


def _describe_req(alternatives):
    parts = []
    for group in alternatives:
        parts.append(" + ".join("(" + p + ")" for p in group))
    return " or ".join(parts)


def _clip(s):
    return s if len(s) <= 12 else s[:12] + "..."


RULE_NAMES = {
    "mutex": rule_mutex,
    "requisites": rule_requisites,
    "repeats": rule_repeats,
    "digsig_serial": rule_digsig_serial,
}


def finish_pairs(pairs, res, opts, scanned, stem=None, k=0):
    if pairs is None:
        return res
    names = opts.get("rules")
    if k and names is None:
        # The next item of a lot: same stem, same AIs after it -> the same
        # message-level verdicts (they depend only on which AIs are present
        # when no AI repeats and no signature is involved).
        known = _checks.get(stem)
        if known is not None and known[0] == tuple([p[0] for p in pairs[k:]]):
            for code, message, at in known[2]:
                res["errors"].append({"code": code, "message": message, "at": at})
            if opts.get("lean_read"):
                lean_describe(pairs, res, known[1])
            else:
                (_T or _text()).annotate(pairs, res, opts, scanned, known[1], stem, k)
            return res
    # A partial label (one of several carriers on an item) may be checked
    # with some message-level rules off, as the Syntax Engine allows.
    ais = distinct_ais(pairs)
    e1 = len(res["errors"])
    validate_pairs(pairs, res, None if names is None else [RULE_NAMES[n] for n in names], ais)
    if k and names is None and len(ais) == len(pairs) and "8030" not in ais:
        if len(_checks) >= _FRAMES_MAX:
            _checks.clear()
        _checks[stem] = (tuple([p[0] for p in pairs[k:]]), ais, _as_tuples(res["errors"][e1:]))
    if opts.get("lean_read"):
        lean_describe(pairs, res, ais)
    else:
        (_T or _text()).annotate(pairs, res, opts, scanned, ais, stem, k)
    return res


def lean_describe(pairs, res, ais):
    # A "lean" read (the handheld's pre-check) wants the verdict only:
    # reading adds warnings, never errors, so the description is skipped;
    # DI, package level and SSCC stay (aggregation needs them).
    for di_ai in DI_AIS:
        for ai, value in pairs:
            if ai == di_ai:
                res["di"] = value[:14]
                res["package_level"] = ord(value[0]) - 48
                break
        if res["di"]:
            break
    if "00" in ais:
        for ai, value in pairs:
            if ai == "00":
                res["pi"]["sscc"] = value


_checks = {}


def parse(data, res, opts):
    # GS1 element strings in GS1 mode (]C1 ]d2 ]Q3 ]e0 ]J1) or bare input.
    cut = data.rfind(GS) + 1
    if cut and opts.get("rules") is None and _next_item(data, cut, res, opts):
        return res
    pairs, stem, k = _parse_scan(data, res)
    return finish_pairs(pairs, res, opts, True, stem, k)


def _next_item(data, cut, res, opts):
    # The next item of a lot already seen: one plain element (the serial)
    # after the last GS, everything before it known.  Gives what the full
    # path gives (tests/test_caches.py compares the two); False = not this case.
    stem = data[:cut]
    known = _checks.get(stem)
    if known is None or len(known[0]) != 1:
        return False
    hit = _stems.get(stem)
    ai = known[0][0]
    if hit is None or not data.startswith(ai, cut):
        return False
    pos = cut + len(ai)
    entry = D.lookup(ai)
    simple = entry[D.SIMPLE]
    comp = entry[D.COMPONENTS][0]
    if not simple or not comp[1] <= len(data) - pos <= comp[2] or data[pos:].strip(simple):
        return False
    errors = res["errors"]
    for code, message, at in hit[1]:
        errors.append({"code": code, "message": message, "at": at})
    for code, message, at in known[2]:
        errors.append({"code": code, "message": message, "at": at})
    pairs = hit[0] + ((ai, data[pos:]),)
    if opts.get("lean_read"):
        lean_describe(pairs, res, known[1])
    else:
        (_T or _text()).annotate(pairs, res, opts, True, known[1], stem, len(hit[0]))
    return True

def parse_gtin(data, res, opts, length):
    # ]E0 (EAN-13/UPC-A), ]E4 (EAN-8), ]I1 (ITF-14): a GTIN and nothing else,
    # possibly followed by a composite component "|]e0...".
    bar = data.find("|")
    main = data if bar < 0 else data[:bar]
    if len(main) != length or not dates.digits(main):
        R.error(res, "bad_gtin", "expected %d digits, got '%s'" % (length, _clip(main)), 0)
        return res
    gtin = "00000000000000"[: 14 - length] + main
    pairs = [("01", gtin)]
    if not check_value("01", D.lookup("01"), gtin, res):
        return res
    if bar >= 0:
        comp = data[bar + 1 :]
        if not comp.startswith("]e0"):
            R.error(res, "bad_gtin", "a composite component must start with ]e0", bar + 1)
            return res
        more = parse_elements(comp[3:], res)
        if more is None:
            return res
        pairs = pairs + more
        return finish_pairs(pairs, res, opts, True)
    return finish_pairs(pairs, res, opts, True, "]E" + main, 1)


_T = None  # gs1_text once loaded, kept on a big heap (a gateway)


def _text():
    # gs1_text: bracketed HRI, the full read's description and the encoders.
    global _T
    import udi_codes

    t = udi_codes.scheme_module("gs1_text")
    if not udi_codes._ROOM:
        _T = t
    return t


def parse_hri(data, res, opts):
    return (_T or _text()).parse_hri(data, res, opts)


def __getattr__(name):
    # gs1.to_hri, gs1.PI_KEYS, ...: what moved to gs1_text stays reachable here.
    return getattr(_T or _text(), name)


def clear_caches():
    # Forget everything remembered (tests compare warm and cold results).
    for cache in (_verdicts, _stems, _checks, _assoc_cache, _mutex_cache, _req_cache, D._cache, D._titles):
        cache.clear()
    import sys

    for name in ("udi_codes.gs1_text", "udi_codes.gs1_items", "udi_codes.repeats"):
        t = sys.modules.get(name)
        if t is not None:
            t.clear_caches()


if D._CACHE_MAX > 100:  # a gateway: everything at hand from the start
    from . import gs1_text as _T
