# GS1 Barcode Syntax Dictionary linters, one function per linter named in the
# dictionary, agreeing with GS1's reference C linters (gs1/gs1-syntax-dictionary,
# src/lint_*.c) on every verdict and on which rule failed.
#
# Every linter takes the component's data string and returns None when it is
# fine, else (code, message): code is a stable snake_case id (described in
# English and Chinese in udi_codes.messages.CATALOGUE, which the firmware does
# not ship), message is short English text for the operator.  Positions in messages are
# 1-based.  The lists of codes (countries, currencies, package types, ...) come
# from the generated module udi_codes.gs1_lint_tables (tools/gen_lint_tables.py).
#
# Written for CPython and MicroPython alike: no f-strings, no datetime, no
# str.isdigit (which accepts non-ASCII digits on CPython).

from udi_codes.checkchars import gs1_mod10


CSET82 = ("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
          "abcdefghijklmnopqrstuvwxyz")


CSET39 = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


CSET64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


DIGITS = "0123456789"


_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")


_MDAYS = (31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# Shortest GS1 Company Prefix the reference gcppos1 linter accepts.
GCP_MIN_LENGTH = 4


def _show(c):
    o = ord(c)
    if 32 <= o < 127:
        return "'" + c + "'"
    return "0x%02X" % o


def _first_not_in(s, allowed):
    # Index of the first character of s outside allowed, or -1.  strip()
    # runs in C and is empty exactly when every character is allowed.
    if not s.strip(allowed):
        return -1
    for i in range(len(s)):
        if s[i] not in allowed:
            return i
    return -1


def _in_list(code, table):
    # Tables are " A B C " strings; a code with a space or an empty code is
    # never in them.
    return code != "" and " " not in code and (" " + code + " ") in table


def _non_digit(s, i):
    return ("non_digit_character",
            "character %s at position %d is not a digit" % (_show(s[i]), i + 1))


def _digits_check(s):
    i = _first_not_in(s, DIGITS)
    if i >= 0:
        return _non_digit(s, i)
    return None


def _length(s, n, what):
    # Exact-length rule shared by the time/date/coordinate linters.
    if len(s) < n:
        return ("too_short", "%s must be %d digits, got %d" % (what, n, len(s)))
    return ("too_long", "%s must be %d digits, got %d" % (what, n, len(s)))


def _cset(s, alphabet, name):
    i = _first_not_in(s, alphabet)
    if i >= 0:
        return ("invalid_character",
                "character %s at position %d is not allowed (%s)"
                % (_show(s[i]), i + 1, name))
    return None


def lint_csetnumeric(s):
    return _digits_check(s)


def lint_cset82(s):
    return _cset(s, CSET82, "CSET 82")


def lint_cset39(s):
    return _cset(s, CSET39, "CSET 39")


def lint_cset64(s):
    # Up to two '=' pad characters, and only when the whole length is a
    # multiple of 3 (the reference rule, checked before the characters).
    n = len(s)
    pads = 0
    while pads < n and s[n - pads - 1] == "=":
        pads += 1
    if pads > 2 or (pads > 0 and n % 3 != 0):
        return ("invalid_padding",
                "%d '=' padding character(s) at position %d are not allowed (CSET 64)"
                % (pads, n - pads + 1))
    return _cset(s[:n - pads], CSET64, "CSET 64")


def lint_csum(s):
    if s == "":
        return ("too_short", "there is no check digit")
    e = _digits_check(s)
    if e:
        return e
    want = gs1_mod10(s[:-1])
    if s[-1] != want:
        return ("check_digit", "check digit is %s, expected %s" % (s[-1], want))
    return None


def _gcp(s, off):
    if len(s) < GCP_MIN_LENGTH:
        return ("gcp_too_short",
                "a GS1 Company Prefix needs at least %d digits, got %d"
                % (GCP_MIN_LENGTH, len(s)))
    for i in range(GCP_MIN_LENGTH):
        if s[i] not in DIGITS:
            return ("invalid_gcp",
                    "character %s at position %d cannot be part of a GS1 Company Prefix"
                    % (_show(s[i]), off + i + 1))
    return None


def lint_gcppos1(s):
    return _gcp(s, 0)


def lint_gcppos2(s):
    if len(s) < 2:
        return ("gcp_too_short",
                "a GS1 Company Prefix needs at least %d digits after the first character"
                % GCP_MIN_LENGTH)
    return _gcp(s[1:], 1)


def _two(s, i):
    return (ord(s[i]) - 48) * 10 + ord(s[i + 1]) - 48


def _hms(s, limit, what, code):
    if len(s) != 2:
        return _length(s, 2, what)
    e = _digits_check(s)
    if e:
        return e
    if _two(s, 0) > limit:
        return (code, "%s %s does not exist (00-%02d)" % (what, s, limit))
    return None


def lint_hh(s):
    return _hms(s, 23, "hour", "invalid_hour")


def lint_mi(s):
    return _hms(s, 59, "minute", "invalid_minute")


def lint_hhmi(s):
    if len(s) != 4:
        return _length(s, 4, "time HHMI")
    e = lint_hh(s[:2])
    if e:
        return e
    e = lint_mi(s[2:])
    if e and e[0] == "non_digit_character":
        return _non_digit(s, 2 + _first_not_in(s[2:], DIGITS))
    return e


def _is_leap(y):
    return (y % 4 == 0 and y % 100 != 0) or y % 400 == 0


def _check_ymd(year, mm, dd, year_text, allow_00):
    # year_text: how the message names the year ("2021", or "21 (2021)").
    if mm < 1 or mm > 12:
        return ("invalid_month", "month %02d does not exist" % mm)
    if mm == 2:
        maxdd = 29 if _is_leap(year) else 28
    else:
        maxdd = _MDAYS[mm - 1]
    if dd > maxdd:
        if mm == 2:
            return ("invalid_day", "day %02d does not exist in February %s" % (dd, year_text))
        return ("invalid_day", "day %02d does not exist in %s" % (dd, _MONTHS[mm - 1]))
    if dd == 0 and not allow_00:
        return ("invalid_day", "day 00 (unknown day) is not allowed here")
    return None


def _yyyymmdd(s, allow_00):
    if len(s) != 8:
        return _length(s, 8, "date YYYYMMDD")
    e = _digits_check(s)
    if e:
        return e
    year = _two(s, 0) * 100 + _two(s, 2)
    return _check_ymd(year, _two(s, 4), _two(s, 6), s[:4], allow_00)


# GS1's lint_yymmd0.c fixes CURRENT_YEAR at 21, i.e. it assumes the reference
# year 2021: YY - 21 >= 51 (YY 72-99) is read as 19YY, everything else
# (YY 00-71) as 20YY; its 21YY branch cannot be reached.  The century only
# matters for the leap-year check, so "000229" is valid (2000 was a leap year).
# This only validates the date; the engine resolves the real century with the
# GS1 General Specifications section 7.12 rule elsewhere (udi_codes.dates).
LINT_REFERENCE_YEAR = 2021


def lint_century(yy):
    if yy - LINT_REFERENCE_YEAR % 100 >= 51:
        return 1900 + yy
    if yy - LINT_REFERENCE_YEAR % 100 > -50:
        return 2000 + yy
    return 2100 + yy


def _yymmdd(s, allow_00):
    if len(s) != 6:
        return _length(s, 6, "date YYMMDD")
    e = _digits_check(s)
    if e:
        return e
    yy = _two(s, 0)
    year = lint_century(yy)
    return _check_ymd(year, _two(s, 2), _two(s, 4),
                      "%s (read as %d)" % (s[:2], year), allow_00)


def lint_yyyymmdd(s):
    return _yyyymmdd(s, False)


def lint_yymmd0(s):
    return _yymmdd(s, True)


def lint_yymmdd(s):
    return _yymmdd(s, False)


# Linters of UDI and common logistics AIs live here; the rest (coupons, IBAN,
# coordinates, country/currency/package lists, yes/no flags, piece of total,
# ...) in gs1_lint_rare, loaded on first use so that the handheld's heap holds
# only what it needs.
LINTERS = {
    "cset39": lint_cset39,
    "cset64": lint_cset64,
    "cset82": lint_cset82,
    "csetnumeric": lint_csetnumeric,
    "csum": lint_csum,
    "gcppos1": lint_gcppos1,
    "gcppos2": lint_gcppos2,
    "hh": lint_hh,
    "hhmi": lint_hhmi,
    "mi": lint_mi,
    "yymmd0": lint_yymmd0,
    "yymmdd": lint_yymmdd,
    "yyyymmdd": lint_yyyymmdd,
}
RARE = (
    "couponcode",
    "couponposoffer",
    "csumalpha",
    "hasnondigit",
    "hyphen",
    "iban",
    "importeridx",
    "iso3166",
    "iso3166999",
    "iso3166alpha2",
    "iso4217",
    "iso5218",
    "latitude",
    "longitude",
    "mediatype",
    "nonzero",
    "nozeroprefix",
    "packagetype",
    "pcenc",
    "pieceoftotal",
    "posinseqslash",
    "ss",
    "winding",
    "yesno",
    "yyyymmd0",
    "zero",
)


def linter(name):
    # The function for a linter name (loads gs1_lint_rare when needed; on a
    # small heap through the dispatcher, which may drop it again later).
    fn = LINTERS.get(name)
    if fn is None:
        import udi_codes

        module = "gs1_lint_coupon" if name.startswith("coupon") else "gs1_lint_rare"
        fn = getattr(udi_codes.scheme_module(module), "lint_" + name)
        if not udi_codes._ROOM:
            LINTERS[name] = fn
    return fn


# Character-set linter for each component type of the dictionary:
# N numeric, X CSET 82, Y CSET 39, Z CSET 64 (base64url).
TYPE_LINTER = {
    "N": lint_csetnumeric,
    "X": lint_cset82,
    "Y": lint_cset39,
    "Z": lint_cset64,
}


def __getattr__(name):
    # ALL: every linter name of the dictionary, built when asked for (the
    # tests and the gateway's tools; a handheld never needs it).  LINTERS
    # also keeps rare linters once used (on a big heap), hence the set.
    if name == "ALL":
        return tuple(sorted(set(LINTERS) | set(RARE)))
    raise AttributeError(name)
