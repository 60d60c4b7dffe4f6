# GS1 element strings: scan data (GS = FNC1), bracketed HRI, the checks GS1's
# Barcode Syntax Engine makes (AI table, components, linters, req/ex/repeats),
# the healthcare profile on top, and the encoders (scan data, HRI, Digital
# Link) that printing and the round-trip tests use.

from . import dates
from . import gs1_dict as D
from .gs1_ai_table import LENGTHS
from . import result as R
from .gs1_lint import LINTERS, TYPE_LINTER, linter

GS = "\x1d"
# The Syntax Engine's limit on element strings in one message.
MAX_AIS = 64

# AI -> key in res["pi"] (the UDI production identifiers and friends).
PI_KEYS = {
    "10": "lot",
    "21": "serial",
    "17": "expiry",
    "11": "production_date",
    "13": "pack_date",
    "15": "best_before",
    "16": "sell_by",
    "7003": "expiry_time",
    "22": "cpv",
    "240": "additional_id",
    "250": "secondary_serial",
    "30": "quantity",
    "37": "count",
    "02": "content_gtin",
    "00": "sscc",
}
# AIs that identify the trade item (UDI-DI), in order of preference.
DI_AIS = ("01", "03", "8006", "02")
# Healthcare rule (GSCN 21-040): these dates must name a day.
DD00_AIS = ("11", "17")
# AIs that a missing GS most often swallows on medical packaging (only
# those with enough structure not to be found by chance inside a value).
SWALLOW_AIS = ("01", "10", "11", "17", "21", "7003")

def ref_year(opts):
    y = opts.get("year")
    if y:
        return y
    t = opts.get("today") or dates.today_iso()
    if t:
        return int(t[0:4])
    return 2025  # no clock and no reference date: assume the engine's era


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


# AI length by its first two digits ("01" -> 2, "24" -> 3, "31" -> 4).
AI_LENGTH = {}
for _i in range(100):
    if LENGTHS[_i] != "0":
        AI_LENGTH["%02d" % _i] = ord(LENGTHS[_i]) - 48

# Verdicts on AI values seen before: on a packaging line or in a warehouse the
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
        ln = AI_LENGTH.get(data[pos : pos + 2], 0)
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
        if pos == cut and (cut < n or ai not in UNIQUE_AIS):
            if len(_stems) >= _FRAMES_MAX:
                _stems.clear()
            _stems[data[:cut]] = (tuple(pairs), _as_tuples(errors[e0:]))
    return pairs


def parse_bracketed(data, res):
    # "(01)...(17)..." with "\(" as an escaped bracket inside a value; a
    # "|" separates a linear symbol's data from its composite component.
    bar = data.find("|")
    if bar >= 0:
        linear = _parse_bracketed(data[:bar], res)
        composite = _parse_bracketed(data[bar + 1 :], res) if linear is not None else None
        if composite is None:
            return None
        if len(linear) + 1 + len(composite) > MAX_AIS:  # the separator takes a slot
            R.error(res, "too_many_ais", "more than %d AIs in one message" % MAX_AIS, bar)
            return None
        return linear + composite
    return _parse_bracketed(data, res)


def _parse_bracketed(data, res):
    pairs = []
    n = len(data)
    pos = 0
    while pos < n:
        if data[pos] != "(":
            R.error(res, "bad_bracketed_ai", "expected '(' at character %d" % (pos + 1), pos)
            return None
        close = data.find(")", pos)
        ai = data[pos + 1 : close] if close > 0 else ""
        entry = D.lookup(ai) if AI_LENGTH.get(ai[:2], 0) == len(ai) else None
        if entry is None:
            R.error(res, "unknown_ai", "'(%s)' at character %d is not a known GS1 AI" % (_clip(ai), pos + 1), pos)
            return None
        # The value runs to the next "(" that is not escaped with a backslash.
        start = pos = close + 1
        while True:
            nxt = data.find("(", pos)
            if nxt < 0:
                pos = n
                break
            if data[nxt - 1] != "\\":
                pos = nxt
                break
            pos = nxt + 1
        value = data[start:pos]
        if value.find("\\(") >= 0:
            value = value.replace("\\(", "(")
        if not check_value(ai, entry, value, res):
            if not value:
                return None
        pairs.append((ai, value))
        if len(pairs) > MAX_AIS:
            R.error(res, "too_many_ais", "more than %d AIs in one message" % MAX_AIS, pos)
            return None
    if not pairs:
        R.error(res, "empty_data", "no GS1 data", 0)
        return None
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


def ai_info(ai):
    # What the result needs to know about an AI, worked out once: (title,
    # pi key, DI preference or 99, day-00 rule applies, runs to a GS, is a date).
    info = _info.get(ai)
    if info is None:
        e = D.lookup(ai)
        linters = e[D.COMPONENTS][0][4]
        info = (
            D.title(ai),
            PI_KEYS.get(ai),
            DI_AIS.index(ai) if ai in DI_AIS else 99,
            ai in DD00_AIS,
            bool(e[D.FNC1] and e[D.COMPONENTS][-1][0] == "X"),
            "yymmd0" in linters or "yymmdd" in linters,
        )
        if len(_info) < D._CACHE_MAX:
            _info[ai] = info
    return info


_info = {}


def annotate(pairs, res, opts, scanned, ais, stem=None, k=0):
    # One pass over the elements: the healthcare profile on top of GS1
    # syntax (day 00, swallowed AIs) and the result's elements, pi, di, HRI
    # and Digital Link.  Items of one lot differ only after the last GS (the
    # serial): what the first k elements (the stem) give is kept as a frame
    # and replayed for the next item with the same stem and set of AIs.
    printing = opts.get("profile") == "print"
    year = opts.get("year") or ref_year(opts)
    elements = res["elements"]
    pi = res["pi"]
    errors = res["errors"]
    warnings = res["warnings"]
    hidden = None
    di_rank = 99
    hri = []
    dl_values = {}
    start = 0
    if k:
        fr = _frames.get(stem)
        if fr is not None and fr[0] == ais and fr[1] == year and fr[2] == printing and fr[3] == scanned:
            elements.extend([{"ai": a, "title": t, "value": v} for a, t, v in fr[4]])
            pi.update(fr[5])
            di_rank = fr[6]
            if di_rank < 99:
                res["di"] = fr[7]
                res["package_level"] = fr[8]
            for code, message, at in fr[9]:
                errors.append({"code": code, "message": message, "at": at})
            for code, message, at in fr[10]:
                warnings.append({"code": code, "message": message, "at": at})
            hri.append(fr[11])
            dl_values.update(fr[12])
            start = k
    e0 = len(errors)
    w0 = len(warnings)
    for i in range(start, len(pairs)):
        ai, value = pairs[i]
        key = ai + "=" + value
        f = _facts.get(key)
        if f is None or f[8] != year:
            f = _facts_of(ai, value, year, key)
        elements.append({"ai": ai, "title": f[0], "value": value})
        if f[1]:
            pi[f[1]] = f[2]
        if f[3] < di_rank:
            di_rank = f[3]
            res["di"] = value[:14]
            res["package_level"] = ord(value[0]) - 48
        if f[4]:
            msg = "AI (%s) uses day 00; healthcare labels must give a real day (GSCN 21-040)" % ai
            if printing:
                R.error(res, "dd00_date", msg, ai)
            else:
                R.warning(res, "dd00_date", msg, ai)
        if scanned and f[5]:
            if hidden is None:
                hidden = _hidden.get(ais)
                if hidden is None:
                    hidden = _hidden_ais(ais)
            if f[9] is not None and f[9][0] is hidden:
                hit = f[9][1]
            else:
                hit = _swallowed(value, hidden)
                if key in _facts:
                    _facts[key] = f[:9] + ((hidden, hit),)
            if hit:
                R.warning(
                    res,
                    "possible_missing_gs",
                    "AI (%s) value '%s' ends in what looks like AI (%s) '%s'; was a GS separator left out?"
                    % (ai, value, hit[0], hit[1]),
                    ai,
                )
        hri.append(f[6])
        if ai not in dl_values:
            dl_values[ai] = f[7]
        if i == k - 1 and start == 0:
            _keep_frame(stem, ais, year, printing, scanned, res, di_rank, errors[e0:], warnings[w0:], hri, dl_values)
    res["hri"] = "".join(hri)
    # A Digital Link is only offered for data that is valid.
    if not errors:
        plan = _dl_plan(ais)
        if plan is not None:
            res["dl_uri"] = DL_DOMAIN + plan[1] % tuple([dl_values[a] for a in plan[0]])


_frames = {}


def _keep_frame(stem, ais, year, printing, scanned, res, di_rank, errors, warnings, hri, dl_values):
    if len(_frames) >= _FRAMES_MAX:
        _frames.clear()
    _frames[stem] = (
        ais,
        year,
        printing,
        scanned,
        tuple([(e["ai"], e["title"], e["value"]) for e in res["elements"]]),
        tuple(res["pi"].items()),
        di_rank,
        res["di"],
        res["package_level"],
        _as_tuples(errors),
        _as_tuples(warnings),
        "".join(hri),
        tuple(dl_values.items()),
    )


_hidden = {}


def _hidden_ais(ais):
    # The usual UDI AIs absent from the message: what a missing GS could hide.
    hidden = tuple([a for a in SWALLOW_AIS if a not in ais])
    if len(_hidden) >= D._CACHE_MAX:
        _hidden.clear()
    _hidden[ais] = hidden
    return hidden


# What the result says about one AI value, remembered for the values that
# recur (GTIN, dates, lot; not serials): (title, pi key, pi value, DI
# preference, day-00 flag, runs-to-GS flag, HRI piece, Digital Link value,
# year, (hidden AIs, missing-GS verdict) once known)
_facts = {}
UNIQUE_AIS = ("21", "250", "235", "8030")


def _facts_of(ai, value, year, key):
    info = _info.get(ai) or ai_info(ai)
    pi_value = None
    if info[1]:
        pi_value = _pi_value(ai, value, year) if info[5] else value
    f = (
        info[0],
        info[1],
        pi_value,
        info[2],
        info[3] and value[4:6] == "00",
        info[4],
        "(" + ai + ")" + (value if value.find("(") < 0 else value.replace("(", "\\(")),
        value if not value.strip(_UNRESERVED) else pct(value),
        year,
        None,
    )
    if ai not in UNIQUE_AIS:
        if len(_facts) >= _VERDICTS_MAX:
            _facts.clear()
        _facts[key] = f
    return f


def _swallowed(value, candidates):
    # A value of a variable-length AI read up to a GS or the end may hide
    # a following element string; report the first suffix that parses
    # completely and validly as one of the usual UDI AIs not otherwise present.
    for ai in candidates:
        i = value.find(ai, 1)
        while i > 0 and i < len(value) - 2:
            tail = value[i:]
            probe = R.new(tail, "gs1")
            pairs = parse_elements(tail, probe)
            if pairs and not probe["errors"] and (len(pairs[0][1]) >= 4 or not D.lookup(ai)[D.FNC1]):
                return ai, pairs[0][1]
            i = value.find(ai, i + 1)
    return None


def _pi_value(ai, value, year):
    # ISO form of a date AI's value (7003 with its time), else the value.
    d = dates.yymmdd(value[0:6], year, True)
    if d is None:
        return value
    if ai == "7003" and len(value) == 10:
        return d[0] + "T" + value[6:8] + ":" + value[8:10]
    return d[0]


# --- encoders -------------------------------------------------------------


def to_scan_data(pairs, symbology="]d2"):
    # What a scanner sends for these elements: GS after every AI that needs
    # a separator, except the last.
    out = [symbology]
    last = len(pairs) - 1
    for i in range(len(pairs)):
        ai, value = pairs[i]
        out.append(ai)
        out.append(value)
        if i < last and D.lookup(ai)[D.FNC1]:
            out.append(GS)
    return "".join(out)


def to_hri(pairs):
    # "(01)...(17)..." with "(" in a value escaped as "\(".
    seq = tuple(ai for ai, _ in pairs)
    fmt = _hri_formats.get(seq)
    if fmt is None:
        fmt = "".join("(" + ai + ")%s" for ai in seq)
        if len(_hri_formats) >= D._CACHE_MAX:
            _hri_formats.clear()
        _hri_formats[seq] = fmt
    return fmt % tuple(v if v.find("(") < 0 else v.replace("(", "\\(") for _, v in pairs)


_hri_formats = {}


DL_DOMAIN = "https://id.gs1.org"
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def pct(value):
    if not value.strip(_UNRESERVED):
        return value
    out = []
    for c in value:
        if _UNRESERVED.find(c) >= 0:
            out.append(c)
        else:
            for b in c.encode("utf-8"):
                out.append("%%%02X" % b)
    return "".join(out)


def to_dl_uri(pairs, domain=DL_DOMAIN, ais=None):
    # Canonical GS1 Digital Link URI, or None when the elements cannot be
    # expressed as one (no primary key, or an AI that is neither a key
    # qualifier nor a permitted data attribute).
    if ais is None:
        ais = distinct_ais(pairs)
    plan = _dl_plan(ais)
    if plan is None:
        return None
    order, fmt = plan
    values = {}
    for ai, value in pairs:
        if ai not in values:
            values[ai] = value if not value.strip(_UNRESERVED) else pct(value)
    return domain + fmt % tuple(values[ai] for ai in order)


_dl_plans = {}


def _dl_plan(ais):
    # Which AIs go into the path (key, then qualifiers in dictionary order)
    # and which into the query; depends only on the AIs present.
    if ais in _dl_plans:
        return _dl_plans[ais]
    plan = None
    for ai in ais:
        seqs = D.lookup(ai)[D.DLPKEY]
        if seqs is None:
            continue
        qualifiers = ()
        for seq in seqs:
            if _seq_fits(seq, seqs, ais):
                qualifiers = seq
                break
        path = [ai] + [q for q in qualifiers if q in ais]
        query = [a for a in ais if a not in path]
        # (AI order of the values, "/01/%s/10/%s?17=%s" template)
        fmt = "".join("/" + a + "/%s" for a in path)
        if query:
            fmt += "?" + "&".join(a + "=%s" for a in query)
        plan = (tuple(path + query), fmt)
        for a in query:
            if not D.lookup(a)[D.DL_ATTR]:
                plan = None
        break
    if len(_dl_plans) >= D._CACHE_MAX:
        _dl_plans.clear()
    _dl_plans[ais] = plan
    return plan


def _seq_fits(seq, all_seqs, present):
    for s in all_seqs:
        for q in s:
            if q in present and q not in seq:
                return False
    return True


# --- scheme entry ---------------------------------------------------------


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
                annotate(pairs, res, opts, scanned, known[1], stem, k)
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
        annotate(pairs, res, opts, scanned, ais, stem, k)
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
        annotate(pairs, res, opts, True, known[1], stem, len(hit[0]))
    return True


def parse_hri(data, res, opts):
    pairs = parse_bracketed(data, res)
    # Items of one lot differ in the last element (the serial): a frame
    # keyed by everything before it, as for scan data.
    k = len(pairs) - 1 if pairs else 0
    stem = "(" + data[: data.rfind("(")] if k else None
    return finish_pairs(pairs, res, opts, False, stem, k)


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


def clear_caches():
    # Forget everything remembered (tests compare warm and cold results).
    for cache in (_verdicts, _stems, _facts, _frames, _checks, _hidden, _info, _dl_plans, _hri_formats,
                  _assoc_cache, _mutex_cache, _req_cache, D._cache, D._titles):
        cache.clear()
