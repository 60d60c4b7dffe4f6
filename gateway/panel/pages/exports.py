"""Exports: pick a record set, filter it, download it as CSV (UTF-8 with BOM
for Excel, or GB18030), JSON, or JSON under the NHSA field names.

A download is streamed: rows are read from the database in batches (a
server-side cursor on PostgreSQL) and written out as they come, so a year of
scans never sits in memory.  CSV cells that a spreadsheet would run as a
formula are neutralised (gateway.trace.export.defuse).  Every download is a
row in the audit log: who, what, which filters, which format."""

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from gateway.panel import i18n, users
from gateway.panel.core import Viewer, engine_of, lang_of, page, require
from gateway.schema import (
    aggregations,
    devices,
    label_checks,
    movements,
    panel_audit,
    print_jobs,
    printers,
    scans,
    serials,
)
from gateway.trace import export

router = APIRouter()

MAX_ID = 2 ** 31 - 1  # Integer columns are 32-bit on PostgreSQL
FETCH_ROWS = 1000  # rows per database round trip while streaming

i18n.add({
    "zh": {
        "exp.title": "导出", "exp.what": "导出内容", "exp.filters": "筛选（可选）", "exp.format": "格式",
        "exp.download": "下载", "exp.since": "开始时间", "exp.until": "结束时间（不含）", "exp.device": "设备（扫码枪或打印机）",
        "exp.di": "产品标识（DI）", "exp.lot": "批号", "exp.job": "打印任务号",
        "exp.hint": "时间按北京时间（UTC+8）。文件边生成边下载，数据量大时也不会占满网关内存。",
        "exp.applies": "可用筛选：{filters}", "exp.admin_only": "仅管理员",
        "exp.f.time": "时间", "exp.f.dev": "设备", "exp.f.di": "DI", "exp.f.lot": "批号", "exp.f.job": "任务", "exp.sep": "、",
        "exp.ds.trace": "追溯记录（入库 / 出库 / 使用，含医保字段映射）", "exp.ds.scans": "全部扫码记录（含不合格）",
        "exp.ds.movements": "库存变动", "exp.ds.aggregations": "装箱关联（父子关系）",
        "exp.ds.serials": "序列号台账", "exp.ds.jobs": "打印任务对账", "exp.ds.checks": "标签质量检测",
        "exp.ds.audit": "操作日志",
        "exp.fmt.csv": "CSV（UTF-8 带 BOM，Excel 直接打开）", "exp.fmt.csv-gb18030": "CSV（GB18030，旧版 Excel / WPS）",
        "exp.fmt.json": "JSON", "exp.fmt.nhsa": "JSON（医保接口字段名，仅追溯记录）",
        "exp.err.what": "请选择导出内容。", "exp.err.format": "该内容不能导出为所选格式：医保字段格式只适用于追溯记录。",
        "exp.err.time": "{field}：请按 年-月-日 时:分 填写，例如 2026-11-22 08:00。",
        "exp.err.range": "结束时间必须晚于开始时间。",
        "exp.err.text": "{field}：最多 64 个字符，且不能含控制字符。", "exp.err.job": "打印任务号：请填写正整数。",
        "exp.err.notapply": "“{what}”不能按{filters}筛选，请清空这些筛选项或换一种导出内容。",
    },
    "en": {
        "exp.title": "Exports", "exp.what": "What", "exp.filters": "Filters (optional)", "exp.format": "Format",
        "exp.download": "Download", "exp.since": "From", "exp.until": "Until (excluded)", "exp.device": "Device (handheld or printer)",
        "exp.di": "Product identifier (DI)", "exp.lot": "Lot", "exp.job": "Print job number",
        "exp.hint": "Times are China Standard Time (UTC+8). The file is written as it downloads, so a large export does not fill the gateway's memory.",
        "exp.applies": "filters: {filters}", "exp.admin_only": "admins only",
        "exp.f.time": "time", "exp.f.dev": "device", "exp.f.di": "DI", "exp.f.lot": "lot", "exp.f.job": "job", "exp.sep": ", ",
        "exp.ds.trace": "Traceability records (receive / dispatch / use, with the NHSA field mapping)",
        "exp.ds.scans": "All scans (good and bad)", "exp.ds.movements": "Stock movements",
        "exp.ds.aggregations": "Aggregation relations (parent / child)", "exp.ds.serials": "Serial ledger",
        "exp.ds.jobs": "Print job reconciliation", "exp.ds.checks": "Label quality checks", "exp.ds.audit": "Audit log",
        "exp.fmt.csv": "CSV (UTF-8 with BOM, opens in Excel)", "exp.fmt.csv-gb18030": "CSV (GB18030, older Excel / WPS)",
        "exp.fmt.json": "JSON", "exp.fmt.nhsa": "JSON with NHSA field names (traceability records only)",
        "exp.err.what": "Choose what to export.", "exp.err.format": "This cannot be exported in that format: the NHSA layout is for traceability records only.",
        "exp.err.time": "{field}: use year-month-day hour:minute, e.g. 2026-11-22 08:00.",
        "exp.err.range": "The end must be after the start.",
        "exp.err.text": "{field}: 64 characters at most, no control characters.", "exp.err.job": "Print job number: a whole number above 0.",
        "exp.err.notapply": "\"{what}\" cannot be filtered by {filters}; clear those filters or choose another export.",
    },
})


# --- the record sets -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    key: str
    columns: tuple
    filters: tuple  # which of FILTERS apply
    rows: Callable  # (connection, filters) -> dicts, in id order
    role: str = "viewer"
    formats: tuple = ("csv", "csv-gb18030", "json")


FILTERS = ("time", "dev", "di", "lot", "job")
FORMATS = ("csv", "csv-gb18030", "json", "nhsa")


def _where(q, f, time_col=None, dev=None, di=None, lot=None, job=None):
    # The filters a record set supports, each onto its own column.
    if time_col is not None:
        if f["since"] is not None:
            q = q.where(time_col >= f["since"])
        if f["until"] is not None:
            q = q.where(time_col < f["until"])
    for col, key in ((dev, "dev"), (di, "di"), (lot, "lot"), (job, "job")):
        if col is not None and f[key] is not None:
            q = q.where(col == f[key])
    return q


def trace_rows(c, f):
    return export.records(c, f["since"], f["until"], dev=f["dev"], di=f["di"], lot=f["lot"])


def scan_rows(c, f):
    s = scans.c
    q = _where(select(scans).order_by(s.id), f, s.received_at, s.dev, s.di, s.lot)
    for r in c.execute(q).mappings():
        res = r["result"] or {}
        yield {"scan_id": r["id"], "time": export.cst_time(r["received_at"]), "device": r["dev"], "boot": r["boot"],
               "seq": r["seq"], "mode": r["mode"], "location": r["location"], "operator": r["operator"],
               "code": export.trace_code(r["raw"], res), "raw": r["raw"], "scheme": r["scheme"], "valid": r["valid"],
               "verdict": r["verdict"], "codes": " ".join(r["codes"] or ()), "di": r["di"], "lot": r["lot"],
               "serial": r["serial"], "expiry": r["expiry"], "item": r["item"], "nhsa_code": r["nhsa_code"],
               "commodity_code": r["commodity_code"]}


def movement_rows(c, f):
    m = movements.c
    q = (select(movements, scans.c.dev).select_from(movements.join(scans, scans.c.id == m.scan_id)).order_by(m.id))
    for r in c.execute(_where(q, f, m.at, scans.c.dev, m.di, m.lot)).mappings():
        yield {"movement_id": r["id"], "time": export.cst_time(r["at"]), "kind": r["kind"], "location": r["location"],
               "item": r["item"], "di": r["di"], "lot": r["lot"], "qty": r["qty"], "scan_id": r["scan_id"],
               "device": r["dev"]}


def aggregation_rows(c, f):
    a = aggregations.c
    for r in c.execute(_where(select(aggregations).order_by(a.id), f, a.created_at, a.source)).mappings():
        yield {"link_id": r["id"], "parent": r["parent"], "child": r["child"], "session": r["session"],
               "source": r["source"], "packed": export.cst_time(r["created_at"]),
               "unpacked": export.cst_time(r["removed_at"])}


def serial_rows(c, f):
    s = serials.c
    for r in c.execute(_where(select(serials).order_by(s.id), f, s.updated_at, None, s.di, s.lot, s.job_id)).mappings():
        yield {"serial_id": r["id"], "di": r["di"], "serial": r["serial"], "lot": r["lot"], "state": r["state"],
               "job": r["job_id"], "label_no": r["label_no"], "updated": export.cst_time(r["updated_at"])}


def job_rows(c, f):
    j = print_jobs.c
    q = _where(select(print_jobs).order_by(j.id), f, j.created_at, j.printer, j.di, j.lot, j.id)
    for r in c.execute(q).mappings():
        counts, rec = r["counts"] or {}, r["reconciliation"] or {}
        yield {"job": r["id"], "created": export.cst_time(r["created_at"]), "created_by": r["created_by"], "di": r["di"],
               "lot": r["lot"], "production_date": r["production_date"], "expiry": r["expiry"], "template": r["template"],
               "printer": r["printer"], "quantity": r["quantity"], "state": r["state"], "reason": r["reason"],
               "sent": counts.get("sent"), "printed": counts.get("printed"), "voided": counts.get("voided"),
               "good_labels": rec.get("good_labels"), "verified": rec.get("verified"), "rejected": rec.get("rejected"),
               "printed_ledger": rec.get("printed_ledger"), "printer_counter": rec.get("printer_counter"),
               "agrees": rec.get("agrees")}


def check_rows(c, f):
    k, j = label_checks.c, print_jobs.c
    q = (select(label_checks, serials.c.serial, serials.c.label_no, j.printer)
         .select_from(label_checks.outerjoin(serials, serials.c.id == k.serial_id)
                      .outerjoin(print_jobs, j.id == k.job_id)).order_by(k.id))
    for r in c.execute(_where(q, f, k.at, j.printer, j.di, j.lot, k.job_id)).mappings():
        yield {"check_id": r["id"], "time": export.cst_time(r["at"]), "job": r["job_id"], "printer": r["printer"],
               "label_no": r["label_no"], "serial": r["serial"], "decoded": r["decoded"], "match": r["match"],
               "valid": r["valid"], "grade": r["grade"], "notation": r["notation"], "passed": r["passed"],
               "reason": r["reason"]}


def audit_rows(c, f):
    a = panel_audit.c
    for r in c.execute(_where(select(panel_audit).order_by(a.id), f, a.at)).mappings():
        yield {"audit_id": r["id"], "time": export.cst_time(r["at"]), "user": r["user"], "action": r["action"],
               "detail": r["detail"]}


DATASETS = {d.key: d for d in (
    Dataset("trace", export.COLUMNS, ("time", "dev", "di", "lot"), trace_rows, formats=FORMATS),
    Dataset("scans", ("scan_id", "time", "device", "boot", "seq", "mode", "location", "operator", "code", "raw", "scheme",
                      "valid", "verdict", "codes", "di", "lot", "serial", "expiry", "item", "nhsa_code", "commodity_code"),
            ("time", "dev", "di", "lot"), scan_rows),
    Dataset("movements", ("movement_id", "time", "kind", "location", "item", "di", "lot", "qty", "scan_id", "device"),
            ("time", "dev", "di", "lot"), movement_rows),
    Dataset("aggregations", ("link_id", "parent", "child", "session", "source", "packed", "unpacked"),
            ("time", "dev"), aggregation_rows),
    Dataset("serials", ("serial_id", "di", "serial", "lot", "state", "job", "label_no", "updated"),
            ("time", "di", "lot", "job"), serial_rows),
    Dataset("jobs", ("job", "created", "created_by", "di", "lot", "production_date", "expiry", "template", "printer",
                     "quantity", "state", "reason", "sent", "printed", "voided", "good_labels", "verified", "rejected",
                     "printed_ledger", "printer_counter", "agrees"),
            ("time", "dev", "di", "lot", "job"), job_rows),
    Dataset("checks", ("check_id", "time", "job", "printer", "label_no", "serial", "decoded", "match", "valid", "grade",
                       "notation", "passed", "reason"),
            ("time", "dev", "di", "lot", "job"), check_rows),
    Dataset("audit", ("audit_id", "time", "user", "action", "detail"), ("time",), audit_rows, role="admin"),
)}


# --- the form ---------------------------------------------------------------------------------------

class FormError(ValueError):
    pass


def parse_time(value, field, lang):
    # A datetime-local value (2026-11-22T08:00), or a date, in UTC+8 -> Unix seconds.
    value = value.strip().replace(" ", "T")
    if not value:
        return None
    try:
        t = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise FormError(i18n.t(lang, "exp.err.time", field=i18n.t(lang, field)))
    if t.tzinfo is None:
        t = t.replace(tzinfo=export.CST)
    return t.timestamp()


def parse_text(value, field, lang):
    value = value.strip()
    if len(value) > 64 or any(ord(ch) < 32 for ch in value):
        raise FormError(i18n.t(lang, "exp.err.text", field=i18n.t(lang, field)))
    return value or None


def parse_form(q, lang):
    """Query parameters -> (dataset, format, filters); FormError says what is wrong."""
    ds = DATASETS.get(q.get("what", ""))
    if ds is None:
        raise FormError(i18n.t(lang, "exp.err.what"))
    fmt = q.get("format", "csv")
    if fmt not in ds.formats:
        raise FormError(i18n.t(lang, "exp.err.format"))
    f = {"since": parse_time(q.get("since", ""), "exp.since", lang), "until": parse_time(q.get("until", ""), "exp.until", lang),
         "dev": parse_text(q.get("dev", ""), "exp.device", lang), "di": parse_text(q.get("di", ""), "exp.di", lang),
         "lot": parse_text(q.get("lot", ""), "exp.lot", lang), "job": None}
    job = q.get("job", "").strip()
    if job:
        if not job.isdigit() or not 0 < int(job) <= MAX_ID:
            raise FormError(i18n.t(lang, "exp.err.job"))
        f["job"] = int(job)
    if f["since"] is not None and f["until"] is not None and f["until"] <= f["since"]:
        raise FormError(i18n.t(lang, "exp.err.range"))
    # A filter the record set cannot apply is refused, not ignored: the file
    # would hold more than the person asked for.
    given = {"time": f["since"] is not None or f["until"] is not None, **{k: f[k] is not None for k in FILTERS[1:]}}
    extra = [k for k in FILTERS if given[k] and k not in ds.filters]
    if extra:
        raise FormError(i18n.t(lang, "exp.err.notapply", what=i18n.t(lang, "exp.ds." + ds.key),
                               filters=filter_words(lang, extra)))
    return ds, fmt, f


def filter_words(lang, keys):
    return i18n.t(lang, "exp.sep").join(i18n.t(lang, "exp.f." + k) for k in keys)


def _form_page(request, s, status_code=200, error=None):
    lang = lang_of(request)
    with engine_of(request).connect() as c:
        devs = [r[0] for r in c.execute(select(devices.c.dev).order_by(devices.c.dev).limit(500))]
        devs += [r[0] for r in c.execute(select(printers.c.name).order_by(printers.c.name).limit(100))]
    sets = [{"key": d.key, "admin": d.role == "admin",
             "filters": filter_words(lang, d.filters)}
            for d in DATASETS.values() if users.allowed(s["role"], d.role)]
    q = request.query_params
    v = {k: q.get(k, "") for k in ("what", "format", "since", "until", "dev", "di", "lot", "job")}
    v["what"], v["format"] = v["what"] or "trace", v["format"] or "csv"
    return page(request, "exp_form.html", s, status_code, sets=sets, formats=FORMATS, devs=devs, v=v, error=error)


@router.get("/panel/exports", include_in_schema=False)
def export_form(request: Request, s=Viewer):
    return _form_page(request, s)


# --- the download -----------------------------------------------------------------------------------

def stream(engine, ds, fmt, f):
    """The file, piece by piece: one connection for the whole download,
    rows fetched FETCH_ROWS at a time (server-side cursor on PostgreSQL)."""
    with engine.connect() as c:
        c = c.execution_options(yield_per=FETCH_ROWS)
        rows = ds.rows(c, f)
        if fmt == "json":
            pieces = export.json_chunks(rows)
        elif fmt == "nhsa":
            pieces = export.json_chunks(export.nhsa_record(r) for r in rows)
        else:
            pieces = export.csv_chunks(rows, ds.columns, defused=True)
        if fmt == "csv":
            yield "\ufeff".encode("utf-8")  # Excel on Chinese Windows reads UTF-8 only with a BOM
        encoding = "gb18030" if fmt == "csv-gb18030" else "utf-8"
        for piece in pieces:
            yield piece.encode(encoding, "replace")


def filename(ds, fmt, now=None):
    # What and when: udi-edge-scans-20261122-083000.csv (UTC+8, as in the file).
    stamp = datetime.datetime.fromtimestamp(time.time() if now is None else now, export.CST).strftime("%Y%m%d-%H%M%S")
    return "udi-edge-%s-%s%s.%s" % (ds.key, stamp, "-nhsa" if fmt == "nhsa" else "", "json" if fmt in ("json", "nhsa") else "csv")


def describe(ds, fmt, f):
    # The audit row's detail: what, format and every filter given.
    parts = ["%s %s" % (ds.key, fmt)]
    for k in ("since", "until"):
        if f[k] is not None:
            parts.append("%s=%s" % (k, export.cst_time(f[k])))
    parts += ["%s=%s" % (k, f[k]) for k in ("dev", "di", "lot", "job") if f[k] is not None]
    return " ".join(parts)


@router.get("/panel/exports/download", include_in_schema=False)
def export_download(request: Request, s=Viewer):
    lang = lang_of(request)
    try:
        ds, fmt, f = parse_form(request.query_params, lang)
    except FormError as e:
        return _form_page(request, s, 422, error=str(e))
    require(request, s, ds.role)
    engine = engine_of(request)
    users.audit(engine, s["user"], "export", describe(ds, fmt, f))
    media = "application/json" if fmt in ("json", "nhsa") else (
        "text/csv; charset=gb18030" if fmt == "csv-gb18030" else "text/csv; charset=utf-8")
    return StreamingResponse(stream(engine, ds, fmt, f), media_type=media, headers={
        "Content-Disposition": 'attachment; filename="%s"' % filename(ds, fmt), "Cache-Control": "no-store"})
