# AIM / ISO/IEC 15424 symbology identifiers, as data: what each one tells
# the engine about the payload.  Identifiers are case-sensitive (]E0 EAN,
# ]e0 DataBar).

# Payload is GS1 element strings (FNC1 in first position).  Built from a list
# so that MicroPython interns the identifiers: the dispatcher's raw[:3] is
# then the interned string, not a new one on the heap for every scan.
GS1_MODE = tuple(["]C1", "]d2", "]Q3", "]e0", "]J1"])
# Payload is one GTIN of this many digits.
GTIN_ONLY = {"]E0": 13, "]E4": 8, "]I1": 14}
# Human names, for messages and the panel: one line per identifier, a str
# constant (in flash on a handheld, where a dict would take heap).
NAMES = (
    "\n]C0 Code 128"
    "\n]C1 GS1-128"
    "\n]C2 Code 128 (FNC1 2nd position)"
    "\n]d1 Data Matrix"
    "\n]d2 GS1 DataMatrix"
    "\n]Q1 QR Code"
    "\n]Q3 GS1 QR Code"
    "\n]e0 GS1 DataBar / composite"
    "\n]E0 EAN-13 / UPC-A"
    "\n]E4 EAN-8"
    "\n]I1 ITF-14"
    "\n]J1 GS1 DotCode"
    "\n]A0 Code 39"
    "\n]z0 Aztec"
    "\n"
)


def split(raw):
    # (identifier or None, payload).  "]" + symbology letter + modifier.
    if len(raw) >= 3 and raw[0] == "]" and raw[1] != "]":
        return raw[:3], raw[3:]
    return None, raw


def name(sym):
    if sym is None:
        return None
    i = NAMES.find("\n" + sym + " ") if len(sym) == 3 else -1
    if i < 0:
        return sym
    return NAMES[i + 5 : NAMES.find("\n", i + 5)]
