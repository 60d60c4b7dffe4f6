# 20-digit drug traceability code (cn-drug), NHSA insurance codes and AHM:
# codes.md §3.3, §4.2, §5 and the matching rows of §9.
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from code_scan import module_codes  # noqa: E402
from udi_codes import ahm, cn_drug, nhsa, result  # noqa: E402
from udi_codes.messages import CATALOGUE  # noqa: E402

OPTS = {"profile": "read", "today": None}


def run(module, data, scheme="?"):
    return result.finish(module.parse(data, result.new(data, scheme), OPTS))


def codes(res, kind="errors"):
    return [e["code"] for e in res[kind]]


def values(res):
    return [(e["key"], e["value"]) for e in res["elements"]]


# --- cn-drug ------------------------------------------------------------------

def test_s9_drug_code_valid_format():
    res = run(cn_drug, "81234567890123456789")
    assert res["valid"] is True and not res["warnings"]
    assert res["scheme"] == "cn-drug"
    assert res["di"] == "8123456"
    assert res["pi"] == {"serial": "789012345"}
    assert values(res) == [("product", "8123456"), ("serial", "789012345"), ("check", "6789")]
    assert codes(res, "notes") == ["check_digits_not_verifiable"]
    assert "码上放心" in res["notes"][0]["message"]


def test_s9_drug_code_19_digits():
    res = run(cn_drug, "8123456789012345678")
    assert res["valid"] is False
    assert codes(res) == ["cn_drug_bad_length"]
    assert "20 digits" in res["errors"][0]["message"] and "got 19" in res["errors"][0]["message"]
    assert res["elements"] == []


def test_s9_drug_code_non_digit():
    res = run(cn_drug, "8123456789012345678X")
    assert res["valid"] is False
    assert codes(res) == ["cn_drug_non_digit"]
    assert res["errors"][0]["at"] == 19
    assert "character 20 ('X')" in res["errors"][0]["message"]


def test_s9_drug_code_not_starting_with_8():
    res = run(cn_drug, "71234567890123456789")
    assert res["valid"] is False
    assert codes(res) == ["cn_drug_bad_prefix"]
    assert cn_drug.looks_like("71234567890123456789") is False


def test_drug_code_reports_length_and_characters_together():
    res = run(cn_drug, "81234567890123456789A1")
    assert codes(res) == ["cn_drug_bad_length", "cn_drug_non_digit"]
    assert "got 22" in res["errors"][0]["message"]
    assert res["errors"][1]["at"] == 20


def test_drug_code_unicode_digits_are_not_digits():
    res = run(cn_drug, "8123456789012345678\u0663")
    assert codes(res) == ["cn_drug_non_digit"]


@pytest.mark.parametrize(
    "data, claimed",
    [
        ("81234567890123456789", True),
        ("8123456789012345678", True),
        ("8123456789012345678X", True),
        ("81234567890123456", True),  # 17
        ("81234567890123456789012", True),  # 23
        ("8123456789012345", False),  # 16
        ("812345678901234567890123", False),  # 24
        ("8123456789012345ABC9", False),  # 3 non-digits
        ("71234567890123456789", False),
        ("", False),
    ],
)
def test_drug_code_looks_like(data, claimed):
    assert cn_drug.looks_like(data) is claimed


# --- NHSA -----------------------------------------------------------------------

def test_s9_western_drug_23():
    code = "XA02BCA211A012010100154"
    assert nhsa.scheme_of(code) == "nhsa-drug"
    res = run(nhsa, code)
    assert res["valid"] is True and not res["warnings"]
    assert res["scheme"] == "nhsa-drug"
    assert res["di"] == code
    assert values(res) == [("kind", "X"), ("class", "A02BC"), ("name", "A211"), ("form", "A012"),
                           ("spec", "0101"), ("enterprise", "00154")]
    assert codes(res, "notes") == ["nhsa_segments_unconfirmed"]
    assert "unconfirmed" in res["notes"][0]["message"]


def test_s9_western_drug_19_chars():
    code = "XN01AX0900014305116"
    assert nhsa.scheme_of(code) == "nhsa-drug"
    res = run(nhsa, code)
    assert res["valid"] is False
    assert codes(res) == ["nhsa_bad_length"]
    assert "must be 23 characters, got 19" in res["errors"][0]["message"]
    assert res["elements"] == []


def test_s9_consumable_27():
    code = "C15011121200000107660000016"
    assert nhsa.scheme_of(code) == "nhsa-consumable"
    res = run(nhsa, code)
    assert res["valid"] is True and not res["warnings"]
    assert res["scheme"] == "nhsa-consumable"
    assert values(res) == [("kind", "C"), ("class", "150111"), ("name", "212"), ("feature", "00000"),
                           ("enterprise", "10766"), ("spec", "0000016")]


def test_s9_consumable_20():
    code = "C0344051070500007551"
    assert nhsa.scheme_of(code) == "nhsa-consumable"
    res = run(nhsa, code)
    assert res["valid"] is True
    assert values(res) == [("kind", "C"), ("class", "034405"), ("name", "107"), ("feature", "05000"),
                           ("enterprise", "07551")]


def test_s9_consumable_26_chars():
    code = "C1501112120000010766000001"
    assert nhsa.scheme_of(code) == "nhsa-consumable"
    res = run(nhsa, code)
    assert res["valid"] is False
    assert codes(res) == ["nhsa_bad_length"]
    assert "must be 20 or 27 characters, got 26" in res["errors"][0]["message"]


def test_chinese_patent_medicine_20():
    code = "ZG02AAG0401010100123"
    assert nhsa.scheme_of(code) == "nhsa-drug"
    res = run(nhsa, code)
    assert res["valid"] is True
    assert values(res) == [("kind", "Z"), ("class", "G02AA"), ("name", "G0401"), ("spec", "0101"),
                           ("enterprise", "00123")]


def test_chinese_patent_medicine_prefix_only_is_too_short():
    # §5.3: an 11-character rule-table prefix is not a full code.
    assert nhsa.scheme_of("ZG02AAG0401") is None
    res = run(nhsa, "ZG02AAG0401")
    assert codes(res) == ["nhsa_bad_length"]
    assert "must be 20 characters, got 11" in res["errors"][0]["message"]


def test_lower_case_is_an_error():
    code = "XA02BCa211A012010100154"
    assert nhsa.scheme_of(code) == "nhsa-drug"
    res = run(nhsa, code)
    assert codes(res) == ["nhsa_lower_case"]
    assert res["errors"][0]["at"] == 6


def test_western_class_must_be_atc_like():
    res = run(nhsa, "X1A2BCA211A012010100154")
    assert codes(res) == ["nhsa_bad_class"]
    assert "'1A2BC'" in res["errors"][0]["message"]


def test_consumable_must_be_digits():
    res = run(nhsa, "C03440510705000075A1")
    assert codes(res) == ["nhsa_bad_char"]
    assert res["errors"][0]["at"] == 18


def test_drug_code_bad_character():
    res = run(nhsa, "XA02BCA211A0120101-0154")
    assert codes(res) == ["nhsa_bad_char"]
    assert res["errors"][0]["at"] == 18


@pytest.mark.parametrize(
    "data, scheme",
    [
        ("XA02BCA211A012010100154", "nhsa-drug"),
        ("ZG02AAG0401010100123", "nhsa-drug"),
        ("C0344051070500007551", "nhsa-consumable"),
        ("C0344051070500", None),  # 14 chars
        ("C" + "0" * 30, None),  # 31 chars
        ("xa02bca211a012010100154", None),
        ("Xa02bca211a012010100154", None),  # mostly lower case
        ("A15011121200000107660000016", None),
        ("MA.156.M0.100350.01004YA10017", None),
    ],
)
def test_nhsa_scheme_of(data, scheme):
    assert nhsa.scheme_of(data) == scheme


# --- AHM ----------------------------------------------------------------------

@pytest.mark.parametrize("code", ["MF1234567890123BA2024A*SN0001", "MF", "MFzz  ??"])
def test_ahm_is_routed_never_judged(code):
    assert ahm.looks_like(code)
    res = run(ahm, code)
    assert res["valid"] is True and res["errors"] == []
    assert res["scheme"] == "ahm"
    assert res["di"] == code
    assert codes(res, "notes") == ["ahm_no_public_spec"]
    assert res["notes"][0]["message"] == \
        "AHM code recognised and routed; no public specification, not validated"
    assert codes(res, "warnings") == ["unverified_scheme"]


def test_ahm_looks_like_only_mf():
    assert not ahm.looks_like("MA.156.M0.100350")
    assert not ahm.looks_like("mf123")


# --- catalogue and MicroPython ------------------------------------------------

VECTORS = [
    (cn_drug, "81234567890123456789"),
    (cn_drug, "8123456789012345678"),
    (cn_drug, "8123456789012345678X"),
    (cn_drug, "71234567890123456789"),
    (cn_drug, "81234567890123456789A1"),
    (nhsa, "XA02BCA211A012010100154"),
    (nhsa, "XN01AX0900014305116"),
    (nhsa, "C15011121200000107660000016"),
    (nhsa, "C0344051070500007551"),
    (nhsa, "C1501112120000010766000001"),
    (nhsa, "ZG02AAG0401010100123"),
    (nhsa, "XA02BCa211A01201010-154"),
    (nhsa, "X1A2BCA211A012010100154"),
    (nhsa, "Q1A2BCA211A012010100154"),
    (ahm, "MF1234567890123BA2024A*SN0001"),
]


def test_every_emitted_code_is_catalogued():
    for module in (cn_drug, nhsa, ahm):
        assert not hasattr(module, "CODES")  # descriptions live in udi_codes.messages
    emitted = module_codes("cn_drug", "nhsa", "ahm")
    assert emitted <= set(CATALOGUE), emitted - set(CATALOGUE)
    seen = set()
    for module, data in VECTORS:
        res = run(module, data)
        for kind in ("errors", "warnings", "notes"):
            for e in res[kind]:
                assert e["code"] in CATALOGUE, (data, e)
                assert e["code"] in emitted, (data, e)  # the source scan finds it
                seen.add(e["code"])
    # the vectors reach every code these modules can emit
    assert seen == emitted, emitted - seen


MP_SCRIPT = """
import json
from udi_codes import result, cn_drug, nhsa, ahm
mods = {"cn_drug": cn_drug, "nhsa": nhsa, "ahm": ahm}
out = []
for name, v in %s:
    m = mods[name]
    out.append(result.finish(m.parse(v, result.new(v, "?"), {"profile": "read", "today": None})))
    out.append([cn_drug.looks_like(v), nhsa.scheme_of(v), ahm.looks_like(v)])
print(json.dumps(out))
"""


def test_micropython_gives_the_same_results():
    from micropython_vm import binary, run_engine_code

    if binary() is None:
        pytest.skip("micropython not found")
    pairs = [(m.__name__.split(".")[-1], v) for m, v in VECTORS]
    script = MP_SCRIPT % json.dumps(pairs)
    proc = run_engine_code(script)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    expected = []
    for m, v in VECTORS:
        expected.append(run(m, v))
        expected.append([cn_drug.looks_like(v), nhsa.scheme_of(v), ahm.looks_like(v)])
    assert json.loads(proc.stdout) == json.loads(json.dumps(expected))
