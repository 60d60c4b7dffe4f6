"""Target: the label template renderer (gateway.printing.templates) with
any value in any field of every template in printer_templates/.

What must hold for every value: render() either refuses the fields with
TemplateError (each problem naming a rule and saying why) or returns ZPL
whose command structure is exactly the template's own: one ^XA ... ^XZ, no
~ command, the same commands in the same order as a label with ordinary
values (so no value started, ended or added a command), every text field
data escaped with ^FH and, unescaped, exactly the text the field should
print, and barcode data free of ZPL prefixes.

atheris: python -m fuzz.zpl_template [libFuzzer options] [corpus dirs]"""

import datetime
import re

from fuzz import harness
from fuzz.budget import count
from gateway.printing import render
from gateway.printing import templates as T
from udi_codes.checkchars import gs1_mod10

TARGET = "zpl_template"
TODAY = "2026-11-22"

# A printable value of each field type; every shipped template prints with
# these (tests/test_fuzz_zpl_template.py checks it, so the fuzzing is not
# refused wholesale).
BASE_BY_TYPE = {
    "gtin14": "06901234567892",
    "sscc18": "06901234500000001" + gs1_mod10("06901234500000001"),
    "drug20": "81234567890123456789",
    "ma_di": "MA.156.M0.100350.01004YA10017",
    "hibc_primary": "A123BJC5D6E71",
    "int": "24",
    "lot": "1234",
    "serial": "5678",
    "text": "一次性使用无菌注射器",
}
DATES = {"expiry": "2028-12-31"}  # other dates: a production date in the past

# Values that try to leave a field: ZPL prefixes and commands, the ^FH and
# ^BX escape character, ^BC subset switches, field-block escapes, control
# characters, the template's own placeholder syntax and %-format.
INJECTIONS = ["^XZ^XA^FDpwned^FS", "^FS^XZ", "~JA", "~DGR:X.GRF,1,1,FF", "^CI0", "^FH^FD", "_5E", "_7E", "_1", "__",
              ">8", ">5", ">:", "\\&", "\\", "{{hri}}", "{{barcode}}", "%s", "%(x)s", "%%", "\x00", "\x1d", "\r\n",
              "\u2028", "\x85", "\ud800", "注射器^XZ", "\ufeff", "^", "~", "_"]


def base_fields(t):
    fields = {}
    for name, spec in t.fields.items():
        if spec["type"] == "date":
            fields[name] = DATES.get(name, "2026-01-15")
        else:
            fields[name] = BASE_BY_TYPE[spec["type"]][: spec["max_length"]]
    return fields


_REFERENCE = {}


def reference(t, dpi):
    """The command heads of a label with the base fields, per template and dpi."""
    key = (t.name, dpi)
    if key not in _REFERENCE:
        _REFERENCE[key] = heads(render.commands(t.render(base_fields(t), dpi, TODAY)))
    return _REFERENCE[key]


def heads(cmds):
    # ^XA, ^FO, ^A@, ^BX … : the command of each element (its data left out).
    return [(kind, data[:3].upper()) for kind, _, data in cmds]


_FH_HEX = re.compile(rb"_([0-9A-Fa-f]{2})")


def fh_unescape(data):
    # What the printer makes of ^FH field data (escape character "_").
    return _FH_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def expected_texts(t, values):
    """The text each text placeholder prints, from the checked values."""
    out = []
    for piece in t._pieces[1::2]:
        if piece[0] != "text":
            continue
        key = piece[1]
        if key in t.fields:
            out.append(values.get(key, ""))
        else:
            parts, tail = t.texts[key]
            if all(f in values for _, f in parts):
                out.append("".join(lit + values[f] for lit, f in parts) + tail)
            else:
                out.append("")
    return out


def check(t, fields, dpi):
    """Render `fields` with template `t`; assert the result is safe ZPL or a refusal."""
    count(TARGET)
    try:
        zpl = t.render(fields, dpi, TODAY)
    except T.TemplateError as e:
        assert e.problems, e
        for p in e.problems:
            assert isinstance(p["rule"], str) and p["rule"] and isinstance(p["message"], str) and p["message"], p
        return None
    assert isinstance(zpl, bytes)
    assert b"~" not in zpl, zpl
    cmds = render.commands(zpl)
    assert heads(cmds) == reference(t, dpi), zpl
    payloads = []
    symbol = None  # the barcode command of the current field
    for i, (kind, _, data) in enumerate(cmds):
        head = data[:3].upper()
        if head[:2] == b"^B" and head != b"^BY":
            symbol = head
        if kind != "format_command" or head != b"^FD":
            continue
        if cmds[i - 1][2][:3].upper() == b"^FH":
            text = fh_unescape(data[3:]).decode("utf-8")  # the printer sees valid UTF-8 (^CI28)
            payloads.append(text)
        else:  # barcode data: the symbology's own escapes only
            assert symbol in (b"^BX", b"^BC"), data
            assert b"^" not in data[3:], data
            if symbol == b"^BX":  # escape character "_": only "__" (a "_") and "_1" (FNC1)
                assert b"_" not in re.sub(rb"_[_1]", b"", data[3:]), data
    values = t.evaluate(fields, dpi, TODAY)["values"]
    for text in expected_texts(t, values):
        assert text in payloads, (text, payloads)
    return zpl


# ---- inputs from fuzz bytes (atheris) -----------------------------------------------

_TEMPLATES = None


def shipped():
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = T.list_templates()
    return _TEMPLATES


def from_bytes(data):
    """One fuzz input -> (template, fields, dpi): byte 0 picks the template,
    byte 1 the field (or all fields), byte 2 the dpi and the value's kind;
    the rest is the value."""
    tpls = shipped()
    if len(data) < 3:
        data = bytes(data) + b"\x00" * (3 - len(data))
    t = tpls[data[0] % len(tpls)]
    names = sorted(t.fields) + ["(unknown)"]
    fields = base_fields(t)
    dpi = t.dpis[data[2] % len(t.dpis)]
    mode = (data[2] >> 2) % 8
    text = data[3:].decode("utf-8", "surrogateescape" if mode & 1 else "replace")
    value = {0: text, 1: text, 2: fields.get(names[0], "") + text, 3: text + INJECTIONS[len(text) % len(INJECTIONS)],
             4: None, 5: int.from_bytes(data[3:11] or b"\x00", "big", signed=True), 6: [text],
             7: datetime.date(2026, 1 + data[1] % 12, 1)}[mode]
    if data[1] == 0xFF:  # every field at once
        fields = {name: value for name in fields}
    else:
        fields[names[data[1] % len(names)]] = value
    return t, fields, dpi


def one_input(data):
    t, fields, dpi = from_bytes(data)
    check(t, fields, dpi)


def seeds():
    out = []
    for i, t in enumerate(shipped()):
        for j in range(len(t.fields) + 1):
            for inj in INJECTIONS[:8]:
                out.append(bytes([i, j, 0]) + inj.encode("utf-8", "surrogatepass"))
    return out


def main(argv=None):
    harness.fuzz(one_input, argv)


if __name__ == "__main__":
    main()
