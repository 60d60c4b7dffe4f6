"""Export of traceability records: one row per good scan that moved stock
(receive / dispatch / use), with its mapped codes, as CSV or JSON.

The *_chunks writers stream any rows (these records, or the panel's other
exports) piece by piece, so an export of a million rows never sits in
memory whole; to_csv / to_json / to_nhsa are the same output in one string.

FIELDS maps each exported column to the NHSA interface field it fills (the
3505 商品销售 / 3502 库存变更 definitions, field names as used by NHSA
integrations; see docs/traceability.md).  Fields a gateway cannot know (price,
prescription number, insured person) are not invented: the HIS adds them."""

import csv
import datetime
import io
import json

from sqlalchemy import select

from gateway.schema import products, scans

# (column, NHSA field or None, meaning)
FIELDS = (
    ("scan_id", None, "the gateway's scan id"),
    ("time", "sel_retn_time", "when it was scanned, yyyy-MM-dd HH:mm:ss (gateway clock, UTC+8)"),
    ("mode", None, "receive 入库 / dispatch 出库 / use 使用"),
    ("location", None, "where"),
    ("operator", "sel_retn_opter_name", "who scanned it (operator id from the handheld)"),
    ("device", None, "handheld id"),
    ("trace_code", "drug_trac_codg", "the traceability code: 20 digits, or the GS1/MA/HIBC data without symbology id"),
    ("scheme", None, "code system"),
    ("di", None, "product identifier (UDI-DI / GTIN / 药品标识码)"),
    ("product_name", "fixmedins_hilist_name", "product name from the master"),
    ("nhsa_code", "med_list_codg", "医保编码 from the three-code mapping"),
    ("commodity_code", "fixmedins_hilist_id", "商品码 / the institution's catalogue id from the mapping"),
    ("lot", "manu_lotnum", "生产批号"),
    ("production_date", "manu_date", "生产日期 yyyy-MM-dd"),
    ("expiry", "expy_end", "有效期止 yyyy-MM-dd"),
    ("serial", None, "序列号"),
    ("qty", "sel_retn_cnt", "units moved by this scan (1 per unit code)"),
)
COLUMNS = tuple(f[0] for f in FIELDS)
CST = datetime.timezone(datetime.timedelta(hours=8))


def trace_code(raw, res):
    # The code as NHSA takes it: no AIM identifier; GS1 in bracketed form
    # (printable, unambiguous; a GS byte would not survive CSV or forms).
    if res.get("scheme") == "gs1" and res.get("hri"):
        return res["hri"]
    if raw is None:
        return None
    return raw[3:] if raw.startswith("]") and len(raw) > 3 else raw


def cst_time(ts):
    return None if ts is None else datetime.datetime.fromtimestamp(ts, CST).strftime("%Y-%m-%d %H:%M:%S")


def records(conn, since=None, until=None, modes=("receive", "dispatch", "use"), location=None, limit=None,
            dev=None, di=None, lot=None):
    q = (select(scans, products.c.name.label("product_name"))
         .select_from(scans.outerjoin(products, products.c.di == scans.c.product))
         .where(scans.c.verdict == "good", scans.c.mode.in_(modes)).order_by(scans.c.id))
    if since is not None:
        q = q.where(scans.c.received_at >= since)
    if until is not None:
        q = q.where(scans.c.received_at < until)
    if location is not None:
        q = q.where(scans.c.location == location)
    for col, value in ((scans.c.dev, dev), (scans.c.di, di), (scans.c.lot, lot)):
        if value is not None:
            q = q.where(col == value)
    if limit is not None:
        q = q.limit(limit)
    for r in conn.execute(q).mappings():
        res = r["result"] or {}
        pi = res.get("pi") or {}
        yield {
            "scan_id": r["id"],
            "time": cst_time(r["received_at"]),
            "mode": r["mode"], "location": r["location"], "operator": r["operator"], "device": r["dev"],
            "trace_code": trace_code(r["raw"], res),
            "scheme": r["scheme"], "di": r["di"], "product_name": r["product_name"],
            "nhsa_code": r["nhsa_code"], "commodity_code": r["commodity_code"],
            "lot": r["lot"], "production_date": pi.get("production_date"), "expiry": r["expiry"], "serial": r["serial"],
            "qty": 1,
        }


CHUNK_ROWS = 500  # rows per piece of a streamed export
FORMULA_START = frozenset("=+-@\t\r")


def defuse(values):
    # Text cells that a spreadsheet would run as a formula (CSV injection)
    # get a leading apostrophe, which Excel and WPS show as text.  Numbers
    # stay numbers (a dispatch's qty of -1).
    return ["'" + v if v.__class__ is str and v[:1] in FORMULA_START else v for v in values]


def csv_chunks(rows, columns=COLUMNS, defused=False):
    """The header, then the rows as CSV text, CHUNK_ROWS at a time (no BOM:
    the caller adds one for UTF-8).  defused: neutralise formula cells, for
    files people open in a spreadsheet."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(columns)
    for n, r in enumerate(rows, 1):
        values = [r.get(k) for k in columns]
        w.writerow(defuse(values) if defused else values)
        if n % CHUNK_ROWS == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def json_chunks(rows):
    """A JSON array, CHUNK_ROWS elements at a time."""
    yield "["
    part, first = [], True
    for r in rows:
        part.append(json.dumps(r, ensure_ascii=False, default=str))
        if len(part) == CHUNK_ROWS:
            yield ("" if first else ",") + ",".join(part)
            part, first = [], False
    if part:
        yield ("" if first else ",") + ",".join(part)
    yield "]"


def nhsa_record(r):
    # A record under NHSA's field names, one element per code in
    # drugtracinfo as the newer interface definitions nest it.
    rec = {nhsa: r.get(col) for col, nhsa, _ in FIELDS if nhsa and nhsa != "drug_trac_codg"}
    rec["drugtracinfo"] = [{"drug_trac_codg": r["trace_code"]}]
    return rec


def to_csv(rows):
    # UTF-8 with BOM: Excel on Chinese Windows opens it with the right encoding.
    return "\ufeff" + "".join(csv_chunks(rows))


def to_json(rows):
    return "".join(json_chunks(rows))


def to_nhsa(rows):
    return "".join(json_chunks(nhsa_record(r) for r in rows))
