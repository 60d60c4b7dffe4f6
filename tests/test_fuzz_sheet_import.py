"""Fuzzing the product-sheet and three-code-mapping importers
(fuzz/sheet_import.py has the oracle) on SQLite and PostgreSQL: CSV files
of any cells, encodings and delimiters, mutated CSV bytes and damaged XLSX
workbooks give a report (never an exception) in which every error names a
known rule, and every data row of a product sheet is accounted for."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from fuzz import sheet_import as S
from fuzz.budget import fuzz_settings
from gateway.master import mapping, sheet
from gateway.store import Store

GOOD_CELLS = [c for row in S.ROWS for c in row] + ["1" * 20, "6.90123456789e+13", "C0344051070500007551", "8123456"]
CELL = (st.sampled_from(GOOD_CELLS) | st.text(max_size=30)
        | st.text(st.sampled_from(list('",;\t\r\n\x00\ufeff是否 ')), max_size=6) | st.just(""))
TABLE = st.lists(st.lists(CELL, min_size=0, max_size=len(S.HEADER) + 2), min_size=0, max_size=8).map(
    lambda rows: [S.HEADER] + rows)


@pytest.fixture
def engine(db_url):
    store = Store(db_url)
    yield store.engine
    store.engine.dispose()


@fuzz_settings(60)
@given(table=TABLE, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
       delimiter=st.sampled_from([",", "\t", ";"]))
def test_any_csv_table(engine, table, encoding, delimiter):
    S.check(engine, S.csv_bytes(table, encoding, delimiter))


@fuzz_settings(60)
@given(content=st.binary(max_size=300) | TABLE.map(S.csv_bytes).flatmap(
    lambda b: st.lists(st.tuples(st.integers(0, len(b)), st.binary(max_size=3)), max_size=6).map(
        lambda edits: _spliced(b, edits))))
def test_mutated_csv_bytes(engine, content):
    S.check(engine, content)


def _spliced(content, edits):
    out = bytearray(content)
    for pos, piece in edits:
        out[pos:pos + len(piece)] = piece
    return bytes(out)


@fuzz_settings(30)
@given(table=TABLE.map(lambda rows: [[ILLEGAL_CHARACTERS_RE.sub("", c) for c in r] for r in rows]))  # what Excel can hold
def test_any_xlsx_table(engine, table):
    S.check(engine, S.xlsx_bytes(table), ".xlsx")


@fuzz_settings(60)
@given(data=st.binary(min_size=1, max_size=40).map(lambda b: b"\x01" + b))
def test_damaged_xlsx(engine, data):
    S.check(engine, *S.from_bytes(data))


def test_a_damaged_workbook_is_one_file_error(engine, tmp_path):
    # Found: a damaged XLSX raised BadZipFile, zlib.error or IndexError out of the import.
    good = S.xlsx_bytes([S.HEADER] + S.ROWS)
    cases = {"not a zip": b"PK\x03\x04" + b"\x00" * 40, "truncated": good[: len(good) // 2],
             "bad data": good[:200] + bytes(b ^ 0x55 for b in good[200:400]) + good[400:]}
    for what, content in cases.items():
        f = tmp_path / "damaged.xlsx"
        f.write_bytes(content)
        for report in (sheet.import_products(engine, f), mapping.import_mappings(engine, f)):
            d = report.as_dict()
            assert d["errors"] == 1 and d["records"] == 0, (what, d)
            (e,) = d["error_details"]
            assert e["rule"] == "encoding" and e["row"] is None and e["detail"].startswith("XLSX: "), (what, e)
