# The next item of a lot, as a whole result.  On a line or in a warehouse
# item after item of one lot is read, and their codes differ only in one
# value, the serial: the last element of scan data (after the last GS) or of
# bracketed HRI, the last path segment of a Digital Link.  Everything else in
# the result (the other elements, pi, DI, errors, warnings, "expired",
# validity, the HRI and Digital Link around the serial) follows from the rest
# of the code, so the second item's finished result is kept as the lot's
# template and the next items copy it with their own serial put in.  A value
# that could change more than itself (a character the AI does not allow, one
# that needs percent-encoding, a serial that looks like it swallowed another
# AI) is read the full way.  A gateway only: a handheld has no heap for it.
# tests/test_caches.py checks every result against a cold parse.

from . import gs1_dict as D
from . import gs1_text as T
from . import result as R
from .gs1 import _FRAMES_MAX, GS, distinct_ais
from .symbology import GS1_MODE

# Marks where the item's own value goes in a Digital Link and an HRI while a
# template is made: a NUL is not a URI character and no AI allows it.
_SLOT = "\x00"

_templates = {}  # code without its serial -> template (see learn)
_seen = {}  # the same for codes read once (a template is kept from the second)


_SCAN, _HRI, _DL = 1, 2, 3


def _split(raw):
    # raw -> (raw without the serial, what was cut out, which kind of code),
    # or None when raw has no place for a serial.  Scan data: what was cut
    # out still starts with the AI (its length is the template's to know).
    first = raw[:1]
    if first == "(":
        cut = raw.rfind("(")
        close = raw.find(")", cut)
        if cut <= 0 or close < 0 or raw[cut - 1] == "\\":
            return None
        return raw[: close + 1], raw[close + 1 :], _HRI
    at = 3 if first == "]" else 0
    if raw.startswith("http", at) or raw.startswith("HTTP", at):
        if raw.find("#") >= 0:
            return None
        end = raw.find("?")
        if end < 0:
            end = len(raw)
        j = raw.rfind("/", 0, end) + 1
        return raw[:j] + _SLOT + raw[end:], raw[j:end], _DL
    if first == "]" and raw[:3] in GS1_MODE:
        cut = raw.rfind(GS) + 1
        if cut:
            return raw[:cut], raw[cut:], _SCAN
    return None


def result(raw, profile, today):
    # The result for raw when it is the next item of a lot whose template
    # was made with the same profile and reference date; None = not this
    # case (the engine then reads raw the full way).
    if raw[:3] in _GS1_MODE:  # scan data, inline: nearly every code
        cut = raw.rfind(GS) + 1
        if not cut:
            return None
        t = _templates.get(raw[:cut])
        if t is None:
            return None
        lead = t[2][0]
        if not raw.startswith(lead, cut):
            return None
        value = raw[cut + len(lead) :]
    elif raw[:1] in _OTHER_STARTS:
        s = _split(raw)
        if s is None:
            return None
        t = _templates.get(s[0])
        if t is None:
            return None
        value = s[1]
    else:
        return None
    t_profile, t_today, sh, valid, before, after, pi_values, errors, warnings, di, level, hri_pre, hri_post, dl_pre, dl_post = t
    if t_profile != profile or t_today != today or not sh[1] <= len(value) <= sh[2] or value.strip(sh[3]):
        return None  # another profile or date, or a value the AI does not allow as it is
    for ai in sh[4]:
        if value.find(ai, 1) > 0:
            return None  # might hide another AI: the full read decides on a warning
    elements = [{"ai": a, "title": ti, "value": v} for a, ti, v in zip(sh[6], sh[7], before)]
    elements.append({"ai": sh[8], "title": sh[9], "value": value})
    if after:
        elements.extend([{"ai": a, "title": ti, "value": v} for a, ti, v in zip(sh[10], sh[11], after)])
    pi = dict(zip(sh[12], pi_values))
    if sh[13]:
        pi[sh[13]] = value  # in the place it had in the template
    return {
        "raw": raw,
        "scheme": "gs1",
        "symbology": sh[5],
        "valid": valid,
        "errors": [{"code": c, "message": m, "at": a} for c, m, a in errors] if errors else [],
        "warnings": [{"code": c, "message": m, "at": a} for c, m, a in warnings] if warnings else [],
        "notes": [],
        "elements": elements,
        "di": di,
        "pi": pi,
        "hri": hri_pre + T.hri_value(value) + hri_post,
        "dl_uri": None if dl_pre is None else dl_pre + T.dl_value(value) + dl_post,
        "package_level": level,
    }


_GS1_MODE = frozenset(GS1_MODE)
# What HRI and a Digital Link (maybe after an AIM identifier) start with.
_OTHER_STARTS = frozenset(["(", "]", "h", "H"])


def learn(raw, res, profile, today):
    # After a full read of raw: remember its shape, and from the second item
    # of a lot on keep the result as the lot's template, if every piece of it
    # can be reproduced (each is checked against res itself).
    if res["scheme"] != "gs1" or res["notes"]:
        return
    s = _split(raw)
    if s is None:
        return
    key = s[0]
    if key not in _seen:
        if len(_seen) >= _FRAMES_MAX:
            _seen.clear()
        _seen[key] = None
        return
    t = _template(raw, res, profile, today, s[1], s[2])
    if t is not None:
        if len(_templates) >= _FRAMES_MAX:
            _templates.clear()
        _templates[key] = t


def _template(raw, res, profile, today, rest, kind):
    elements = res["elements"]
    if not elements:
        return None
    pairs = [(e["ai"], e["value"]) for e in elements]
    ais = distinct_ais(pairs)
    if len(ais) != len(pairs):
        return None  # a repeated AI
    lead = ""
    value = rest
    if kind == _SCAN:
        ai, value = pairs[-1]
        if rest != ai + value:
            return None
        lead = ai
    elif kind == _HRI:
        ai = raw[raw.rfind("(") + 1 : raw.rfind(")")]
    else:
        end = raw.find("?")
        if end < 0:
            end = len(raw)
        start = raw.rfind("/", 0, end)
        ai = raw[raw.rfind("/", 0, start) + 1 : start]
        if value.strip(T._UNRESERVED):
            return None
    slot = -1
    for i in range(len(pairs)):
        if pairs[i] == (ai, value):
            slot = i
    if slot < 0:
        return None
    entry = D.lookup(ai)
    simple = entry[D.SIMPLE]
    info = T.ai_info(ai)
    if not simple or info[2] < 99 or info[3] or info[5]:
        return None  # a DI or a date: not a lot's free part
    scanned = kind == _SCAN
    if scanned:
        for w in res["warnings"]:
            if w["code"] == "possible_missing_gs" and w["at"] == ai:
                return None  # this serial's own warning
    hidden = ()
    if scanned and info[4]:
        hidden = T._hidden.get(ais) or T._hidden_ais(ais)
    # HRI and Digital Link around the slot, each checked against res.
    hri = "".join([T.hri_piece(a, _SLOT if a == ai else v) for a, v in pairs])
    hri_pre, _, hri_post = hri.partition(T.hri_piece(ai, _SLOT))
    if res["hri"] != hri_pre + T.hri_piece(ai, value) + hri_post:
        return None
    dl_pre = dl_post = None
    if res["dl_uri"] is not None:
        plan = T._dl_plan(ais)
        if plan is None:
            return None
        values = {}
        for a, v in pairs:
            values[a] = _SLOT if a == ai else T.dl_value(v)
        uri = T.DL_DOMAIN + plan[1] % tuple([values[a] for a in plan[0]])
        dl_pre, _, dl_post = uri.partition(_SLOT)
        if res["dl_uri"] != dl_pre + T.dl_value(value) + dl_post:
            return None
    pi = res["pi"]
    if info[1] and pi.get(info[1]) != value:
        return None
    for k in pi:
        if type(pi[k]) is not str or (pi[k] == value) != (k == info[1]):
            return None
    if list(res) != _KEYS:
        return None
    comp = entry[D.COMPONENTS][0]
    allowed = simple
    if kind == _DL:  # only values that need no percent-encoding
        allowed = "".join([c for c in simple if T._UNRESERVED.find(c) >= 0])
    # What lots of the same make share (the same AIs, the same slot) is kept
    # once, as their "shape"; a template holds its lot's own values.  Fewer
    # objects to a template: fewer places in memory for a read to visit.
    before = elements[:slot]
    after = elements[slot + 1 :]
    shape = (
        lead,
        comp[1],
        comp[2],
        allowed,
        hidden,
        res["symbology"],
        tuple([e["ai"] for e in before]),
        tuple([e["title"] for e in before]),
        ai,
        elements[slot]["title"],
        tuple([e["ai"] for e in after]),
        tuple([e["title"] for e in after]),
        tuple(pi),
        info[1],
    )
    shape = _shapes.setdefault(shape, shape)
    if len(_shapes) > _FRAMES_MAX:
        _shapes.clear()
    return (
        profile,
        today,
        shape,
        res["valid"],
        tuple([e["value"] for e in before]),
        tuple([e["value"] for e in after]),
        tuple(pi.values()),
        tuple([(e["code"], e["message"], e["at"]) for e in res["errors"]]),
        tuple([(e["code"], e["message"], e["at"]) for e in res["warnings"]]),
        res["di"],
        res["package_level"],
        hri_pre + "(" + ai + ")",
        hri_post,
        dl_pre,
        dl_post,
    )


_shapes = {}
_KEYS = list(R.new("", "gs1"))


def clear_caches():
    _templates.clear()
    _seen.clear()
    _shapes.clear()
