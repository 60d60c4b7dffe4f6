"""Scanner station: check each scanned line at once and say why it failed.

This is the main job until the gateway service exists; a keyboard-wedge
scanner on the PC types one code per line (GS spelled as in `udi-edge check`).
"""

import sys

import udi_codes
from udi_codes import messages

DEMO_CODES = (
    "]d201069012345678921727123110LOT2024A\x1d21SN0001",
    "]d201069012345678931727123110LOT2024A\x1d21SN0001",
    "]d221SN0001",
    "(01)06901234567892(17)271231(10)LOT2024A(21)SN0001",
    "+A99912345/$$52001510X33",
    "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3",
    "81234567890123456789",
    "C0344051070500007551",
    "]Q1https://id.gs1.org/01/06901234567892/10/LOT2024A/21/SN0001?17=271231",
    "hello",
)


def summary(res, lang="zh"):
    mark = "OK " if res["valid"] else "BAD"
    parts = [mark, res["scheme"]]
    if res["di"]:
        parts.append("DI=" + res["di"])
    for k in ("lot", "serial", "expiry", "production_date"):
        v = res["pi"].get(k)
        if v:
            parts.append("%s=%s" % (k, v))
    lines = ["  ".join(parts)]
    for kind in ("errors", "warnings", "notes"):
        for e in res[kind]:
            lines.append("    %s %s" % (kind[:-1] + ":", messages.describe(e, lang)))
    return "\n".join(lines)


def run(inp, out, today=None, demo=False, lang="zh"):
    from gateway.cli import unescape_gs

    source = DEMO_CODES if demo else inp
    interactive = not demo and hasattr(inp, "isatty") and inp.isatty()
    if interactive:
        out.write("UDI Edge scanner station — scan a code (Ctrl-D to stop)\n> ")
        out.flush()
    for line in source:
        raw = unescape_gs(line.rstrip("\r\n"))
        if raw:
            out.write(summary(udi_codes.parse(raw, "read", today), lang) + "\n")
        if interactive:
            out.write("> ")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.stdin, sys.stdout))
