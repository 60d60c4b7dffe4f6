"""The bilingual message catalogue (udi_codes/messages.py) covers every code."""

import pytest
from code_scan import emitted_codes
from conftest import TODAY
from test_vectors import NOT_GS1_ROWS, load_vectors

import udi_codes
from udi_codes import messages as M
from udi_codes.messages import CATALOGUE

EMITTED = emitted_codes()  # udi_codes/ and gateway/, read from the source


def has_cjk(s):
    return any("\u4e00" <= c <= "\u9fff" for c in s)


# ---- the source scan ---------------------------------------------------------


def test_scan_sees_every_way_of_emitting():
    where = {c: {f for f, _ in places} for c, places in EMITTED.items()}
    assert len(EMITTED) > 100
    assert "udi_codes/gs1.py" in where["check_digit"] or "udi_codes/gs1_lint.py" in where["check_digit"]
    assert "gateway/cli.py" in where["bad_input_line"]  # R.error(res, "bad_input_line", ...)
    assert "udi_codes/__init__.py" in where["expired"]
    assert "udi_codes/gs1_lint.py" in where["invalid_hour"]  # passed to _hms(..., code)
    assert "udi_codes/gs1_lint_rare.py" in where["too_long"]  # code = "too_short" if ... else "too_long"
    assert "udi_codes/gs1_lint_coupon.py" in where["coupon_excess_data"]  # returned (code, message)
    assert "udi_codes/gs1_dl.py" in where["dl_bad_scheme"]  # _fail(res, code, ...)
    assert "udi_codes/hibc.py" in where["hibc_link_no_primary"]  # check_link's tuple
    assert "udi_codes/gs1.py" in where["ai_exclusive"]  # message-level rule tuples
    # identifiers that are not codes are not picked up
    for word in ("read", "print", "errors", "kind", "lot", "expiry"):
        assert word not in EMITTED


# ---- the catalogue -------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(EMITTED))
def test_every_emitted_code_is_catalogued(code):
    assert code in CATALOGUE, (code, EMITTED[code])
    en, zh = CATALOGUE[code]
    assert isinstance(en, str) and en.strip() and "\n" not in en
    assert isinstance(zh, str) and zh.strip() and "\n" not in zh
    assert en != zh
    assert has_cjk(zh), zh


def test_catalogue_has_no_stale_codes():
    # Codes still listed in a module CODES dict (gs1, the dispatcher) count
    # as emitted until those dicts go too.
    legacy = set()
    for module in (udi_codes, udi_codes.gs1):
        legacy |= set(getattr(module, "CODES", {}))
    assert legacy <= set(CATALOGUE), legacy - set(CATALOGUE)
    assert set(CATALOGUE) <= set(EMITTED) | legacy, set(CATALOGUE) - set(EMITTED) - legacy


def test_catalogue_shape():
    for code, texts in CATALOGUE.items():
        assert code == code.lower() and " " not in code
        assert isinstance(texts, tuple) and len(texts) == 2
        en, zh = texts
        assert en[:1].isupper() or not en[:1].isalpha(), en  # a sentence
        assert not zh.endswith("。"), zh  # describe() appends where and detail


def test_catalogue_function():
    zh = M.catalogue("zh")
    en = M.catalogue("en")
    assert set(zh) == set(en) == set(CATALOGUE)
    assert zh["check_digit"] == "校验位错误"
    assert en["check_digit"] == CATALOGUE["check_digit"][0]
    assert M.catalogue("zh-CN") == zh
    assert M.catalogue() == zh
    zh["check_digit"] = "x"  # a copy: the panel may change it freely
    assert CATALOGUE["check_digit"][1] == "校验位错误"


def test_vocabulary():
    # The words a packaging line / hospital warehouse uses.
    zh = M.catalogue("zh")
    assert "有效期" in zh["expired"]
    assert "分隔符 GS" in zh["possible_missing_gs"]
    assert "应用标识符 (AI)" in zh["unknown_ai"]
    assert "药品追溯码" in zh["cn_drug_bad_length"]
    assert "医保编码" in zh["nhsa_bad_length"]
    assert "批号" in zh["hibc_field_too_long"] and "序列号" in zh["hibc_field_too_long"]
    assert "生产日期" in zh["ma_old_rule"]
    assert "校验" in zh["hibc_bad_check"] and "校验" in zh["ma_check_mismatch"]


# ---- describe() ------------------------------------------------------------------


def entry(code, message, at=None):
    return {"code": code, "message": message, "at": at}


def test_describe_en_is_the_entry_message():
    e = entry("check_digit", "AI (01): check digit is 3, expected 2", "01")
    assert M.describe(e, "en") == "AI (01): check digit is 3, expected 2"
    # no message: the catalogue's English description
    assert M.describe(entry("check_digit", ""), "en") == CATALOGUE["check_digit"][0]


def test_describe_zh():
    e = entry("check_digit", "check digit is 3, expected 2", "01")
    assert M.describe(e, "zh") == "校验位错误 [AI 01]（check digit is 3, expected 2）"
    assert M.describe(e) == M.describe(e, "zh")
    assert M.describe(e, "zh_CN") == M.describe(e, "zh")


def test_describe_zh_positions():
    # "at" is a 0-based index; people count characters from 1
    assert M.describe(entry("illegal_caret", "character '^' (character 5) is not allowed in GS1 data", 4)) == (
        "数据中含有字符 '^'，GS1 数据中不允许出现 [第 5 个字符]（character '^' (character 5) is not allowed in GS1 data）"
    )
    assert "[数据单元 .M]" in M.describe(entry("ma_bad_date", ".M '210231' is not a real date", ".M"))
    assert "[有效期]" in M.describe(entry("expired", "expired on 2020-01-01 (reference date 2026-11-22)", "expiry"))
    assert "[AI 8030]" in M.describe(entry("digsig_needs_serial", "x", "8030"))
    assert "[第 1 个字符]" in M.describe(entry("unknown_scheme", "not a recognised code", 0))
    assert "[" not in M.describe(entry("unknown_scheme", "not a recognised code", None))
    d = M.describe(entry("check_digits_not_verifiable", "secret algorithm"))
    assert d == CATALOGUE["check_digits_not_verifiable"][1] + "（secret algorithm）"
    assert "[" not in d


def test_describe_unknown_code_falls_back_to_english():
    e = entry("no_such_code", "something odd at position 3", 3)
    assert M.describe(e, "zh") == "something odd at position 3"
    assert M.describe(e, "en") == "something odd at position 3"
    assert M.describe({"code": "no_such_code", "message": "", "at": None}, "zh") == "no_such_code"


# ---- end to end ----------------------------------------------------------------

BAD_INPUTS = [
    "]d201069012345678931727123110LOT2024A\x1d21SN0001",  # GTIN check digit
    "]d2010690123456789217271231",  # expired against a later reference date
    "]d20106901234567892172713",
    "]d2",
    "]C0ABC",
    "]d2^0106901234567892",
    "(01)06901234567892(17)271331",
    "+A123BJC5D6E71H",
    "+a123",
    "+$$52001510X3HE",
    "MA.156.M0.100350.01004YA10017.QX",
    "MA.156.M0.100350",
    "812345678901234567",
    "C15011121200000107660000016",
    "XA02BCa211A01201010-154",
    "MF1234567890123BA2024A*SN0001",
    "]Q1https://id.gs1.org/01/0690123456789/10/A",
    "https://id.gs1.org/01/06901234567892/21/1/10/2",
    "hello",
    "",
]


def bad_results():
    out = []
    for raw, expected, _fmt, _reason in load_vectors():
        if expected != "valid" and raw not in NOT_GS1_ROWS:  # that one is valid HIBC
            out.append(udi_codes.parse(raw, today=TODAY))
    for raw in BAD_INPUTS:
        out.append(udi_codes.parse(raw, today="2030-06-01"))  # after 2027-12-31
    return out


def test_every_code_of_bad_inputs_is_catalogued():
    seen = set()
    results = bad_results()
    assert len(results) > 40
    for res in results:
        assert res["errors"] or res["warnings"] or res["notes"], res["raw"]
        for kind in ("errors", "warnings", "notes"):
            for e in res[kind]:
                code = e["code"]
                seen.add(code)
                assert code in CATALOGUE, (res["raw"], e)
                assert code in EMITTED, (res["raw"], e)  # the source scan finds it
                zh = M.describe(e, "zh")
                assert zh.startswith(CATALOGUE[code][1]) and e["message"] in zh
                assert M.describe(e, "en") == e["message"]
    # the inputs reach every scheme's codes, not only GS1's
    for prefix in ("hibc_", "ma_", "cn_drug_", "nhsa_", "dl_"):
        assert any(c.startswith(prefix) for c in seen), prefix
    assert {"check_digit", "expired", "unknown_scheme", "plain_carrier"} <= seen


def test_gateway_codes():
    from gateway import cli, station

    res = cli.bad_line_result("{", "not JSON")
    assert [e["code"] for e in res["errors"]] == ["bad_input_line"]
    assert M.describe(res["errors"][0], "zh").startswith("批量输入行格式错误")
    text = station.summary(udi_codes.parse("]d201069012345678931727123110LOT2024A\x1d21SN0001", today=TODAY))
    assert "校验位错误 [AI 01]" in text
    text = station.summary(udi_codes.parse("hello", today=TODAY), "en")
    assert "not a recognised code" in text
