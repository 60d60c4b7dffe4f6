"""三码映射 (three-code mapping): traceability-code prefix / UDI-DI / GTIN ->
医保编码 (NHSA code) and 商品码 (commodity code), imported from CSV / XLSX
into `mappings` and looked up for a parsed scan."""

import contextlib
import os
import time

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.master.sheet import (
    Header,
    SheetError,
    check_nhsa,
    lossy_columns,
    read_rows,
)
from gateway.master.udid import (
    ImportReport,
    ascii_digits,
    check_di,
    chunks,
    lookup_product,
    upsert,
)
from gateway.schema import mappings

# Key columns: a row may fill several (say GTIN and UDI-DI); each becomes a mapping.
KEY_COLUMNS = {
    # 药品标识码 = the first 7 digits of a 20-digit trace code: a prefix here.
    "trace_prefix": ["trace_prefix", "追溯码前缀", "药品追溯码前缀", "药品标识码", "追溯码", "药品追溯码", "前缀", "prefix"],
    "di": ["di", "udi-di", "产品标识", "器械产品标识", "最小销售单元产品标识"],
    "gtin": ["gtin", "商品条码", "条码", "条形码", "ean"],
}
COLUMNS = {
    **KEY_COLUMNS,
    # A generic pair, as an export of this table writes it.
    "kind": ["kind", "类型", "映射类型"],
    "key": ["key", "键", "映射键"],
    "nhsa_code": ["nhsa_code", "医保编码", "国家医保编码", "医保代码", "医保药品编码", "医保耗材编码", "ybbm"],
    "commodity_code": ["commodity_code", "商品码", "商品编码"],
    "name": ["name", "名称", "产品名称", "药品名称", "通用名称", "通用名"],
}
TRACE_CODE_LENGTH = 20  # codes.md §4.2


def check_key(kind, key):
    """-> (normalised key, None) or (None, reason)."""
    if kind == "trace_prefix":
        # Any length up to the whole code: the 7-digit 药品标识码 usually, a
        # longer prefix when one 标识码 maps to several 医保编码.
        if ascii_digits(key) and len(key) <= TRACE_CODE_LENGTH:
            return key, None
        return None, "a traceability-code prefix is 1-20 digits, got %r" % key[:40]
    if kind == "gtin":
        di, _, why = check_di(key, "GS1")
        return (di, None) if di else (None, why)
    if kind == "di":
        di, _, why = check_di(key)
        return (di, None) if di else (None, why)
    return None, "kind must be one of %s, got %r" % (", ".join(KEY_COLUMNS), kind[:20])


def mapping_rows(header, row, source):
    """One table row -> ([mappings rows], [problems])."""
    v = header.values(row)
    problems = lossy_columns(header, v)

    def bad(name, rule, detail):
        problems.append({"column": header.column(name), "rule": rule, "detail": detail})

    keys = [(k, v[k]) for k in KEY_COLUMNS if v.get(k)]
    if v.get("kind") or v.get("key"):
        keys.append(((v.get("kind") or "").strip().lower(), v.get("key") or ""))
    if not keys:
        bad("trace_prefix", "required", "no key: fill one of %s" % ", ".join(KEY_COLUMNS))
    out = []
    for kind, key in keys:
        norm, why = check_key(kind, key)
        if norm is None:
            bad(kind if kind in KEY_COLUMNS and kind in header.index else "key", "key_format", why)
        else:
            out.append((kind, norm))
    if v.get("nhsa_code"):
        why = check_nhsa(v["nhsa_code"])
        if why:
            bad("nhsa_code", "nhsa_code", why)
    elif not v.get("commodity_code"):
        bad("nhsa_code", "required", "a mapping needs a 医保编码 or a 商品码")
    if problems:
        return [], problems
    rows = [{"kind": k, "key": key, "nhsa_code": v.get("nhsa_code"), "commodity_code": v.get("commodity_code"),
             "name": v.get("name"), "source": source} for k, key in out]
    for r in rows:
        for col in ("nhsa_code", "commodity_code", "name", "source"):
            n = mappings.c[col].type.length
            if isinstance(r[col], str) and len(r[col]) > n:
                r[col] = r[col][:n]
    return rows, []


class _MappingWriter:
    # Batches of rows, upserted by (kind, key); counts as ImportReport.
    # A dry run reads and compares in one transaction that is rolled back
    # and writes nothing: what an earlier batch would have written is kept
    # in `would`, so later rows are compared as the real import compares them.
    def __init__(self, engine, report, batch_size, dry_run=False, on_row=None):
        self.engine, self.report, self.batch_size = engine, report, batch_size
        self.dry_run, self.on_row = dry_run, on_row
        self.batch = []
        self.would = {}
        self.conn = None
        if dry_run:
            self.conn = engine.connect()
            self.conn.begin()

    def add(self, n, rows, problems):
        # Every data row, rejected ones too, so on_row sees the file in order.
        self.batch.append((n, rows, problems))
        if len(self.batch) >= self.batch_size:
            self.flush()

    def transaction(self):
        return contextlib.nullcontext(self.conn) if self.dry_run else self.engine.begin()

    def flush(self):
        batch, self.batch = self.batch, []
        if not batch:
            return
        compared = ("nhsa_code", "commodity_code", "name", "source")
        wanted = [r for _, rows, _ in batch for r in rows]
        with self.transaction() as c:
            existing = {}
            for kind in {r["kind"] for r in wanted}:
                keys = sorted({r["key"] for r in wanted if r["kind"] == kind})
                for chunk in chunks(keys):
                    q = select(mappings).where(mappings.c.kind == kind, mappings.c.key.in_(chunk))
                    for r in c.execute(q).mappings():
                        existing[(kind, r["key"])] = dict(r)
            existing.update((k, self.would[k]) for k in {(r["kind"], r["key"]) for r in wanted} if k in self.would)
            pending = {}
            outcomes = []
            for n, rows, problems in batch:
                new = changed = False
                for r in rows:
                    cur = existing.get((r["kind"], r["key"]))
                    if cur is None or any(cur[k] != r[k] for k in compared):
                        new = new or cur is None
                        changed = True
                        pending[(r["kind"], r["key"])] = r
                        existing[(r["kind"], r["key"])] = r
                outcome = "rejected" if problems else "added" if new else "updated" if changed else "unchanged"
                outcomes.append((n, outcome, rows, problems))
            if pending and self.dry_run:
                self.would.update(pending)
            elif pending:
                now = time.time()
                c.execute(upsert(c, mappings, ["kind", "key"]), [dict(r, updated_at=now) for r in pending.values()])
        for n, outcome, rows, problems in outcomes:
            if outcome != "rejected":
                self.report.count(outcome)
            if self.on_row is not None:
                self.on_row(n, outcome, rows, problems)

    def close(self):
        # The dry run's transaction ends without a commit.
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()


def import_mappings(engine, path, *, batch_size=1000, dry_run=False, source=None, on_row=None):
    """Import a three-code mapping table (CSV or XLSX) into `mappings`.
    A row whose 医保编码 the engine does not accept is an error, not imported.

    dry_run: the same reading, checks and comparison, in one transaction
    that is rolled back; the report says what an import of this file would
    add / update / leave unchanged, and nothing is written.  source: what
    the rows' `source` says (default: the file's name).  on_row(row number,
    outcome, mapping rows, problems), outcome "added" / "updated" /
    "unchanged" / "rejected", is called for every data row in file order
    (a full per-row report; the ImportReport keeps the first 1000 errors)."""
    report = ImportReport("mapping", file=os.fspath(path))
    writer = _MappingWriter(engine, report, batch_size, dry_run, on_row)
    source = source or os.path.basename(os.fspath(path))
    header = None
    try:
        try:
            for n, row in read_rows(path):
                if header is None:
                    header = Header(row, COLUMNS)
                    if not any(k in header.index for k in KEY_COLUMNS) and "key" not in header.index:
                        report.error(row=n, column=None, rule="columns", detail="no key column; accepted: %s"
                                     % ", ".join(a for aliases in KEY_COLUMNS.values() for a in aliases))
                        break
                    if "nhsa_code" not in header.index and "commodity_code" not in header.index:
                        report.error(row=n, column=None, rule="columns", detail="no 医保编码 or 商品码 column")
                        break
                    continue
                report.records += 1
                rows, problems = mapping_rows(header, row, source)
                for p in problems:
                    report.error(row=n, **p)
                writer.add(n, rows, problems)
        except SheetError as e:  # the rows read before it are still imported
            report.error(row=None, column=None, rule=e.rule, detail=e.detail)
        except OSError as e:
            report.error(row=None, column=None, rule="file", detail=str(e))
        writer.flush()
    except SQLAlchemyError as e:  # reported; earlier batches stay committed
        report.error(row=None, column=None, rule="database", detail=str(e).splitlines()[0][:300])
    finally:
        writer.close()
    return report


def _trace_code(result):
    # The 20-digit code of a cn-drug result: from the raw scan (an AIM
    # prefix or stray characters around it are ignored), else DI + serial.
    raw = result.get("raw") or ""
    digits = ""
    for ch in raw:
        if "0" <= ch <= "9":
            digits += ch
            if len(digits) == TRACE_CODE_LENGTH:
                break
        else:
            digits = ""
    di = result.get("di") or ""
    if len(digits) == TRACE_CODE_LENGTH and digits.startswith(di):
        return digits
    return di + ((result.get("pi") or {}).get("serial") or "")


def _execute(conn, q):
    if hasattr(conn, "execute"):
        return [dict(r) for r in conn.execute(q).mappings()]
    with conn.connect() as c:
        return [dict(r) for r in c.execute(q).mappings()]


def lookup_mapping(conn, result, *, master=True):
    """(nhsa_code, commodity_code) for a parsed scan (udi_codes.parse result),
    or None.  GS1 by GTIN (kind gtin, then di); MA / HIBC / AHM by di;
    cn-drug by the longest trace_prefix matching the 20-digit code.  Without a
    mapping row, the product master's 医保编码 for the DI, if any (unless
    master=False: then mapping rows only)."""
    def rows(kinds, keys):
        return _execute(conn, select(mappings).where(mappings.c.kind.in_(kinds), mappings.c.key.in_(keys)))

    return choose(result, rows, (lambda di: lookup_product(conn, di)) if master else (lambda di: None))


def choose(result, rows, product):
    # The lookup rules, over any source of mapping rows: rows(kinds, keys)
    # -> [row], product(di) -> master row or None.
    scheme = result.get("scheme")
    di = result.get("di")
    if not di:
        return None
    if scheme == "cn-drug":
        code = _trace_code(result)
        found = rows(("trace_prefix",), [code[:n] for n in range(1, len(code) + 1)])
        if found:
            best = max(found, key=lambda r: len(r["key"]))
            return best["nhsa_code"], best["commodity_code"]
    else:
        kinds = ("gtin", "di") if scheme == "gs1" else ("di",)
        found = rows(kinds, [di])
        for kind in kinds:
            for r in found:
                if r["kind"] == kind:
                    return r["nhsa_code"], r["commodity_code"]
    prod = product(di)
    if prod and prod.get("nhsa_code"):
        return prod["nhsa_code"], None
    return None


class MappingIndex:
    """The whole mapping table in memory for the ingest (one dict lookup per
    scan instead of a query); reloaded when the table changes (count or
    latest update differ), checked at most once per `refresh_s`."""

    def __init__(self, refresh_s=2.0):
        self.refresh_s = refresh_s
        self.rows = {}
        self.lengths = set()
        self.mark = None
        self.checked = 0.0

    def refresh(self, conn, now):
        if now - self.checked < self.refresh_s:
            return
        self.checked = now
        mark = tuple(conn.execute(select(func.count(), func.max(mappings.c.updated_at)).select_from(mappings)).first())
        if mark != self.mark:
            self.rows = {(r["kind"], r["key"]): dict(r) for r in conn.execute(select(mappings)).mappings()}
            self.lengths = {len(key) for kind, key in self.rows if kind == "trace_prefix"}
            self.mark = mark

    def lookup(self, result, product):
        def rows(kinds, keys):
            if kinds == ("trace_prefix",):  # only prefix lengths the table has
                keys = [k for k in keys if len(k) in self.lengths]
            return [self.rows[(k, key)] for k in kinds for key in keys if (k, key) in self.rows]

        return choose(result, rows, product)
