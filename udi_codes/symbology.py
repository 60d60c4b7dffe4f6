# AIM / ISO/IEC 15424 symbology identifiers, as data: what each one tells
# the engine about the payload.  Identifiers are case-sensitive (]E0 EAN,
# ]e0 DataBar).

# Payload is GS1 element strings (FNC1 in first position).
GS1_MODE = ("]C1", "]d2", "]Q3", "]e0", "]J1")
# Payload is one GTIN of this many digits.
GTIN_ONLY = {"]E0": 13, "]E4": 8, "]I1": 14}
# Human names, for messages and the panel.
NAMES = {
    "]C0": "Code 128",
    "]C1": "GS1-128",
    "]C2": "Code 128 (FNC1 2nd position)",
    "]d1": "Data Matrix",
    "]d2": "GS1 DataMatrix",
    "]Q1": "QR Code",
    "]Q3": "GS1 QR Code",
    "]e0": "GS1 DataBar / composite",
    "]E0": "EAN-13 / UPC-A",
    "]E4": "EAN-8",
    "]I1": "ITF-14",
    "]J1": "GS1 DotCode",
    "]A0": "Code 39",
    "]z0": "Aztec",
}


def split(raw):
    # (identifier or None, payload).  "]" + symbology letter + modifier.
    if len(raw) >= 3 and raw[0] == "]" and raw[1] != "]":
        return raw[:3], raw[3:]
    return None, raw


def name(sym):
    if sym is None:
        return None
    return NAMES.get(sym, sym)
