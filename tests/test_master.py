"""The product master: UDID XML download, product sheets, three-code mapping
and the data-quality checks, on SQLite and a real PostgreSQL server."""

import argparse
import json
import os

import pytest
from conftest import TODAY
from sqlalchemy import select

import udi_codes
from gateway.master import cli as master_cli
from gateway.master import (
    import_mappings,
    import_products,
    import_udid,
    lookup_mapping,
    lookup_product,
    quality_issues,
)
from gateway.master.quality import MESSAGES, message
from gateway.master.udid import check_di, compare_versions
from gateway.schema import products
from gateway.store import Store
from udi_codes.checkchars import hibc_mod43

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "master")
V1 = os.path.join(FIXTURES, "udid_v1.xml")
V2 = os.path.join(FIXTURES, "udid_v2.xml")
NS = os.path.join(FIXTURES, "udid_ns.xml")

PRIMARY = "06942221705071"  # fixture record 1: 盒 16942221705078 (10), 箱 26942221705075 (20 盒)
BOX = "16942221705078"
CASE = "26942221705075"
MA_UNIT = "MA.156.M0.100350.01004YA10017"
MA_CASE = "MA.156.M0.100350.11004YA10016"


@pytest.fixture
def engine(db_url):
    # a fresh database per test, SQLite and PostgreSQL (conftest.db_url)
    return Store(db_url).engine


def rows(engine):
    with engine.connect() as c:
        return {r["di"]: dict(r) for r in c.execute(select(products)).mappings()}


def counts(report):
    return (report.added, report.updated, report.unchanged, report.skipped_older, report.errors)


def parse(raw):
    return udi_codes.parse(raw, "read", TODAY)


def udid_xml(*devices):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<udid><devices>%s</devices></udid>' % "".join(devices)).encode()


def device(di, version, name="测试产品", packing=""):
    return ("<device><zxxsdycpbs>%s</zxxsdycpbs><cpbsbmtxmc>GS1</cpbsbmtxmc><cpmctymc>%s</cpmctymc>%s"
            "<versionNumber>%s</versionNumber></device>" % (di, name, packing, version))


# --- UDID import ----------------------------------------------------------------------


def test_udid_import_builds_the_chain_and_reports_bad_records(engine):
    report = import_udid(engine, V1)
    assert report.records == 8
    assert counts(report) == (5, 0, 0, 0, 3)
    # Each malformed record named by index and reason; the others imported.
    bad = {e["record"]: e["reason"] for e in report.error_details}
    assert set(bad) == {2, 3, 6}
    assert "check_digit" in bad[2]
    assert "bznhxyjcpbssl" in bad[3] and "十" in bad[3]
    assert "DI missing" in bad[6]

    got = rows(engine)
    assert "06942221705072" not in got and "06942221707006" not in got  # the rejected records
    unit, box, case = got[PRIMARY], got[BOX], got[CASE]
    assert unit["level"] == "最小销售单元" and unit["primary_di"] == PRIMARY
    assert unit["contains_di"] is None and unit["contains_qty"] is None
    assert (box["level"], box["contains_di"], box["contains_qty"], box["primary_di"]) == ("盒", PRIMARY, 10, PRIMARY)
    assert (case["level"], case["contains_di"], case["contains_qty"], case["primary_di"]) == ("箱", BOX, 20, PRIMARY)
    for r in (unit, box, case):  # package rows inherit the record's data
        assert r["name"] == "一次性使用无菌注射器" and r["reg_no"] == "苏械注准20152140001"
        assert r["nhsa_code"] == "C0344051070500007551" and r["coding_system"] == "GS1" and r["source"] == "udid"
        assert (r["pi_lot"], r["pi_serial"], r["pi_mfg"], r["pi_expiry"]) == (True, False, True, True)
        assert r["version"] == "1@2025-03-01" and r["record_key"] == "06942221705071-R1"
    assert unit["trade_name"] == "康瑞" and unit["spec"] == "5ml" and unit["registrant"] == "江苏康瑞医疗器械有限公司"
    # Unknown fields in extra, on the primary row only.
    assert unit["extra"]["bszt"] == "一维码" and unit["extra"]["versionStauts"] == "新增"
    assert unit["extra"]["storageList"] == [{"cchcztj": "常温", "zdz": "10", "zgz": "30", "jldw": "℃"}]
    assert box["extra"] is None and case["extra"] is None

    ma = got[MA_UNIT]
    assert ma["coding_system"] == "MA" and ma["extra"]["cpbsbmtxmc"] == "MA码（IDcode）"
    assert (ma["pi_lot"], ma["pi_serial"]) == (True, False)  # "1" / "0"
    assert got[MA_CASE]["contains_di"] == MA_UNIT and got[MA_CASE]["contains_qty"] == 50

    # A sales unit of 10 separately marked use units.
    sales, use = got["16942221706013"], got["06942221706016"]
    assert (sales["contains_di"], sales["contains_qty"]) == ("06942221706016", 10)
    assert use["level"] == "使用单元" and use["primary_di"] == "16942221706013"
    assert (sales["pi_serial"], sales["pi_mfg"]) == (True, False)  # "true" / "false"


def test_udid_reimport_changes_nothing(engine):
    import_udid(engine, V1)
    before = rows(engine)
    report = import_udid(engine, V1)
    assert counts(report) == (0, 0, 5, 0, 3)
    assert rows(engine) == before  # not even updated_at moved


def test_udid_newer_version_applies_older_is_skipped(engine):
    import_udid(engine, V1)
    report = import_udid(engine, V2)
    assert counts(report) == (0, 1, 1, 1, 0)
    got = rows(engine)
    assert got[PRIMARY]["name"] == "一次性使用无菌注射器（带针）" and got[PRIMARY]["version"] == "2@2025-09-01"
    assert got[BOX]["contains_qty"] == 12 and got[BOX]["name"] == "一次性使用无菌注射器（带针）"
    assert CASE not in got  # the level version 2 no longer lists
    assert got[MA_UNIT]["name"] == "医用外科口罩" and got[MA_UNIT]["version"] == "2@2025-06-01"  # older: skipped
    assert MA_CASE in got
    # and the newer file again: nothing to do
    assert counts(import_udid(engine, V2)) == (0, 0, 2, 1, 0)


def test_udid_versions_within_one_file_and_across_batches(engine, tmp_path):
    box = ("<packingList><packing><bzcpbs>16942221708000</bzcpbs><cpbzjb>箱</cpbzjb><bznhxyjcpbssl>%d</bznhxyjcpbssl>"
           "<bznhxyjbzcpbs>06942221708003</bznhxyjbzcpbs></packing></packingList>")
    f = tmp_path / "d.xml"
    f.write_bytes(udid_xml(device("06942221708003", 1, "一", box % 5), device("06942221709000", 1),
                           device("06942221708003", 3, "三", box % 6), device("06942221708003", 2, "二", box % 7)))
    for batch_size in (1000, 1):  # one batch, then one record per batch
        report = import_udid(engine, str(f), batch_size=batch_size)
        if batch_size == 1000:
            assert counts(report) == (2, 1, 0, 1, 0)
        else:
            assert counts(report) == (0, 0, 2, 2, 0)  # versions 1 and 2 are now older than 3
        got = rows(engine)
        assert got["06942221708003"]["name"] == "三" and got["16942221708000"]["contains_qty"] == 6


def test_udid_namespaces_other_wrappers_and_short_gtins(engine):
    report = import_udid(engine, NS)
    assert counts(report) == (1, 0, 0, 0, 0)
    r = lookup_product(engine, "6942221707006")  # a GTIN-13 is stored and found as GTIN-14
    assert r["di"] == "06942221707006" and r["name"] == "医用纱布块" and r["pi_lot"] is True


def test_udid_broken_file_keeps_what_was_read(engine, tmp_path):
    text = udid_xml(device("06942221708003", 1), device("06942221709000", 1)).decode()
    f = tmp_path / "cut.xml"
    f.write_text(text[: text.index("06942221709000") + 20], encoding="utf-8")
    report = import_udid(engine, str(f))
    assert report.added == 1 and report.errors == 1
    assert report.error_details[0]["reason"].startswith("XML:")
    assert "06942221708003" in rows(engine)
    missing = import_udid(engine, str(tmp_path / "nope.xml"))
    assert missing.errors == 1 and "file" in missing.error_details[0]["reason"]


def test_udid_entities_are_refused(engine, tmp_path):
    f = tmp_path / "bomb.xml"
    f.write_text('<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaa">]><u><d><zxxsdycpbs>&a;</zxxsdycpbs></d></u>')
    report = import_udid(engine, str(f))
    assert report.errors == 1 and report.added == 0


def test_udid_long_values_fit_the_columns(engine, tmp_path):
    f = tmp_path / "long.xml"
    f.write_bytes(udid_xml(device("06942221708003", 1, "名" * 300)
                           .replace("<versionNumber>", "<cpbzjb>x</cpbzjb><ybbm>C0344051070500007551，C15011121200000107660000016</ybbm><versionNumber>")))
    report = import_udid(engine, str(f))
    assert counts(report) == (1, 0, 0, 0, 0)
    r = rows(engine)["06942221708003"]
    assert len(r["name"]) == 256 and r["nhsa_code"] == "C0344051070500007551"
    assert r["extra"]["ybbm"] == ["C0344051070500007551", "C15011121200000107660000016"]


def test_a_record_the_database_refuses_costs_only_itself(engine, tmp_path, monkeypatch):
    from gateway.master import udid

    real = udid.ProductWriter._apply

    def picky(self, c, batch):
        if any(rows[0]["di"] == "06942221709000" for _, rows in batch):
            raise RuntimeError("refused\nsecond line")
        return real(self, c, batch)

    monkeypatch.setattr(udid.ProductWriter, "_apply", picky)
    f = tmp_path / "d.xml"
    f.write_bytes(udid_xml(device("06942221708003", 1), device("06942221709000", 1), device("06942221707006", 1)))
    report = import_udid(engine, str(f))
    assert counts(report) == (2, 0, 0, 0, 1)
    assert report.error_details == [{"record": 2, "di": "06942221709000", "reason": "database: refused"}]
    assert set(rows(engine)) == {"06942221708003", "06942221707006"}


def test_check_di_and_versions():
    assert check_di("6942221705071")[0] == PRIMARY
    assert check_di("06942221705072")[0] is None
    assert check_di(MA_UNIT, "MA码（IDcode）")[0] == MA_UNIT
    assert check_di(MA_UNIT + ".L123")[0] is None  # a DI, not a whole code
    assert check_di("+H123PROD120R")[0] == "+H123PROD120"  # HIBC with its check character
    assert check_di("+H123PROD120")[0] == "+H123PROD120"  # and without
    assert check_di("MF0000000001")[:2] == ("MF0000000001", "ahm")
    assert check_di("8301234")[:2] == ("8301234", "cn-drug")
    assert check_di("ABC")[0] is None
    assert check_di("MF" + "0" * 70)[0] is None  # longer than the column: refused, not cut
    assert check_di(PRIMARY, "MA码")[0] is None  # the coding system decides
    assert compare_versions("10@2025-01-01", "9@2026-01-01") == 1
    assert compare_versions("2", "2@2025-01-01") == 0 and compare_versions(None, "1") == 0


# --- product sheets ---------------------------------------------------------------------

DRUG_CSV = (
    "药品标识码,药品名称,规格,批准文号,医保编码,包装级别,内含产品标识,内含数量,含序列号,备注\n"
    "8301234,阿莫西林胶囊,0.25g*24粒,国药准字H20003263,XA02BCA211A012010100154,盒,,,是,常用药\n"
    "8301235,阿莫西林胶囊,0.25g*24粒*50盒,国药准字H20003263,XA02BCA211A012010100154,箱,8301234,50,是,\n"
    "8301236,坏医保编码,,,XN01AX0900014305116,,,,,\n"
    "8301237,坏数量,,,,,,十盒,否,\n"
    ",没有标识,,,,,,,,\n"
)


def test_sheet_gb18030_csv_with_chinese_headers(engine, tmp_path):
    f = tmp_path / "drugs.csv"
    f.write_bytes(DRUG_CSV.encode("gb18030"))
    report = import_products(engine, str(f))
    assert report.records == 5 and counts(report) == (2, 0, 0, 0, 3)
    errs = {e["row"]: e for e in report.error_details}
    assert errs[4]["column"] == "医保编码" and errs[4]["rule"] == "nhsa_code"
    assert errs[5]["column"] == "内含数量" and errs[5]["rule"] == "integer"
    assert errs[6]["column"] == "药品标识码" and errs[6]["rule"] == "required"
    got = rows(engine)
    box, case = got["8301234"], got["8301235"]
    assert box["name"] == "阿莫西林胶囊" and box["reg_no"] == "国药准字H20003263" and box["source"] == "sheet"
    assert box["nhsa_code"] == "XA02BCA211A012010100154" and box["pi_serial"] is True
    assert box["coding_system"] == "drug" and box["level"] == "盒" and box["extra"] == {"备注": "常用药"}
    assert (case["contains_di"], case["contains_qty"], case["level"]) == ("8301234", 50, "箱")
    assert counts(import_products(engine, str(f))) == (0, 0, 2, 0, 3)


def test_sheet_utf8_bom_csv_and_versions(engine, tmp_path):
    f = tmp_path / "items.csv"
    f.write_text("\ufeffUDI-DI;Name;Spec;Version\n06942221707006;纱布;10cm;2\n", encoding="utf-8")
    assert counts(import_products(engine, str(f))) == (1, 0, 0, 0, 0)
    assert rows(engine)["06942221707006"]["spec"] == "10cm"
    f.write_text("\ufeffUDI-DI;Name;Spec;Version\n06942221707006;纱布;8cm;1\n", encoding="utf-8")
    assert counts(import_products(engine, str(f))) == (0, 0, 0, 1, 0)  # older version
    f.write_text("\ufeffUDI-DI;Name;Spec;Version\n06942221707006;纱布;12cm;3\n", encoding="utf-8")
    assert counts(import_products(engine, str(f))) == (0, 1, 0, 0, 0)
    assert rows(engine)["06942221707006"]["spec"] == "12cm"
    f.write_text("产品标识\t名称\n06942221708003\t棉签\n", encoding="utf-16")  # Excel "Unicode text"
    assert counts(import_products(engine, str(f))) == (1, 0, 0, 0, 0)
    assert rows(engine)["06942221708003"]["name"] == "棉签"


def test_sheet_xlsx_english_headers(engine, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["GTIN", "Name", "Registration", "pi_lot", "pi_expiry", "NHSA code"])
    ws.append([6942221707006, "医用纱布块", "苏械备20200001", "Y", "N", "C0344051070500007551"])  # a number: padded
    ws.append(["06942221708003", "医用棉签", None, True, None, None])
    ws.append([])
    ws.append([83012345678901234567, "Excel 吃掉了位数", None, "maybe", None, None])
    f = tmp_path / "items.xlsx"
    wb.save(f)
    report = import_products(engine, str(f))
    assert counts(report)[:2] == (2, 0) and report.records == 3
    errs = sorted((e["row"], e["column"], e["rule"]) for e in report.error_details)
    assert errs == [(5, "GTIN", "di_format"), (5, "GTIN", "number_precision"), (5, "pi_lot", "boolean")]
    got = rows(engine)
    assert got["06942221707006"]["pi_lot"] is True and got["06942221707006"]["pi_expiry"] is False
    assert got["06942221707006"]["nhsa_code"] == "C0344051070500007551"
    assert got["06942221708003"]["pi_lot"] is True and got["06942221708003"]["level"] == "最小销售单元"


def test_sheet_without_a_di_column(engine, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("名称,规格\n纱布,10cm\n", encoding="utf-8")
    report = import_products(engine, str(f))
    assert report.errors == 1 and report.error_details[0]["rule"] == "columns" and report.added == 0


# --- three-code mapping -----------------------------------------------------------------

MAPPING_CSV = (
    "追溯码前缀,UDI-DI,GTIN,医保编码,商品码,名称\n"
    "8301234,,,XA02BCA211A012010100154,SP001,阿莫西林胶囊 0.25g*24粒\n"
    "830123456,,,XA02BCA211A012010100155,SP002,阿莫西林胶囊 另一规格\n"
    ",,6942221705071,C0344051070500007551,SP100,注射器\n"
    f",{MA_UNIT},,C15011121200000107660000016,SP200,口罩\n"
    "8309999,,,XN01AX0900014305116,SP9,坏编码\n"
    "8309998,,,,,没有编码\n"
)


def test_mapping_import_and_lookup(engine, tmp_path):
    f = tmp_path / "map.csv"
    f.write_bytes(MAPPING_CSV.encode("gb18030"))
    report = import_mappings(engine, str(f))
    assert counts(report) == (4, 0, 0, 0, 2)
    errs = {e["row"]: (e["column"], e["rule"]) for e in report.error_details}
    assert errs == {6: ("医保编码", "nhsa_code"), 7: ("医保编码", "required")}
    assert counts(import_mappings(engine, str(f))) == (0, 0, 4, 0, 2)

    with engine.connect() as c:
        # cn-drug: the longest matching prefix wins
        assert lookup_mapping(c, parse("83012345678901234567")) == ("XA02BCA211A012010100155", "SP002")
        assert lookup_mapping(c, parse("83012349999999999999")) == ("XA02BCA211A012010100154", "SP001")
        assert lookup_mapping(c, parse("]C083012349999999999999")) == ("XA02BCA211A012010100154", "SP001")
        assert lookup_mapping(c, parse("83099999999999999999")) is None  # its row was rejected
        # GS1 by GTIN (stored as GTIN-14), MA by DI
        assert lookup_mapping(c, parse("(01)06942221705071(10)L1")) == ("C0344051070500007551", "SP100")
        assert lookup_mapping(c, parse(MA_UNIT + ".L240101")) == ("C15011121200000107660000016", "SP200")
        assert lookup_mapping(c, parse("(01)16942221706013")) is None
    # no mapping row: the product master's 医保编码
    import_udid(engine, V1)
    assert lookup_mapping(engine, parse("(01)16942221706013")) == ("C1501112120000010766000001", None)


def test_mapping_xlsx_update(engine, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.append(["kind", "key", "nhsa_code", "commodity_code"])
    wb.active.append(["gtin", "06942221705071", "C0344051070500007551", "A"])
    f = tmp_path / "m.xlsx"
    wb.save(f)
    assert counts(import_mappings(engine, str(f))) == (1, 0, 0, 0, 0)
    wb.active["D2"] = "B"
    wb.save(f)
    assert counts(import_mappings(engine, str(f))) == (0, 1, 0, 0, 0)
    assert lookup_mapping(engine, parse("(01)06942221705071")) == ("C0344051070500007551", "B")


# --- quality checks ----------------------------------------------------------------------


def codes(engine, raw):
    return sorted(i["code"] for i in quality_issues(engine, parse(raw)))


def test_quality_unknown_di(engine):
    import_udid(engine, V1)
    assert codes(engine, "(01)06942221709017") == ["unknown_di"]
    assert codes(engine, "83012345678901234567") == ["unknown_di"]
    assert codes(engine, "(01)06942221705071(10)L1(11)250101(17)281231") == []
    assert codes(engine, "XA02BCA211A012010100154") == []  # no DI to look up
    issue = quality_issues(engine, parse("(01)06942221709017"))[0]
    assert "06942221709017" in issue["detail"]


def test_quality_pi_declared_but_missing(engine):
    import_udid(engine, V1)  # record 1 declares lot, production date and expiry (not serial)
    assert codes(engine, "(01)06942221705071(17)281231") == ["pi_missing_lot", "pi_missing_mfg"]
    assert codes(engine, "(01)06942221705071") == ["pi_missing_expiry", "pi_missing_lot", "pi_missing_mfg"]
    assert codes(engine, "(01)06942221705071(10)L1(11)250101(17)281231") == []
    assert codes(engine, "(01)16942221706013(10)L1") == ["pi_missing_serial"]
    assert codes(engine, "(01)16942221706013(10)L1(21)S1") == []
    # MA: .L / .M / .E; .V (valid until) counts as the expiry
    assert codes(engine, MA_UNIT + ".L240101") == ["pi_missing_expiry", "pi_missing_mfg"]
    assert codes(engine, MA_UNIT + ".M240101.L240101.V260101") == []
    # a logistic label is not the trade item's carrier
    assert "pi_missing_lot" not in codes(engine, "(00)069422217000000014(02)06942221705071(37)10")


def test_quality_level_mismatch(engine):
    import_udid(engine, V1)
    # (02)+(37): the 盒 holds 10 of 06942221705071
    assert codes(engine, "(00)069422217000000014(02)06942221705071(37)10") == []
    issue = quality_issues(engine, parse("(00)069422217000000014(02)06942221705071(37)7"))
    assert [i["code"] for i in issue] == ["level_mismatch"] and "(37) 7" in issue[0]["detail"]
    # GS1 indicator 0 on a DI the master lists as a 箱
    assert codes(engine, "(01)06942221709000(10)A") == ["level_mismatch"]
    assert codes(engine, "(01)06942221708003(10)A") == []
    assert codes(engine, "(01)16942221705078(10)L1(11)250101(17)281231") == []  # indicator 1 on the 盒
    # MA packaging digit must grow along the chain
    assert codes(engine, MA_CASE + ".M240101.L240101.E260101") == []
    assert codes(engine, "MA.156.M0.100350.01005YA10016") == ["level_mismatch"]  # digit 0 holds digit 1
    assert codes(engine, "MA.156.M0.100350.11005YA10015") == ["level_mismatch"]  # held by digit 0


def test_quality_with_a_lookup_callable_and_hibc():
    # A plain DI -> row callable (a cache): the chain is seen downwards only.
    chain = {
        "+H123PROD120": {"di": "+H123PROD120", "primary_di": "+H123PROD120", "level": "最小销售单元",
                         "contains_di": None, "pi_lot": True},
        "+H123PROD121": {"di": "+H123PROD121", "primary_di": "+H123PROD120", "level": "盒",
                         "contains_di": "+H123PROD120", "contains_qty": 10},
        "+H123PROD130": {"di": "+H123PROD130", "primary_di": "+H123PROD131", "level": "盒",
                         "contains_di": "+H123PROD131", "contains_qty": 10},
    }
    box = parse("+H123PROD121" + hibc_mod43("+H123PROD121"))
    assert box["valid"] and quality_issues(chain.get, box) == []
    ok = parse("+H123PROD120R")
    assert [i["code"] for i in quality_issues(chain.get, ok)] == ["pi_missing_lot"]
    bad = parse("+H123PROD130" + hibc_mod43("+H123PROD130"))
    assert [i["code"] for i in quality_issues(chain.get, bad)] == ["level_mismatch"]
    unknown = parse("+H123PROD990" + hibc_mod43("+H123PROD990"))
    assert [i["code"] for i in quality_issues(chain.get, unknown)] == ["unknown_di"]


def test_quality_messages_are_bilingual():
    for code, (en, zh) in MESSAGES.items():
        assert en and zh and en != zh and any("\u4e00" <= c <= "\u9fff" for c in zh)
        assert message(code, "en") == en and message(code) == zh
    assert set(MESSAGES) == {"unknown_di", "pi_missing_lot", "pi_missing_serial", "pi_missing_mfg",
                             "pi_missing_expiry", "level_mismatch"}


# --- the CLI ---------------------------------------------------------------------------


def test_cli_commands(tmp_path, capsys):
    url = "sqlite:///" + str(tmp_path / "cli.sqlite")
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=url)
    sub = parser.add_subparsers(dest="command", required=True)
    master_cli.add_commands(sub, lambda args: args.db)

    def run(*argv):
        args = parser.parse_args(list(argv))
        code = args.func(args)
        return code, capsys.readouterr().out

    code, out = run("master", "import-udid", V1, "--json")
    report = json.loads(out)
    assert code == 1 and report["added"] == 5 and report["errors"] == 3
    assert report["error_details"][0]["record"] == 2
    code, out = run("master", "import-udid", V1)
    assert "0 added" in out and "5 unchanged" in out and "record=6" in out
    f = tmp_path / "map.csv"
    f.write_text("GTIN,医保编码,商品码\n06942221705071,C0344051070500007551,SP100\n", encoding="utf-8")
    assert run("master", "import-mapping", str(f))[0] == 0
    f = tmp_path / "drugs.csv"
    f.write_bytes(DRUG_CSV.encode("gb18030"))
    code, out = run("master", "import-sheet", str(f))
    assert code == 1 and "2 added" in out and "rule=nhsa_code" in out

    code, out = run("master", "show", BOX)
    assert code == 0 and "盒" in out and "26942221705075 箱 contains 20 x 16942221705078" in out
    code, out = run("master", "show", PRIMARY, "--json")
    shown = json.loads(out)
    assert shown["product"]["name"] == "一次性使用无菌注射器" and len(shown["chain"]) == 3
    assert shown["mapping"] == {"nhsa_code": "C0344051070500007551", "commodity_code": "SP100"}
    code, out = run("master", "show", "(01)06942221705071(17)281231")
    assert "pi_missing_lot" in out and "批号" in out
    code, out = run("master", "show", "6942221705071")  # a bare GTIN-13: the DI, no PI issues
    assert code == 0 and "pi_missing" not in out and "一次性使用无菌注射器" in out
    assert run("master", "show", "06942221709017")[0] == 1
    assert run("master", "import-udid", str(tmp_path / "missing.xml"))[0] == 2
