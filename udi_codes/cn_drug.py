# 20-digit drug traceability code (药品追溯码, 码上放心 / former 药品电子监管码)
# — codes.md §4.2.  Digits 1-7 药品标识码, 8-16 serial, 17-20 check digits made
# by a secret algorithm, so only the shape can be checked offline.
# "at" in errors is a 0-based index into data.

from . import result
from . import dates

LENGTH = 20


def looks_like(data):
    # Claim near misses (17-23 chars, at most 2 non-digits) so that they get a
    # precise length / character error instead of "unknown code".
    n = len(data)
    if n < 17 or n > 23 or not data.startswith("8"):
        return False
    if dates.digits(data):
        return True
    bad = 0
    for c in data:
        if c < "0" or c > "9":
            bad += 1
    return bad <= 2


def parse(data, res, opts):
    res["scheme"] = "cn-drug"
    n = len(data)
    if n != LENGTH:
        result.error(
            res, "cn_drug_bad_length", "drug traceability code must be 20 digits, got %d characters" % n, n
        )
    all_digits = dates.digits(data)  # strip() in C; the loop only for errors
    if not all_digits:
        for i in range(n):
            c = data[i]
            if c < "0" or c > "9":
                result.error(
                    res, "cn_drug_non_digit", "character %d ('%s') is not a digit" % (i + 1, c), i
                )
    if n and data[0] != "8":
        # The 码上放心 / 医保 verification filters out codes not starting with 8.
        result.error(
            res, "cn_drug_bad_prefix", "drug traceability code must start with 8, got '%s'" % data[0], 0
        )
    if n == LENGTH and all_digits:
        di = data[0:7]
        serial = data[7:16]
        res["di"] = di
        res["pi"]["serial"] = serial
        elements = res["elements"]
        elements.append({"key": "product", "title": "Drug identification code (药品标识码)", "value": di})
        elements.append({"key": "serial", "title": "Serial number (单品序列号)", "value": serial})
        elements.append({"key": "check", "title": "Check digits (校验位)", "value": data[16:20]})
    result.note(
        res,
        "check_digits_not_verifiable",
        "the 4 check digits use a secret algorithm; genuineness needs the 码上放心 platform",
    )
    return res
