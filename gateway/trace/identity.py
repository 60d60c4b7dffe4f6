"""Which physical thing a judged code names.

A serialised code (GS1 AI 21 with its GTIN / ITIP, an SSCC, HIBC or MA with a
serial, a 20-digit drug traceability code) names one unit: its *item key* is
what 一物一码 rules, movements and aggregation track.  Keys are readable and
stable: GS1 keys are the bracketed HRI of the identifying AIs."""

# GS1 keys that identify one unit on their own or with a serial (AI 21).
_GS1_UNIT_KEYS = ("00", "8004", "8003")
_GS1_SERIALISED = ("01", "03", "8006")


def item_key(res):
    # -> the unit's key, or None when the code names a product/lot only.
    if not res or not res.get("valid"):
        return None
    scheme = res["scheme"]
    pi = res.get("pi") or {}
    if scheme == "gs1":
        values = {}
        for e in res.get("elements") or ():
            values.setdefault(e["ai"], e["value"])
        for ai in _GS1_UNIT_KEYS:
            if ai in values and (ai != "8003" or len(values[ai]) > 14):  # GRAI with a serial part
                return "(%s)%s" % (ai, values[ai])
        if "21" in values:
            for ai in _GS1_SERIALISED:
                if ai in values:
                    return "(%s)%s(21)%s" % (ai, values[ai], values["21"])
        return None
    if scheme == "cn-drug":
        raw = res["raw"]
        return raw[3:] if raw.startswith("]") else raw  # the 20 digits
    if scheme in ("hibc", "ma") and pi.get("serial") and res.get("di"):
        return "%s%s%s" % (res["di"], "/S" if scheme == "hibc" else ".S", pi["serial"])
    return None

