"""Label templates: every template with where it fits; one template's fields
as its file defines them; its label rendered at a printer's dpi with sample
values, and under it each symbol decoded back (zxing-cpp), compared with the
data the template was given, read by the code engine and graded; for an
admin, changes to the editable parts saved as a new version (never over a
version a job recorded: gateway.printing.template_versions)."""

import copy
import io
import re
import threading
from collections import OrderedDict
from datetime import date
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

import udi_codes
from gateway.panel import i18n, users
from gateway.panel.core import Admin, Viewer, engine_of, lang_of, page, see_other
from gateway.printing import render as zrender
from gateway.printing import template_versions as TV
from gateway.printing import templates as T
from gateway.printing.jobs import DECLARED, DI_TYPES, UNIQUE_TYPES
from gateway.quality import grade as qgrade
from gateway.schema import print_jobs, printers
from udi_codes import messages as code_messages
from udi_codes.checkchars import gs1_mod10

router = APIRouter()

DPIS = (203, 300, 600)
KIND_NAMES = {"datamatrix": "Data Matrix", "code128": "Code 128", "qr": "QR Code"}

# --- sample values -------------------------------------------------------------------------------
# What the preview shows until someone types other values; an admin can save
# a template's own samples (meta "samples").  Numeric lot and serial: one
# GS1-128 symbol with all five UDI elements fits 100 mm only in subset C.

SSCC_SAMPLE = "06901234500000001" + str(gs1_mod10("06901234500000001"))
CONTENT_SAMPLE = "1690123456789" + str(gs1_mod10("1690123456789"))
SAMPLES_BY_NAME = {"production_date": "2026-01-15", "product_name": "一次性使用无菌注射器",
                   "reg_no": "国械注准20173151234", "content": CONTENT_SAMPLE}
SAMPLES_BY_TYPE = {"gtin14": "06901234567892", "sscc18": SSCC_SAMPLE, "drug20": "81234567890123456789",
                   "lot": "20260115", "serial": "000123", "date": "2028-12-31", "int": "24",
                   "ma_di": "MA.156.M0.100350.01004YA10017", "hibc_primary": "A123BJC5D6E71", "text": "示例"}


def sample_values(tpl):
    saved = tpl.meta.get("samples") or {}
    out = {}
    for name, spec in tpl.fields.items():
        v = saved.get(name)
        if v is None:
            v = SAMPLES_BY_NAME.get(name) or SAMPLES_BY_TYPE.get(spec["type"], "")
            if spec["type"] == "text":
                v = v[: spec["max_length"]]
        out[name] = str(v)
    return out


# --- what the template file defines, in words -----------------------------------------------------

# label_plan() (gateway.printing.jobs) fills these from the product's master record.
MASTER_FIELDS = {"product_name": "name", "reg_no": "reg_no", "content": "contains_di", "count": "contains_qty"}
DECLARED_NAMES = {name for name, _flag, _what in DECLARED}


def field_source(name, spec):
    """Where a job's labels take this field from -> words key."""
    if spec["type"] in DI_TYPES:
        return "tpl.src.di"
    kind = UNIQUE_TYPES.get(spec["type"])
    if kind:
        return "tpl.src." + kind
    if name in DECLARED_NAMES:
        return "tpl.src.pi"
    if name in MASTER_FIELDS:
        return "tpl.src.master"
    return "tpl.src.job"


def data_element(tpl, key):
    # The composition key as a reader knows it: AI (01), MA .L, HIBC part.
    if tpl.scheme == "gs1":
        return "AI (%s)" % key
    if tpl.scheme == "ma":
        return "MA " + ("DI" if key == "DI" else "." + key)
    if tpl.scheme == "hibc":
        return "HIBC " + key
    return key


_POS_RE = re.compile(r"^\^FO\{\{mm:([0-9.]+)\}\},\{\{mm:([0-9.]+)\}\}")
_FONT_RE = re.compile(r"\^A([0-9A-Z@])([NRIB]),\{\{mm:([0-9.]+)\}\},\{\{mm:([0-9.]+)\}\}")
_ELEMENT_RE = re.compile(r"\{\{\s*(text:[a-z][a-z0-9_]*|hri(?::[1-9])?)\s*\}\}")


def layout(tpl):
    """The printed text lines a template places with ^FO{{mm:x}},{{mm:y}}:
    [{"key": "text:lot_line" / "hri:1", "line", "x", "y", "h", "w"}] plus the
    barcode ("barcode", from [barcode] x_mm / y_mm)."""
    out = [{"key": "barcode", "line": None, "x": tpl.barcode_x_mm, "y": tpl.barcode_y_mm, "h": None, "w": None}]
    for i, line in enumerate(tpl.zpl.splitlines()):
        m = _ELEMENT_RE.search(line)
        pos = _POS_RE.match(line.strip())
        if not m or not pos:
            continue
        font = _FONT_RE.search(line)
        out.append({"key": m.group(1), "line": i, "x": float(pos.group(1)), "y": float(pos.group(2)),
                    "h": float(font.group(3)) if font else None, "w": float(font.group(4)) if font else None})
    return out


def text_formats(tpl):
    """[text.*] entries -> [{"key", "format", "fields", "static"}]."""
    out = []
    for key, raw in (tpl.meta.get("text") or {}).items():
        fmt = raw["format"] if isinstance(raw, dict) else raw
        names = [f for _, f in tpl.texts[key][0]]
        out.append({"key": key, "format": fmt, "fields": names, "static": not names})
    return out


def field_rows(tpl):
    comp = {fname: key for key, fname, _ in tpl.composition}
    lay = {e["key"]: e for e in layout(tpl)}
    texts = text_formats(tpl)
    rows = []
    for name, spec in tpl.fields.items():
        where = []
        if name in comp:
            where.append(("barcode", lay["barcode"]))
        for k in ["text:" + name] + ["text:" + t["key"] for t in texts if name in t["fields"]]:
            if k in lay:
                where.append((k[5:], lay[k]))
        length = (spec["min_length"], spec["max_length"]) if spec["type"] not in ("date", "int") else None
        rows.append({"name": name, "type": spec["type"], "required": spec["required"],
                     "element": data_element(tpl, comp[name]) if name in comp else None,
                     "source": field_source(name, spec), "length": length,
                     "charset": spec["charset"] if spec["type"] not in ("text", "date", "int") else None,
                     "range": (spec["min"], spec["max"]) if spec["type"] == "int" else None,
                     "description": spec["description"], "where": where})
    return rows


# --- the preview: render, decode back, engine, grade ------------------------------------------------

_CACHE = OrderedDict()  # the page and its image ask for the same preview: render once
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 32


def label_preview(tpl, fields, dpi):
    """The label at `dpi` with `fields` -> {"problems", "warnings", "encoded",
    "hri", "geometry", "zpl", "one_format", "png", "render_error", "symbols"}.
    symbols: what zxing-cpp reads back from the PNG, each with the grader's
    verdict (gateway.quality.grade)."""
    key = (tpl.sha256, dpi, tuple(sorted(fields.items())), date.today().isoformat())
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    out = _preview(tpl, fields, dpi)
    with _CACHE_LOCK:
        _CACHE[key] = out
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return out


def _preview(tpl, fields, dpi):
    from PIL import Image

    ev = tpl.evaluate(fields, dpi)
    out = {"dpi": dpi, "problems": ev["problems"], "warnings": ev["warnings"], "encoded": ev["encoded"],
           "hri": ev["hri"], "geometry": ev["geometry"], "zpl": None, "one_format": None, "png": None,
           "render_error": None, "symbols": []}
    if ev["problems"]:
        return out
    zpl = tpl.render(fields, dpi)
    out["zpl"] = zpl.decode("utf-8")
    # However field values look, the ZPL is one format and has no ~ command.
    cmds = zrender.commands(zpl)
    out["one_format"] = (sum(1 for _, _, b in cmds if b[:3].upper() == b"^XA") == 1
                         and not any(k == "control_command" for k, _, _ in cmds))
    try:
        png = zrender.png(zpl, dpi, tpl.width_mm, tpl.height_mm)[0]
    except zrender.RenderError as e:
        out["render_error"] = str(e)
        return out
    out["png"] = png
    for r in qgrade.grade_image(Image.open(io.BytesIO(png)), dpi=dpi, expect=ev["encoded"]):
        out["symbols"].append(_symbol(r))
    return out


def _symbol(r):
    decoded = r.get("decoded")
    res = udi_codes.parse(decoded, "read") if decoded else None
    return {"decoded": decoded, "aim": decoded[:3] if decoded and decoded.startswith("]") else "",
            "data": decoded[3:] if decoded and decoded.startswith("]") else decoded,
            "symbology": r.get("symbology"), "match": r.get("match"), "expected": r.get("expected"),
            "valid": bool(res and res["valid"]), "scheme": res["scheme"] if res else None,
            "hri": res.get("hri") if res else None, "errors": res["errors"] if res else [],
            "warnings": res["warnings"] if res else [], "overall": r.get("overall") or {},
            "x_mm": r.get("x_dimension_mm"), "x_ok": r.get("x_dimension_ok"), "error": r.get("error")}


def decoded_ok(pv):
    """The preview read back exactly what the template was given: one symbol, same bytes."""
    return bool(pv["png"]) and len(pv["symbols"]) == 1 and pv["symbols"][0]["match"] is True


def problem_words(p, lang):
    """One problem of check() in the reader's language (engine codes from the
    engine's catalogue, template rules from this page's words)."""
    entry = {"code": p["rule"], "message": p["message"]}
    if p["rule"] in code_messages.CATALOGUE:
        text = code_messages.describe(entry, lang)
    else:
        words = i18n.STRINGS.get(lang, {}).get("tpl.rule." + p["rule"])
        text = ("%s（%s）" % (words, p["message"]) if lang == "zh" else "%s: %s" % (words, p["message"])) if words \
            else p["message"]
    return {"field": p.get("field"), "rule": p["rule"], "text": text}


ZPL_SPECIAL = "^~_\\"


def zpl_notes(tpl, fields, pv, lang):
    """For each value with a ZPL-special character: refused (and why) or how it reached the ZPL."""
    bad = {p["field"]: p for p in pv["problems"]}
    comp = {fname for _, fname, _ in tpl.composition}
    notes = []
    for name, value in fields.items():
        chars = sorted({c for c in value if c in ZPL_SPECIAL})
        if not chars or name not in tpl.fields:
            continue
        if name in bad:
            notes.append({"field": name, "value": value, "refused": True,
                          "text": i18n.t(lang, "tpl.zpl.refused", chars=" ".join(chars),
                                         why=problem_words(bad[name], lang)["text"])})
            continue
        if name in comp and tpl.kind == "datamatrix":
            shown = T.bx_escape(value)
        elif name in comp and tpl.kind == "code128":
            shown = value.replace(">", ">0")
        else:
            shown = T.fh_escape(value)
        notes.append({"field": name, "value": value, "refused": False, "shown": shown,
                      "text": i18n.t(lang, "tpl.zpl.escaped", chars=" ".join(chars))})
    return notes


def dpi_fit(tpl, samples):
    """{dpi: [problem words]} for 203/300/600: [] where the template prints
    its sample label at that dpi (module size, symbol on the label)."""
    out = {}
    for dpi in DPIS:
        probs = tpl.check(samples, dpi)
        out[dpi] = [p["message"] for p in probs if p["field"] is None or p["rule"] == "dpi_unsupported"]
    return out


# --- pages ---------------------------------------------------------------------------------------

def _printers(engine):
    with engine.connect() as c:
        return [dict(r) for r in c.execute(select(printers.c.name, printers.c.dpi).order_by(printers.c.name)).mappings()]


def _job_counts(engine):
    # {(template, version): jobs}
    with engine.connect() as c:
        q = select(print_jobs.c.template, print_jobs.c.template_version, func.count()).group_by(
            print_jobs.c.template, print_jobs.c.template_version)
        return {(n, v): k for n, v, k in c.execute(q)}


def _list_rows(engine):
    prns = _printers(engine)
    jobs = _job_counts(engine)
    rows = []
    for shipped in T.list_templates():
        tpl = TV.current(engine, shipped.name)
        fit = dpi_fit(tpl, sample_values(tpl))
        rows.append({"tpl": tpl, "fit": fit,
                     "printers": [dict(p, ok=not fit.get(p["dpi"], ["?"])) for p in prns],
                     "jobs": sum(k for (n, _), k in jobs.items() if n == tpl.name)})
    return rows


@router.get("/panel/templates", include_in_schema=False)
async def template_list(request: Request, s=Viewer):
    rows = await run_in_threadpool(_list_rows, engine_of(request))
    return page(request, "tpl_list.html", s, rows=rows, dpis=DPIS, kinds=KIND_NAMES)


def _template(engine, name, version=None):
    """(current Template, the one asked for) or (None, None) when there is no such template / version."""
    try:
        cur = TV.current(engine, name)
    except (T.TemplateError, OSError):
        return None, None
    if version is None or version == cur.version:
        return cur, cur
    return cur, TV.load_version(engine, name, version)


def _preview_request(request, tpl, prns):
    """dpi (from ?dpi= or ?printer=), the field values (?f.NAME=, else the samples) and the printer chosen."""
    q = request.query_params
    printer = next((p for p in prns if p["name"] == q.get("printer")), None)
    dpi = printer["dpi"] if printer else (int(q["dpi"]) if q.get("dpi", "").isdigit() and int(q["dpi"]) in DPIS
                                          else (300 if 300 in tpl.dpis else tpl.dpis[0]))
    samples = sample_values(tpl)
    fields = {}
    for name in tpl.fields:
        v = q.get("f." + name)
        fields[name] = samples[name] if v is None else v[:200]
    return dpi, fields, printer


def _detail(request, s, name, status_code=200, problems=None, form=None, notice=None, error=None):
    engine = engine_of(request)
    lang = lang_of(request)
    version = request.query_params.get("version", "")
    cur, tpl = _template(engine, name, int(version) if version.isdigit() else None)
    if tpl is None:
        return page(request, "error.html", s, 404, message=i18n.t(lang, "err.notfound"), back="/panel/templates")
    prns = _printers(engine)
    dpi, fields, printer = _preview_request(request, tpl, prns)
    pv = label_preview(tpl, fields, dpi)
    jobs = _job_counts(engine)
    history = TV.history(engine, name)
    for h in history:
        h["jobs"] = jobs.get((name, h["version"]), 0)
    legacy_jobs = jobs.get((name, None), 0)
    query = [("dpi", dpi)] + ([("printer", printer["name"])] if printer else []) + \
        ([("version", tpl.version)] if tpl is not cur else []) + [("f." + k, v) for k, v in fields.items()]
    return page(request, "tpl_detail.html", s, status_code, tpl=tpl, cur=cur, is_current=tpl is cur,
                rows=field_rows(tpl), texts=text_formats(tpl), layout=layout(tpl), samples=sample_values(tpl),
                fields=fields, dpi=dpi, dpis=DPIS, printers=prns, printer=printer, pv=pv, ok=decoded_ok(pv),
                problems_words=[problem_words(p, lang) for p in pv["problems"]],
                warnings_words=[code_messages.describe(w, lang) for w in pv["warnings"]],
                zpl_notes=zpl_notes(tpl, fields, pv, lang), history=history, legacy_jobs=legacy_jobs,
                img_query=urlencode(query), kinds=KIND_NAMES, describe=lambda e: code_messages.describe(e, lang),
                edit_problems=problems or [], form=form, notice=notice, error=error)


@router.get("/panel/templates/{name}", include_in_schema=False)
async def template_detail(request: Request, name: str, s=Viewer):
    lang = lang_of(request)
    msg = request.query_params.get("msg")
    notice = None
    if msg == "saved":
        notice = i18n.t(lang, "tpl.saved", version=request.query_params.get("v", ""))
    elif msg == "restored":
        notice = i18n.t(lang, "tpl.restored", version=request.query_params.get("v", ""))
    elif msg == "unchanged":
        notice = i18n.t(lang, "tpl.unchanged")
    return await run_in_threadpool(lambda: _detail(request, s, name, notice=notice))


@router.get("/panel/templates/{name}/label.png", include_in_schema=False)
async def template_png(request: Request, name: str, s=Viewer):
    engine = engine_of(request)
    version = request.query_params.get("version", "")

    def work():
        _cur, tpl = _template(engine, name, int(version) if version.isdigit() else None)
        if tpl is None:
            return None
        dpi, fields, _ = _preview_request(request, tpl, _printers(engine))
        return label_preview(tpl, fields, dpi)["png"]

    png = await run_in_threadpool(work)
    if png is None:
        return Response(status_code=404)
    return Response(png, media_type="image/png", headers={"cache-control": "no-store"})


# --- edits (admin) -------------------------------------------------------------------------------

TEXT_MAX = 100  # characters of a [text] format; a text field's max_length stays within 1..TEXT_MAX
DESC_MAX = 80
FONT_MM = (1.0, 20.0)
_NUM = re.compile(r"^\d{1,3}(\.\d{1,2})?$")


def _mm(value):
    return ("%.2f" % value).rstrip("0").rstrip(".")


class EditRefused(Exception):
    def __init__(self, problems):
        self.problems = problems


def apply_edit(tpl, form, lang):
    """The admin's form applied to the template's source -> (meta, zpl,
    [changes in words]).  EditRefused([problems in words]) for values out of
    bounds; what templates.py checks is checked when the result is loaded."""
    meta = copy.deepcopy(tpl.meta)
    lines = tpl.zpl.splitlines()
    changes, problems = [], []

    def say(words, **v):
        problems.append(i18n.t(lang, words, **v))

    def number(key, lo, hi, what):
        raw = str(form.get(key) or "").strip()
        if not _NUM.match(raw) or not lo <= float(raw) <= hi:
            say("tpl.err.number", what=what, lo=_mm(lo), hi=_mm(hi))
            return None
        return float(raw)

    fields_meta = meta.setdefault("fields", {})
    samples = dict(meta.get("samples") or {})
    shown_samples = sample_values(tpl)
    for name, spec in tpl.fields.items():
        desc = str(form.get("desc." + name, spec["description"]))
        if len(desc) > DESC_MAX or not desc.isprintable():
            say("tpl.err.desc", field=name, n=DESC_MAX)
        elif desc != spec["description"]:
            fields_meta[name]["description"] = desc
            changes.append("%s description %r → %r" % (name, spec["description"], desc))
        sample = str(form.get("sample." + name, shown_samples[name]))
        if sample != shown_samples[name]:
            samples[name] = sample
            changes.append("%s sample %r → %r" % (name, shown_samples[name], sample))
        if spec["type"] == "text" and ("maxlen." + name) in form:
            raw = str(form.get("maxlen." + name) or "").strip()
            if not raw.isdigit() or not 1 <= int(raw) <= TEXT_MAX:
                say("tpl.err.maxlen", field=name, n=TEXT_MAX)
            elif int(raw) != spec["max_length"]:
                fields_meta[name]["max_length"] = int(raw)
                changes.append("%s max_length %d → %s" % (name, spec["max_length"], raw))
    if samples:
        meta["samples"] = samples

    texts = meta.setdefault("text", {})
    removed = set()
    for t in text_formats(tpl):
        key = t["key"]
        if t["static"] and form.get("remove." + key):
            removed.add(key)
            del texts[key]
            changes.append("text %s removed" % key)
            continue
        fmt = str(form.get("fmt." + key, t["format"]))
        if len(fmt) > TEXT_MAX or not fmt.isprintable():
            say("tpl.err.format", name=key, n=TEXT_MAX)
        elif fmt != t["format"]:
            texts[key] = {"format": fmt}
            changes.append("text %s %r → %r" % (key, t["format"], fmt))

    for e in layout(tpl):
        k = e["key"]
        if k == "barcode":
            x = number("x.barcode", 0, tpl.width_mm, "barcode x")
            y = number("y.barcode", 0, tpl.height_mm, "barcode y")
            if x is not None and y is not None and (x, y) != (e["x"], e["y"]):
                bc = meta.setdefault("barcode", {})
                bc["x_mm"], bc["y_mm"] = x, y
                changes.append("barcode at (%s, %s) → (%s, %s) mm" % (_mm(e["x"]), _mm(e["y"]), _mm(x), _mm(y)))
            continue
        if k.startswith("text:") and k[5:] in removed:
            lines[e["line"]] = None
            continue
        if ("x." + k) not in form:
            continue
        x = number("x." + k, 0, tpl.width_mm, k + " x")
        y = number("y." + k, 0, tpl.height_mm, k + " y")
        h = number("h." + k, *FONT_MM, what=k + " size") if e["h"] is not None else None
        if x is None or y is None or (e["h"] is not None and h is None):
            continue
        if y + (h or 0) > tpl.height_mm:
            say("tpl.err.below", name=k)
            continue
        line = lines[e["line"]]
        new = _POS_RE.sub("^FO{{mm:%s}},{{mm:%s}}" % (_mm(x), _mm(y)), line.strip(), count=1)
        if h is not None and h != e["h"]:
            w = round(e["w"] * h / e["h"], 2)  # keep the character's proportions
            new = _FONT_RE.sub(lambda m: "^A%s%s,{{mm:%s}},{{mm:%s}}" % (m.group(1), m.group(2), _mm(h), _mm(w)),
                               new, count=1)
        if new != line.strip():
            lines[e["line"]] = new
            changes.append("%s at (%s, %s) mm size %s → (%s, %s) mm size %s" % (
                k, _mm(e["x"]), _mm(e["y"]), _mm(e["h"] or 0), _mm(x), _mm(y), _mm(h or 0)))

    new_text = str(form.get("new.text") or "").strip()
    if new_text:
        x = number("new.x", 0, tpl.width_mm, "x")
        y = number("new.y", 0, tpl.height_mm, "y")
        h = number("new.h", *FONT_MM, what="size")
        if len(new_text) > TEXT_MAX or not new_text.isprintable():
            say("tpl.err.format", name="new", n=TEXT_MAX)
        elif "{" in new_text or "}" in new_text:
            say("tpl.err.braces")
        elif None not in (x, y, h):
            if y + h > tpl.height_mm:
                say("tpl.err.below", name="new")
            else:
                n = 1
                while "note_%d" % n in texts:
                    n += 1
                key = "note_%d" % n
                texts[key] = {"format": new_text}
                font = ("^A@N,{{mm:%s}},{{mm:%s}},{{font:%s}}" % (_mm(h), _mm(h), "cjk")) if "cjk" in tpl.fonts \
                    else "^A0N,{{mm:%s}},{{mm:%s}}" % (_mm(h), _mm(round(h * 0.8, 2)))
                end = max(i for i, ln in enumerate(lines) if ln is not None and "^XZ" in ln.upper())
                lines.insert(end, "^FO{{mm:%s}},{{mm:%s}}%s{{text:%s}}" % (_mm(x), _mm(y), font, key))
                changes.append("text %s %r added at (%s, %s) mm size %s" % (key, new_text, _mm(x), _mm(y), _mm(h)))
    if not texts:
        meta.pop("text", None)
    if problems:
        raise EditRefused(problems)
    zpl = "\n".join(ln for ln in lines if ln is not None) + ("\n" if tpl.zpl.endswith("\n") else "")
    return meta, zpl, changes


def check_candidate(name, meta, zpl, lang):
    """A changed template is saved only if it loads, and at every dpi it
    supports its sample label renders and the symbol decodes back to exactly
    the data given -> (Template, [problems in words])."""
    try:
        tpl = T.Template(name, meta, zpl)
    except T.TemplateError as e:
        return None, [problem_words(p, lang)["text"] for p in e.problems]
    tpl.sha256 = TV.content_hash(meta, zpl)
    samples = sample_values(tpl)
    problems = []
    for dpi in tpl.dpis:
        pv = label_preview(tpl, samples, dpi)
        where = i18n.t(lang, "tpl.err.at_dpi", dpi=dpi)
        for p in pv["problems"]:
            w = problem_words(p, lang)
            problems.append("%s %s%s" % (where, (w["field"] + ": ") if w["field"] else "", w["text"]))
        if pv["problems"]:
            continue
        if pv["render_error"]:
            problems.append("%s %s" % (where, i18n.t(lang, "tpl.err.render", detail=pv["render_error"])))
        elif not pv["symbols"] or not pv["symbols"][0]["decoded"]:
            problems.append("%s %s" % (where, i18n.t(lang, "tpl.err.nodecode")))
        elif not decoded_ok(pv):
            problems.append("%s %s" % (where, i18n.t(lang, "tpl.err.mismatch")))
        geo = pv["geometry"]
        if geo:
            dpmm = T.DOTS_PER_MM[dpi]
            qz = geo["quiet_zone"]
            qzv = qz if T.QUIET_ZONE_VERTICAL[tpl.kind] else 0  # linear symbols: quiet zones left and right only
            x0, y0 = geo["x"] - qz, geo["y"] - qzv
            x1, y1 = geo["x"] + geo["width"] + qz, geo["y"] + geo["height"] + qzv
            for e in layout(tpl)[1:]:
                if x0 <= e["x"] * dpmm < x1 and y0 <= e["y"] * dpmm < y1:
                    problems.append("%s %s" % (where, i18n.t(lang, "tpl.err.on_symbol", name=e["key"])))
    return tpl, problems


def _form_values(form):
    return {k: str(v) for k, v in form.items() if k != "csrf"}


@router.post("/panel/templates/{name}", include_in_schema=False)
async def template_edit(request: Request, name: str, s=Admin):
    form = await request.form()
    lang = lang_of(request)
    engine = engine_of(request)
    values = _form_values(form)

    def refuse(problems, code=422):
        users.audit(engine, s["user"], "template_edit_refused",
                    ("%s (from v%s): %s" % (name, values.get("base_version", "?"), "; ".join(problems)))[:2000])
        return _detail(request, s, name, code, problems=problems, form=values,
                       error=i18n.t(lang, "tpl.refused"))

    def work():
        cur, _ = _template(engine, name)
        if cur is None:
            return page(request, "error.html", s, 404, message=i18n.t(lang, "err.notfound"), back="/panel/templates")
        base = values.get("base_version", "")
        if not base.isdigit() or int(base) != cur.version:
            return refuse([i18n.t(lang, "tpl.err.stale", base=base or "?", current=cur.version)], 409)
        try:
            meta, zpl, changes = apply_edit(cur, form, lang)
        except EditRefused as e:
            return refuse(e.problems)
        if not changes:
            return see_other("/panel/templates/%s?msg=unchanged" % quote(name))
        _tpl, problems = check_candidate(name, meta, zpl, lang)
        if problems:
            return refuse(problems)
        note = str(values.get("note") or "").strip()[:200]
        detail = "; ".join(changes) + ((" — " + note) if note else "")
        try:
            new = TV.save(engine, name, meta, zpl, s["user"], detail, cur.version)
        except TV.VersionConflict as e:
            return refuse([i18n.t(lang, "tpl.err.stale", base=e.base, current=e.latest or "?")], 409)
        except T.TemplateError as e:
            return refuse([problem_words(p, lang)["text"] for p in e.problems])
        users.audit(engine, s["user"], "template_edit", ("%s v%d → v%d: %s" % (name, cur.version, new.version, detail))[:2000])
        return see_other("/panel/templates/%s?msg=saved&v=%d" % (quote(name), new.version))

    return await run_in_threadpool(work)


@router.post("/panel/templates/{name}/restore", include_in_schema=False)
async def template_restore(request: Request, name: str, s=Admin):
    form = await request.form()
    lang = lang_of(request)
    engine = engine_of(request)

    def work():
        cur, _ = _template(engine, name)
        if cur is None:
            return page(request, "error.html", s, 404, message=i18n.t(lang, "err.notfound"), back="/panel/templates")
        base = str(form.get("base_version") or "")
        try:
            new = TV.restore_shipped(engine, name, s["user"], int(base) if base.isdigit() else -1)
        except TV.VersionConflict as e:
            return _detail(request, s, name, 409, error=i18n.t(lang, "tpl.err.stale", base=e.base, current=e.latest or "?"))
        users.audit(engine, s["user"], "template_restore", "%s v%d → v%d: back to the shipped file" % (name, cur.version, new.version))
        return see_other("/panel/templates/%s?msg=restored&v=%d" % (quote(name), new.version))

    return await run_in_threadpool(work)


# --- words -----------------------------------------------------------------------------------------

i18n.add({
    "zh": {
        "tpl.title": "标签模板", "tpl.name": "模板", "tpl.size": "尺寸（毫米）", "tpl.symbology": "码制",
        "tpl.fields": "字段", "tpl.suits": "适用分辨率 / 打印机", "tpl.jobs": "任务数", "tpl.version": "版本",
        "tpl.list.hint": "模板文件在 printer_templates/；在面板中的修改保存为新版本，已创建的任务仍使用其记录的版本。",
        "tpl.required": "必填", "tpl.optional": "可选", "tpl.src": "来源", "tpl.element": "码中数据",
        "tpl.len": "长度 / 字符集", "tpl.position": "位置（毫米）", "tpl.desc": "说明", "tpl.type": "类型",
        "tpl.src.di": "任务所选产品的 DI", "tpl.src.serial": "序列号台账（每张一个）",
        "tpl.src.sscc": "SSCC（台账 + 任务的 sscc_prefix）", "tpl.src.drug20": "追溯码列表（每张一个）",
        "tpl.src.pi": "任务（主数据声明的 PI）", "tpl.src.master": "产品主数据", "tpl.src.job": "任务字段",
        "tpl.any_text": "任意可打印文字（含中文）", "tpl.barcode": "条码",
        "tpl.preview": "预览与回读", "tpl.dpi": "分辨率", "tpl.printer": "或按打印机", "tpl.show": "生成预览",
        "tpl.samples": "示例值（可修改）", "tpl.preview.alt": "标签预览",
        "tpl.decoded": "回读（zxing-cpp）", "tpl.decoded.none": "图中没有读到条码。",
        "tpl.match.yes": "与模板给出的数据逐字节一致", "tpl.match.no": "与模板给出的数据不一致",
        "tpl.expected": "应为", "tpl.engine": "编码引擎", "tpl.engine.valid": "有效（{scheme}）",
        "tpl.engine.invalid": "无效（{scheme}）", "tpl.grade": "等级", "tpl.xdim": "模块尺寸",
        "tpl.sent": "发送给模板的数据", "tpl.problems": "该标签不能打印：",
        "tpl.warnings": "提示（不阻止打印）：", "tpl.zpl": "生成的 ZPL",
        "tpl.zpl.one": "ZPL 中只有一个标签格式（^XA…^XZ），没有 ~ 控制命令：字段值无法插入命令。",
        "tpl.zpl.many": "ZPL 中有多个标签格式或 ~ 命令！请勿打印并报告此问题。",
        "tpl.zpl.escaped": "含 ZPL 特殊字符 {chars}：已转义，打印出来与输入相同，不会成为命令。ZPL 中写作：",
        "tpl.zpl.refused": "含 ZPL 特殊字符 {chars}：被拒绝——{why}",
        "tpl.render_error": "预览无法绘制：{detail}",
        "tpl.versions": "版本", "tpl.current": "当前（新任务使用）", "tpl.src.file": "随软件提供的模板文件",
        "tpl.src.panel": "面板中修改", "tpl.view": "查看", "tpl.legacy_jobs": "另有 {n} 个任务创建于记录版本之前，按模板文件打印。",
        "tpl.old": "这是第 {version} 版（已有任务记录的旧版本，只读）。新任务使用第 {current} 版。",
        "tpl.file_changed": "随软件提供的模板文件在此修改之后已更新；如需使用新文件，请点击“恢复为模板文件”。",
        "tpl.edit": "修改模板（管理员）", "tpl.edit.hint": "保存前会在每种分辨率下渲染示例标签并回读条码；失败则不保存。保存为第 {next} 版，已有任务不受影响。",
        "tpl.edit.fields": "字段说明、示例值、文字长度", "tpl.edit.texts": "文字内容（{字段名} 处填入字段值）",
        "tpl.edit.layout": "位置与字号（毫米）", "tpl.edit.new": "添加一行固定文字", "tpl.edit.note": "修改说明（写入日志）",
        "tpl.edit.save": "校验并保存为新版本", "tpl.edit.remove": "删除", "tpl.maxlen": "最多字符",
        "tpl.restore": "恢复为模板文件", "tpl.x": "X", "tpl.y": "Y", "tpl.h": "字高",
        "tpl.saved": "已保存为第 {version} 版。新任务将使用此版本，已有任务仍使用其记录的版本。",
        "tpl.restored": "已恢复为模板文件（第 {version} 版）。", "tpl.unchanged": "没有修改，未保存新版本。",
        "tpl.refused": "未保存：修改未通过校验，模板保持不变。请按下列原因修改后重试。",
        "tpl.err.number": "{what}：请输入 {lo} 到 {hi} 之间的数字（最多两位小数）。",
        "tpl.err.desc": "字段 {field} 的说明：最多 {n} 个可打印字符。",
        "tpl.err.maxlen": "字段 {field} 的最多字符：1 到 {n} 之间的整数。",
        "tpl.err.format": "文字 {name}：最多 {n} 个可打印字符（不能有换行等控制字符）。",
        "tpl.err.braces": "固定文字中不能有 { 或 }。", "tpl.err.below": "{name}：文字超出标签下边缘。",
        "tpl.err.stale": "模板在您打开后已被修改（您基于第 {base} 版，当前为第 {current} 版）。请重新打开页面再修改。",
        "tpl.err.at_dpi": "{dpi} dpi：", "tpl.err.render": "无法渲染：{detail}",
        "tpl.err.nodecode": "渲染后的标签上读不到条码（可能被文字遮挡）。",
        "tpl.err.mismatch": "回读的数据与模板给出的数据不一致。",
        "tpl.err.on_symbol": "{name} 的起点落在条码或其静区内。",
        "tpl.rule.unknown_field": "模板没有此字段", "tpl.rule.missing_field": "缺少必填字段",
        "tpl.rule.field_type": "格式不对", "tpl.rule.field_range": "超出范围", "tpl.rule.field_too_long": "太长",
        "tpl.rule.field_too_short": "太短", "tpl.rule.field_charset": "含不允许的字符",
        "tpl.rule.control_character": "含控制字符", "tpl.rule.backslash_in_block": "文字块中不能有反斜杠",
        "tpl.rule.dpi_unsupported": "模板不支持此分辨率", "tpl.rule.module_too_small": "模块尺寸太小",
        "tpl.rule.module_too_large": "模块尺寸太大", "tpl.rule.symbol_off_label": "条码（含静区）超出标签",
        "tpl.rule.symbol_too_large": "数据太多，条码过大", "tpl.rule.hri_too_long": "人读文字行数不够",
        "tpl.rule.date_window": "两位年份会被读成别的日期", "tpl.rule.wrong_scheme": "数据不属于该模板的编码体系",
        "tpl.rule.build_failed": "无法生成 HIBC 数据", "tpl.rule.template_invalid": "模板无效",
        "tpl.rule.unsafe_data": "条码数据含 ZPL 前缀字符",
    },
    "en": {
        "tpl.title": "Label templates", "tpl.name": "Template", "tpl.size": "Size (mm)", "tpl.symbology": "Symbology",
        "tpl.fields": "Fields", "tpl.suits": "Suits dpi / printers", "tpl.jobs": "Jobs", "tpl.version": "Version",
        "tpl.list.hint": "Template files are in printer_templates/; a change made here is saved as a new version, and jobs already created keep the version they recorded.",
        "tpl.required": "required", "tpl.optional": "optional", "tpl.src": "Source", "tpl.element": "In the symbol",
        "tpl.len": "Length / characters", "tpl.position": "Printed at (mm)", "tpl.desc": "Description", "tpl.type": "Type",
        "tpl.src.di": "the job's product DI", "tpl.src.serial": "serial ledger (one per label)",
        "tpl.src.sscc": "SSCC (ledger + the job's sscc_prefix)", "tpl.src.drug20": "code list (one per label)",
        "tpl.src.pi": "the job (PI elements the master record declares)", "tpl.src.master": "product master data",
        "tpl.src.job": "job field", "tpl.any_text": "any printable text (Chinese included)", "tpl.barcode": "barcode",
        "tpl.preview": "Preview and read-back", "tpl.dpi": "Resolution", "tpl.printer": "or as printer", "tpl.show": "Preview",
        "tpl.samples": "Sample values (editable)", "tpl.preview.alt": "label preview",
        "tpl.decoded": "Read back (zxing-cpp)", "tpl.decoded.none": "No symbol could be read in the image.",
        "tpl.match.yes": "matches the data the template was given, byte for byte",
        "tpl.match.no": "does NOT match the data the template was given", "tpl.expected": "expected",
        "tpl.engine": "Code engine", "tpl.engine.valid": "valid ({scheme})", "tpl.engine.invalid": "not valid ({scheme})",
        "tpl.grade": "Grade", "tpl.xdim": "X-dimension", "tpl.sent": "Data the template was given",
        "tpl.problems": "This label cannot be printed:", "tpl.warnings": "Notes (they do not stop the label):",
        "tpl.zpl": "The ZPL",
        "tpl.zpl.one": "The ZPL is one label format (^XA…^XZ) without any ~ command: no field value can start a command.",
        "tpl.zpl.many": "The ZPL holds more than one format or a ~ command! Do not print; report this.",
        "tpl.zpl.escaped": "holds ZPL characters {chars}: escaped, printed as typed, never a command. In the ZPL:",
        "tpl.zpl.refused": "holds ZPL characters {chars}: refused — {why}",
        "tpl.render_error": "The preview could not be drawn: {detail}",
        "tpl.versions": "Versions", "tpl.current": "current (new jobs use it)", "tpl.src.file": "shipped template file",
        "tpl.src.panel": "changed in the panel", "tpl.view": "view",
        "tpl.legacy_jobs": "{n} more job(s) were created before versions were recorded; they print from the template file.",
        "tpl.old": "This is version {version}, kept for the jobs that recorded it (read only). New jobs use version {current}.",
        "tpl.file_changed": "The shipped template file was updated after this change; press “Back to the shipped file” to use it.",
        "tpl.edit": "Change the template (admin)",
        "tpl.edit.hint": "Before saving, the sample label is rendered at every dpi and its symbol read back; if that fails nothing is saved. Saved as version {next}; existing jobs are not affected.",
        "tpl.edit.fields": "Field descriptions, sample values, text lengths", "tpl.edit.texts": "Text lines ({field} is replaced by the field's value)",
        "tpl.edit.layout": "Positions and character size (mm)", "tpl.edit.new": "Add a line of fixed text",
        "tpl.edit.note": "Note (for the audit log)", "tpl.edit.save": "Check and save as a new version",
        "tpl.edit.remove": "remove", "tpl.maxlen": "max characters", "tpl.restore": "Back to the shipped file",
        "tpl.x": "X", "tpl.y": "Y", "tpl.h": "height",
        "tpl.saved": "Saved as version {version}. New jobs use it; existing jobs keep the version they recorded.",
        "tpl.restored": "Back to the shipped template file (version {version}).", "tpl.unchanged": "Nothing changed; no new version saved.",
        "tpl.refused": "Not saved: the change did not pass the checks and the template is unchanged. Fix what is listed below and try again.",
        "tpl.err.number": "{what}: enter a number from {lo} to {hi} (at most two decimals).",
        "tpl.err.desc": "Description of {field}: at most {n} printable characters.",
        "tpl.err.maxlen": "Max characters of {field}: a whole number from 1 to {n}.",
        "tpl.err.format": "Text {name}: at most {n} printable characters (no line breaks or other control characters).",
        "tpl.err.braces": "Fixed text cannot hold { or }.", "tpl.err.below": "{name}: the text runs past the bottom of the label.",
        "tpl.err.stale": "The template was changed after you opened it (you started from version {base}, it is now {current}). Open the page again and redo the change.",
        "tpl.err.at_dpi": "{dpi} dpi:", "tpl.err.render": "cannot be rendered: {detail}",
        "tpl.err.nodecode": "no symbol can be read on the rendered label (is text covering it?).",
        "tpl.err.mismatch": "the data read back differs from the data the template was given.",
        "tpl.err.on_symbol": "{name} starts inside the symbol or its quiet zone.",
        "tpl.rule.unknown_field": "no such field", "tpl.rule.missing_field": "required field missing",
        "tpl.rule.field_type": "wrong form", "tpl.rule.field_range": "out of range", "tpl.rule.field_too_long": "too long",
        "tpl.rule.field_too_short": "too short", "tpl.rule.field_charset": "characters not allowed",
        "tpl.rule.control_character": "control character", "tpl.rule.backslash_in_block": "backslash in a text block",
        "tpl.rule.dpi_unsupported": "dpi not supported", "tpl.rule.module_too_small": "module too small",
        "tpl.rule.module_too_large": "module too large", "tpl.rule.symbol_off_label": "symbol off the label",
        "tpl.rule.symbol_too_large": "symbol too large", "tpl.rule.hri_too_long": "HRI too long",
        "tpl.rule.date_window": "two-digit year misread", "tpl.rule.wrong_scheme": "wrong scheme",
        "tpl.rule.build_failed": "HIBC data cannot be built", "tpl.rule.template_invalid": "invalid template",
        "tpl.rule.unsafe_data": "ZPL prefix character in barcode data",
    },
})
