# MA code (IDcode, ISO/IEC 15459 issuing agency "MA", ZIIOT) — codes.md §3.2.
#
#   MA.156.M0.<6-digit enterprise>.<pack digit><category 6-10><check>[.<PI unit>...]
#
# PI data units are "." + one upper-case letter + value.  Wrapped payloads
# ("...=MA.156...", XML <UDI IAC="MA">) are not handled here.
# "at" in errors is a 0-based index into data, or a data-unit key like ".M".

from . import result
from . import dates

# PI data units: letter -> (title, kind); kind "date" or "text".
UNITS = {
    "L": ("Lot (批次号)", "text"),
    "S": ("Serial number (序列号)", "text"),
    "M": ("Production date (生产日期)", "date"),
    "D": ("Sterilisation lot (灭菌批号)", "text"),
    "V": ("Valid until (有效期)", "date"),
    "E": ("Expiry date (失效期)", "date"),
    "C": ("PI check character", "text"),
    "P": ("Production date, old rule (生产日期 旧规则)", "date"),
    "Y": ("Medical-insurance code (医保编码, unconfirmed)", "text"),
}

# Which res["pi"] key each text unit fills.
PI_KEYS = {"L": "lot", "S": "serial", "D": "sterilisation_lot"}

# Symbols of the MA code table in value order 64, 65, ... (see check_char).
_SYMBOLS = "-.@$,*+%/#!^~"


def _char_value(c):
    # Code-table value of one character, or None when it is not in the table.
    if "0" <= c <= "9":
        return ord(c) - 48
    if "A" <= c <= "Z":
        return ord(c) - 55
    if "a" <= c <= "g":
        return ord(c) - 61  # a=36 .. g=42
    if "h" <= c <= "z":
        return ord(c) - 59  # h=45 .. z=63 (43 and 44 are unused)
    i = _SYMBOLS.find(c)
    if i < 0:
        return None
    return 64 + i


def check_char(s):
    # UNOFFICIAL, reverse-engineered (codes.md §3.2): ZIIOT has not published
    # its algorithm and now hands out codes through its own interface.  This
    # is the label-client variant that reproduces 5 of 6 public check values;
    # another public variant conflicts.  Hence a mismatch is only a warning.
    # Every character becomes its decimal table value; over the concatenated
    # digit string, read from the right, every 2nd digit is doubled (digit sum
    # if > 9) and everything is summed; check = (10 - sum % 10) % 10.
    # Returns the check digit as a str, or None for a character not in the table.
    # The loop keeps state = 2 * sum + parity of the next digit's position
    # from the right; _LUHN[c][parity] is what character c adds to it.
    state = 0
    try:
        for c in reversed(s):
            state += _LUHN[c][state & 1]
    except KeyError:
        return None
    return chr(48 + (10 - (state >> 1) % 10) % 10)


def _luhn_table():
    # A one-digit value adds d (even position) or its double (odd position)
    # and flips the parity; a two-digit value 10a+b adds b and a, one of
    # them doubled, and keeps the parity.  Entry: the state increments from
    # an even and from an odd parity (see check_char).
    def dbl(d):
        return 2 * d - 9 if d > 4 else 2 * d

    table = {}
    for code in range(33, 127):
        c = chr(code)
        v = _char_value(c)
        if v is None:
            continue
        if v < 10:
            table[c] = (2 * v + 1, 2 * dbl(v) - 1)
        else:
            a, b = v // 10, v % 10
            table[c] = (2 * (b + dbl(a)), 2 * (dbl(b) + a))
    return table


_LUHN = _luhn_table()

# Characters allowed in the product segment: letters, digits, "_" and "-".
_CATEGORY_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
# Characters of a PI value: the MA code table without the "." delimiter.
_VALUE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-@$,*+%/#!^~"


def _is_alnum(c):
    return "0" <= c <= "9" or "A" <= c <= "Z" or "a" <= c <= "z"


def _category_char_ok(c):
    # "letters, digits, underscore and some other characters" (§3.2).
    return _is_alnum(c) or c == "_" or c == "-"


def _value_char_ok(c):
    # PI values: the MA code table without the "." delimiter.
    return c != "." and _char_value(c) is not None


def looks_like(data):
    return data.startswith("MA.")


def _date(s):
    # 6 digits = YYMMDD in 20YY (the parsers seen assume this), 8 = YYYYMMDD.
    iso = _dates.get(s, False)
    if iso is False:
        iso = _read_date(s)
        _remember(_dates, s, iso)
    return iso


def _read_date(s):
    if len(s) == 6 and dates.digits(s):
        y, m, d = 2000 + int(s[0:2]), int(s[2:4]), int(s[4:6])
        if dates.valid_ymd(y, m, d):
            return dates.iso(y, m, d)
        return None
    return dates.yyyymmdd(s)


def _mismatch(res, what, expected, found, at):
    result.warning(
        res,
        "ma_check_mismatch",
        "%s check character is %s, the unofficial MA algorithm expects %s "
        "(the issuer has not published its algorithm; not treated as an error)"
        % (what, found, expected),
        at,
    )


def _uncomputable(res, what, at):
    result.warning(
        res,
        "ma_check_uncomputable",
        "%s check character not verified: a character is outside the MA code table" % what,
        at,
    )


# A site reads the same few products over and over: what _parse_di found
# for a UDI-DI (errors, warnings, elements, packaging level) is replayed.
# Dates recur too (every item of a lot).  Small caches on MicroPython.
_di_verdicts = {}
_dates = {}
try:
    import micropython  # noqa: F401

    _CACHE_MAX = 4
except ImportError:
    _CACHE_MAX = 1024


def _remember(cache, key, value):
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value


_DI_KEYS = ("iac", "country", "industry", "enterprise")
_DI_TITLES = ("Issuing agency", "Country", "Industry", "Enterprise code (企业主码)")


def _pos(fields, k):
    # Index in data of fields[k] (data = ".".join(fields)).
    p = 0
    for i in range(k):
        p += len(fields[i]) + 1
    return p


def _parse_di(data, fields, res):
    # Checks the five DI fields.
    n = len(fields)
    if fields[0] != "MA":
        result.error(res, "ma_bad_iac", "issuing agency code must be MA, got '%s'" % fields[0], 0)
    if n < 4:
        result.error(
            res,
            "ma_truncated",
            "MA code ends after %d field(s); a UDI-DI is MA.156.M0.<enterprise>.<product>" % n,
            len(data),
        )
        return
    if fields[1] != "156":
        result.error(res, "ma_bad_country", "country code must be 156, got '%s'" % fields[1], _pos(fields, 1))
    if fields[2] != "M0":
        result.error(res, "ma_bad_industry", "industry code must be M0 (medical devices), got '%s'" % fields[2], _pos(fields, 2))
    if len(fields[3]) != 6 or not dates.digits(fields[3]):
        result.error(res, "ma_bad_enterprise", "enterprise code must be 6 digits, got '%s'" % fields[3], _pos(fields, 3))
    elements = res["elements"]
    for i in range(4):
        elements.append({"key": _DI_KEYS[i], "title": _DI_TITLES[i], "value": fields[i]})
    if n == 4:
        result.error(
            res,
            "ma_no_product_segment",
            "not a UDI-DI: no product segment (MA.156.M0.%s is only the enterprise main code)" % fields[3],
            len(data),
        )
        return

    seg = fields[4]
    at = _pos(fields, 4)
    pack = seg[0:1]
    if len(pack) == 1 and "0" <= pack <= "9":
        res["package_level"] = int(pack)
    else:
        result.error(res, "ma_bad_pack_level", "packaging level must be a digit 0-9, got '%s'" % pack, at)
    category = seg[1:-1]
    if len(category) < 6 or len(category) > 10:
        result.error(
            res,
            "ma_bad_category_length",
            "category code must be 6-10 characters, got %d (product segment '%s')" % (len(category), seg),
            at + 1,
        )
    # strip() runs in C: the precise loop only when some character is wrong.
    if seg[1:].strip(_CATEGORY_CHARS):
        for i in range(1, len(seg)):
            if not _category_char_ok(seg[i]):
                result.error(res, "ma_bad_char", "character '%s' not allowed in the product segment" % seg[i], at + i)
    end = at + len(seg)
    res["di"] = data[0:end]
    elements.append({"key": "pack", "title": "Packaging level (包装规格)", "value": pack})
    elements.append({"key": "category", "title": "Category code (品类编码)", "value": category})
    elements.append({"key": "check", "title": "DI check character", "value": seg[-1:]})
    if len(seg) >= 2:
        expected = check_char(data[0 : end - 1])
        if expected is None:
            _uncomputable(res, "DI", end - 1)
        elif expected != seg[-1]:
            _mismatch(res, "DI", expected, seg[-1], end - 1)


def _parse_pi(data, fields, start, res):
    # The PI data units fields[5:]; start: index in data of the "." before
    # fields[5] (the end of the UDI-DI).
    pi = res["pi"]
    elements = res["elements"]
    seen = ""
    dated = {}
    last = len(fields) - 1
    nxt = start + 1  # index in data of fields[5]
    for k in range(5, len(fields)):
        unit = fields[k]
        at = nxt
        nxt += len(unit) + 1
        if not unit:
            result.error(res, "ma_empty_unit", "empty PI data unit ('..' or trailing '.')", at)
            continue
        letter = unit[0]
        value = unit[1:]
        u = UNITS.get(letter)
        if u is None:
            result.error(res, "ma_unknown_unit", "unknown PI data unit '.%s'" % letter, at)
            continue
        if letter in seen:
            result.error(res, "ma_duplicate_unit", "PI data unit .%s appears more than once" % letter, "." + letter)
            continue
        seen += letter
        if not value:
            result.error(res, "ma_empty_unit", "PI data unit .%s has no value" % letter, "." + letter)
            continue
        elements.append({"key": letter, "title": u[0], "value": value})
        # The unit has no "." (split on it), so strip() with the table's
        # other characters finds the wrong ones.
        if value.strip(_VALUE_CHARS):
            for i in range(len(value)):
                if not _value_char_ok(value[i]):
                    result.error(res, "ma_bad_char", "character '%s' not allowed in .%s" % (value[i], letter), at + 1 + i)
        if u[1] == "date":
            iso = _date(value)
            if iso is None:
                result.error(
                    res, "ma_bad_date", ".%s '%s' is not a real date (YYMMDD or YYYYMMDD)" % (letter, value), "." + letter
                )
            else:
                dated[letter] = iso
        elif letter in PI_KEYS:
            pi[PI_KEYS[letter]] = value
        if letter in "PYC":  # one test for the common units
            if letter == "P":
                result.warning(res, "ma_old_rule", "production date in .P: old rule (before 2020-08-20), now .M", ".P")
            elif letter == "Y":
                result.warning(res, "ma_unconfirmed_unit", "unconfirmed data unit .Y (medical-insurance code) kept as is", ".Y")
            else:
                _pi_check(data, start, at, k, last, value, res)

    if "M" in dated:
        pi["production_date"] = dated["M"]
    elif "P" in dated:
        pi["production_date"] = dated["P"]
    if "V" in dated:
        pi["valid_until"] = dated["V"]
    if "E" in dated:
        pi["expiry"] = dated["E"]
    elif "V" in dated:
        pi["expiry"] = dated["V"]
    if len(fields) > 5 and "C" not in seen:
        result.note(res, "ma_no_pi_check", "PI has no .C check unit; the PI was not checked")


def _pi_check(data, start, at, k, last, value, res):
    # start: index of the PI's first "."; at: index of "C" in ".C".
    key = ".C"
    if k != last:
        result.error(res, "ma_check_not_last", ".C must be the last PI data unit", key)
        return
    if k == 5:
        result.error(res, "ma_check_without_pi", ".C check unit without any PI data unit", key)
        return
    if len(value) != 1:
        result.error(res, "ma_bad_check_unit", ".C must hold one check character, got '%s'" % value, key)
        return
    # The PI check covers the PI from its leading "." up to (not incl.) ".C".
    expected = check_char(data[start : at - 1])
    if expected is None:
        _uncomputable(res, "PI", key)
    elif expected != value:
        _mismatch(res, "PI", expected, value, key)


def parse(data, res, opts):
    res["scheme"] = "ma"
    res["hri"] = data
    fields = data.split(".")
    if len(fields) < 5:
        _parse_di(data, fields, res)
        return res
    # The UDI-DI is the first five fields.
    end = len(fields[0]) + len(fields[1]) + len(fields[2]) + len(fields[3]) + len(fields[4]) + 4
    di = data[0:end]
    hit = _di_verdicts.get(di)
    if hit is None:
        scratch = result.new(data, "ma")
        _parse_di(data, fields, scratch)
        elements = tuple([(e["key"], e["title"], e["value"]) for e in scratch["elements"]])
        hit = (scratch["errors"], scratch["warnings"], elements, scratch["package_level"])
        _remember(_di_verdicts, di, hit)
    # Copies: results never share their entries.
    errors, warnings, elements, level = hit
    for e in errors:
        res["errors"].append(dict(e))
    for w in warnings:
        res["warnings"].append(dict(w))
    res["elements"].extend([{"key": k, "title": t, "value": v} for k, t, v in elements])
    if level is not None:
        res["package_level"] = level
    res["di"] = di
    _parse_pi(data, fields, end, res)
    return res


def _date_field(value, name):
    # Accepts "YYYY-MM-DD", "YYMMDD" or "YYYYMMDD"; prints YYMMDD in 2000-2099.
    if value is None:
        return None
    s = value.replace("-", "") if len(value) == 10 else value
    iso = _date(s)
    if iso is None:
        raise ValueError("%s '%s' is not a real date" % (name, value))
    if iso[0:2] == "20":
        return iso[2:4] + iso[5:7] + iso[8:10]
    return iso[0:4] + iso[5:7] + iso[8:10]


def build(enterprise, pack_digit, category, lot=None, serial=None, production_date=None,
          expiry=None, valid_until=None, sterilisation_lot=None):
    # DI + PI string with both (unofficial) check characters, for printing.
    # Raises ValueError when the result would not parse cleanly.
    di = "MA.156.M0.%s.%s%s" % (enterprise, pack_digit, category)
    dc = check_char(di)
    if dc is None:
        raise ValueError("category '%s' has a character outside the MA code table" % category)
    di += dc
    pi = ""
    for letter, value in (
        ("L", lot),
        ("S", serial),
        ("M", _date_field(production_date, "production_date")),
        ("D", sterilisation_lot),
        ("V", _date_field(valid_until, "valid_until")),
        ("E", _date_field(expiry, "expiry")),
    ):
        if value is not None:
            pi += "." + letter + str(value)
    code = di
    if pi:
        pc = check_char(pi)
        if pc is None:
            raise ValueError("a PI value has a character outside the MA code table")
        code = di + pi + ".C" + pc
    res = parse(code, result.new(code, "ma"), {"profile": "print", "today": None})
    if res["errors"] or res["warnings"]:
        e = (res["errors"] + res["warnings"])[0]
        raise ValueError("cannot build MA code: " + e["message"])
    return code


def clear_caches():
    # Forget everything remembered (tests compare warm and cold results).
    for cache in (_di_verdicts, _dates):
        cache.clear()
