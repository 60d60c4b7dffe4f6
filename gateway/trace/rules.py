"""Traceability rules applied to each good code as it is scanned.  Each rule
is a small named function (ctx, scan) -> findings; a finding is
(code, bad, alert, detail): `bad` turns the answer to the handheld bad,
`alert` also records an alert for the admin.

`scan` is a dict: mode, location, dev, res (the engine's result), item (the
unit key or None), state (the unit's stored state or None), product (master
row or None)."""

import datetime

# Modes that move stock; an expired unit must not enter or leave it.
STOCK_MODES = ("receive", "dispatch", "use")


def finding(code, bad, alert, detail=""):
    return (code, bad, alert, detail)


def rule_recalled(ctx, scan):
    res = scan["res"]
    di = res.get("di")
    if not di:
        return []
    pi = res.get("pi") or {}
    out = []
    for b in ctx.blocks.get(di, ()):
        if b["lot"] and b["lot"] != pi.get("lot"):
            continue
        if b["serial_from"] or b["serial_to"]:
            serial = pi.get("serial")
            if serial is None or not _in_range(serial, b["serial_from"], b["serial_to"]):
                continue
        out.append(finding("recalled", True, True, b["reason"]))
        break
    return out


def serial_key(serial):
    # Serial ranges compare numerically when both ends are digits (so that
    # 9 < 10), else as text; the block API validates ranges with this too.
    return (0, int(serial), "") if serial.isdigit() else (1, 0, serial)


def _in_range(serial, lo, hi):
    return (lo is None or serial_key(lo) <= serial_key(serial)) and (hi is None or serial_key(serial) <= serial_key(hi))


def rule_expiry(ctx, scan):
    expiry = (scan["res"].get("pi") or {}).get("expiry")
    if not expiry:
        return []
    try:
        day = datetime.date.fromisoformat(expiry)
    except ValueError:
        return []
    if day < ctx.today:
        return [finding("expired", scan["mode"] in STOCK_MODES, True, "expired on %s" % expiry)]
    if (day - ctx.today).days <= ctx.expiry_warn_days:
        return [finding("expires_soon", False, True, "expires on %s" % expiry)]
    return []


def rule_one_unit_one_use(ctx, scan):
    # 一物一码: a serialised unit is used once, and once used it is gone.
    state = scan["state"]
    if state is None or state.get("state") != "used":
        return []
    used = state.get("used_scan")
    by = "used by scan %s" % ("/".join(map(str, used)) if isinstance(used, tuple) else used)
    if scan["mode"] == "use":
        return [finding("used_twice", True, True, by)]
    if scan["mode"] in ("receive", "dispatch"):
        return [finding("already_used", True, True, by)]
    return []


def rule_dispatch_from_stock(ctx, scan):
    # A serialised unit leaves only a place it was received at.
    if scan["mode"] != "dispatch" or scan["item"] is None:
        return []
    state = scan["state"]
    if state and state.get("state") == "used":
        return []  # rule_one_unit_one_use said it
    if state is None or state.get("state") != "received" or state.get("location") != scan["location"]:
        where = "never received" if state is None or state.get("state") is None else "%s at %s" % (state.get("state"), state.get("location"))
        return [finding("not_received_here", True, True, where)]
    return []


RULES = (rule_recalled, rule_expiry, rule_one_unit_one_use, rule_dispatch_from_stock)
