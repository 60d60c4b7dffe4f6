# HIBC (Health Industry Bar Code, ANSI/HIBC 2.x Supplier Labeling Standard).
# Reference: ../shared/reference/codes.md §2 (structure, flags, mod-43) and §9.
#
# Forms read by parse():
#   primary        +LIC PCN U/M C              LIC 4 chars (first a letter),
#                                              PCN 1-18 (warn > 13), U/M digit
#   secondary      +<flag data>[/supp...] L C  separate symbol; L = link char
#                                              (= the primary's check char)
#   concatenated   +LIC PCN U/M/<flag data>[/supp...] C   one check over all
#   joined         primary immediately followed by a secondary symbol (two
#                  linear symbols read as one string); the link is checked
# Supplementary data (HIBC 2.5/2.6): /14D YYYYMMDD expiry, /16D YYYYMMDD
# manufacture date, /S serial, /Q quantity.
# A separate secondary cannot know its primary: pi["link"] holds the link
# char and check_link() pairs two results.  build() makes the concatenated
# string for printing.

from . import result
from . import dates
from .checkchars import HIBC_CHARS, hibc_mod43

SCHEME = "hibc"

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"

# Secondary date-format flag -> layout.  For 0/1 (MMYY) the flag digit is the
# first digit of the month and belongs to the date; the others are consumed.
_FORMATS = {
    "0": "MMYY",
    "1": "MMYY",
    "2": "MMDDYY",
    "3": "YYMMDD",
    "4": "YYMMDDHH",
    "5": "YYJJJ",
    "6": "YYJJJHH",
    "7": "",
}

# HIBC character -> mod-43 value, for _mod43 (map() and sum() run in C).
_VALUES = {HIBC_CHARS[i]: i for i in range(len(HIBC_CHARS))}

_MAX_FIELD = 18
_LEGACY_FIELD = 13


def _show(c):
    if c == " ":
        return "space"
    return "'" + c + "'"


def _is_alnum(c):
    return ("0" <= c <= "9") or ("A" <= c <= "Z")


def _first_non_alnum(s):
    # Index of the first character that is not a digit or upper-case letter,
    # or -1 (lstrip() runs in C).
    rest = s.lstrip(_ALNUM)
    return len(s) - len(rest) if rest else -1


def _is_digit(c):
    return "0" <= c <= "9"


def _year(yy, opts):
    # 2-digit year: sliding century window around opts["today"], else 20yy.
    today = opts.get("today") if opts else None
    if today and len(today) >= 4 and dates.digits(today[:4]):
        return dates.century_year(yy, int(today[:4]))
    return 2000 + yy


def _print(opts):
    return bool(opts) and opts.get("profile") == "print"


def _set_pi(res, key, value, at):
    old = res["pi"].get(key)
    if old is not None and old != value:
        result.error(
            res,
            "hibc_conflict",
            "%s is given twice with different values (%s, then %s at position %d)" % (key, old, value, at),
            at,
        )
        return
    res["pi"][key] = value


def _mod43(s):
    # hibc_mod43 for text already checked against HIBC_CHARS (by _charset).
    return HIBC_CHARS[sum(map(_VALUES.get, s)) % 43]  # type: ignore[arg-type]  # every char has a value (checked)


def _check(res, body, chk, at, title):
    expected = _mod43(body)
    res["elements"].append({"key": "check", "title": title, "value": chk})
    if chk != expected:
        result.error(
            res,
            "hibc_bad_check",
            "check character at position %d is %s; mod-43 of the %d characters from '+' up to it gives %s"
            % (at, _show(chk), len(body), _show(expected)),
            at,
        )
    return expected


def _charset(res, d, base):
    # strip() runs in C and leaves nothing when every character is allowed.
    if not d.strip(HIBC_CHARS):
        return True
    nlow = nbad = 0
    first_low = first_bad = -1
    for i in range(len(d)):
        c = d[i]
        if HIBC_CHARS.find(c) >= 0:
            continue
        if "a" <= c <= "z":
            nlow += 1
            if first_low < 0:
                first_low = i
        else:
            nbad += 1
            if first_bad < 0:
                first_bad = i
    if nlow:
        result.error(
            res,
            "hibc_lower_case",
            "%d lower-case letter(s), the first %s at position %d: HIBC allows upper case only"
            % (nlow, _show(d[first_low]), base + first_low),
            base + first_low,
        )
    if nbad:
        c = d[first_bad]
        result.error(
            res,
            "hibc_bad_char",
            "%d character(s) outside the HIBC set (0-9 A-Z - . space $ / + %%), the first U+%04X at position %d"
            % (nbad, ord(c), base + first_bad),
            base + first_bad,
        )
    return not (nlow or nbad)


def _hri_part(s, ntail):
    # Caption text: the check (and link) char shown as "_" when it is a space.
    head = s[: len(s) - ntail]
    tail = s[len(s) - ntail :].replace(" ", "_")
    return "*" + head + tail + "*"


# ---- dates --------------------------------------------------------------


def _date(res, opts, fmt, s, at, what):
    # s: len(fmt) ASCII digits laid out as fmt (YY/YYYY, MM, DD, JJJ, HH).
    # Returns the ISO date, or None after recording an error.
    label = "%s '%s' (%s)" % (what, s, fmt)
    y = fmt.find("Y")
    if fmt.find("YYYY") >= 0:
        year = int(s[y : y + 4])
    else:
        year = _year(int(s[y : y + 2]), opts)
    j = fmt.find("J")
    if j >= 0:
        ddd = int(s[j : j + 3])
        iso = dates.julian(year, ddd)
        if iso is None:
            result.error(
                res,
                "hibc_bad_julian",
                "%s: day %03d does not exist in %d (%d days)" % (label, ddd, year, 366 if dates.is_leap(year) else 365),
                at + j,
            )
            return None
    else:
        m = fmt.find("M")
        month = int(s[m : m + 2])
        if month < 1 or month > 12:
            result.error(res, "hibc_bad_month", "%s: month %02d does not exist" % (label, month), at + m)
            return None
        p = fmt.find("D")
        if p >= 0:
            day = int(s[p : p + 2])
            last = dates.days_in_month(year, month)
            if day < 1 or day > last:
                result.error(
                    res,
                    "hibc_bad_day",
                    "%s: day %02d does not exist, %04d-%02d has %d days" % (label, day, year, month, last),
                    at + p,
                )
                return None
        else:
            day = dates.days_in_month(year, month)
            result.note(
                res,
                "hibc_month_expiry",
                "%s gives month and year only; read as the last day, %s" % (label, dates.iso(year, month, day)),
                at,
            )
        iso = dates.iso(year, month, day)
    h = fmt.find("H")
    if h >= 0:
        hour = int(s[h : h + 2])
        if hour > 23:
            result.error(res, "hibc_bad_hour", "%s: hour %02d is outside 00-23" % (label, hour), at + h)
            return None
    return iso


def _date_flag(res, opts, seg, i, at):
    # seg[i] is a date-format digit 0-7.  Reads the date, returns the index
    # after it, or -1 when the segment cannot be read further.
    flag = seg[i]
    fmt = _FORMATS[flag]
    start = i if flag in "01" else i + 1
    if not fmt:
        return start
    raw = seg[start : start + len(fmt)]
    if len(raw) < len(fmt):
        result.error(
            res,
            "hibc_truncated",
            "expiry date in format %s needs %d digits at position %d, only %d left"
            % (fmt, len(fmt), at + start, len(raw)),
            at + start,
        )
        return -1
    if not dates.digits(raw):
        result.error(
            res,
            "hibc_bad_date",
            "expiry date '%s' (%s) at position %d must be digits" % (raw, fmt, at + start),
            at + start,
        )
        return -1
    result.element(res, "expiry", "Expiry date (%s)" % fmt, raw)
    iso = _date(res, opts, fmt, raw, at + start, "expiry date")
    if iso is not None:
        _set_pi(res, "expiry", iso, at + start)
    return start + len(fmt)


# ---- fields ---------------------------------------------------------------


def _quantity(res, raw, at, title):
    if not dates.digits(raw):
        result.error(res, "hibc_bad_quantity", "quantity '%s' at position %d must be digits" % (raw, at), at)
        return
    result.element(res, "quantity", title, raw)
    q = int(raw)
    if q == 0:
        result.warning(res, "hibc_quantity_zero", "quantity at position %d is zero" % at, at)
    _set_pi(res, "quantity", q, at)


def _lot_or_serial(res, field, serial, at, title=None):
    key = "serial" if serial else "lot"
    if title is None:
        title = "Serial number" if serial else "Lot/batch number"
    n = len(field)
    if n > _MAX_FIELD:
        result.error(
            res,
            "hibc_field_too_long",
            "%s '%s' at position %d has %d characters, at most %d allowed" % (key, field, at, n, _MAX_FIELD),
            at,
        )
    elif n > _LEGACY_FIELD:
        result.warning(
            res,
            "hibc_field_legacy_length",
            "%s '%s' at position %d has %d characters; readers built to older HIBC versions accept at most %d"
            % (key, field, at, n, _LEGACY_FIELD),
            at,
        )
    result.element(res, key, title, field)
    _set_pi(res, key, field, at)


def _deprecated(res, opts, flag, at):
    if _print(opts):
        result.warning(
            res,
            "hibc_deprecated_flag",
            "secondary format '%s' at position %d is kept for backward compatibility only; "
            "print $$-formats (and /Q for quantity)" % (flag, at),
            at,
        )


def _secondary(res, opts, seg, at):
    # One secondary data segment (starts with '$' or a digit), at = position.
    serial = False
    if seg[:2] == "$$":
        serial = seg[2:3] == "+"
        i = 3 if serial else 2
        flag = seg[i : i + 1]
        if flag == "":
            result.error(
                res,
                "hibc_truncated",
                "'%s' at position %d must be followed by a format digit 0-9" % (seg[:i], at),
                at + i,
            )
            return
        if not _is_digit(flag):
            result.error(
                res,
                "hibc_bad_flag",
                "'%s' at position %d must be followed by a format digit 0-9, not %s" % (seg[:i], at, _show(flag)),
                at + i,
            )
            return
        result.element(res, "flag", "Secondary data flag", seg[:i] + ("" if flag in "01" else flag))
        if flag in "89":
            _deprecated(res, opts, seg[: i + 1], at)
            qlen = 2 if flag == "8" else 5
            raw = seg[i + 1 : i + 1 + qlen]
            if len(raw) < qlen:
                result.error(
                    res,
                    "hibc_truncated",
                    "'%s' at position %d needs a %d-digit quantity, only %d characters left"
                    % (seg[: i + 1], at, qlen, len(raw)),
                    at + i + 1,
                )
                return
            if not dates.digits(raw):
                result.error(
                    res,
                    "hibc_bad_quantity",
                    "quantity '%s' after '%s' at position %d must be %d digits" % (raw, seg[: i + 1], at + i + 1, qlen),
                    at + i + 1,
                )
                return
            _quantity(res, raw, at + i + 1, "Quantity (%s)" % seg[: i + 1])
            i = i + 1 + qlen
            nxt = seg[i : i + 1]
            if _is_digit(nxt):
                if nxt in "89":
                    result.error(
                        res,
                        "hibc_bad_flag",
                        "after the quantity at position %d a date format 0-7 must follow, not '%s'" % (at + i, nxt),
                        at + i,
                    )
                    return
                i = _date_flag(res, opts, seg, i, at)
            elif nxt:
                result.warning(
                    res,
                    "hibc_no_date_flag",
                    "no date-format digit (0-7) after the quantity at position %d; '%s' read as %s"
                    % (at + i, seg[i:], "serial" if serial else "lot"),
                    at + i,
                )
        else:
            i = _date_flag(res, opts, seg, i, at)
        if i < 0:
            return
    elif seg[:1] == "$":
        serial = seg[1:2] == "+"
        i = 2 if serial else 1
        result.element(res, "flag", "Secondary data flag", seg[:i])
        _deprecated(res, opts, seg[:i], at)
    else:
        raw = seg[:5]
        if len(raw) < 5 or not dates.digits(raw):
            # Callers only come here with 5 leading digits; kept for safety.
            result.error(
                res, "hibc_bad_date", "secondary data at position %d must start with '$' or a 5-digit YYJJJ date" % at, at
            )
            return
        _deprecated(res, opts, "YYJJJ", at)
        result.element(res, "expiry", "Expiry date (YYJJJ, legacy)", raw)
        iso = _date(res, opts, "YYJJJ", raw, at, "expiry date")
        if iso is not None:
            _set_pi(res, "expiry", iso, at)
        i = 5
    field = seg[i:]
    if field:
        _lot_or_serial(res, field, serial, at + i)


def _starts_5_digits(seg):
    return len(seg) >= 5 and dates.digits(seg[:5])


def _segment(res, opts, seg, at):
    # A segment after '/' (concatenated form or supplementary data).
    if seg == "":
        result.error(res, "hibc_empty_segment", "empty data segment at position %d ('//' or trailing '/')" % at, at)
    elif seg[:3] == "14D" or seg[:3] == "16D":
        key = "expiry" if seg[:3] == "14D" else "production_date"
        what = "expiry date" if key == "expiry" else "manufacture date"
        raw = seg[3:]
        if len(raw) < 8:
            result.error(
                res,
                "hibc_truncated",
                "/%s at position %d needs an 8-digit YYYYMMDD date, got '%s'" % (seg[:3], at, raw),
                at + 3,
            )
        elif len(raw) > 8 or not dates.digits(raw):
            result.error(
                res,
                "hibc_bad_date",
                "/%s at position %d must be followed by exactly 8 digits YYYYMMDD, got '%s'" % (seg[:3], at, raw),
                at + 3,
            )
        else:
            title = "Expiry date (/14D YYYYMMDD)" if key == "expiry" else "Manufacture date (/16D YYYYMMDD)"
            result.element(res, key, title, raw)
            iso = _date(res, opts, "YYYYMMDD", raw, at + 3, what)
            if iso is not None:
                _set_pi(res, key, iso, at + 3)
    elif seg[0] == "S":
        if len(seg) == 1:
            result.error(res, "hibc_empty_field", "/S at position %d has no serial number" % at, at)
        else:
            _lot_or_serial(res, seg[1:], True, at + 1, "Serial number (/S)")
    elif seg[0] == "Q":
        if len(seg) == 1:
            result.error(res, "hibc_empty_field", "/Q at position %d has no quantity" % at, at)
        else:
            _quantity(res, seg[1:], at + 1, "Quantity (/Q)")
    elif seg[0] == "$" or _starts_5_digits(seg):
        _secondary(res, opts, seg, at)
    else:
        result.error(
            res,
            "hibc_unknown_segment",
            "segment '%s' at position %d is neither secondary data ('$...' or a 5-digit date) "
            "nor supplementary data (14D, 16D, S, Q)" % (seg, at),
            at,
        )


def _segments(res, opts, body, at):
    # body = segments joined by '/', at = position of body[0].
    start = 0
    while True:
        k = body.find("/", start)
        if k < 0:
            _segment(res, opts, body[start:], at + start)
            return
        _segment(res, opts, body[start:k], at + start)
        start = k + 1


# ---- primary / secondary / whole forms -------------------------------------


def _primary_fields(res, p, at):
    # p = "+" LIC PCN U/M (no check char).  Fills di, package level.
    if len(p) < 7:
        result.error(
            res,
            "hibc_truncated",
            "primary data '%s' at position %d is too short: '+', 4-character LIC, PCN (1-18), U/M digit needed"
            % (p, at),
            at + len(p),
        )
        return False
    ok = True
    lic = p[1:5]
    pcn = p[5:-1]
    um = p[-1]
    i = _first_non_alnum(lic)
    if i >= 0:
        result.error(
            res,
            "hibc_bad_lic",
            "LIC '%s' has %s at position %d; only digits and upper-case letters are allowed"
            % (lic, _show(lic[i]), at + 1 + i),
            at + 1 + i,
        )
        ok = False
    i = _first_non_alnum(pcn)
    if i >= 0:
        result.error(
            res,
            "hibc_bad_pcn",
            "PCN '%s' has %s at position %d; only digits and upper-case letters are allowed"
            % (pcn, _show(pcn[i]), at + 5 + i),
            at + 5 + i,
        )
        ok = False
    if len(pcn) > 18:
        result.error(
            res, "hibc_pcn_too_long", "PCN '%s' at position %d has %d characters, at most 18" % (pcn, at + 5, len(pcn)), at + 5
        )
        ok = False
    elif len(pcn) > 13:
        result.warning(
            res,
            "hibc_pcn_legacy_length",
            "PCN '%s' at position %d has %d characters; readers built to older HIBC versions accept at most 13"
            % (pcn, at + 5, len(pcn)),
            at + 5,
        )
    elements = res["elements"]
    elements.append({"key": "lic", "title": "Labeler identification code (LIC)", "value": lic})
    elements.append({"key": "pcn", "title": "Product/catalogue number (PCN)", "value": pcn})
    if not _is_digit(um):
        result.error(
            res,
            "hibc_bad_um",
            "unit of measure at position %d is %s; it must be a digit 0-9 (packaging level)" % (at + len(p) - 1, _show(um)),
            at + len(p) - 1,
        )
        return False
    elements.append({"key": "um", "title": "Unit of measure (packaging level)", "value": um})
    if ok:
        res["di"] = p
        res["package_level"] = int(um)
    return ok


def _primary_symbol(res, d, at):
    # d = "+" LIC PCN U/M C
    if len(d) < 8:
        result.error(
            res,
            "hibc_truncated",
            "primary data needs at least 8 characters ('+', 4-character LIC, PCN, U/M digit, check character), got %d"
            % len(d),
            at + len(d),
        )
        return None
    _primary_fields(res, d[:-1], at)
    return _check(res, d[:-1], d[-1], at + len(d) - 1, "Check character (mod 43)")


def _secondary_symbol(res, opts, d, at):
    # d = "+" secondary [/supplementary...] L C  (separate symbol)
    if len(d) < 4:
        result.error(
            res,
            "hibc_truncated",
            "secondary data needs at least 4 characters ('+', format flag, link and check characters), got %d" % len(d),
            at + len(d),
        )
        return None
    body = d[1:-2]
    link = d[-2]
    k = body.find("/")
    first = body if k < 0 else body[:k]
    _secondary(res, opts, first, at + 1)
    if k >= 0:
        _segments(res, opts, body[k + 1 :], at + 2 + k)
    result.element(res, "link", "Link character (= check character of the primary)", link)
    res["pi"]["link"] = link
    _check(res, d[:-1], d[-1], at + len(d) - 1, "Check character (mod 43)")
    return link


def _link_error(link, expected):
    return (
        "hibc_bad_link",
        "link character %s of the secondary symbol does not match the primary's check character %s"
        % (_show(link), _show(expected)),
        "link",
    )


def _joined_at(d):
    # Index of the '+' starting a secondary symbol read right after a primary
    # symbol ("+A123BJC5D6E71G+$$52001510X3GD"), or -1.  The primary body is
    # alphanumeric, so the split is at the first non-alphanumeric character k
    # (the '+' itself) or just after it (k is then the primary's check char).
    n = len(d)
    k = n - len(d[1:].lstrip(_ALNUM))  # lstrip() runs in C
    for p in (k + 1, k):
        if p + 1 < n and d[p] == "+" and (d[p + 1] == "$" or _is_digit(d[p + 1])):
            return p
    return -1


def parse(data, res, opts=None):
    if opts is None:
        opts = {}
    d = data
    base = 0
    if len(d) >= 2 and d[0] == "*" and d[-1] == "*":
        d = d[1:-1].replace("_", " ")
        base = 1
        result.warning(
            res,
            "hibc_hri_input",
            "data was wrapped in '*...*' like a printed caption; the asterisks were removed and '_' read as space",
            0,
        )
    if d == "":
        result.error(res, "hibc_empty", "no HIBC data", 0)
        return res
    if not _charset(res, d, base):
        return res
    if d[0] != "+":
        result.error(res, "hibc_no_flag", "HIBC data must start with '+', not %s" % _show(d[0]), base)
        return res
    c = d[1:2]
    if c == "":
        result.error(res, "hibc_truncated", "only the '+' flag, no data", base + 1)
    elif "A" <= c <= "Z":
        p = _joined_at(d)
        if p > 0:
            expected = _primary_symbol(res, d[:p], base)
            link = _secondary_symbol(res, opts, d[p:], base + p)
            # A wrong primary check is already an error; the link is judged
            # only against a primary whose own check is right.
            if expected is not None and link is not None and link != expected and d[p - 1] == expected:
                code, msg, _ = _link_error(link, expected)
                result.error(res, code, msg, base + len(d) - 2)
            res["hri"] = _hri_part(d[:p], 1) + " " + _hri_part(d[p:], 2)
        elif d[:-1].find("/") > 0:
            body = d[:-1]
            k = body.find("/")
            _primary_fields(res, body[:k], base)
            _segments(res, opts, body[k + 1 :], base + k + 1)
            _check(res, body, d[-1], base + len(d) - 1, "Check character (mod 43, whole string)")
            res["hri"] = _hri_part(d, 1)
        else:
            _primary_symbol(res, d, base)
            res["hri"] = _hri_part(d, 1)
    elif c == "$" or _starts_5_digits(d[1:]):
        if _secondary_symbol(res, opts, d, base) is not None:
            result.note(
                res,
                "hibc_link_unverified",
                "separate secondary symbol: link character %s can only be checked against its primary symbol"
                % _show(res["pi"]["link"]),
                base + len(d) - 2,
            )
        res["hri"] = _hri_part(d, 2)
    elif _is_digit(c):
        result.error(
            res,
            "hibc_lic_first_digit",
            "'+' is followed by the digit '%s': a primary's LIC must start with a letter, "
            "and a secondary symbol would need a 5-digit YYJJJ date here" % c,
            base + 1,
        )
    else:
        result.error(
            res,
            "hibc_bad_start",
            "'+' is followed by %s: expected a letter (primary LIC) or a digit or '$' (secondary data)" % _show(c),
            base + 1,
        )
    return res


def check_link(primary_result, secondary_result):
    # Pair a primary and a separate secondary symbol.  Returns None when the
    # secondary's link character equals the primary's check character, else
    # an error tuple (code, message, at) for result.error(res, *t).
    if primary_result.get("scheme") != SCHEME or not primary_result.get("di"):
        return ("hibc_link_no_primary", "the first code is not an HIBC primary (no LIC/PCN/U/M read)", None)
    link = (secondary_result.get("pi") or {}).get("link")
    if secondary_result.get("scheme") != SCHEME or link is None:
        return ("hibc_link_no_secondary", "the second code is not a separate HIBC secondary symbol (no link character)", None)
    expected = hibc_mod43(primary_result["di"])
    if link != expected:
        return _link_error(link, expected)
    return None


# ---- builder ----------------------------------------------------------------


def build(lic, pcn, um, *args, **kw):
    # Concatenated HIBC string with its check character, for printing; see
    # udi_codes/hibc_build.py (kept apart so the firmware never loads it).
    from .hibc_build import build as _build

    return _build(lic, pcn, um, *args, **kw)
