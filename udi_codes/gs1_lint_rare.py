# The GS1 linters that UDI labels rarely meet (coupons, IBAN, coordinates,
# country/currency/package code lists, ...), split from gs1_lint so that the
# handheld loads them only when such an AI is scanned.  Same contract as
# gs1_lint: return None when fine, else (code, message).

from udi_codes.gs1_lint import (
    CSET82,
    DIGITS,
    _cset,
    _digits_check,
    _first_not_in,
    _hms,
    _in_list,
    _length,
    _show,
    _yyyymmdd,
)


CSET32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _tables():
    # The ISO / GS1 code lists load only when an AI that needs them appears.
    from udi_codes import gs1_lint_tables

    return gs1_lint_tables


HEX = "0123456789ABCDEFabcdef"


# Reference csumalpha works with the first 97 primes (data up to 97 chars).
CSUMALPHA_MAX_DATA = 97


# Reference iban linter: anything of 10 characters or fewer is too short.
IBAN_MIN_LENGTH = 10


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


def lint_iso3166(s):
    if len(s) == 3 and _first_not_in(s, DIGITS) < 0 and _in_list(s, _tables().ISO3166):
        return None
    return ("unknown_country", "'%s' is not an ISO 3166-1 numeric country code" % s)


def lint_iso3166999(s):
    if s == "999" or lint_iso3166(s) is None:
        return None
    return ("unknown_country",
            "'%s' is neither an ISO 3166-1 numeric country code nor 999" % s)


def lint_iso3166alpha2(s):
    if len(s) == 2 and _first_not_in(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") < 0 \
            and _in_list(s, _tables().ISO3166_ALPHA2):
        return None
    return ("unknown_country", "'%s' is not an ISO 3166-1 alpha-2 country code" % s)


def lint_iso4217(s):
    if len(s) == 3 and _first_not_in(s, DIGITS) < 0 and _in_list(s, _tables().ISO4217):
        return None
    return ("unknown_currency", "'%s' is not an ISO 4217 numeric currency code" % s)


def lint_packagetype(s):
    if _in_list(s, _tables().PACKAGE_TYPES):
        return None
    return ("unknown_package_type", "'%s' is not a GS1 PackageTypeCode" % s)


def lint_mediatype(s):
    if len(s) == 2 and _first_not_in(s, DIGITS) < 0 and _in_list(s, _tables().MEDIA_TYPES):
        return None
    return ("unknown_media_type", "'%s' is not an AIDC media type (01-10, 80-99)" % s)


def lint_importeridx(s):
    if len(s) != 1:
        code = "too_short" if s == "" else "too_long"
        return (code, "importer index must be 1 character, got %d" % len(s))
    if s not in _tables().IMPORTER_INDEX:
        return ("invalid_character",
                "character %s is not a valid importer index (0-9, A-Z, a-z, '-', '_')"
                % _show(s))
    return None


def lint_iso5218(s):
    if s in ("0", "1", "2", "9"):
        return None
    return ("invalid_sex_code", "'%s' is not a sex code (0, 1, 2 or 9)" % s)


def lint_winding(s):
    if s in ("0", "1", "9"):
        return None
    return ("invalid_winding", "'%s' is not a winding direction (0, 1 or 9)" % s)


def lint_hyphen(s):
    if s != "" and _first_not_in(s, "-") < 0:
        return None
    return ("not_hyphen", "'%s' must consist of hyphens ('-') only" % s)


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


# Flags, counts and times that UDI labels hardly carry (4321-4323, 8001,
# 8003, 8006, 8008, 8011, 8014, 8026).


def lint_hasnondigit(s):
    if _first_not_in(s, DIGITS) < 0:
        return ("requires_non_digit",
                "the value must contain at least one non-digit character")
    return None


def lint_ss(s):
    return _hms(s, 59, "second", "invalid_second")


def lint_yyyymmd0(s):
    return _yyyymmdd(s, True)


def lint_yesno(s):
    if s in ("0", "1"):
        return None
    return ("not_yes_no", "'%s' is neither 0 (no) nor 1 (yes)" % s)


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
