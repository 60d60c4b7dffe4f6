# HIBC builder for the printing gateway: the data string with its mod-43
# check character.  hibc.build() imports this lazily, so the firmware, which
# only parses, never loads it.  Every value is checked; ValueError says why.

from . import dates
from .checkchars import HIBC_CHARS, hibc_mod43
from .hibc import _MAX_FIELD, _is_alnum, _is_digit

_BUILD_FORMATS = {
    "MMYY": "",
    "MMDDYY": "2",
    "YYMMDD": "3",
    "YYMMDDHH": "4",
    "YYJJJ": "5",
    "YYJJJHH": "6",
    "YYYYMMDD": "/14D",
}


def _iso_ymd(s, what):
    if not isinstance(s, str) or len(s) != 10 or s[4] != "-" or s[7] != "-":
        raise ValueError("%s must be an ISO date YYYY-MM-DD, got %r" % (what, s))
    y, m, d = s[0:4], s[5:7], s[8:10]
    if not (dates.digits(y) and dates.digits(m) and dates.digits(d)):
        raise ValueError("%s must be an ISO date YYYY-MM-DD, got %r" % (what, s))
    ymd = int(y), int(m), int(d)
    if not dates.valid_ymd(*ymd):
        raise ValueError("%s %s is not a real calendar date" % (what, s))
    return ymd


def _build_field(value, what):
    if not isinstance(value, str) or value == "":
        raise ValueError("%s must be a non-empty string" % what)
    if len(value) > _MAX_FIELD:
        raise ValueError("%s %r has %d characters, at most %d" % (what, value, len(value), _MAX_FIELD))
    for c in value:
        if c == "/" or HIBC_CHARS.find(c) < 0:
            raise ValueError("%s %r has %r: allowed are 0-9 A-Z - . space $ + %%" % (what, value, c))
    return value


def build(
    lic,
    pcn,
    um,
    lot=None,
    serial=None,
    expiry=None,
    production_date=None,
    quantity=None,
    date_format="YYMMDD",
    expiry_hour=None,
    today=None,
):
    # HIBC data string with its check character: the primary alone when no
    # production data is given, else the concatenated form
    #   +LIC PCN U/M / $$[+]<date><lot or serial> [/14D..] [/16D..] [/S..] [/Q..] C
    # Dates are ISO "YYYY-MM-DD".  date_format: MMYY, MMDDYY, YYMMDD (default),
    # YYMMDDHH, YYJJJ, YYJJJHH (2-digit years 2000-2099) or YYYYMMDD (/14D).
    # Raises ValueError on any value that cannot be encoded faithfully.
    if not isinstance(lic, str) or len(lic) != 4 or not ("A" <= lic[:1] <= "Z"):
        raise ValueError("LIC must be 4 characters starting with an upper-case letter, got %r" % (lic,))
    for c in lic + (pcn if isinstance(pcn, str) else "?"):
        if not _is_alnum(c):
            raise ValueError("LIC and PCN may hold only digits and upper-case letters (LIC %r, PCN %r)" % (lic, pcn))
    if not 1 <= len(pcn) <= 18:
        raise ValueError("PCN must have 1-18 characters, got %d" % len(pcn))
    um = str(um)
    if len(um) != 1 or not _is_digit(um):
        raise ValueError("unit of measure must be one digit 0-9, got %r" % (um,))
    primary = "+" + lic + pcn + um
    if lot is None and serial is None and expiry is None and production_date is None and quantity is None:
        return primary + hibc_mod43(primary)

    if lot is not None:
        _build_field(lot, "lot")
    if serial is not None:
        _build_field(serial, "serial")
    if date_format not in _BUILD_FORMATS:
        raise ValueError("date_format must be one of %s, got %r" % (", ".join(sorted(_BUILD_FORMATS)), date_format))
    date = ""
    supp = ""
    if expiry is None:
        date = "7"
    else:
        y, m, d = _iso_ymd(expiry, "expiry")
        if date_format == "YYYYMMDD":
            date = "7"
            supp += "/14D%04d%02d%02d" % (y, m, d)
        else:
            if not 2000 <= y <= 2099:
                raise ValueError("expiry year %d cannot be written with 2 digits; use date_format='YYYYMMDD'" % y)
            if today is not None:
                ref = int(today[:4])
                if dates.century_year(y % 100, ref) != y:
                    raise ValueError(
                        "expiry year %d would be read as %d by a reader in %d; use date_format='YYYYMMDD'"
                        % (y, dates.century_year(y % 100, ref), ref)
                    )
            yy = "%02d" % (y % 100)
            hh = ""
            if date_format.endswith("HH"):
                if not isinstance(expiry_hour, int) or not 0 <= expiry_hour <= 23:
                    raise ValueError("date_format %s needs expiry_hour 0-23, got %r" % (date_format, expiry_hour))
                hh = "%02d" % expiry_hour
            if date_format == "MMYY":
                if d != dates.days_in_month(y, m):
                    raise ValueError(
                        "MMYY means the end of the month; expiry %s is not the last day of its month" % expiry
                    )
                date = "%02d%s" % (m, yy)
            elif date_format == "MMDDYY":
                date = "2%02d%02d%s" % (m, d, yy)
            elif date_format.startswith("YYMMDD"):
                date = "%s%s%02d%02d%s" % (_BUILD_FORMATS[date_format], yy, m, d, hh)
            else:
                ddd = d
                for mm in range(1, m):
                    ddd += dates.days_in_month(y, mm)
                date = "%s%s%03d%s" % (_BUILD_FORMATS[date_format], yy, ddd, hh)
    if production_date is not None:
        y, m, d = _iso_ymd(production_date, "production_date")
        supp += "/16D%04d%02d%02d" % (y, m, d)
    if lot is not None:
        secondary = "$$" + date + lot
        if serial is not None:
            supp += "/S" + serial
    elif serial is not None:
        secondary = "$$+" + date + serial
    else:
        secondary = "$$" + date
    if quantity is not None:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ValueError("quantity must be a positive integer, got %r" % (quantity,))
        supp += "/Q%d" % quantity
    s = primary + "/" + secondary + supp
    return s + hibc_mod43(s)
