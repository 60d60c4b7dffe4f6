"""Target: the product-sheet and three-code-mapping importers
(gateway.master.sheet, gateway.master.mapping) on mutated CSV and XLSX files.

What must hold for every file: the import returns a report (never raises);
every error names a known rule and says why; a product import accounts for
every data row it read (added, updated, unchanged, older, or an error
naming the row); a file that cannot be read at all is one file-level error.

atheris: python -m fuzz.sheet_import [libFuzzer options] [corpus dirs]"""

import io
import os
import tempfile

from fuzz import harness
from fuzz.budget import count
from gateway.master import mapping, sheet
from gateway.master.udid import ERROR_DETAILS_MAX

TARGET = "sheet_import"
RULES = set(sheet.RULES) | {"file", "database"}
OUTCOMES = ("added", "updated", "unchanged", "skipped_older")

# A small real sheet: the columns both imports know, good rows and bad ones.
HEADER = ["产品标识", "名称", "规格", "注册证编号", "医保编码", "商品码", "追溯码前缀", "内含数量", "含批号", "版本"]
ROWS = [
    ["06901234567892", "一次性使用无菌注射器", "5ml", "国械注准20173151234", "C0344051070500007551", "SP100", "8123456", "10", "是", "1"],
    ["06942221707006", "纱布", "10cm", "", "", "SP200", "", "", "否", "2"],
    ["0690123456789", "bad check digit", "", "", "X", "", "12x", "-1", "maybe", ""],
    ["MA.156.M0.100350.01004YA10017", "MA 码", "", "", "", "SP300", "", "", "", ""],
]


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    import csv

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    return buf.getvalue().encode(encoding, "replace")


def xlsx_bytes(rows):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def check_report(report, products):
    d = report.as_dict()
    for e in d["error_details"]:
        assert e.get("rule", "database" if "reason" in e else None) in RULES, e
        assert e.get("detail") or e.get("reason"), e
    file_level = [e for e in d["error_details"] if e.get("row") is None and "rule" in e]
    if products and not file_level and d["errors"] < ERROR_DETAILS_MAX:
        bad_rows = {e["row"] for e in d["error_details"] if e.get("rule") != "columns"}
        assert sum(d[o] for o in OUTCOMES) + len(bad_rows) == d["records"], d


def check(engine, content, suffix=".csv"):
    """Import `content` (bytes of a file) as a product sheet and as a mapping table."""
    count(TARGET)
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="udi-fuzz-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        check_report(sheet.import_products(engine, path, batch_size=3), True)
        check_report(mapping.import_mappings(engine, path, batch_size=3), False)
    finally:
        os.unlink(path)


# ---- inputs from fuzz bytes (atheris) -----------------------------------------------

_XLSX = None


def from_bytes(data):
    """One fuzz input -> (content, suffix).  Byte 0 even: the rest is a CSV
    file as it is; odd: the rest flips bytes of a real XLSX workbook (pairs
    of position, value), so mutations reach past the zip reader."""
    global _XLSX
    if not data or data[0] % 2 == 0:
        return bytes(data[1:]), ".csv"
    if _XLSX is None:
        _XLSX = xlsx_bytes([HEADER] + ROWS)
    out = bytearray(_XLSX)
    for i in range(1, len(data) - 2, 3):
        out[int.from_bytes(data[i:i + 2], "big") % len(out)] = data[i + 2]
    return bytes(out), ".xlsx"


_ENGINE = None


def one_input(data):
    global _ENGINE
    if _ENGINE is None:
        from gateway.store import Store

        _ENGINE = Store("sqlite:///" + tempfile.mkdtemp(prefix="udi-fuzz-") + "/master.sqlite").engine
    content, suffix = from_bytes(data)
    check(_ENGINE, content, suffix)


def seeds():
    table = [HEADER] + ROWS
    return [b"\x00" + csv_bytes(table), b"\x00" + csv_bytes(table, "gb18030"), b"\x00" + csv_bytes(table, "utf-16"),
            b"\x00" + csv_bytes(table, delimiter="\t"), b"\x00" + csv_bytes(table, delimiter=";"), b"\x01"]


def main(argv=None):
    harness.fuzz(one_input, argv)


if __name__ == "__main__":
    main()
