# GS1 Barcode Syntax Dictionary linters, one function per linter named in the
# dictionary, agreeing with GS1's reference C linters (gs1/gs1-syntax-dictionary,
# src/lint_*.c) on every verdict and on which rule failed.
#
# Every linter takes the component's data string and returns None when it is
# fine, else (code, message): code is a stable snake_case id listed in CODES,
# message is short English text for the operator.  Positions in messages are
# 1-based.  The lists of codes (countries, currencies, package types, ...) come
# from the generated module udi_codes.gs1_lint_tables (tools/gen_lint_tables.py).
#
# Written for CPython and MicroPython alike: no f-strings, no datetime, no
# str.isdigit (which accepts non-ASCII digits on CPython).

from udi_codes.checkchars import gs1_mod10
from udi_codes import gs1_lint_tables as _T

# One-line English description of every error code; the gateway builds its
# zh/en catalogue from this dict.
CODES = {
    "non_digit_character": "A character that must be a digit is not a digit (0-9).",
    "invalid_character": "A character is outside the character set allowed here.",
    "invalid_padding": "Base64url '=' padding is misplaced or too long (CSET 64).",
    "too_short": "The data is shorter than this field requires.",
    "too_long": "The data is longer than this field allows.",
    "invalid_length": "The data does not have a length this field allows.",
    "check_digit": "The GS1 check digit does not match the data.",
    "check_pair": "The GS1 alphanumeric check character pair does not match the data.",
    "iban_checksum": "The IBAN check digits do not match the account number.",
    "invalid_month": "The month does not exist (01-12).",
    "invalid_day": "The day does not exist in that month.",
    "invalid_hour": "The hour does not exist (00-23).",
    "invalid_minute": "The minute does not exist (00-59).",
    "invalid_second": "The second does not exist (00-59).",
    "unknown_country": "Not an ISO 3166-1 country code known to GS1.",
    "unknown_currency": "Not an ISO 4217 numeric currency code known to GS1.",
    "unknown_package_type": "Not a code of the GS1 PackageTypeCode list.",
    "unknown_media_type": "Not an AIDC media type code (01-10, 80-99).",
    "invalid_sex_code": "Not an ISO/IEC 5218 sex code (0, 1, 2 or 9).",
    "not_yes_no": "The value must be 0 (no) or 1 (yes).",
    "invalid_winding": "The winding direction must be 0, 1 or 9.",
    "not_hyphen": "Only hyphens ('-') are allowed here.",
    "not_zero": "The value must be zero.",
    "zero_value": "The value must not be zero.",
    "zero_prefix": "The number must not start with a zero.",
    "requires_non_digit": "The data must contain at least one non-digit character.",
    "gcp_too_short": "Too few digits for a GS1 Company Prefix (at least 4).",
    "invalid_gcp": "The data does not start with a GS1 Company Prefix (digits).",
    "invalid_percent_encoding": "A '%' is not followed by two hexadecimal digits.",
    "out_of_range": "The value is outside the allowed range.",
    "exceeds_total": "The position or piece number is larger than the total.",
    "malformed_sequence": "The value is not of the form <position>/<total>.",
    "coupon_missing_field": "The coupon data ends before a required field.",
    "coupon_invalid_field": "A coupon field holds a value that is not allowed.",
    "coupon_truncated_field": "A coupon field is shorter than its length indicator says.",
    "coupon_invalid_date": "A coupon date is not a real date.",
    "coupon_expiry_before_start": "The coupon expires before its start date.",
    "coupon_excess_data": "The coupon has data after its last valid field.",
}

CSET82 = ("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
          "abcdefghijklmnopqrstuvwxyz")
CSET39 = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CSET64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
CSET32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"
HEX = "0123456789ABCDEFabcdef"

_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")
_MDAYS = (31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# Shortest GS1 Company Prefix the reference gcppos1 linter accepts.
GCP_MIN_LENGTH = 4
# Reference csumalpha works with the first 97 primes (data up to 97 chars).
CSUMALPHA_MAX_DATA = 97
# Reference iban linter: anything of 10 characters or fewer is too short.
IBAN_MIN_LENGTH = 10


def _show(c):
    o = ord(c)
    if 32 <= o < 127:
        return "'" + c + "'"
    return "0x%02X" % o


def _first_not_in(s, allowed):
    # Index of the first character of s outside allowed, or -1.
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


# --- character sets --------------------------------------------------------

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


def lint_hasnondigit(s):
    if _first_not_in(s, DIGITS) < 0:
        return ("requires_non_digit",
                "the value must contain at least one non-digit character")
    return None


# --- check characters ------------------------------------------------------

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


def _primes(n):
    out = []
    k = 2
    while len(out) < n:
        prime = True
        for p in out:
            if p * p > k:
                break
            if k % p == 0:
                prime = False
                break
        if prime:
            out.append(k)
        k += 1
    return out


_PRIMES = _primes(CSUMALPHA_MAX_DATA)


def csumalpha_pair(body):
    # GS1 General Specifications "Check character calculation (for
    # alphanumeric keys)": each CSET 82 value (its index in CSET82) is
    # weighted by the primes 2, 3, 5, ... from the right; the sum mod 1021
    # is split into two 5-bit values, each printed from CSET 32.
    total = 0
    n = len(body)
    for i in range(n):
        total += CSET82.find(body[i]) * _PRIMES[n - 1 - i]
    total %= 1021
    return CSET32[total >> 5] + CSET32[total & 31]


def lint_csumalpha(s):
    n = len(s)
    if n < 2:
        return ("too_short", "2 check characters are needed, got %d characters" % n)
    if n - 2 > CSUMALPHA_MAX_DATA:
        return ("too_long", "at most %d characters before the check pair, got %d"
                % (CSUMALPHA_MAX_DATA, n - 2))
    e = _cset(s[:n - 2], CSET82, "CSET 82")
    if e:
        return e
    i = _first_not_in(s[n - 2:], CSET32)
    if i >= 0:
        return ("invalid_character",
                "check character %s at position %d is not allowed (CSET 32)"
                % (_show(s[n - 2 + i]), n - 1 + i))
    want = csumalpha_pair(s[:n - 2])
    if s[n - 2:] != want:
        return ("check_pair", "check characters are %s, expected %s" % (s[n - 2:], want))
    return None


def lint_iban(s):
    n = len(s)
    if n <= IBAN_MIN_LENGTH:
        return ("too_short", "an IBAN needs more than %d characters, got %d"
                % (IBAN_MIN_LENGTH, n))
    if lint_iso3166alpha2(s[:2]) is not None:
        return ("unknown_country",
                "IBAN country %s is not an ISO 3166 alpha-2 code" % s[:2])
    allowed = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    i = _first_not_in(s[2:], allowed)
    if i >= 0:
        return ("invalid_character",
                "character %s at position %d is not allowed in an IBAN (0-9, A-Z)"
                % (_show(s[2 + i]), 3 + i))
    # ISO 13616 mod 97-10 over BBAN + country + check digits.
    r = 0
    for c in s[4:] + s[:4]:
        v = allowed.find(c)
        r = (r * (10 if v < 10 else 100) + v) % 97
    if r != 1:
        return ("iban_checksum",
                "IBAN check digits %s do not match the rest of the IBAN" % s[2:4])
    return None


# --- GS1 Company Prefix ----------------------------------------------------

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


# --- time and date ---------------------------------------------------------

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


def lint_ss(s):
    return _hms(s, 59, "second", "invalid_second")


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


def lint_yyyymmd0(s):
    return _yyyymmdd(s, True)


def lint_yyyymmdd(s):
    return _yyyymmdd(s, False)


def lint_yymmd0(s):
    return _yymmdd(s, True)


def lint_yymmdd(s):
    return _yymmdd(s, False)


# --- code lists (generated tables) -----------------------------------------

def lint_iso3166(s):
    if len(s) == 3 and _first_not_in(s, DIGITS) < 0 and _in_list(s, _T.ISO3166):
        return None
    return ("unknown_country", "'%s' is not an ISO 3166-1 numeric country code" % s)


def lint_iso3166999(s):
    if s == "999" or lint_iso3166(s) is None:
        return None
    return ("unknown_country",
            "'%s' is neither an ISO 3166-1 numeric country code nor 999" % s)


def lint_iso3166alpha2(s):
    if len(s) == 2 and _first_not_in(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < 0 \
            and _in_list(s, _T.ISO3166_ALPHA2):
        return None
    return ("unknown_country", "'%s' is not an ISO 3166-1 alpha-2 country code" % s)


def lint_iso4217(s):
    if len(s) == 3 and _first_not_in(s, DIGITS) < 0 and _in_list(s, _T.ISO4217):
        return None
    return ("unknown_currency", "'%s' is not an ISO 4217 numeric currency code" % s)


def lint_packagetype(s):
    if _in_list(s, _T.PACKAGE_TYPES):
        return None
    return ("unknown_package_type", "'%s' is not a GS1 PackageTypeCode" % s)


def lint_mediatype(s):
    if len(s) == 2 and _first_not_in(s, DIGITS) < 0 and _in_list(s, _T.MEDIA_TYPES):
        return None
    return ("unknown_media_type", "'%s' is not an AIDC media type (01-10, 80-99)" % s)


def lint_importeridx(s):
    if len(s) != 1:
        code = "too_short" if s == "" else "too_long"
        return (code, "importer index must be 1 character, got %d" % len(s))
    if s not in _T.IMPORTER_INDEX:
        return ("invalid_character",
                "character %s is not a valid importer index (0-9, A-Z, a-z, '-', '_')"
                % _show(s))
    return None


# --- small enumerations and number rules -----------------------------------

def lint_iso5218(s):
    if s in ("0", "1", "2", "9"):
        return None
    return ("invalid_sex_code", "'%s' is not a sex code (0, 1, 2 or 9)" % s)


def lint_yesno(s):
    if s in ("0", "1"):
        return None
    return ("not_yes_no", "'%s' is neither 0 (no) nor 1 (yes)" % s)


def lint_winding(s):
    if s in ("0", "1", "9"):
        return None
    return ("invalid_winding", "'%s' is not a winding direction (0, 1 or 9)" % s)


def lint_hyphen(s):
    if s != "" and _first_not_in(s, "-") < 0:
        return None
    return ("not_hyphen", "'%s' must consist of hyphens ('-') only" % s)


def lint_zero(s):
    if s != "" and _first_not_in(s, "0") < 0:
        return None
    return ("not_zero", "'%s' must be zero" % s)


def lint_nonzero(s):
    e = _digits_check(s)
    if e:
        return e
    if _first_not_in(s, "0") < 0:
        return ("zero_value", "the value must not be zero")
    return None


def lint_nozeroprefix(s):
    e = _digits_check(s)
    if e:
        return e
    if s[:1] == "0":
        return ("zero_prefix", "the number must not start with 0")
    return None


def _coord(s, limit, what):
    if len(s) != 10:
        return _length(s, 10, what)
    e = _digits_check(s)
    if e:
        return e
    # Both are 10 digits, so comparing the text compares the numbers (and
    # needs no long ints on small MicroPython ports).
    if s > limit:
        return ("out_of_range", "%s %s is above the maximum %s" % (what, s, limit))
    return None


def lint_latitude(s):
    return _coord(s, "1800000000", "latitude")


def lint_longitude(s):
    return _coord(s, "3600000000", "longitude")


def lint_pcenc(s):
    i = s.find("%")
    while i >= 0:
        if len(s) - i < 3 or _first_not_in(s[i + 1:i + 3], HEX) >= 0:
            return ("invalid_percent_encoding",
                    "'%s' at position %d is not '%%' followed by two hex digits"
                    % (s[i:i + 3], i + 1))
        i = s.find("%", i + 3)
    return None


def lint_pieceoftotal(s):
    n = len(s)
    if n == 0 or n % 2:
        return ("invalid_length",
                "piece and total must have the same number of digits, got %d digits" % n)
    e = _digits_check(s)
    if e:
        return e
    piece, total = s[:n // 2], s[n // 2:]
    if _first_not_in(piece, "0") < 0:
        return ("zero_value", "piece number %s must not be zero" % piece)
    if _first_not_in(total, "0") < 0:
        return ("zero_value", "total %s must not be zero" % total)
    if piece > total:
        return ("exceeds_total", "piece number %s is larger than the total %s" % (piece, total))
    return None


def lint_posinseqslash(s):
    slash = s.find("/")
    pos, end = s[:slash], s[slash + 1:]
    if slash <= 0 or end == "" or _first_not_in(pos, DIGITS) >= 0 \
            or _first_not_in(end, DIGITS) >= 0:
        return ("malformed_sequence", "'%s' is not of the form <position>/<total>" % s)
    if pos[0] == "0":
        return ("zero_prefix", "position %s must not be zero or start with 0" % pos)
    if end[0] == "0":
        return ("zero_prefix", "total %s must not be zero or start with 0" % end)
    if len(pos) > len(end) or (len(pos) == len(end) and pos > end):
        return ("exceeds_total", "position %s is larger than the total %s" % (pos, end))
    return None


# --- coupons ---------------------------------------------------------------
# The North American coupon linters walk the digits field by field exactly as
# lint_couponcode.c / lint_couponposoffer.c do; the messages name the field.

def _c_missing(field):
    return ("coupon_missing_field", "coupon data ends before the %s" % field)


def _c_invalid(field, c, allowed):
    return ("coupon_invalid_field", "%s '%s' is not allowed (%s)" % (field, c, allowed))


def _c_trunc(field, have, need):
    return ("coupon_truncated_field",
            "%s is truncated: %d of %d digits present" % (field, have, need))


def _c_vli(s, p, field, lo, hi, add, extra=None):
    # Length indicator at s[p] followed by a field of (digit + add) digits.
    # Returns (error, new position, field length).
    if p == len(s):
        return _c_missing(field + " length indicator"), p, 0
    c = s[p]
    if (c < lo or c > hi) and c != extra:
        rng = "%s-%s" % (lo, hi) + (" or %s" % extra if extra else "")
        return _c_invalid(field + " length indicator", c, rng), p, 0
    n = 0 if c == extra else ord(c) - 48 + add
    p += 1
    if len(s) - p < n:
        return _c_trunc(field, len(s) - p, n), p, n
    return None, p, n


def _c_code(s, p, field, ok, allowed):
    if p == len(s):
        return _c_missing(field), p
    if s[p] not in ok:
        return _c_invalid(field, s[p], allowed), p
    return None, p + 1


def _c_fixed(s, p, n, field):
    if len(s) - p < n:
        return _c_trunc(field, len(s) - p, n), p
    return None, p + n


def _c_gcp(s, p, n, field):
    e = _gcp(s[p:p + n], p)
    if e:
        return (e[0], "%s: %s" % (field, e[1]))
    return None


def _c_purchase(s, p, nth, with_gcp):
    # Purchase requirement VLI + requirement + code + family code [+ GCP].
    e, p, n = _c_vli(s, p, nth + " Purchase Requirement", "1", "5", 0)
    if e:
        return e, p
    p += n
    e, p = _c_code(s, p, nth + " Purchase Requirement Code", "012349", "0-4 or 9")
    if e:
        return e, p
    e, p = _c_fixed(s, p, 3, nth + " Purchase Family Code")
    if e or not with_gcp:
        return e, p
    e, p, n = _c_vli(s, p, nth + " Purchase GCP", "0", "6", 6, "9")
    if e:
        return e, p
    if n:
        e = _c_gcp(s, p, n, nth + " Purchase GCP")
        if e:
            return e, p
    return None, p + n


def lint_couponcode(s):
    e = _digits_check(s)
    if e:
        return e
    q = len(s)
    e, p, n = _c_vli(s, 0, "Primary GCP", "0", "6", 6)
    if e:
        return e
    e = _c_gcp(s, p, n, "Primary GCP")
    if e:
        return e
    e, p = _c_fixed(s, p + n, 6, "Offer Code")
    if e:
        return e
    e, p, n = _c_vli(s, p, "Save Value", "1", "5", 0)
    if e:
        return e
    e, p = _c_purchase(s, p + n, "1st", False)
    if e:
        return e
    if p < q and s[p] == "1":
        e, p = _c_code(s, p + 1, "Additional Purchase Rules Code", "0123", "0-3")
        if e:
            return e
        e, p = _c_purchase(s, p, "2nd", True)
        if e:
            return e
    if p < q and s[p] == "2":
        e, p = _c_purchase(s, p + 1, "3rd", True)
        if e:
            return e
    expiry = None
    if p < q and s[p] == "3":
        p += 1
        if q - p < 6:
            return _c_trunc("Expiration Date", q - p, 6)
        if lint_yymmdd(s[p:p + 6]) is not None:
            return ("coupon_invalid_date", "Expiration Date %s is not a real date" % s[p:p + 6])
        expiry = s[p:p + 6]
        p += 6
    if p < q and s[p] == "4":
        p += 1
        if q - p < 6:
            return _c_trunc("Start Date", q - p, 6)
        start = s[p:p + 6]
        if lint_yymmdd(start) is not None:
            return ("coupon_invalid_date", "Start Date %s is not a real date" % start)
        if expiry is not None and start > expiry:
            return ("coupon_expiry_before_start",
                    "Expiration Date %s is before Start Date %s" % (expiry, start))
        p += 6
    if p < q and s[p] == "5":
        e, p, n = _c_vli(s, p + 1, "Serial Number", "0", "9", 6)
        if e:
            return e
        p += n
    if p < q and s[p] == "6":
        e, p, n = _c_vli(s, p + 1, "Retailer GCP/GLN", "1", "7", 6)
        if e:
            return e
        e = _c_gcp(s, p, n, "Retailer GCP/GLN")
        if e:
            return e
        p += n
    if p < q and s[p] == "9":
        e, p = _c_code(s, p + 1, "Save Value Code", "01256", "0, 1, 2, 5 or 6")
        if e:
            return e
        e, p = _c_code(s, p, "Save Value Applies to Item", "012", "0-2")
        if e:
            return e
        e, p = _c_code(s, p, "Store Coupon Flag", DIGITS, "0-9")
        if e:
            return e
        e, p = _c_code(s, p, "Don't Multiply Flag", "01", "0 or 1")
        if e:
            return e
    if p != q:
        return ("coupon_excess_data",
                "unexpected data '%s' at position %d" % (s[p:], p + 1))
    return None


def lint_couponposoffer(s):
    e = _digits_check(s)
    if e:
        return e
    e, p = _c_code(s, 0, "Format Code", "01", "0 or 1")
    if e:
        return e
    e, p, n = _c_vli(s, p, "Funder ID", "0", "6", 6)
    if e:
        return e
    e, p = _c_fixed(s, p + n, 6, "Offer Code")
    if e:
        return e
    e, p, n = _c_vli(s, p, "Serial Number", "0", "9", 6)
    if e:
        return e
    p += n
    if p != len(s):
        return ("coupon_excess_data",
                "unexpected data '%s' at position %d" % (s[p:], p + 1))
    return None


LINTERS = {
    "couponcode": lint_couponcode,
    "couponposoffer": lint_couponposoffer,
    "cset39": lint_cset39,
    "cset64": lint_cset64,
    "cset82": lint_cset82,
    "csetnumeric": lint_csetnumeric,
    "csum": lint_csum,
    "csumalpha": lint_csumalpha,
    "gcppos1": lint_gcppos1,
    "gcppos2": lint_gcppos2,
    "hasnondigit": lint_hasnondigit,
    "hh": lint_hh,
    "hhmi": lint_hhmi,
    "hyphen": lint_hyphen,
    "iban": lint_iban,
    "importeridx": lint_importeridx,
    "iso3166": lint_iso3166,
    "iso3166999": lint_iso3166999,
    "iso3166alpha2": lint_iso3166alpha2,
    "iso4217": lint_iso4217,
    "iso5218": lint_iso5218,
    "latitude": lint_latitude,
    "longitude": lint_longitude,
    "mediatype": lint_mediatype,
    "mi": lint_mi,
    "nonzero": lint_nonzero,
    "nozeroprefix": lint_nozeroprefix,
    "packagetype": lint_packagetype,
    "pcenc": lint_pcenc,
    "pieceoftotal": lint_pieceoftotal,
    "posinseqslash": lint_posinseqslash,
    "ss": lint_ss,
    "winding": lint_winding,
    "yesno": lint_yesno,
    "yymmd0": lint_yymmd0,
    "yymmdd": lint_yymmdd,
    "yyyymmd0": lint_yyyymmd0,
    "yyyymmdd": lint_yyyymmdd,
    "zero": lint_zero,
}

# Character-set linter for each component type of the dictionary:
# N numeric, X CSET 82, Y CSET 39, Z CSET 64 (base64url).
TYPE_LINTER = {
    "N": lint_csetnumeric,
    "X": lint_cset82,
    "Y": lint_cset39,
    "Z": lint_cset64,
}
