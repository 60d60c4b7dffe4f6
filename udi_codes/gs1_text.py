# GS1 as text for people, on top of gs1's syntax checks: bracketed HRI in
# ("(01)...(17)..."), what a full read adds to the verdict (elements with
# titles, pi, HRI, Digital Link, the missing-GS warning) and the encoders
# (scan data, HRI, Digital Link) that printing and the round-trip tests use.
# A handheld's lean pre-check never needs any of it: gs1 loads this module on
# first use (through udi_codes.scheme_module, so a small heap may drop it).

from . import dates
from . import gs1_dict as D
from . import result as R
from .gs1 import (DI_AIS, GS, MAX_AIS, UNIQUE_AIS, _FRAMES_MAX, _VERDICTS_MAX, _as_tuples, _clip, ai_length,
                  check_value, distinct_ais, finish_pairs, parse_elements)

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
        entry = D.lookup(ai) if ai_length(ai[:2], 0) == len(ai) else None
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


def parse_hri(data, res, opts):
    pairs = parse_bracketed(data, res)
    # Items of one lot differ in the last element (the serial): a frame
    # keyed by everything before it, as for scan data.
    k = len(pairs) - 1 if pairs else 0
    stem = "(" + data[: data.rfind("(")] if k else None
    return finish_pairs(pairs, res, opts, False, stem, k)



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
        hri_piece(ai, value),
        dl_value(value),
        year,
        None,
    )
    if ai not in UNIQUE_AIS:
        if len(_facts) >= _VERDICTS_MAX:
            _facts.clear()
        _facts[key] = f
    return f


def hri_piece(ai, value):
    return "(" + ai + ")" + hri_value(value)


def hri_value(value):
    # A value as it goes into HRI: a "(" inside it escaped with a backslash.
    return value if value.find("(") < 0 else value.replace("(", "\\(")


def dl_value(value):
    # A value as it goes into a Digital Link (percent-encoded when needed).
    return value if not value.strip(_UNRESERVED) else pct(value)


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
    # "(01)...(17)..." with "(" in a value escaped as "\\(".
    return "".join([hri_piece(ai, value) for ai, value in pairs])


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
            values[ai] = dl_value(value)
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


def clear_caches():
    for cache in (_facts, _frames, _hidden, _info, _dl_plans):
        cache.clear()
