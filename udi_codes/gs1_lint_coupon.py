# GS1 coupon linters (couponcode, couponposoffer): the largest and rarest of
# the linters, in a module of their own so the handheld loads them only for
# coupon data.  Same contract as gs1_lint: None when fine, else (code, message).

from udi_codes.gs1_lint import DIGITS, _digits_check, _gcp, lint_yymmdd


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
