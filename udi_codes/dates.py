# Calendar rules shared by every scheme (MicroPython has no datetime).


def is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year, month):
    if month == 2:
        return 29 if is_leap(year) else 28
    if month in (4, 6, 9, 11):
        return 30
    return 31


def valid_ymd(year, month, day):
    return 1 <= month <= 12 and 1 <= day <= days_in_month(year, month)


def century_year(yy, ref_year):
    # GS1 General Specifications §7.12: a two-digit year lies between 49 years
    # in the past and 50 years in the future of the reference year.
    d = yy - ref_year % 100
    base = ref_year - ref_year % 100
    if 51 <= d <= 99:
        base -= 100
    elif -99 <= d <= -50:
        base += 100
    return base + yy


def iso(year, month, day):
    return "%04d-%02d-%02d" % (year, month, day)


def digits(s):
    # True when s is a non-empty run of ASCII digits (str.isdigit also
    # accepts other Unicode digits on CPython).
    # strip() runs in C and leaves nothing exactly when all are digits.
    return bool(s) and not s.strip("0123456789")


def yymmdd(s, ref_year, allow_dd00):
    # "YYMMDD" -> (iso date, dd_was_00) or None when not a real date.
    # DD=00 means the last day of the month (GenSpecs, AI 17).
    if len(s) != 6 or not digits(s):
        return None
    year = century_year(int(s[0:2]), ref_year)
    month = int(s[2:4])
    day = int(s[4:6])
    if day == 0 and allow_dd00 and 1 <= month <= 12:
        return iso(year, month, days_in_month(year, month)), True
    if not valid_ymd(year, month, day):
        return None
    return iso(year, month, day), False


def yyyymmdd(s):
    if len(s) != 8 or not digits(s):
        return None
    year, month, day = int(s[0:4]), int(s[4:6]), int(s[6:8])
    if not valid_ymd(year, month, day):
        return None
    return iso(year, month, day)


def julian(yy_full, ddd):
    # Day-of-year -> iso date, or None.
    if ddd < 1 or ddd > (366 if is_leap(yy_full) else 365):
        return None
    month = 1
    while ddd > days_in_month(yy_full, month):
        ddd -= days_in_month(yy_full, month)
        month += 1
    return iso(yy_full, month, ddd)


def today_iso():
    # The reference date when the caller gives none: the clock if it is
    # set, else None (a handheld without time yet must not call codes expired).
    try:
        import time

        t = time.localtime()
        if t[0] < 2024:
            return None
        return iso(t[0], t[1], t[2])
    except Exception:
        return None
