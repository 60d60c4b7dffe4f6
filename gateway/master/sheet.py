"""Product sheets (CSV / XLSX) -> `products`, for drugs and other items the
UDID download does not cover.  One row per DI; the header names the columns
in Chinese or English (COLUMNS).  Also the table reader the three-code
mapping import uses."""

import codecs
import csv
import datetime
import os

import udi_codes
from gateway.master.udid import (
    PRIMARY_LEVEL,
    SYSTEM_LABELS,
    ImportReport,
    ProductWriter,
    blank_row,
    check_di,
    parse_bool,
    parse_quantity,
)

# products column -> accepted header names.  Matching ignores case, spaces,
# "_", "-", "/" and full-width brackets (normalise_header).
COLUMNS = {
    "di": ["di", "udi-di", "产品标识", "产品标识码", "药品标识码", "标识码", "gtin", "包装产品标识", "bzcpbs"],
    "primary_di": ["primary_di", "最小销售单元产品标识", "最小销售单元标识", "zxxsdycpbs"],
    "coding_system": ["coding_system", "编码体系", "编码体系名称", "cpbsbmtxmc"],
    "name": ["name", "名称", "产品名称", "通用名称", "通用名", "药品名称", "产品名称/通用名称", "cpmctymc"],
    "trade_name": ["trade_name", "商品名称", "商品名", "brand", "spmc"],
    "spec": ["spec", "规格", "规格型号", "型号", "包装规格", "ggxh"],
    "reg_no": ["reg_no", "注册证编号", "注册证号", "批准文号", "备案凭证号", "注册证号/备案凭证号", "注册证编号/备案凭证编号",
               "zczbhhzbapzbh"],
    "registrant": ["registrant", "注册人", "注册人/备案人名称", "上市许可持有人", "生产企业", "生产厂家", "manufacturer",
                   "ylqxzcrbarmc"],
    "nhsa_code": ["nhsa_code", "医保编码", "国家医保编码", "医保代码", "ybbm"],
    "level": ["level", "包装级别", "产品包装级别", "cpbzjb"],
    "contains_di": ["contains_di", "内含产品标识", "包装内含小一级包装产品标识", "小一级包装产品标识", "bznhxyjbzcpbs"],
    "contains_qty": ["contains_qty", "内含数量", "包装内含小一级产品标识数量", "包装数量", "bznhxyjcpbssl"],
    # Yes/no: does the code carry it.  Not "批号" / "有效期" alone: in drug
    # sheets those columns hold values ("24个月"), not flags.
    "pi_lot": ["pi_lot", "含批号", "生产标识含批号", "生产标识是否包含批号", "scbssfbhph"],
    "pi_serial": ["pi_serial", "含序列号", "生产标识含序列号", "生产标识是否包含序列号", "scbssfbhxlh"],
    "pi_mfg": ["pi_mfg", "含生产日期", "生产标识含生产日期", "生产标识是否包含生产日期", "scbssfbhscrq"],
    "pi_expiry": ["pi_expiry", "含失效日期", "含有效期", "生产标识含失效日期", "生产标识是否包含失效日期", "生产标识是否包含有效期",
                  "scbssfbhsxrq"],
    "version": ["version", "版本", "版本号", "versionnumber"],
}

# Row rules, named in every error.
RULES = {
    "required": "the column must have a value",
    "di_format": "not a DI of a known coding system (checked with the code engine)",
    "integer": "must be a positive whole number",
    "boolean": "must be 是/否, 1/0, true/false, y/n",
    "nhsa_code": "must be a 医保编码 (西药/中成药 or 耗材 code, checked with the code engine)",
    "key_format": "not a valid mapping key (trace prefix: 1-20 digits; GTIN / DI: checked with the code engine)",
    "number_precision": "a number of 16 or more digits in Excel has lost digits: format the column as text",
    "encoding": "the file is neither UTF-8 nor GB18030",
    "columns": "the header has no column this import needs",
}

EXTRA_MAX_COLUMNS = 32
EXTRA_MAX_TEXT = 256


class LossyNumber(str):
    """A cell Excel kept as a float with 16+ digits: the text is what is left."""


def normalise_header(h):
    s = str(h or "").replace("\ufeff", "").strip().lower()
    s = s.replace("（", "(").replace("）", ")")
    for c in " \u3000_-/\\":
        s = s.replace(c, "")
    return s


def cell_text(v):
    """A CSV / XLSX cell -> stripped text or None."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if abs(v) >= 1e15:  # past 15 significant digits Excel rounds
            return LossyNumber("%.0f" % v)
        return str(int(v)) if v.is_integer() else str(v)
    if isinstance(v, datetime.datetime):
        return v.date().isoformat() if v.time() == datetime.time() else v.isoformat()
    if isinstance(v, datetime.date):
        return v.isoformat()
    s = str(v).strip()
    return s or None


class SheetError(Exception):
    """The file as a whole cannot be read (rule, detail)."""

    def __init__(self, rule, detail):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


def _is_xlsx(path):
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"  # a zip: XLSX whatever the file is called


def csv_encoding(path):
    """utf-16 when the file says so, UTF-8 (BOM or not) when the whole file
    decodes as UTF-8, else GB18030 (Excel's "CSV" on Chinese Windows)."""
    with open(path, "rb") as f:
        head = f.read(2)
        if head in (b"\xff\xfe", b"\xfe\xff"):
            return "utf-16"
        f.seek(0)
        dec = codecs.getincrementaldecoder("utf-8")()
        try:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    dec.decode(b"", final=True)
                    return "utf-8-sig"
                dec.decode(chunk)
        except UnicodeDecodeError:
            return "gb18030"


def _delimiter(first_line):
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_rows(path):
    """Yield (row number, [cell text]) for every non-empty row of a CSV or
    XLSX file (first sheet), numbered as a spreadsheet shows them."""
    if _is_xlsx(path):
        yield from _xlsx_rows(path)
    else:
        yield from _csv_rows(path)


def _csv_rows(path):
    encoding = csv_encoding(path)
    try:
        with open(path, encoding=encoding, newline="") as f:
            first = f.readline()
            f.seek(0)
            for n, cells in enumerate(csv.reader(f, delimiter=_delimiter(first)), 1):
                row = [cell_text(c) for c in cells]
                if any(c is not None for c in row):
                    yield n, row
    except UnicodeDecodeError as e:
        raise SheetError("encoding", "%s: %s" % (encoding, e)) from None
    except csv.Error as e:
        raise SheetError("encoding", "CSV: %s" % e) from None


def _xlsx_rows(path):
    import openpyxl  # only XLSX imports pay for it

    # A damaged workbook fails inside zipfile, zlib or the XML parser, with
    # whatever exception each raises (BadZipFile, zlib.error, ParseError,
    # IndexError …), on opening or only when a row is streamed: all of them
    # mean the file cannot be read.
    try:
        # read_only streams rows; data_only gives formulas' cached values.
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - see above
        raise SheetError("encoding", "XLSX: %s: %s" % (type(e).__name__, e)) from None
    try:
        if not wb.worksheets:
            raise SheetError("encoding", "XLSX: the workbook has no sheet")
        rows = enumerate(wb.worksheets[0].iter_rows(min_row=1, values_only=True), 1)
        while True:
            try:
                n, cells = next(rows)
            except StopIteration:
                return
            except Exception as e:  # noqa: BLE001 - see above
                raise SheetError("encoding", "XLSX: %s: %s" % (type(e).__name__, e)) from None
            row = [cell_text(c) for c in cells]
            if any(c is not None for c in row):
                yield n, row
    finally:
        wb.close()  # read-only workbooks keep the file open until closed


class Header:
    """Which cell of a row is which field, from the header row."""

    def __init__(self, cells, columns):
        lookup = {}
        for name, aliases in columns.items():
            for a in aliases:
                lookup.setdefault(normalise_header(a), name)
        self.names = [c or "" for c in cells]
        self.index = {}  # field -> cell index (first matching column wins)
        self.other = {}  # cell index -> header text of a column no field claims
        for i, c in enumerate(self.names):
            name = lookup.get(normalise_header(c))
            if name and name not in self.index:
                self.index[name] = i
            elif c:
                self.other[i] = c

    def values(self, row):
        out = {}
        for name, i in self.index.items():
            out[name] = row[i] if i < len(row) else None
        return out

    def extra(self, row):
        out = {}
        for i, h in self.other.items():
            if i < len(row) and row[i] is not None and len(out) < EXTRA_MAX_COLUMNS:
                out[h[:64]] = row[i][:EXTRA_MAX_TEXT]
        return out or None

    def column(self, name):
        # The header as written in the file, for error messages.
        i = self.index.get(name)
        return self.names[i] if i is not None else name


def check_nhsa(code):
    """None when `code` is a 医保编码 the engine accepts, else the reason."""
    r = udi_codes.parse(code, "read")
    if r["scheme"] in ("nhsa-drug", "nhsa-consumable") and r["valid"]:
        return None
    if r["scheme"] in ("nhsa-drug", "nhsa-consumable"):
        return "%s: %s" % (r["errors"][0]["code"], r["errors"][0]["message"])
    return "%r is not a 医保编码 (西药 X…, 中成药 Z… or 耗材 C…)" % code[:40]


def lossy_columns(header, values):
    return [{"column": header.column(k), "rule": "number_precision", "detail": "%s: %s" % (v, RULES["number_precision"])}
            for k, v in values.items() if isinstance(v, LossyNumber)]


def sheet_row(header, row):
    """One sheet row -> (products row, []) or (None, [problems])."""
    v = header.values(row)
    problems = lossy_columns(header, v)

    def bad(name, rule, detail):
        problems.append({"column": header.column(name), "rule": rule, "detail": detail})

    di_text = v.get("di") or v.get("primary_di")
    system = v.get("coding_system")
    di, scheme, why = check_di(di_text, system)
    if not di_text:
        bad("di", "required", "no DI")
    elif di is None:
        bad("di" if v.get("di") else "primary_di", "di_format", why)
    primary = di
    if v.get("primary_di") and v.get("di"):
        primary, _, why = check_di(v["primary_di"], system)
        if primary is None:
            bad("primary_di", "di_format", why)
    contains = None
    if v.get("contains_di"):
        contains, _, why = check_di(v["contains_di"], system)
        if contains is None:
            bad("contains_di", "di_format", why)
    qty, why = parse_quantity(v.get("contains_qty"), required=False)
    if why:
        bad("contains_qty", "integer", why)
    flags = {}
    for name in ("pi_lot", "pi_serial", "pi_mfg", "pi_expiry"):
        flags[name] = parse_bool(v.get(name))
        if v.get(name) is not None and flags[name] is None:
            bad(name, "boolean", "%r: %s" % (v[name][:32], RULES["boolean"]))
    if v.get("nhsa_code"):
        why = check_nhsa(v["nhsa_code"])
        if why:
            bad("nhsa_code", "nhsa_code", why)
    if problems:
        return None, problems

    out = blank_row(di, primary, "sheet")
    for name in ("name", "trade_name", "spec", "reg_no", "registrant", "nhsa_code", "version"):
        out[name] = v.get(name)
    out.update(flags)
    out["coding_system"] = SYSTEM_LABELS.get(scheme, system)
    out["level"] = v.get("level") or (PRIMARY_LEVEL if primary == di else None)
    out["contains_di"] = contains
    out["contains_qty"] = qty
    out["extra"] = header.extra(row)
    return out, []


def import_products(engine, path, *, batch_size=1000):
    """Import a product sheet (CSV or XLSX) into `products` (source "sheet").
    Returns an ImportReport; errors name row, column and rule."""
    report = ImportReport("sheet", file=os.fspath(path))
    writer = ProductWriter(engine, report, batch_size)
    header = None
    try:
        for n, row in read_rows(path):
            if header is None:
                header = Header(row, COLUMNS)
                if "di" not in header.index and "primary_di" not in header.index:
                    report.error(row=n, column=None, rule="columns",
                                 detail="no DI column; accepted: %s" % ", ".join(COLUMNS["di"] + COLUMNS["primary_di"]))
                    break
                continue
            report.records += 1
            out, problems = sheet_row(header, row)
            for p in problems:
                report.error(row=n, **p)
            if out is not None:
                writer.add({"row": n}, [out])
    except SheetError as e:
        report.error(row=None, column=None, rule=e.rule, detail=e.detail)
    except OSError as e:
        report.error(row=None, column=None, rule="file", detail=str(e))
    writer.close()
    return report
