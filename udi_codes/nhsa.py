# China medical-insurance codes (国家医保编码) — codes.md §5.
#   nhsa-drug:       X + 22 (西药, 23 chars, positions 2-6 an ATC-like class)
#                    Z + 19 (中成药, 20 chars); upper-case letters and digits
#   nhsa-consumable: C + 19 digits (20) or C + 26 digits (27 = 20 + 7-digit
#                    specification code)
# Catalogue codes: no PI, no dates, no documented check character.
# "at" in errors is a 0-based index into data.

from . import result
from . import dates

# Segment (key, title, start, end) per kind; widths UNCONFIRMED (§5.1, §5.2).
_WESTERN = (
    ("kind", "Drug kind (药品标识码, X = 西药)", 0, 1),
    ("class", "Class code (类别码, ATC-like)", 1, 6),
    ("name", "Name code (名称码)", 6, 10),
    ("form", "Dosage-form code (剂型码)", 10, 14),
    ("spec", "Specification/packaging code (规格包装码)", 14, 18),
    ("enterprise", "Enterprise code (企业码)", 18, 23),
)
_CHINESE = (
    ("kind", "Drug kind (药品标识码, Z = 中成药)", 0, 1),
    ("class", "Class code (类别码)", 1, 6),
    ("name", "Name code (名称码)", 6, 11),
    ("spec", "Specification code (规格码)", 11, 15),
    ("enterprise", "Enterprise code (企业码)", 15, 20),
)
_CONSUMABLE = (
    ("kind", "Consumable mark (耗材标识码)", 0, 1),
    ("class", "Classification code (分类码)", 1, 7),
    ("name", "Generic-name code (通用名码)", 7, 10),
    ("feature", "Product-feature code (产品特征码)", 10, 15),
    ("enterprise", "Enterprise code (生产企业码)", 15, 20),
    ("spec", "Specification/model code (规格型号码)", 20, 27),
)


_DIGITS = "0123456789"
_UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _upper(c):
    return "A" <= c <= "Z"


def _digit(c):
    return "0" <= c <= "9"


def scheme_of(data):
    # Claim X/Z/C codes of 15-30 chars that are mostly upper-case letters and
    # digits, so near misses get a precise length / character error.
    n = len(data)
    if n < 15 or n > 30 or data[0] not in "XZC":
        return None
    bad = 0
    # strip() runs in C and leaves nothing when every character is fine.
    if data.strip(_UPPER_DIGITS):
        for c in data:
            if not (_upper(c) or _digit(c)):
                bad += 1
    if bad * 5 > n:
        return None
    return "nhsa-consumable" if data[0] == "C" else "nhsa-drug"


def parse(data, res, opts):
    first = data[0:1]
    n = len(data)
    if first == "C":
        res["scheme"] = "nhsa-consumable"
        what, lengths, layout = "medical consumable code (医用耗材)", (20, 27), _CONSUMABLE  # type: str, tuple, tuple
    elif first == "Z":
        res["scheme"] = "nhsa-drug"
        what, lengths, layout = "Chinese patent medicine code (中成药)", (20,), _CHINESE
    else:
        res["scheme"] = "nhsa-drug"
        what, lengths, layout = "western drug code (西药)", (23,), _WESTERN
        if first != "X":
            result.error(res, "nhsa_bad_char", "medical-insurance code must start with X, Z or C, got '%s'" % first, 0)

    if n not in lengths:
        expected = " or ".join([str(k) for k in lengths])
        result.error(
            res, "nhsa_bad_length", "%s must be %s characters, got %d" % (what, expected, n), n
        )
    # The precise loop only when some character is wrong (strip() runs in C).
    if data[1:].strip(_DIGITS if first == "C" else _UPPER_DIGITS):
        _bad_chars(data, first, res)
    if first == "X" and n >= 6:
        cls = data[1:6]
        if not (_upper(cls[0]) and dates.digits(cls[1:3]) and _upper(cls[3]) and _upper(cls[4])):
            result.error(
                res, "nhsa_bad_class", "西药 class '%s' (positions 2-6) must be letter, 2 digits, 2 letters (ATC-like)" % cls, 1
            )

    res["di"] = data
    if n in lengths:
        elements = res["elements"]
        for key, title, start, end in layout:
            if end <= n:
                elements.append({"key": key, "title": title, "value": data[start:end]})
    result.note(
        res,
        "nhsa_segments_unconfirmed",
        "segment widths are from a secondary source, unconfirmed against the official NHSA rule; only the format is checked",
    )
    return res


def _bad_chars(data, first, res):
    # One error for every character after the first that is not allowed.
    for i in range(1, len(data)):
        c = data[i]
        if "a" <= c <= "z":
            result.error(res, "nhsa_lower_case", "character %d ('%s') is lower case; codes are upper case" % (i + 1, c), i)
        elif first == "C" and not _digit(c):
            result.error(res, "nhsa_bad_char", "character %d ('%s') is not a digit" % (i + 1, c), i)
        elif not (_upper(c) or _digit(c)):
            result.error(res, "nhsa_bad_char", "character %d ('%s') is not an upper-case letter or digit" % (i + 1, c), i)
