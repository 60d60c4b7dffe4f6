"""Label templates: ZPL with typed placeholders, checked before printing.

A template is two files in printer_templates/ (format: docs/printing-templates.md):

  <name>.zpl   one ZPL format (^XA ... ^XZ) with placeholders {{...}}
  <name>.toml  title, label size, dpi, module size per dpi, symbology, the
               data composition (which field feeds which AI / part) and the
               field schema

Every field value reaches the ZPL escaped: text through ^FH hex escapes,
barcode data through the symbology's own escapes (^BX "_", ^BC ">"), so no
value can end a field or start a command.  Before anything is rendered the
encoded data goes through the code engine in the "print" profile (one parse
per label) and the symbol, with its quiet zones, is checked against the
label and the GS1 X-dimension limits.

The template is compiled once per dpi into a %-format string, so a render is
field checks + one engine parse + one string format.
"""

import math
import os
import re
import time
import tomllib

import udi_codes
from udi_codes import gs1, gs1_dict
from udi_codes.checkchars import HIBC_CHARS
from udi_codes.gs1_lint import CSET82, DIGITS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DIR = os.environ.get("UDI_EDGE_TEMPLATES") or os.path.join(ROOT, "printer_templates")

# Print-head resolution -> dots per mm, as the printer reports it in ~HI
# (printing.md §1.11/§1.12: a "300 dpi" head reports 12, not 11.8).
DOTS_PER_MM = {203: 8, 300: 12, 600: 24}


class TemplateError(ValueError):
    """A template that cannot be loaded, or fields that cannot be printed.

    .problems: list of {"field", "rule", "message"} (same shape as check()).
    """

    def __init__(self, problems, name=None):
        if isinstance(problems, str):
            problems = [{"field": None, "rule": "template_invalid", "message": problems}]
        self.problems = problems
        self.name = name
        head = ("template %s: " % name) if name else ""
        super().__init__(head + "; ".join(_describe(p) for p in problems))


def _describe(p):
    return ("%s: " % p["field"] if p.get("field") else "") + "%s (%s)" % (p["message"], p["rule"])


def _problem(field, rule, message):
    return {"field": field, "rule": rule, "message": message}


# ---- symbologies -------------------------------------------------------------
#
# scheme: which composition and which engine scheme; aim: the symbology
# identifier a reader reports (what encoded_data() starts with); kind: the
# ZPL command family.

SYMBOLOGIES = {
    "gs1-datamatrix": {"scheme": "gs1", "aim": "]d2", "kind": "datamatrix"},
    "gs1-128": {"scheme": "gs1", "aim": "]C1", "kind": "code128"},
    "qr-ma": {"scheme": "ma", "aim": "]Q1", "kind": "qr"},
    "code128c-drug": {"scheme": "cn-drug", "aim": "]C0", "kind": "code128"},
    "hibc-128": {"scheme": "hibc", "aim": "]C0", "kind": "code128"},
    "hibc-datamatrix": {"scheme": "hibc", "aim": "]d1", "kind": "datamatrix"},
}

# GS1 QR is refused on purpose: Zebra documents no way to write the FNC1
# separator inside ^BQ, ">8" as FNC1-first needs Link-OS 6.6+ and is not
# confirmed, and the offline renderer cannot show it (printing.md §1.3).
REFUSED_SYMBOLOGIES = {
    "gs1-qr": "GS1 QR (]Q3) has no verified ZPL encoding (FNC1 separators cannot be written in ^BQ, "
    "FNC1-first is unconfirmed); use gs1-datamatrix",
}

# Quiet zone in modules on each side: GS1 DataMatrix 1X (GS1 DataMatrix
# Guideline), QR 4X (ISO/IEC 18004), Code 128 10X left and right only.
QUIET_ZONE = {"datamatrix": 1, "qr": 4, "code128": 10}
QUIET_ZONE_VERTICAL = {"datamatrix": True, "qr": True, "code128": False}

# X-dimension limits in mm (min, max); None = no limit.  "gs1-healthcare" is
# GS1 GenSpecs §5.12.3.6 Table 6 (printing.md §4.4, codes.md §7: read through
# secondary transcriptions).  Symbologies without a published limit use a
# project default, said so in their source.
X_LIMITS = {
    "gs1-healthcare": {
        "gs1-datamatrix": (0.254, 0.990, "GS1 GenSpecs Table 6 (healthcare)"),
        "gs1-128": (0.170, 0.495, "GS1 GenSpecs Table 6 (healthcare)"),
        "qr-ma": (0.254, None, "project default (no MA carrier X-dimension found; GS1 2D minimum reused)"),
        "code128c-drug": (0.170, None, "project default (no NMPA X-dimension found; GS1-128 minimum reused)"),
        "hibc-128": (0.170, None, "project default (HIBC minimum not confirmed; GS1-128 minimum reused)"),
        "hibc-datamatrix": (0.254, None, "project default (GS1 DataMatrix minimum reused)"),
    },
}

# ECC 200 square symbols: (modules per side, data codewords), ISO/IEC 16022 Table 7.
DM_SQUARE = (
    (10, 3),
    (12, 5),
    (14, 8),
    (16, 12),
    (18, 18),
    (20, 22),
    (22, 30),
    (24, 36),
    (26, 44),
    (32, 62),
    (36, 86),
    (40, 114),
    (44, 144),
    (48, 174),
    (52, 204),
    (64, 280),
    (72, 368),
    (80, 456),
    (88, 576),
    (96, 696),
    (104, 816),
    (120, 1050),
    (132, 1304),
    (144, 1558),
)

# QR Model 2 data codewords for versions 1-10 per error-correction level
# (ISO/IEC 18004 Table 7).  Larger symbols are refused rather than guessed.
QR_DATA_CODEWORDS = {
    "L": (19, 34, 55, 80, 108, 136, 156, 194, 232, 274),
    "M": (16, 28, 44, 64, 86, 108, 124, 154, 182, 216),
    "Q": (13, 22, 34, 48, 62, 76, 88, 110, 132, 154),
    "H": (9, 16, 26, 36, 46, 60, 66, 86, 100, 122),
}

# Engine warnings that stop a label: printing an already expired date is a
# line error even though reading such a label is only a warning.
BLOCKING_WARNINGS = ("expired",)


# ---- field types -------------------------------------------------------------

MA_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-@$,*+%/#!^~"
CHARSETS = {
    "cset82": CSET82,  # GS1 AI values (X)
    "hibc": HIBC_CHARS.replace("/", ""),  # "/" separates HIBC segments
    "ma": MA_CHARS,  # MA code table without the "." delimiter
    "digits": DIGITS,
}

# type -> defaults: charset, (min, max) length, the display of the charset.
FIELD_TYPES = {
    "gtin14": {"charset": "digits", "length": (14, 14)},
    "sscc18": {"charset": "digits", "length": (18, 18)},
    "drug20": {"charset": "digits", "length": (20, 20)},
    "lot": {"charset": "cset82", "length": (1, 20)},
    "serial": {"charset": "cset82", "length": (1, 20)},
    "ma_di": {"charset": "ma_di", "length": (12, 40)},
    "hibc_primary": {"charset": "hibc_primary", "length": (6, 24)},
    "date": {},
    "int": {"length": (1, 8)},
    "text": {"length": (0, 100)},
}
CHARSETS["ma_di"] = MA_CHARS + "."
CHARSETS["hibc_primary"] = "+0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Deletion tables: value.translate(table) leaves only the characters that
# are NOT allowed (one C call per value).
_DELETE = {name: dict.fromkeys(map(ord, chars)) for name, chars in CHARSETS.items()}

# Characters a text field may not hold: C0/C1 controls, DEL, line and
# paragraph separators.  They are also hex-escaped, should one get through.
_CONTROL = [c for c in range(0x20)] + [0x7F] + list(range(0x80, 0xA0)) + [0x2028, 0x2029]

# ^FH escapes (indicator "_"): the two ZPL prefixes, the indicator itself and
# every control character; everything else (UTF-8 Chinese with ^CI28) as is.
_FH = {ord("^"): "_5E", ord("~"): "_7E", ord("_"): "_5F"}
for _c in _CONTROL:
    _FH[_c] = "".join("_%02X" % b for b in chr(_c).encode("utf-8"))

# ^BX data with escape character "_": "_" is doubled, GS (FNC1) becomes "_1".
_BX = {ord("_"): "__", 0x1D: "_1"}


def fh_escape(value):
    """Text for a ^FH field: ^ ~ _ and control characters as _hh (UTF-8 bytes)."""
    return value.translate(_FH)


def bx_escape(value):
    """Data for ^BX with escape "_" (no ^FH): "_" -> "__", GS -> "_1" (FNC1)."""
    return value.translate(_BX)


def _bad_chars(value, charset):
    rest = value.translate(_DELETE[charset])
    return "".join(sorted(set(rest)))


def _show_chars(chars):
    return ", ".join(repr(c) for c in chars)


def _check_date(name, value):
    # "YYYY-MM-DD" (a date object is accepted); day 00 passes the shape so
    # that the engine gives its healthcare verdict (dd00_date) for GS1.
    if hasattr(value, "isoformat") and not isinstance(value, str):
        value = value.isoformat()[:10]
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None, _problem(name, "field_type", "must be a date YYYY-MM-DD, got %r" % (value,))
    y, m, d = value[0:4], value[5:7], value[8:10]
    if not (y + m + d).isdigit() or not (y + m + d).isascii():
        return None, _problem(name, "field_type", "must be a date YYYY-MM-DD, got %r" % (value,))
    if not ("01" <= m <= "12") or d > "31":
        return None, _problem(name, "field_type", "%s is not a date (month 01-12, day 00-31)" % value)
    return value, None


def _check_int(name, value, spec):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None, _problem(name, "field_type", "must be a whole number, got %r" % (value,))
    s = str(value) if isinstance(value, int) else value
    if not (s.isascii() and s.isdigit()):
        return None, _problem(name, "field_type", "must be a whole number without sign, got %r" % (value,))
    s = str(int(s))
    lo, hi = spec.get("min"), spec.get("max")
    if (lo is not None and int(s) < lo) or (hi is not None and int(s) > hi):
        return None, _problem(name, "field_range", "%s is outside %s..%s" % (s, lo, hi))
    if len(s) > spec["max_length"]:
        return None, _problem(name, "field_too_long", "%s has %d digits, at most %d" % (s, len(s), spec["max_length"]))
    return s, None


def _check_text(name, value, spec):
    if not isinstance(value, str):
        return None, _problem(name, "field_type", "must be text, got %r" % (value,))
    if not value.isprintable():
        # isprintable() is also False for spaces other than " " (U+3000 …),
        # which are fine on a label: only the real controls are refused.
        for i, c in enumerate(value):
            # a lone surrogate (from JSON "\ud800") is no character at all: no UTF-8 for ^CI28
            if (ord(c) in _FH and c not in "^~_") or "\ud800" <= c <= "\udfff":
                return None, _problem(
                    name, "control_character", "character U+%04X at position %d cannot be printed" % (ord(c), i + 1)
                )
    if len(value) > spec["max_length"]:
        return None, _problem(name, "field_too_long", "%d characters, at most %d" % (len(value), spec["max_length"]))
    if spec["in_block"] and "\\" in value:
        # In a ^FB field block "\" starts a block escape, and a printer can
        # print it only under ^CI13 (not ^CI28): refuse rather than misprint.
        return None, _problem(name, "backslash_in_block", "a backslash cannot be printed in this field block")
    return value, None


def _check_coded(name, value, spec):
    if not isinstance(value, str):
        return None, _problem(name, "field_type", "must be a string, got %r" % (value,))
    n = len(value)
    if n > spec["max_length"]:
        return None, _problem(name, "field_too_long", "%d characters, at most %d" % (n, spec["max_length"]))
    if n < spec["min_length"]:
        exact = spec["min_length"] == spec["max_length"]
        return None, _problem(
            name, "field_too_short", "%d characters, %s %d" % (n, "needs" if exact else "at least", spec["min_length"])
        )
    bad = _bad_chars(value, spec["charset"])
    if bad:
        return None, _problem(
            name, "field_charset", "character(s) %s not allowed (%s)" % (_show_chars(bad), spec["charset"])
        )
    return value, None


def _validate_value(name, value, spec):
    t = spec["type"]
    if t == "date":
        return _check_date(name, value)
    if t == "int":
        return _check_int(name, value, spec)
    if t == "text":
        return _check_text(name, value, spec)
    return _check_coded(name, value, spec)


# ---- HRI lines ------------------------------------------------------------------

# Where a long HRI may be broken: before an element (GS1 "(", MA ".", HIBC
# "/").  ZPL's own ^FB word wrap would cut inside a value and add a hyphen.
HRI_BREAKS = {"gs1": "(", "ma": ".", "hibc": "/"}


def wrap_hri(hri, width, breaks):
    """Lines of at most `width` characters, broken before a break character
    where possible (an element longer than a line is cut)."""
    pieces = []
    start = 0
    for i in range(1, len(hri)):
        if hri[i] in breaks:
            pieces.append(hri[start:i])
            start = i
    pieces.append(hri[start:])
    lines = []
    cur = ""
    for p in pieces:
        if cur and len(cur) + len(p) > width:
            lines.append(cur)
            cur = ""
        cur += p
        while len(cur) > width:
            lines.append(cur[:width])
            cur = cur[width:]
    if cur:
        lines.append(cur)
    return lines


# ---- Code 128 subsets ----------------------------------------------------------


def code128_zpl(data, fnc1_first):
    """^BC mode N field data with explicit subsets, and the symbol width in modules.

    data: plain data, GS (0x1D) where an FNC1 separator goes; fnc1_first adds
    the leading FNC1 (GS1-128).  Subset C for digit pairs, B otherwise; a
    switch to C only where it saves characters.  ">" in data is ">0".
    """
    out = []
    n = 0  # symbol characters after the start character
    size = len(data)
    i = 0

    def digits_at(k):
        j = k
        while j < size and "0" <= data[j] <= "9":
            j += 1
        return j - k

    run = digits_at(0)
    subset_c = run >= 4 or (run >= 2 and run == size and run % 2 == 0)
    out.append(">;" if subset_c else ">:")
    if fnc1_first:
        out.append(">8")
        n += 1
    while i < size:
        c = data[i]
        if c == "\x1d":
            out.append(">8")
            n += 1
            i += 1
        elif subset_c:
            if i + 1 < size and "0" <= c <= "9" and "0" <= data[i + 1] <= "9":
                out.append(data[i : i + 2])
                n += 1
                i += 2
            else:
                out.append(">6")
                n += 1
                subset_c = False
        else:
            run = digits_at(i)
            end = i + run
            if run >= 6 or (run >= 4 and (end == size or data[end] == "\x1d")):
                if run % 2:
                    out.append(c)
                    n += 1
                    i += 1
                out.append(">5")
                n += 1
                subset_c = True
            else:
                out.append(">0" if c == ">" else c)
                n += 1
                i += 1
    # start + n + check character, 11 modules each; stop pattern 13.
    return "".join(out), 11 * (n + 2) + 13


def datamatrix_codewords(data, fnc1_first):
    """ASCII-encodation codeword count: an upper bound for any ECC 200 encoder
    that never does worse than ASCII (C40/Text are chosen only when shorter)."""
    n = 1 if fnc1_first else 0
    i = 0
    size = len(data)
    while i < size:
        c = data[i]
        if "0" <= c <= "9" and i + 1 < size and "0" <= data[i + 1] <= "9":
            i += 2
        else:
            i += 1
            if c > "\x7f":
                n += 1  # upper shift
        n += 1
    return n


def datamatrix_side(codewords):
    for side, cap in DM_SQUARE:
        if codewords <= cap:
            return side
    return None


def qr_side(nbytes, ec, fnc1_first=False):
    """Modules per side for byte-mode data (an upper bound: mixed segments are
    chosen only when shorter), or None beyond version 10."""
    caps = QR_DATA_CODEWORDS[ec]
    for v in range(1, len(caps) + 1):
        bits = 4 + (8 if v < 10 else 16) + 8 * nbytes + (4 if fnc1_first else 0)
        if (bits + 7) // 8 <= caps[v - 1]:
            return 17 + 4 * v
    return None


# ---- template loading --------------------------------------------------------

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TOKEN_RE = re.compile(r"\{\{([^{}]*)\}\}")
# Commands a template may not contain: prefix changes would defeat the
# escaping, ^LH/^PW/^LL/^CI come from {{setup}}, stored formats and printer
# serialisation have no place in a host-merged label, ^PQ is the job's.
_FORBIDDEN = ("^CC", "^CD", "^CT", "^LH", "^PW", "^LL", "^CI", "^DF", "^XF", "^FN", "^SN", "^SF", "^PQ", "^FH")
_MA_UNITS = {
    "L": "lot",
    "S": "serial",
    "M": "production_date",
    "D": "sterilisation_lot",
    "V": "valid_until",
    "E": "expiry",
}
_HIBC_PARTS = ("primary", "lot", "serial", "expiry", "production_date", "quantity")


def _mm(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise TemplateError("expected a length in mm, got %r" % (value,))
    return float(value)


class Template:
    """One label template.  Build with load(); see the module docstring."""

    def __init__(self, name, meta, zpl, path=None):
        self.name = name
        self.path = path
        # The source as given: what a stored version keeps (template_versions).
        self.meta = meta
        self.zpl = zpl
        try:
            self._init(meta, zpl)
        except TemplateError as e:
            raise TemplateError(e.problems, name) from None
        except (KeyError, TypeError, ValueError) as e:
            raise TemplateError("bad metadata: %s" % e, name) from None
        self._compiled = {}

    # -- metadata --

    def _init(self, meta, zpl):
        title = meta.get("title") or {}
        if not isinstance(title, dict) or not title.get("zh") or not title.get("en"):
            raise TemplateError("title needs zh and en")
        self.title = {"zh": title["zh"], "en": title["en"]}
        sym = meta.get("symbology")
        if sym in REFUSED_SYMBOLOGIES:
            raise TemplateError(REFUSED_SYMBOLOGIES[sym])
        if sym not in SYMBOLOGIES:
            raise TemplateError("symbology %r is not one of %s" % (sym, ", ".join(sorted(SYMBOLOGIES))))
        self.symbology = sym
        self.scheme = SYMBOLOGIES[sym]["scheme"]
        self.aim = SYMBOLOGIES[sym]["aim"]
        self.kind = SYMBOLOGIES[sym]["kind"]
        self.x_spec = meta.get("x_spec", "gs1-healthcare")
        if self.x_spec not in X_LIMITS:
            raise TemplateError("x_spec %r is not one of %s" % (self.x_spec, ", ".join(X_LIMITS)))

        label = meta["label"]
        self.width_mm = _mm(label["width_mm"])
        self.height_mm = _mm(label["height_mm"])
        self.dpis = tuple(int(d) for d in meta["dpi"])
        for d in self.dpis:
            if d not in DOTS_PER_MM:
                raise TemplateError("dpi %d is not one of %s" % (d, sorted(DOTS_PER_MM)))
        md = meta["module_dots"]
        self.module_dots = {}
        for d in self.dpis:
            v = md.get(str(d))
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise TemplateError("module_dots needs a whole number of dots for dpi %d" % d)
            self.module_dots[d] = v

        bc = meta.get("barcode") or {}
        self.barcode_x_mm = _mm(bc.get("x_mm", 0))
        self.barcode_y_mm = _mm(bc.get("y_mm", 0))
        self.bar_height_mm = _mm(bc.get("height_mm", 10))
        self.qr_ec = bc.get("error_correction", "M")
        if self.qr_ec not in QR_DATA_CODEWORDS:
            raise TemplateError("barcode.error_correction must be L, M, Q or H")
        self.hibc_date_format = bc.get("date_format", "YYMMDD")

        hri = meta.get("hri") or {}
        self.hri_line_chars = int(hri.get("line_chars", 0))

        fonts = meta.get("fonts") or {}
        for k, v in fonts.items():
            if not isinstance(v, str) or not re.match(r"^[A-Z]:[A-Za-z0-9_.-]{1,40}$", v):
                raise TemplateError("fonts.%s must be a printer font name such as E:ANMDS.TTF, got %r" % (k, v))
        self.fonts = dict(fonts)

        self.fields = {}
        for fname, raw in (meta.get("fields") or {}).items():
            self.fields[fname] = self._field_spec(fname, raw)
        self.texts = {}
        for key, raw in (meta.get("text") or {}).items():
            self.texts[key] = self._text_spec(key, raw)
        self.composition = self._composition(meta.get("data") or [])
        self._parse_zpl(zpl)
        # Whether a text field sits in a ^FB block is known only after the
        # ZPL is read (_parse_zpl).
        for fname, spec in self.fields.items():
            spec["in_block"] = fname in self._block_fields

    def _field_spec(self, fname, raw):
        if not re.match(r"^[a-z][a-z0-9_]{0,39}$", fname):
            raise TemplateError("field name %r: lower-case letters, digits and _" % fname)
        t = raw.get("type")
        if t not in FIELD_TYPES:
            raise TemplateError("field %s: type %r is not one of %s" % (fname, t, ", ".join(FIELD_TYPES)))
        base = FIELD_TYPES[t]
        lo, hi = base.get("length", (0, 10))
        spec = {
            "type": t,
            "required": bool(raw.get("required", False)),
            "min_length": lo,
            "max_length": int(raw.get("max_length", hi)),
            "charset": raw.get("charset", base.get("charset")),
            "min": raw.get("min"),
            "max": raw.get("max"),
            "description": raw.get("description", ""),
            "in_block": False,
        }
        if spec["max_length"] > hi and t != "text":
            raise TemplateError("field %s: max_length %d exceeds the type's %d" % (fname, spec["max_length"], hi))
        if spec["charset"] is not None and spec["charset"] not in CHARSETS:
            raise TemplateError("field %s: charset %r is not one of %s" % (fname, spec["charset"], ", ".join(CHARSETS)))
        return spec

    def _text_spec(self, key, raw):
        # format = "批号 LOT {lot}": literal parts and field names, compiled
        # to (literal, field) pairs; the whole text is left out when a field
        # it names is absent.
        fmt = raw["format"] if isinstance(raw, dict) else raw
        parts = []
        pos = 0
        for m in re.finditer(r"\{([a-z][a-z0-9_]*)\}", fmt):
            if m.group(1) not in self.fields:
                raise TemplateError("text.%s names unknown field %r" % (key, m.group(1)))
            parts.append((fmt[pos : m.start()], m.group(1)))
            pos = m.end()
        tail = fmt[pos:]
        if "{" in tail or "}" in tail or any("{" in lit or "}" in lit for lit, _ in parts):
            raise TemplateError("text.%s: braces only around field names" % key)
        return (tuple(parts), tail)

    def _composition(self, data):
        # Ordered list of (key, field, required); key is an AI (gs1), a unit
        # letter or "DI" (ma), a part (hibc) or "code" (cn-drug).
        comp = []
        for item in data:
            fname = item.get("field")
            if fname not in self.fields:
                raise TemplateError("data item %r names unknown field %r" % (item, fname))
            if self.scheme == "gs1":
                key = item.get("ai")
                if not isinstance(key, str) or gs1_dict.lookup(key) is None:
                    raise TemplateError("data item %r: unknown GS1 AI" % (item,))
            elif self.scheme == "ma":
                key = item.get("unit")
                if key != "DI" and key not in _MA_UNITS:
                    raise TemplateError("data item %r: unit must be DI or one of %s" % (item, "".join(_MA_UNITS)))
            elif self.scheme == "hibc":
                key = item.get("part")
                if key not in _HIBC_PARTS:
                    raise TemplateError("data item %r: part must be one of %s" % (item, ", ".join(_HIBC_PARTS)))
            else:
                key = item.get("part")
                if key != "code":
                    raise TemplateError("data item %r: part must be code" % (item,))
            comp.append((key, fname, self.fields[fname]["required"]))
        if not comp:
            raise TemplateError("no data composition ([[data]])")
        first = comp[0]
        need = {"ma": "DI", "hibc": "primary", "cn-drug": "code"}.get(self.scheme)
        if need and (first[0] != need or not first[2]):
            raise TemplateError("the first data item must be the required %s" % need)
        if self.scheme == "gs1" and not first[2]:
            raise TemplateError("the first AI must come from a required field")
        return tuple(comp)

    # -- the ZPL --

    def _parse_zpl(self, zpl):
        # Split into static text and tokens; every "{{" / "}}" must be part of
        # a token, so static ZPL can never be mistaken for a placeholder.
        upper = zpl.upper()
        if upper.count("^XA") != 1 or upper.count("^XZ") != 1 or upper.find("^XA") > upper.find("^XZ"):
            raise TemplateError("the ZPL must hold exactly one ^XA ... ^XZ")
        if "~" in zpl:
            raise TemplateError("no ~ commands in a template (write a literal ~ as _7E in a ^FH field)")
        for cmd in _FORBIDDEN:
            if cmd in upper:
                raise TemplateError("%s is not allowed in a template (see docs/printing-templates.md)" % cmd)
        pieces = []
        pos = 0
        for m in _TOKEN_RE.finditer(zpl):
            pieces.append(zpl[pos : m.start()])
            pieces.append(self._token(m.group(1).strip()))
            pos = m.end()
        pieces.append(zpl[pos:])
        for s in pieces[::2]:
            if "{{" in s or "}}" in s:
                raise TemplateError("stray {{ or }} in the ZPL")
        kinds = [p[0] for p in pieces[1::2]]
        if kinds.count("setup") != 1 or kinds.count("barcode") != 1:
            raise TemplateError("the ZPL needs exactly one {{setup}} and one {{barcode}}")
        before_setup = pieces[0] if kinds[0] == "setup" else None
        if before_setup is None or before_setup.strip().upper() != "^XA":
            raise TemplateError("{{setup}} must follow ^XA directly")
        # Field blocks: a text token in a field whose static part has ^FB.
        self._block_fields = set()
        static_so_far = ""
        for i, p in enumerate(pieces):
            if i % 2 == 0:
                static_so_far += p
                continue
            field_start = max(static_so_far.upper().rfind("^FS"), static_so_far.upper().rfind("^XA"))
            in_block = "^FB" in static_so_far[field_start:].upper()
            if p[0] == "text" and in_block:
                if p[1] in self.fields:
                    self._block_fields.add(p[1])
                else:
                    parts, tail = self.texts[p[1]]
                    if "\\" in tail or any("\\" in lit for lit, _ in parts):
                        raise TemplateError("text.%s: no backslash in a ^FB field block" % p[1])
                    self._block_fields.update(f for _, f in parts)
            # barcode, hri and text tokens end their field (…^FS); mm and
            # font tokens are parameters inside one.
            static_so_far += "^FS" if p[0] in ("barcode", "hri", "text") else "0"
        self._pieces = pieces
        lines = [p[1] for p in pieces[1::2] if p[0] == "hri" and p[1]]
        if lines and sorted(set(lines)) != list(range(1, max(lines) + 1)):
            raise TemplateError("{{hri:N}} lines must be numbered 1, 2, … without gaps")
        self.hri_lines = max(lines) if lines else 0
        if self.hri_lines and not self.hri_line_chars:
            raise TemplateError("{{hri:N}} needs [hri] line_chars")

    def _token(self, body):
        kind, _, arg = body.partition(":")
        if kind in ("setup", "barcode") and not arg:
            return (kind,)
        if kind == "hri":
            if not arg:
                return ("hri", 0)
            if not arg.isdigit() or not 1 <= int(arg) <= 9:
                raise TemplateError("{{hri:%s}}: a line number 1-9" % arg)
            return ("hri", int(arg))
        if kind == "mm":
            try:
                return ("mm", _mm(float(arg)))
            except ValueError:
                raise TemplateError("{{mm:%s}}: not a number" % arg) from None
        if kind == "font":
            if arg not in self.fonts:
                raise TemplateError("{{font:%s}}: no such entry in [fonts]" % arg)
            return ("font", arg)
        if kind == "text":
            if arg not in self.fields and arg not in self.texts:
                raise TemplateError("{{text:%s}}: neither a field nor a [text] entry" % arg)
            return ("text", arg)
        raise TemplateError("unknown placeholder {{%s}}" % body)

    def _compile(self, dpi):
        # One %-format per dpi: static ZPL (with "%" doubled) and a %s per
        # dynamic slot.  Slots: ("barcode",), ("hri",), ("text", key).
        dpmm = DOTS_PER_MM[dpi]
        fmt = []
        slots = []
        for i, p in enumerate(self._pieces):
            if i % 2 == 0:
                fmt.append(p.replace("%", "%%"))
                continue
            kind = p[0]
            if kind == "setup":
                fmt.append("^CI28^PW%d^LL%d^LH0,0" % (self.dots(self.width_mm, dpi), self.dots(self.height_mm, dpi)))
            elif kind == "mm":
                fmt.append(str(round(p[1] * dpmm)))
            elif kind == "font":
                fmt.append(self.fonts[p[1]])
            elif kind == "barcode":
                fmt.append(self._barcode_prefix(dpi).replace("%", "%%") + "%s^FS")
                slots.append(p)
            else:  # hri, text: a complete ^FH field
                fmt.append("^FH^FD%s^FS")
                slots.append(p)
        return "".join(fmt), tuple(slots)

    def _barcode_prefix(self, dpi):
        m = self.module_dots[dpi]
        x = self.dots(self.barcode_x_mm, dpi)
        y = self.dots(self.barcode_y_mm, dpi)
        if self.kind == "datamatrix":
            # ECC 200, smallest square size, escape character set explicitly
            # (the firmware default changed from ~ to _: printing.md §1.1).
            return "^FO%d,%d^BXN,%d,200,,,,_^FD" % (x, y, m)
        if self.kind == "code128":
            # Mode N: subsets and FNC1 are written by code128_zpl(); no
            # interpretation line (the template prints its own HRI).
            return "^FO%d,%d^BY%d^BCN,%d,N,N,N,N^FD" % (x, y, m, self.dots(self.bar_height_mm, dpi))
        # QR model 2, automatic input; ^FH for ^ ~ _ in MA data.
        return "^FO%d,%d^BQN,2,%d^FH^FD%sA," % (x, y, m, self.qr_ec)

    @staticmethod
    def dots(mm, dpi):
        return round(mm * DOTS_PER_MM[dpi])

    # -- fields -> data --

    def _fields(self, fields, problems):
        # Validated and normalised values of the fields present.
        values = {}
        if not isinstance(fields, dict):
            problems.append(_problem(None, "field_type", "fields must be a mapping of name to value"))
            return values
        for name in fields:
            if name not in self.fields:
                problems.append(_problem(name, "unknown_field", "this template has no field %r" % (name,)))
        for name, spec in self.fields.items():
            v = fields.get(name)
            if v is None or v == "":
                if spec["required"]:
                    problems.append(_problem(name, "missing_field", "required field is missing"))
                continue
            value, p = _validate_value(name, v, spec)
            if p is not None:
                problems.append(p)
            else:
                values[name] = value
        return values

    def _compose(self, values):
        # -> (data without AIM identifier, hri, at_map, spans, iso_dates)
        # at_map: engine "at" keys (AI, MA unit, pi key) -> field;
        # spans: (start, end, field) in data, for positional "at".
        if self.scheme == "gs1":
            return self._compose_gs1(values)
        if self.scheme == "ma":
            return self._compose_ma(values)
        if self.scheme == "hibc":
            return self._compose_hibc(values)
        fname = self.composition[0][1]
        code = values[fname]
        return code, code, {"code": fname}, ((0, len(code), fname),), ()

    def _compose_gs1(self, values):
        pairs = []
        at_map = {}
        dates = []
        for ai, fname, _ in self.composition:
            v = values.get(fname)
            if v is None:
                continue
            if self.fields[fname]["type"] == "date":
                dates.append((gs1.PI_KEYS.get(ai, ai), fname, v))
                v = v[2:4] + v[5:7] + v[8:10]
            pairs.append((ai, v))
            at_map[ai] = fname
            key = gs1.PI_KEYS.get(ai)
            if key:
                at_map[key] = fname
        scan = gs1.to_scan_data(pairs, "")
        # Spans follow to_scan_data's layout: AI, value, GS where needed.
        spans = []
        pos = 0
        last = len(pairs) - 1
        for i, (ai, v) in enumerate(pairs):
            pos += len(ai)
            spans.append((pos - len(ai), pos + len(v), at_map[ai]))
            pos += len(v) + (1 if i < last and gs1_dict.lookup(ai)[gs1_dict.FNC1] else 0)
        # Printed HRI: the engine's to_hri() escapes "(" in values for keyed
        # re-entry; on the label GS1 prints data as is (values hold no "\").
        hri = gs1.to_hri(pairs).replace("\\(", "(")
        return scan, hri, at_map, spans, dates

    def _compose_ma(self, values):
        from udi_codes import ma

        di_field = self.composition[0][1]
        data = values[di_field]
        at_map = {"di": di_field}
        spans = [(0, len(data), di_field)]
        pi = []
        dates = []
        for unit, fname, _ in self.composition[1:]:
            v = values.get(fname)
            if v is None:
                continue
            if self.fields[fname]["type"] == "date":
                dates.append((_MA_UNITS[unit], fname, v))
                v = v[2:4] + v[5:7] + v[8:10]  # YYMMDD (MA readers assume 20YY)
            start = len(data) + len("".join(pi))
            pi.append("." + unit + v)
            spans.append((start, start + len(pi[-1]), fname))
            at_map["." + unit] = fname
            at_map[_MA_UNITS[unit]] = fname
        if pi:
            pis = "".join(pi)
            # The PI check character (unofficial algorithm, codes.md §3.2).
            chk = ma.check_char(pis) or "0"
            data = data + pis + ".C" + chk
        return data, data, at_map, spans, dates

    def _compose_hibc(self, values):
        from udi_codes import hibc

        args = {}
        at_map = {}
        for part, fname, _ in self.composition:
            v = values.get(fname)
            at_map[part] = fname
            if v is not None:
                args[part] = int(v) if part == "quantity" else v
        prim = args.pop("primary")
        prim = prim.removeprefix("+")
        try:
            data = hibc.build(prim[:4], prim[4:-1], prim[-1:], date_format=self.hibc_date_format, **args)
        except ValueError as e:
            msg = str(e)
            word = msg.split(" ", 1)[0].lower()
            field = at_map.get(word) or (at_map.get("primary") if word in ("lic", "pcn", "unit") else None)
            raise _BuildError(_problem(field, "build_failed", msg)) from None
        plen = len(prim) + 1
        spans = [(0, plen, at_map["primary"])]
        if len(data) > plen + 1:
            spans.append((plen, len(data), None))
        return data, None, at_map, spans, ()

    # -- evaluation --

    def evaluate(self, fields, dpi, today=None):
        """Everything check() and render() need, in one pass.

        -> {"problems": [...], "warnings": [engine warnings that do not
        stop the label], "encoded": scan data or None, "hri": str or None,
        "geometry": {...} or None}
        """
        problems = []
        dpi_ok = dpi in self.module_dots
        if not dpi_ok:
            problems.append(
                _problem(
                    None,
                    "dpi_unsupported",
                    "%r dpi is not supported by this template (%s)" % (dpi, ", ".join(map(str, self.dpis))),
                )
            )
        values = self._fields(fields, problems)
        out = {"problems": problems, "warnings": [], "encoded": None, "hri": None, "geometry": None, "values": values}
        if dpi_ok:
            self._check_module(dpi, problems)
        bad = {p["field"] for p in problems}
        if not isinstance(fields, dict) or any(f in bad for _, f, _ in self.composition):
            return out
        try:
            data, hri, at_map, spans, dates = self._compose(values)
        except _BuildError as e:
            problems.append(e.problem)
            return out
        encoded = self.aim + data
        res = udi_codes.parse(encoded, "print", today)
        if res["scheme"] != self.scheme:
            # Data the engine does not even recognise as this scheme (a drug
            # code not starting with 8 reads as unknown plain data).
            first = res["errors"][0]["message"] if res["errors"] else ""
            problems.append(
                _problem(
                    self.composition[0][1], "wrong_scheme", "the data does not read as %s (%s)" % (self.scheme, first)
                )
            )
            return out
        for e in res["errors"]:
            problems.append(_problem(self._field_at(e.get("at"), at_map, spans), e["code"], e["message"]))
        # GS1 writes two-digit years; the engine reads them back with the
        # century rule.  A date it reads differently cannot be printed (and
        # its other verdicts, e.g. "expired" in 1980, are about that misreading).
        pi = res["pi"]
        flagged = {p["field"] for p in problems}
        misread = set()
        for key, fname, iso in dates:
            got = pi.get(key)
            if got and iso[8:10] != "00" and got != iso and fname not in flagged:
                misread.add(fname)
                problems.append(_problem(fname, "date_window", "%s would be read as %s (two-digit year)" % (iso, got)))
        for w in res["warnings"]:
            if w["code"] in BLOCKING_WARNINGS:
                field = self._field_at(w.get("at"), at_map, spans)
                if field not in misread:
                    problems.append(_problem(field, w["code"], w["message"]))
            else:
                out["warnings"].append(w)
        out["encoded"] = encoded
        out["hri"] = hri = hri if hri is not None else res.get("hri") or data
        if self.hri_lines:
            lines = wrap_hri(hri, self.hri_line_chars, HRI_BREAKS.get(self.scheme, ""))
            if len(lines) > self.hri_lines:
                problems.append(
                    _problem(
                        None,
                        "hri_too_long",
                        "the HRI needs %d lines of %d characters, the template has %d"
                        % (len(lines), self.hri_line_chars, self.hri_lines),
                    )
                )
        else:
            lines = [hri]
        out["hri_lines"] = lines
        out["data"] = data
        if dpi_ok:
            out["geometry"] = self._geometry(data, dpi, problems)
        return out

    @staticmethod
    def _field_at(at, at_map, spans):
        if isinstance(at, str):
            return at_map.get(at)
        if isinstance(at, int):
            for start, end, fname in spans:
                if start <= at < end:
                    return fname
            # Past the last span (e.g. a check character): the last field.
            return spans[-1][2] if spans and at >= spans[-1][1] else None
        return None

    def _check_module(self, dpi, problems):
        m = self.module_dots[dpi]
        x_mm = m / DOTS_PER_MM[dpi]
        lo, hi, source = X_LIMITS[self.x_spec][self.symbology]
        if x_mm < lo:
            need = math.ceil(lo * DOTS_PER_MM[dpi] - 1e-9)
            problems.append(
                _problem(
                    None,
                    "module_too_small",
                    "module %d dots = %.3f mm at %d dpi is below the %.3f mm minimum (%s); use at least %d dots"
                    % (m, x_mm, dpi, lo, source, need),
                )
            )
        if hi is not None and x_mm > hi:
            problems.append(
                _problem(
                    None,
                    "module_too_large",
                    "module %d dots = %.3f mm at %d dpi is above the %.3f mm maximum (%s)" % (m, x_mm, dpi, hi, source),
                )
            )

    def _geometry(self, data, dpi, problems):
        # Symbol size from the data, in dots, and whether it fits the label
        # with its quiet zones.  DataMatrix and QR sizes are upper bounds
        # (ASCII / byte-mode estimates); Code 128 is exact (we pick subsets).
        m = self.module_dots[dpi]
        fnc1 = self.scheme == "gs1"
        if self.kind == "datamatrix":
            cw = datamatrix_codewords(data, fnc1)
            side = datamatrix_side(cw)
            if side is None:
                problems.append(_problem(None, "symbol_too_large", "%d codewords exceed the largest Data Matrix" % cw))
                return None
            w = h = side * m
            modules = side
        elif self.kind == "qr":
            side = qr_side(len(data.encode("utf-8")), self.qr_ec)
            if side is None:
                problems.append(
                    _problem(
                        None, "symbol_too_large", "%d bytes need a QR version above 10 (not estimated)" % len(data)
                    )
                )
                return None
            w = h = side * m
            modules = side
        else:
            _, modules = code128_zpl(data, fnc1)
            w = modules * m
            h = self.dots(self.bar_height_mm, dpi)
        qz = QUIET_ZONE[self.kind] * m
        qzv = qz if QUIET_ZONE_VERTICAL[self.kind] else 0
        x = self.dots(self.barcode_x_mm, dpi)
        y = self.dots(self.barcode_y_mm, dpi)
        lw = self.dots(self.width_mm, dpi)
        lh = self.dots(self.height_mm, dpi)
        geo = {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "modules": modules,
            "quiet_zone": qz,
            "label_width": lw,
            "label_height": lh,
        }
        if x - qz < 0 or y - qzv < 0 or x + w + qz > lw or y + h + qzv > lh:
            problems.append(
                _problem(
                    None,
                    "symbol_off_label",
                    "symbol %.1f x %.1f mm at (%.1f, %.1f) mm with a quiet zone of %.2f mm does not fit the %.1f x %.1f mm label"
                    % (
                        w / DOTS_PER_MM[dpi],
                        h / DOTS_PER_MM[dpi],
                        self.barcode_x_mm,
                        self.barcode_y_mm,
                        qz / DOTS_PER_MM[dpi],
                        self.width_mm,
                        self.height_mm,
                    ),
                )
            )
        return geo

    # -- public API --

    def check(self, fields, dpi, today=None):
        """Every problem that stops this label: [{"field", "rule", "message"}]."""
        return self.evaluate(fields, dpi, today)["problems"]

    def encoded_data(self, fields, today=None):
        """The exact data a reader transmits: AIM identifier + data, GS for FNC1."""
        ev = self._evaluate_data(fields, today)
        return ev["encoded"]

    def hri(self, fields, today=None):
        """The human-readable text printed for the symbol."""
        return self._evaluate_data(fields, today)["hri"]

    def _evaluate_data(self, fields, today):
        ev = self.evaluate(fields, self.dpis[0], today)
        if ev["encoded"] is None:
            raise TemplateError(ev["problems"], self.name)
        return ev

    def render(self, fields, dpi, today=None):
        """ZPL bytes for one label; TemplateError(problems) if check() finds any."""
        ev = self.evaluate(fields, dpi, today)
        if ev["problems"]:
            raise TemplateError(ev["problems"], self.name)
        return self._merge(ev, dpi).encode("utf-8")

    def _merge(self, ev, dpi):
        compiled = self._compiled.get(dpi)
        if compiled is None:
            compiled = self._compiled[dpi] = self._compile(dpi)
        fmt, slots = compiled
        values = ev["values"]
        out = []
        for slot in slots:
            kind = slot[0]
            if kind == "barcode":
                out.append(self._barcode_data(ev["data"]))
            elif kind == "hri":
                if slot[1]:
                    lines = ev["hri_lines"]
                    out.append(fh_escape(lines[slot[1] - 1]) if slot[1] <= len(lines) else "")
                else:
                    out.append(fh_escape(ev["hri"]))
            else:
                key = slot[1]
                if key in values:
                    out.append(fh_escape(values[key]))
                elif key in self.texts:
                    parts, tail = self.texts[key]
                    try:
                        text = "".join([lit + values[f] for lit, f in parts]) + tail
                    except KeyError:  # a field it names is absent: leave it out
                        text = ""
                    out.append(fh_escape(text))
                else:
                    out.append("")
        return fmt % tuple(out)

    def _barcode_data(self, data):
        # Defence in depth: the field checks and the engine already refused
        # ^ and ~ in coded data; never let one reach an unescaped field.
        if self.kind != "qr" and ("^" in data or "~" in data):
            raise TemplateError([_problem(None, "unsafe_data", "ZPL prefix character in barcode data")], self.name)
        if self.kind == "datamatrix":
            return ("_1" if self.scheme == "gs1" else "") + bx_escape(data)
        if self.kind == "code128":
            return code128_zpl(data, self.scheme == "gs1")[0]
        return fh_escape(data)

    def __repr__(self):
        return "<Template %s %s %gx%g mm>" % (self.name, self.symbology, self.width_mm, self.height_mm)


class _BuildError(Exception):
    def __init__(self, problem):
        super().__init__(problem["message"])
        self.problem = problem


# ---- loading ------------------------------------------------------------------


def load(name, directory=None):
    """Load printer_templates/<name>.zpl + <name>.toml; TemplateError if invalid."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise TemplateError("template names are lower-case letters, digits and -, got %r" % (name,))
    directory = directory or DEFAULT_DIR
    toml_path = os.path.join(directory, name + ".toml")
    zpl_path = os.path.join(directory, name + ".zpl")
    try:
        with open(toml_path, "rb") as f:
            meta = tomllib.load(f)
        with open(zpl_path, encoding="utf-8") as f:
            zpl = f.read()
    except FileNotFoundError as e:
        raise TemplateError("no such template file: %s" % e.filename, name) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TemplateError("cannot read: %s" % e, name) from None
    return Template(name, meta, zpl, path=directory)


def list_templates(directory=None):
    """Every template in the directory, sorted by name."""
    directory = directory or DEFAULT_DIR
    names = sorted(f[:-5] for f in os.listdir(directory) if f.endswith(".toml"))
    return [load(n, directory) for n in names]


# ---- benchmark ----------------------------------------------------------------


def bench_render(n=20000, name="udi-item-dm", dpi=300):
    """Labels per second for render() of one template, a new serial per label
    (the packaging-line case).  For bench/printing.py."""
    t = load(name)
    base = {
        "gtin": "06901234567892",
        "production_date": "2026-01-15",
        "expiry": "2028-12-31",
        "lot": "LOT2026A",
        "product_name": "一次性使用无菌注射器",
        "reg_no": "国械注准20173151234",
    }
    today = "2026-11-22"
    t.render(dict(base, serial="SN000000"), dpi, today)  # compile, warm caches
    start = time.perf_counter()
    for i in range(n):
        base["serial"] = "SN%06d" % i
        t.render(base, dpi, today)
    return n / (time.perf_counter() - start)
