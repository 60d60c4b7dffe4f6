"""Offline ZPL -> PNG (previews, golden images, tests).

The only module that uses zplkit (PyPI, OSL-3.0): it is installed as a
separate, unmodified dependency and called through this small API, so it can
be replaced by npm zpl-renderer-js (MIT) should the licence decision change
(docs/printing-templates.md).

TrueType fonts: a label that names a printer font (^A@…,E:ANMDS.TTF or ^CW)
which the ZPL does not download itself is given a local substitute through a
~DY download in front of the ZPL, so Chinese text renders offline.  The
substitute is `fonts={name: path}`, else $UDI_EDGE_PREVIEW_FONT, else the
first of PREVIEW_FONTS found (Debian fonts-arphic-gbsn00lp: a quadratic
TrueType font with Chinese and ASCII glyphs).  Glyph shapes therefore differ
from the printer's; barcodes do not depend on fonts.
"""

import functools
import json
import os
import re
import sys

DOTS_PER_MM = {203: 8, 300: 12, 600: 24}  # as the printer reports (~HI)

PREVIEW_FONTS = (
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
    "/usr/share/fonts/truetype/arphic/gbsn00lp.ttf",
)

# Printer font names used by ^A@ (4th parameter) and ^CW (2nd), and fonts
# downloaded in the stream by ~DY.
_FONT_USE_RE = re.compile(
    rb"\^A@[^,^~]*,[^,^~]*,[^,^~]*,([A-Za-z]:[^,^~]+?\.TTF)|\^CW[^,^~]*,([A-Za-z]:[^,^~]+?\.TTF)", re.IGNORECASE
)
_FONT_DL_RE = re.compile(rb"~DY([A-Za-z]:[^,^~]+?),[AB],T,", re.IGNORECASE)


class RenderError(ValueError):
    """The ZPL cannot be rendered.  .offset: byte offset in the caller's ZPL
    (None when the problem is not in it, e.g. a missing preview font)."""

    def __init__(self, message, offset=None):
        self.offset = offset
        self.message = message
        super().__init__(message if offset is None else "%s (ZPL byte %d)" % (message, offset))


def dots_per_mm(dpi):
    return DOTS_PER_MM.get(dpi, dpi / 25.4)


def default_preview_font():
    path = os.environ.get("UDI_EDGE_PREVIEW_FONT")
    if path:
        return path
    for p in PREVIEW_FONTS:
        if os.path.exists(p):
            return p
    return None


@functools.lru_cache(maxsize=4)
def _font_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _font_downloads(zpl, fonts):
    # ~DY downloads for every TrueType font the ZPL uses but does not send.
    used = []
    for m in _FONT_USE_RE.finditer(zpl):
        name = (m.group(1) or m.group(2)).decode("ascii", "replace").upper()
        if name not in used:
            used.append(name)
    sent = {m.group(1).decode("ascii", "replace").upper() + ".TTF" for m in _FONT_DL_RE.finditer(zpl)}
    fonts = {k.upper(): v for k, v in (fonts or {}).items()}
    out = []
    for name in used:
        if name in sent:
            continue
        path = fonts.get(name) or default_preview_font()
        if not path or not os.path.exists(path):
            raise RenderError(
                "font %s is not available offline: install fonts-arphic-gbsn00lp, set UDI_EDGE_PREVIEW_FONT "
                "or pass fonts={%r: path}" % (name, name)
            )
        data = _font_bytes(path)
        out.append(b"~DY%s,B,T,%d,0," % (name[:-4].encode("ascii"), len(data)) + data)
    return b"".join(out)


_NEXT_COMMAND = re.compile(rb"[\^~]")


def _limits(fontpre, zpl):
    # zplkit's default limits are for ZPL alone; the preview font comes in front.
    from zplkit.rendering import Limits

    return Limits().replace(input_bytes=max(len(fontpre) + len(zpl) + 1024, Limits().input_bytes),
                            font_bytes=max(len(fontpre) + 1024, Limits().font_bytes))


def printed_png(zpl, dpi, width_dots=None, height_dots=None, stored=b"", fonts=None):
    """One format as a printer prints it (the virtual printer): the stored
    formats it recalls first, commands the renderer does not draw (^PQ, ^MM,
    ^PR …: a printer's job control, not ink) cut out one at a time, the
    preview font sent for printer-resident fonts.  -> (png bytes, the
    commands cut out); RenderError when nothing renders."""
    import zplkit

    zpl = bytes(stored) + (zpl.encode("utf-8") if isinstance(zpl, str) else bytes(zpl))
    fontpre = _font_downloads(zpl, fonts)
    src, skipped = zpl, []
    for _ in range(64):
        try:
            doc = zplkit.render(fontpre + src, zplkit.Options(profile="zd621", width=width_dots, height=height_dots, dpi=dpi),
                                limits=_limits(fontpre, src))
            break
        except ValueError as e:
            offset = getattr(e, "offset", None)
            message = getattr(e, "message", str(e))
            offset = None if offset is None else offset - len(fontpre)
            if offset is None or "unsupported" not in message or not 0 <= offset < len(src):
                raise RenderError(message, offset) from None
            m = _NEXT_COMMAND.search(src, offset + 1)
            end = m.start() if m else len(src)
            skipped.append(src[offset:end].decode("latin-1"))
            src = src[:offset] + src[end:]
    else:
        raise RenderError("too many commands the renderer does not draw")
    if not doc.labels:
        raise RenderError("nothing rendered")
    return doc.labels[-1].png(), skipped


def png(zpl, dpi, width_mm, height_mm, fonts=None):
    """Render ZPL to one PNG per label (^XA…^XZ).

    zpl: bytes or str (str is sent as UTF-8); dpi: 203, 300 or 600 (others
    are taken as dots per inch); width_mm, height_mm: media size (^PW/^LL
    in the ZPL still apply).  Raises RenderError with the byte offset.
    """
    import zplkit
    from zplkit.rendering import Limits
    from zplkit.rendering import RenderError as ZplkitRenderError

    if isinstance(zpl, str):
        zpl = zpl.encode("utf-8")
    prefix = _font_downloads(zpl, fonts)
    dpmm = dots_per_mm(dpi)
    options = zplkit.Options(
        profile="specification", width=round(width_mm * dpmm), height=round(height_mm * dpmm), dpi=dpi
    )
    limits = _limits(prefix, zpl)
    try:
        doc = zplkit.render(prefix + zpl, options, limits=limits)
        return [scene.png() for scene in doc.labels]
    except ZplkitRenderError as e:
        offset = e.offset - len(prefix) if e.offset is not None else None
        if offset is not None and offset < 0:
            raise RenderError("preview font: %s" % e.message) from None
        raise RenderError(e.message, offset) from None
    except ValueError as e:  # zplkit's OutputError and limit errors
        raise RenderError(str(e)) from None


def commands(zpl):
    """ZPL framing without rendering: [(kind, offset, bytes)] for every
    command, kind "format_command" (^..), "control_command" (~..),
    "control_character" or "before_first_command".  Raises RenderError."""
    from zplkit.parse import ParseError, parse

    if isinstance(zpl, str):
        zpl = zpl.encode("utf-8")
    try:
        return [(e.kind, e.offset, e.data) for e in parse(zpl).elements]
    except ParseError as e:
        raise RenderError("ZPL framing: %s" % e, e.offset) from None


# ---- command line -------------------------------------------------------------


def add_cli(sub):
    """Register `render` on an argparse subparsers object.

    udi-edge render TEMPLATE --field k=v ... [--dpi 300] -o label.png
    udi-edge render --zpl FILE [--dpi 203 --width-mm W --height-mm H] -o label.png
    """
    p = sub.add_parser("render", help="render a label template (or a ZPL file) to PNG offline")
    p.add_argument("template", nargs="?", help="template name in printer_templates/")
    p.add_argument("--zpl", metavar="FILE", help="render this ZPL file instead of a template")
    p.add_argument("--field", action="append", default=[], metavar="NAME=VALUE", help="a template field (repeat)")
    p.add_argument("--dpi", type=int, default=300, help="printer resolution: 203, 300 or 600 (default 300)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="output file; label 2, 3 … get -2, -3 …")
    p.add_argument("--templates-dir", metavar="DIR", help="template directory (default printer_templates/)")
    p.add_argument("--width-mm", type=float, help="media width for --zpl (default 101.6)")
    p.add_argument("--height-mm", type=float, help="media height for --zpl (default 152.4)")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="reference date for expiry checks (default today)")
    p.add_argument(
        "--font", action="append", default=[], metavar="NAME=TTF", help="preview font for a printer font name"
    )
    p.add_argument("--zpl-out", metavar="FILE", help="also write the rendered template's ZPL here")
    p.set_defaults(func=cmd_render)
    return p


def _pairs(items, what):
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise SystemExit("%s must be NAME=VALUE, got %r" % (what, item))
        out[k] = v
    return out


def _write(output, pngs):
    root, ext = os.path.splitext(output)
    paths = []
    for i, data in enumerate(pngs):
        path = output if i == 0 else "%s-%d%s" % (root, i + 1, ext or ".png")
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    return paths


def cmd_render(args):
    fonts = _pairs(args.font, "--font")
    if bool(args.zpl) == bool(args.template):
        print("give either a TEMPLATE or --zpl FILE", file=sys.stderr)
        return 2
    info = {}
    if args.zpl:
        with open(args.zpl, "rb") as f:
            zpl = f.read()
        width, height = args.width_mm or 101.6, args.height_mm or 152.4
    else:
        from .templates import TemplateError, load

        try:
            t = load(args.template, args.templates_dir)
            fields = _pairs(args.field, "--field")
            ev = t.evaluate(fields, args.dpi, args.today)
            if ev["problems"]:
                for p in ev["problems"]:
                    print(json.dumps(p, ensure_ascii=False), file=sys.stderr)
                return 2
            zpl = t.render(fields, args.dpi, args.today)
        except TemplateError as e:
            for p in e.problems:
                print(json.dumps(p, ensure_ascii=False), file=sys.stderr)
            return 2
        width, height = t.width_mm, t.height_mm
        info = {"encoded": ev["encoded"], "hri": ev["hri"]}
        if args.zpl_out:
            with open(args.zpl_out, "wb") as f:
                f.write(zpl)
    try:
        pngs = png(zpl, args.dpi, width, height, fonts)
    except RenderError as e:
        print(json.dumps({"error": e.message, "offset": e.offset}), file=sys.stderr)
        return 2
    info["files"] = _write(args.output, pngs)
    print(json.dumps(info, ensure_ascii=False))
    return 0
