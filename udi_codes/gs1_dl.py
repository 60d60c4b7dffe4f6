# GS1 Digital Link URIs -> AI element strings, with the checks GS1's Barcode
# Syntax Engine (gs1/gs1-syntax-engine, src/c-lib/dl.c) makes by default:
#
#   https://<domain>/<any stem>/<key AI>/<key>[/<qualifier AI>/<value>...]
#                                              [?<AI>=<value>&...][#fragment]
#
# * the whole URI uses URI characters only; scheme http:// or https://, all
#   lower or all upper case; a domain without _~?#@!$&'()*+,;=% and a path;
# * the primary key is found by walking /AI/value pairs back from the end of
#   the path: the first pair (from the end) whose AI is a primary key (dlpkey in
#   the dictionary); every pair after it must be a known AI, everything before
#   it is the stem; the key and its qualifiers must form one of the allowed
#   sequences (a subsequence of one dlpkey alternative; alternatives do not mix);
# * query parameters: numeric keys must be known AIs and data attributes (the
#   dictionary's "?" flag), may not be key qualifiers that fit in the path, may
#   not repeat an AI; other parameters and singletons are ignored;
# * values are percent-decoded (%00 is rejected, a malformed escape stays
#   literal); "+" is a literal "+" in the path and a space in the query;
# * a GTIN (01) must have 14 digits; GTIN-8/12/13 are zero-padded only with
#   the legacy option opts["dl_zero_suppressed_gtin"] (path and query alike);
# * at most 64 entries (path AIs plus query parameters, ignored ones too).
#
# Structural errors stop the parse (as in the Syntax Engine); the values are
# then linted one by one (all errors reported) and gs1.finish_pairs runs the
# message-level rules (ex/req/repeats) and fills the result.

from . import dates
from . import gs1
from . import gs1_dict as D
from . import result as R

MAX_AIS = 64

_URI_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
_BAD_DOMAIN = "_~?#@!$&'()*+,;=%"
_HEX = "0123456789abcdef"
_DIGITS = "0123456789"
# URI characters a domain may hold: _URI_CHARS without _BAD_DOMAIN and "/".
_DOMAIN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.:[]"


def parse(uri, res, opts):
    pairs = extract(uri, res, opts)
    if pairs is None:
        return res
    return gs1.finish_pairs(pairs, res, opts, False)


def extract(uri, res, opts):
    # The (AI, value) pairs of a Digital Link URI in the Syntax Engine's order
    # (path, then query), or None after a structural error.
    zs = bool(opts.get("dl_zero_suppressed_gtin"))
    n = len(uri)
    if uri.strip(_URI_CHARS):
        for i in range(n):
            if _URI_CHARS.find(uri[i]) < 0:
                return _fail(res, "dl_illegal_character", "character %s at position %d is not allowed in a URI" % (_show(uri[i]), i), i)
    if uri.startswith("https://") or uri.startswith("HTTPS://"):
        p = 8
    elif uri.startswith("http://") or uri.startswith("HTTP://"):
        p = 7
    else:
        return _fail(res, "dl_bad_scheme", "the URI must start with http:// or https:// (all lower or all upper case), not '%s'" % _clip(uri), 0)
    q = uri.find("/", p)
    if q < 0:
        q = n
    # Every character is a URI character by now, so a domain character
    # outside _DOMAIN_CHARS is one of _BAD_DOMAIN: look for it only then.
    if uri[p:q].strip(_DOMAIN_CHARS):
        for x in range(p, q):
            if _BAD_DOMAIN.find(uri[x]) >= 0:
                return _fail(res, "dl_bad_domain", "character '%s' at position %d is not allowed in a domain name" % (uri[x], x), x)
    if q >= n or q == p:
        return _fail(res, "dl_no_domain_or_path", "the URI needs a domain and a path after '%s'" % uri[:p], p)

    # Path info ends at the query ('?'); the fragment ('#') ends everything.
    end = uri.find("#", q)
    if end < 0:
        end = n
    rest = uri[q:end]
    k = rest.find("?")
    if k < 0:
        path = rest
        query = None
    else:
        path = rest[:k]
        query = rest[k + 1 :]
        qpos = q + k + 1

    # Segment positions (for error messages) come from _seg_at(q, segs, j).
    segs = path[1:].split("/")
    # Values need percent-decoding only when the URI has a '%' somewhere;
    # only a decoded value can hold a '^' (not a URI character).
    plain = uri.find("%") < 0

    # Walk /AI/value pairs back from the end to the primary key.
    i = len(segs) - 2
    while i >= 0:
        a = _ais.get(segs[i]) or _ai(segs[i])
        if a is None or a[0][D.DLPKEY] is not None:
            break
        i -= 2
    if i < 0 or a is None:
        return _no_key(res, path, segs, q, i)
    key_i = i
    key_entry = a[0]

    pairs = []
    entries_of = []
    path_ais = []
    j = key_i
    while j < len(segs):
        ai = segs[j]
        a = _ais.get(ai) or _ai(ai)
        raw = segs[j + 1]
        if not raw:
            return _fail(res, "dl_empty_value", "AI (%s) has an empty value in the path" % ai, _seg_at(q, segs, j + 1))
        value = raw if plain else unescape(raw, False)
        if value is None:
            return _fail(res, "dl_bad_percent_escape", "AI (%s) in the path: '%%00' decodes to a NUL character" % ai, _seg_at(q, segs, j + 1))
        if zs:
            value = _pad_gtin(ai, value)
        if not (a[1] <= len(value) <= a[2]) or (ai == "01" and len(value) != 14) or (not plain and value.find("^") >= 0):
            return _length_error(ai, a, value, res, True)
        if len(pairs) >= MAX_AIS:
            return _fail(res, "dl_too_many_ais", "more than %d AIs in the path" % MAX_AIS, _seg_at(q, segs, j))
        pairs.append((ai, value))
        entries_of.append(a[0])
        path_ais.append(ai)
        j += 2

    # Query parameters, in order ("&&" separates nothing).
    query_ais = []
    entries = len(pairs)
    if query:
        qplain = plain and query.find("+") < 0
        params = query.split("&")
        for x in range(len(params)):
            seg = params[x]
            if not seg:
                continue
            ai, eq, raw = seg.partition("=")
            if eq:
                # All digits; the Syntax Engine reads an empty name as an
                # unknown AI.
                if not ai.strip(_DIGITS):
                    if not ai:
                        return _fail(res, "dl_unknown_ai", "query parameter '%s' has an empty name, read as an unknown AI" % _clip(seg), qpos + _param_at(params, x))
                    a = _ais.get(ai) or _ai(ai)
                    if a is None:
                        return _fail(res, "dl_unknown_ai", "query parameter (%s) is numeric but not a known GS1 AI" % ai, qpos + _param_at(params, x))
                    if not raw:
                        return _fail(res, "dl_empty_value", "AI (%s) has an empty value in the query" % ai, qpos + _param_at(params, x))
                    value = raw if qplain else unescape(raw, True)
                    if value is None:
                        return _fail(res, "dl_bad_percent_escape", "AI (%s) in the query: '%%00' decodes to a NUL character" % ai, qpos + _param_at(params, x))
                    if zs:
                        value = _pad_gtin(ai, value)
                    if not (a[1] <= len(value) <= a[2]) or (ai == "01" and len(value) != 14) or (not plain and value.find("^") >= 0):
                        return _length_error(ai, a, value, res, False)
                    pairs.append((ai, value))
                    entries_of.append(a[0])
                    query_ais.append(ai)
                # else: a non-numeric parameter, ignored
            # else: a singleton without '=', ignored
            entries += 1
            if entries > MAX_AIS:
                return _fail(res, "dl_too_many_ais", "more than %d AIs and query parameters" % MAX_AIS, qpos + _param_at(params, x))
        if query.endswith("&"):
            # The Syntax Engine counts the empty parameter after a final '&'.
            entries += 1
            if entries > MAX_AIS:
                return _fail(res, "dl_too_many_ais", "more than %d AIs and query parameters" % MAX_AIS, qpos + len(query))

    # The checks of the AI layout depend on the AIs alone, and the same few
    # layouts recur: one that passed once passes again.
    shape = "/".join(path_ais) + "?" + "&".join(query_ais)
    if shape not in _good_shapes:
        if not _check_shape(res, path_ais, query_ais, key_entry, _seg_at(q, segs, key_i)):
            return None
        if len(_good_shapes) >= _SHAPES_MAX:
            _good_shapes.clear()
        _good_shapes[shape] = True

    # The values themselves (character sets, check digits, dates, ...).
    for x in range(len(pairs)):
        ai, value = pairs[x]
        gs1.check_value(ai, entries_of[x], value, res)
    return pairs


_good_shapes = {}
_SHAPES_MAX = 256 if D._CACHE_MAX > 100 else 8


def _check_shape(res, path_ais, query_ais, key_entry, key_at):
    # The path must be the key followed by an allowed qualifier sequence.
    quals = path_ais[1:]
    if not _valid_quals(key_entry[D.DLPKEY], quals):
        return _bad_sequence(res, path_ais, key_entry[D.DLPKEY], key_at)

    # No AI twice (path and query together), reported in AI order.
    ais = sorted(path_ais + query_ais)
    for x in range(len(ais) - 1):
        if ais[x] == ais[x + 1]:
            return _fail(res, "dl_duplicate_ai", "AI (%s) appears more than once in the URI" % ais[x], ais[x])

    # Query AIs must be data attributes and must not belong in the path.
    for ai in sorted(query_ais):
        if not D.lookup(ai)[D.DL_ATTR]:
            return _fail(res, "dl_not_dl_attribute", "AI (%s) is not permitted as a Digital Link query attribute" % ai, ai)
        for x in range(1, len(path_ais) + 1):
            if _valid_quals(key_entry[D.DLPKEY], quals[: x - 1] + [ai] + quals[x - 1 :]):
                return _fail(
                    res,
                    "dl_qualifier_in_query",
                    "AI (%s) is a key qualifier of (%s): put it in the path (/%s/...), not in the query" % (ai, path_ais[0], ai),
                    ai,
                )
    return True


def unescape(s, query):
    # Percent-decoding as the Syntax Engine does it: "%hh" -> one byte (as the
    # character of that code), a '%' not followed by two hex digits stays as
    # is, "+" is a space in the query only.  None when a "%00" is found.
    if s.find("%") < 0 and (not query or s.find("+") < 0):
        return s
    out = []
    n = len(s)
    i = 0
    while i < n:
        c = s[i]
        if c == "%" and i + 2 < n:
            hi = _HEX.find(s[i + 1].lower())
            lo = _HEX.find(s[i + 2].lower())
            if hi >= 0 and lo >= 0:
                b = hi * 16 + lo
                if b == 0:
                    return None
                out.append(chr(b))
                i += 3
                continue
            out.append(c)
        elif c == "+" and query:
            out.append(" ")
        else:
            out.append(c)
        i += 1
    return "".join(out)


# --- helpers ----------------------------------------------------------------


def _fail(res, code, message, at):
    R.error(res, code, message, at)
    return None


def _entry(ai):
    # Dictionary entry of an exact AI string, else None.
    if len(ai) < 2 or len(ai) > 4 or not dates.digits(ai):
        return None
    return D.lookup(ai)


# AI string -> (dictionary entry, least and most characters of its value),
# worked out once for each AI met.
_ais = {}


def _ai(s):
    # _ais entry of an exact AI string, else None.
    e = _entry(s)
    if e is None:
        return None
    lo = 0
    hi = 0
    for typ, mn, mx, optional, linters in e[D.COMPONENTS]:
        if not optional:
            lo += mn
        hi += mx
    if len(_ais) >= D._CACHE_MAX:
        _ais.clear()
    a = (e, lo, hi)
    _ais[s] = a
    return a


def _param_at(params, x):
    # Position in the query of parameter x of query.split("&").
    p = 0
    for k in range(x):
        p += len(params[k]) + 1
    return p


def _seg_at(q, segs, j):
    # Position in the URI of path segment j (the path starts with '/' at q).
    s = q + 1
    for x in range(j):
        s += len(segs[x]) + 1
    return s


def _pad_gtin(ai, value):
    # Legacy zero-suppressed GTIN-8/12/13 -> GTIN-14.
    if ai == "01" and len(value) in (8, 12, 13):
        return "00000000000000"[: 14 - len(value)] + value
    return value


def _length_error(ai, a, value, res, in_path):
    # Reports why a value of AI ai (a = _ai(ai)) fails the length checks.
    n = len(value)
    if ai == "01" and n != 14:
        where = "path" if in_path else "query"
        if n in (8, 12, 13):
            msg = "the GTIN (01) in the %s has %d digits; a Digital Link URI needs the 14-digit form (pad with leading zeros)" % (where, n)
        else:
            msg = "the GTIN (01) in the %s has %d characters, not 14" % (where, n)
        return _fail(res, "dl_bad_gtin_length", msg, ai)
    if n < a[1]:
        return _fail(res, "ai_data_too_short", "AI (%s) value is too short (%d characters, at least %d)" % (ai, n, a[1]), ai)
    if n > a[2]:
        return _fail(res, "ai_data_too_long", "AI (%s) value is too long (%d characters, at most %d)" % (ai, n, a[2]), ai)
    return _fail(res, "illegal_caret", "AI (%s) value contains '^', which GS1 data never contains" % ai, ai)


def _valid_quals(dlpkey, quals):
    # quals is an in-order subsequence of one alternative qualifier sequence.
    for seq in dlpkey:
        k = 0
        for a in seq:
            if k < len(quals) and quals[k] == a:
                k += 1
        if k == len(quals):
            return True
    return False


def _describe(dlpkey):
    alts = [", ".join(seq) for seq in dlpkey if seq]
    if not alts:
        return "it takes no key qualifiers"
    return "its qualifiers are " + " or ".join(alts) + " (in that order, one alternative only)"


def _bad_sequence(res, path_ais, dlpkey, at):
    key = path_ais[0]
    for ai in path_ais[1:]:
        known = False
        for seq in dlpkey:
            if ai in seq:
                known = True
        if not known:
            return _fail(res, "dl_not_qualifier", "AI (%s) cannot follow primary key (%s) in the path: %s" % (ai, key, _describe(dlpkey)), ai)
    return _fail(
        res,
        "dl_bad_qualifier_order",
        "the key qualifiers (%s) after primary key (%s) are not an allowed sequence: %s"
        % (")(".join(path_ais[1:]), key, _describe(dlpkey)),
        at,
    )


def _no_key(res, path, segs, q, stop):
    if len(segs) >= 2 and path.endswith("/"):
        return _fail(res, "dl_no_primary_key", "the URI path ends with '/'; it must end with /AI/value", _seg_at(q, segs, len(segs) - 1) - 1)
    if stop >= 0:
        seg = segs[stop]
        key_left = False
        for x in range(stop):
            e = _entry(segs[x])
            if e is not None and e[D.DLPKEY] is not None:
                key_left = True
        if key_left and len(seg) >= 2 and len(seg) <= 4 and dates.digits(seg):
            return _fail(res, "dl_unknown_ai", "(%s) in the path is not a known GS1 AI" % seg, _seg_at(q, segs, stop))
        if key_left:
            return _fail(
                res,
                "dl_no_primary_key",
                "'/%s/%s' is not an /AI/value pair: after the primary key the path must hold only /AI/value pairs"
                % (_clip(seg), _clip(segs[stop + 1])),
                _seg_at(q, segs, stop),
            )
    return _fail(res, "dl_no_primary_key", "no GS1 primary key (such as /01/<GTIN-14>) at the end of the URI path '%s'" % _clip(path), q)


def _show(c):
    if " " < c <= "~":
        return "'" + c + "'"
    return "U+%04X" % ord(c)


def _clip(s):
    return s if len(s) <= 40 else s[:40] + "..."


def clear_caches():
    # Forget everything remembered (tests compare warm and cold results).
    for cache in (_ais, _good_shapes):
        cache.clear()
