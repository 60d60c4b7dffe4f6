"""Scan-engine drivers: ``make(kind, uart, cfg)`` picks one by name.

kinds: "line" (generic terminator-based UART output), "gm65" (Grow GM65/GM861/GM805/GM812
zone-bit protocol), "ssi" (Zebra SSI: SE4710/SE2707 and compatibles).
"""


def make(kind, uart, cfg=None):
    if kind in ("gm65", "gm861", "gm805", "gm812", "grow"):
        from engines.gm65 import GM65

        return GM65(uart, cfg)
    if kind in ("ssi", "se4710", "se2707", "zebra"):
        from engines.ssi import SSI

        return SSI(uart, cfg)
    if kind == "line":
        from engines.line import LineEngine

        return LineEngine(uart, cfg)
    raise ValueError("unknown scan engine kind: " + str(kind))
