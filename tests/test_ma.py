# MA (IDcode) scheme module: codes.md §3.2 and the MA rows of §9.
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from code_scan import module_codes  # noqa: E402
from udi_codes import ma, result  # noqa: E402
from udi_codes.messages import CATALOGUE  # noqa: E402

OPTS = {"profile": "read", "today": None}

FULL = "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3"
DI = "MA.156.M0.100350.01004YA10017"


def parse(data):
    return result.finish(ma.parse(data, result.new(data, "ma"), OPTS))


def codes(res, kind="errors"):
    return [e["code"] for e in res[kind]]


def with_pi_check(di_and_pi):
    # Appends the (unofficial) PI check so that tests of other rules stay clean.
    pi = di_and_pi[len(DI):]
    return di_and_pi + ".C" + ma.check_char(pi)


# --- §9 vectors -----------------------------------------------------------

def test_s9_valid_di_and_pi():
    res = parse(FULL)
    assert res["valid"] and not res["warnings"]
    assert res["di"] == DI
    assert res["package_level"] == 0
    assert res["pi"] == {
        "serial": "LMSAGAAAC",
        "production_date": "2021-06-28",
        "lot": "AY21062803",
        "expiry": "2022-06-28",
        "valid_until": "2022-06-27",
    }
    assert res["hri"] == FULL
    keys = [e["key"] for e in res["elements"]]
    assert keys == ["iac", "country", "industry", "enterprise", "pack", "category", "check",
                    "S", "M", "L", "E", "V", "C"]
    category = [e["value"] for e in res["elements"] if e["key"] == "category"]
    assert category == ["1004YA1001"]


def test_s9_valid_lower_case_category_and_sterilisation_lot():
    res = parse("MA.156.M0.100011.2cscp023.Ste002.M200206.L343432.D555555.E200228.V200307.C9")
    assert res["valid"] and not res["warnings"]
    assert res["di"] == "MA.156.M0.100011.2cscp023"
    assert res["package_level"] == 2
    assert res["pi"]["serial"] == "te002"
    assert res["pi"]["sterilisation_lot"] == "555555"
    assert res["pi"]["production_date"] == "2020-02-06"
    assert res["pi"]["expiry"] == "2020-02-28"


def test_s9_valid_di_only():
    res = parse("MA.156.M0.100204.13351764")
    assert res["valid"] and not res["warnings"] and not res["notes"]
    assert res["di"] == "MA.156.M0.100204.13351764"
    assert res["package_level"] == 1
    assert res["pi"] == {}
    assert [e["value"] for e in res["elements"] if e["key"] == "category"] == ["335176"]


def test_s9_wrong_di_check_is_only_a_warning():
    # §9 says "invalid", but the algorithm is unofficial: warn, never reject.
    res = parse("MA.156.M0.100350.01004YA10018.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3")
    assert res["valid"] is True
    assert codes(res, "warnings") == ["ma_check_mismatch"]
    msg = res["warnings"][0]["message"]
    assert "expects 7" in msg and "unofficial" in msg and "DI" in msg


def test_s9_wrong_pi_check_is_only_a_warning():
    res = parse("MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C4")
    assert res["valid"] is True
    assert codes(res, "warnings") == ["ma_check_mismatch"]
    msg = res["warnings"][0]["message"]
    assert "expects 3" in msg and "unofficial" in msg and "PI" in msg
    assert res["warnings"][0]["at"] == ".C"


def test_s9_enterprise_main_code_is_not_a_di():
    res = parse("MA.156.M0.100350")
    assert res["valid"] is False
    assert codes(res) == ["ma_no_product_segment"]
    assert "not a UDI-DI: no product segment" in res["errors"][0]["message"]
    assert res["di"] is None


# --- check algorithm ------------------------------------------------------

def literal_check(s):
    # The steps of §3.2 written out literally (string concatenation).
    table = {}
    for i in range(10):
        table[str(i)] = str(i)
    for i in range(26):
        table[chr(65 + i)] = str(10 + i)
    for i in range(7):
        table[chr(97 + i)] = str(36 + i)
    for i in range(19):
        table[chr(104 + i)] = str(45 + i)
    for i, c in enumerate("-.@$,*+%/#!^~"):
        table[c] = str(64 + i)
    digits = "".join(table[c] for c in s)[::-1]
    total = 0
    for i, d in enumerate(digits):
        v = int(d) * (2 if i % 2 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10), digits


def test_check_worked_example_of_the_reference():
    expected, digits = literal_check("MA.156.M0.100350.01004YA1001")
    assert digits[::-1] == "2210651566522065100350650100434101001"
    assert expected == "7"
    assert ma.check_char("MA.156.M0.100350.01004YA1001") == "7"


def test_check_matches_literal_steps_over_many_strings():
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.@$,*+%/#!^~"
    for n in range(1, 40):
        s = "".join(alphabet[(n * 7 + k * 13) % len(alphabet)] for k in range(n))
        assert ma.check_char(s) == literal_check(s)[0], s


def test_check_rejects_characters_outside_the_table():
    assert ma.check_char("AB_C") is None
    assert ma.check_char("AB C") is None


# --- DI structure errors --------------------------------------------------

@pytest.mark.parametrize(
    "data, code, at",
    [
        ("MB.156.M0.100350.01004YA10017", "ma_bad_iac", 0),
        ("MA.157.M0.100350.01004YA10017", "ma_bad_country", 3),
        ("MA.156.M1.100350.01004YA10017", "ma_bad_industry", 7),
        ("MA.156.M0.10035.01004YA10017", "ma_bad_enterprise", 10),
        ("MA.156.M0.1003A0.01004YA10017", "ma_bad_enterprise", 10),
        ("MA.156.M0.100350.X1004YA10017", "ma_bad_pack_level", 17),
        ("MA.156.M0.100350.0100457", "ma_bad_category_length", 18),
        ("MA.156.M0.100350.01004YA1001AB7", "ma_bad_category_length", 18),
        ("MA.156.M0.100350.01004 A10017", "ma_bad_char", 22),
        ("MA.156", "ma_truncated", 6),
    ],
)
def test_structural_di_errors(data, code, at):
    res = parse(data)
    assert res["valid"] is False
    assert code in codes(res)
    hit = [e for e in res["errors"] if e["code"] == code][0]
    assert hit["at"] == at


def test_category_length_message_says_length():
    res = parse("MA.156.M0.100350.0100457")
    msg = res["errors"][0]["message"]
    assert "6-10" in msg and "got 5" in msg


def test_every_pack_digit_is_a_package_level():
    for p in range(10):
        body = "MA.156.M0.100350.%d1004YA1001" % p
        res = parse(body + ma.check_char(body))
        assert res["valid"] and not res["warnings"]
        assert res["package_level"] == p


def test_underscore_category_is_allowed_but_check_not_computable():
    res = parse("MA.156.M0.100350.0AB_CD123")
    assert res["valid"] is True
    assert codes(res, "warnings") == ["ma_check_uncomputable"]


# --- PI data units ----------------------------------------------------------

@pytest.mark.parametrize(
    "pi, code, at",
    [
        (".QABC", "ma_unknown_unit", 30),
        (".lABC", "ma_unknown_unit", 30),
        (".LABC..SX", "ma_empty_unit", 35),
        (".LABC.", "ma_empty_unit", 35),
        (".L", "ma_empty_unit", ".L"),
        (".LABC.SX.LDEF", "ma_duplicate_unit", ".L"),
        (".M210230", "ma_bad_date", ".M"),
        (".E270229", "ma_bad_date", ".E"),
        (".E20270229", "ma_bad_date", ".E"),
        (".E270200", "ma_bad_date", ".E"),
        (".V2712", "ma_bad_date", ".V"),
        (".P21A628", "ma_bad_date", ".P"),
        (".LAB C", "ma_bad_char", 33),
        (".LABC.C3.SX", "ma_check_not_last", ".C"),
        (".LABC.C33", "ma_bad_check_unit", ".C"),
        (".C7", "ma_check_without_pi", ".C"),
    ],
)
def test_pi_errors(pi, code, at):
    res = parse(DI + pi)
    assert res["valid"] is False
    assert code in codes(res)
    hit = [e for e in res["errors"] if e["code"] == code][0]
    assert hit["at"] == at


def test_bad_date_message_quotes_the_value():
    res = parse(DI + ".E270229")
    assert "'270229'" in res["errors"][0]["message"]


def test_dates_six_and_eight_digits_with_leap_years():
    res = parse(with_pi_check(DI + ".M20240229.E280229"))
    assert res["valid"] and not res["warnings"]
    assert res["pi"]["production_date"] == "2024-02-29"
    assert res["pi"]["expiry"] == "2028-02-29"


def test_only_valid_until_becomes_expiry_too():
    res = parse(with_pi_check(DI + ".LA1.V271231"))
    assert res["valid"] and not res["warnings"]
    assert res["pi"]["expiry"] == "2027-12-31"
    assert res["pi"]["valid_until"] == "2027-12-31"


def test_old_rule_production_date_warns():
    res = parse(with_pi_check(DI + ".P210628.LA1"))
    assert res["valid"] is True
    assert codes(res, "warnings") == ["ma_old_rule"]
    assert "old rule" in res["warnings"][0]["message"]
    assert res["pi"]["production_date"] == "2021-06-28"


def test_m_wins_over_old_p():
    res = parse(with_pi_check(DI + ".P210628.M210701"))
    assert res["pi"]["production_date"] == "2021-07-01"


def test_unconfirmed_insurance_unit_kept_with_warning():
    res = parse(with_pi_check(DI + ".LA1.YC0344051070500007551"))
    assert res["valid"] is True
    assert codes(res, "warnings") == ["ma_unconfirmed_unit"]
    assert "unconfirmed data unit" in res["warnings"][0]["message"]
    y = [e for e in res["elements"] if e["key"] == "Y"]
    assert y[0]["value"] == "C0344051070500007551"


def test_pi_without_check_unit_is_noted_not_rejected():
    res = parse(DI + ".LA1")
    assert res["valid"] is True and not res["warnings"]
    assert codes(res, "notes") == ["ma_no_pi_check"]
    assert res["pi"] == {"lot": "A1"}


def test_every_emitted_code_is_catalogued():
    samples = [DI + p for p in (".QX", ".L", ".E270229", ".LA.C9", ".P210628", ".YX", ".LA", ".C1")]
    samples += ["MB.157.M1.1.X", "MA.156.M0.100350", "MA", FULL[:-1] + "9"]
    emitted = module_codes("ma")
    for s in samples:
        res = parse(s)
        for kind in ("errors", "warnings", "notes"):
            for e in res[kind]:
                assert e["code"] in CATALOGUE, e
                assert e["code"] in emitted, e  # the source scan finds it
    assert emitted <= set(CATALOGUE), emitted - set(CATALOGUE)
    assert not hasattr(ma, "CODES")  # descriptions live in udi_codes.messages


# --- build (printing) -------------------------------------------------------

def test_build_reproduces_the_reference_sample_checks():
    code = ma.build("100350", 0, "1004YA1001", lot="AY21062803", serial="LMSAGAAAC",
                    production_date="2021-06-28", expiry="220628", valid_until="20220627")
    assert code.startswith(DI + ".")
    assert code == DI + ".LAY21062803.SLMSAGAAAC.M210628.V220627.E220628.C" + ma.check_char(
        ".LAY21062803.SLMSAGAAAC.M210628.V220627.E220628")


def test_build_round_trip():
    code = ma.build("100761", 3, "ABc12345", lot="L-2024/7", serial="SN0001",
                    production_date="2024-02-29", expiry="2029-02-28", sterilisation_lot="ST9")
    res = parse(code)
    assert res["valid"] and not res["warnings"] and not res["notes"]
    assert res["di"] == "MA.156.M0.100761.3ABc12345" + ma.check_char("MA.156.M0.100761.3ABc12345")
    assert res["package_level"] == 3
    assert res["pi"] == {"lot": "L-2024/7", "serial": "SN0001", "production_date": "2024-02-29",
                         "expiry": "2029-02-28", "sterilisation_lot": "ST9"}


def test_build_di_only():
    assert ma.build("100204", 1, "335176") == "MA.156.M0.100204.13351764"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"enterprise": "10035", "pack_digit": 0, "category": "1004YA1001"},
        {"enterprise": "100350", "pack_digit": 10, "category": "1004YA1001"},
        {"enterprise": "100350", "pack_digit": 0, "category": "ABC"},
        {"enterprise": "100350", "pack_digit": 0, "category": "AB_CDEF"},
        {"enterprise": "100350", "pack_digit": 0, "category": "ABCDEF", "expiry": "2027-02-29"},
        {"enterprise": "100350", "pack_digit": 0, "category": "ABCDEF", "lot": "A.B"},
    ],
)
def test_build_refuses_what_would_not_parse_cleanly(kwargs):
    with pytest.raises(ValueError):
        ma.build(**kwargs)


# --- the same answers on the MicroPython VM ---------------------------------

MP_VECTORS = [
    FULL,
    "MA.156.M0.100011.2cscp023.Ste002.M200206.L343432.D555555.E200228.V200307.C9",
    "MA.156.M0.100204.13351764",
    "MA.156.M0.100350.01004YA10018.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3",
    FULL[:-1] + "4",
    "MA.156.M0.100350",
    DI + ".P210628.YX1.E270229..QZ",
    "MB.157.M1.1003A0.X1004 A",
]

MP_SCRIPT = """
import json
from udi_codes import ma, result
out = []
for v in %s:
    out.append(result.finish(ma.parse(v, result.new(v, "ma"), {"profile": "read", "today": None})))
out.append(ma.build("100761", 3, "ABc12345", lot="L1", production_date="2024-02-29", expiry="290228"))
print(json.dumps(out))
"""


def test_micropython_gives_the_same_results():
    from micropython_vm import binary, run_engine_code

    if binary() is None:
        pytest.skip("micropython not found")
    script = MP_SCRIPT % json.dumps(MP_VECTORS)
    run = run_engine_code(script)
    assert run.returncode == 0, run.stderr + run.stdout
    expected = [parse(v) for v in MP_VECTORS]
    expected.append(ma.build("100761", 3, "ABc12345", lot="L1", production_date="2024-02-29",
                             expiry="290228"))
    assert json.loads(run.stdout) == json.loads(json.dumps(expected))
