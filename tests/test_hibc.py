# Tests for udi_codes.hibc (HIBC primary / secondary / concatenated / joined,
# check_link, build) against ../shared/reference/codes.md §2 and §9.
import calendar
import datetime
import os
import random
import re
import subprocess
import sys

import pytest

from micropython_vm import ROOT, binary, run
from code_scan import module_codes
from test_vectors import VECTORS as ALL_VECTORS
from udi_codes import hibc, result
from udi_codes.messages import CATALOGUE
from udi_codes.checkchars import HIBC_CHARS, hibc_mod43


def parse(data, profile="read", today=None):
    res = result.new(data, "hibc", None)
    out = hibc.parse(data, res, {"profile": profile, "today": today})
    assert out is res
    return result.finish(res)


def codes(res, kind="errors"):
    return [e["code"] for e in res[kind]]


def cat(s):
    # s + its mod-43 check character (concatenated form / primary symbol).
    return s + hibc_mod43(s)


def sec(body, link="G"):
    # Separate secondary symbol: "+" body, link char, check char.
    s = "+" + body + link
    return s + hibc_mod43(s)


def elements(res):
    return [(e["key"], e["value"]) for e in res["elements"]]


# ---- codes.md §9 ---------------------------------------------------------

# The HIBC rows of codes.md §9 (tests/vectors/codes_md.tsv).  A separate
# secondary names its primary in §2.3: the verdict includes check_link.
PAIRS = {"+$$52001510X3GD": "+A123BJC5D6E71G", "+$$52001510X3HE": "+A123BJC5D6E71G"}
VECTORS = [(raw, expected, PAIRS.get(raw)) for raw, expected, fmt, _ in ALL_VECTORS if fmt.startswith("HIBC")]


def test_all_hibc_rows_present():
    assert len(VECTORS) == 10
    assert sum(1 for v in VECTORS if v[1] == "valid") == 6


def verdict(raw, pair):
    res = parse(raw)
    if pair is not None:
        t = hibc.check_link(parse(pair), res)
        if t is not None:
            result.error(res, *t)
            result.finish(res)
    return res


@pytest.mark.parametrize("raw,expected,pair", VECTORS)
def test_codes_md_vectors(raw, expected, pair):
    res = verdict(raw, pair)
    assert ("valid" if res["valid"] else "invalid") == expected, res["errors"]


def test_codes_md_c0_row_payload_is_valid_hibc():
    # "]C0+A123BJC5D6E71G invalid as GS1": the dispatcher strips ]C0, and the
    # payload is a valid HIBC primary.
    assert parse("+A123BJC5D6E71G")["valid"]


def test_vector_details():
    r = parse("+A123BJC5D6E71G")
    assert r["di"] == "+A123BJC5D6E71"
    assert r["package_level"] == 1
    assert r["pi"] == {}
    assert r["hri"] == "*+A123BJC5D6E71G*"
    assert elements(r) == [("lic", "A123"), ("pcn", "BJC5D6E7"), ("um", "1"), ("check", "G")]

    r = parse("+$$52001510X3GD")
    assert r["di"] is None and r["package_level"] is None
    assert r["pi"] == {"expiry": "2020-01-15", "lot": "10X3", "link": "G"}
    assert ("link", "G") in elements(r)
    assert codes(r, "notes") == ["hibc_link_unverified"]

    r = parse("+E203PB414109/$$8243280112R00089525J")
    assert r["di"] == "+E203PB41410" + "9"
    assert r["package_level"] == 9
    assert r["pi"] == {"quantity": 24, "expiry": "2028-01-12", "lot": "R00089525"}

    r = parse("+A99912345/$$812710X3/16D20111212/14D20200906/S77DEFG453")
    assert r["pi"] == {
        "quantity": 12,
        "lot": "10X3",
        "production_date": "2011-12-12",
        "expiry": "2020-09-06",
        "serial": "77DEFG45",
    }

    r = parse("+J123AQ3451/$$1125BC34567/S4012L")
    assert r["pi"] == {"expiry": "2025-11-30", "lot": "BC34567", "serial": "4012"}
    assert "hibc_month_expiry" in codes(r, "notes")


# ---- secondary-data flags ---------------------------------------------------


FLAG_CASES = [
    # (secondary data after "/", expected pi)
    ("2001510X3", {"expiry": "2020-01-15", "lot": "10X3"}),  # legacy YYJJJ
    ("24060", {"expiry": "2024-02-29"}),  # legacy, leap-year day 60, no lot
    ("$10X3", {"lot": "10X3"}),
    ("$", {}),
    ("$+SN77", {"serial": "SN77"}),
    ("$$0925LOT1", {"expiry": "2025-09-30", "lot": "LOT1"}),  # MMYY, month 0x
    ("$$1224LOT1", {"expiry": "2024-12-31", "lot": "LOT1"}),  # MMYY, month 1x
    ("$$0224LOT1", {"expiry": "2024-02-29", "lot": "LOT1"}),  # MMYY leap Feb
    ("$$2123125LOT1", {"expiry": "2025-12-31", "lot": "LOT1"}),  # MMDDYY
    ("$$3271231LOT1", {"expiry": "2027-12-31", "lot": "LOT1"}),  # YYMMDD
    ("$$3280229", {"expiry": "2028-02-29"}),  # YYMMDD leap day, empty lot
    ("$$42712312300A", {"expiry": "2027-12-31", "lot": "00A"}),  # YYMMDDHH
    ("$$525001LOT1", {"expiry": "2025-01-01", "lot": "LOT1"}),  # YYJJJ
    ("$$524366LOT1", {"expiry": "2024-12-31", "lot": "LOT1"}),  # leap year 366
    ("$$62536523LOT1", {"expiry": "2025-12-31", "lot": "LOT1"}),  # YYJJJHH
    ("$$7LOT1", {"lot": "LOT1"}),
    ("$$73C001", {"lot": "3C001"}),  # lot starting with a digit
    ("$$824", {"quantity": 24}),
    ("$$82473C001", {"quantity": 24, "lot": "3C001"}),
    ("$$8240925LOT1", {"quantity": 24, "expiry": "2025-09-30", "lot": "LOT1"}),
    ("$$8242123125LOT1", {"quantity": 24, "expiry": "2025-12-31", "lot": "LOT1"}),
    ("$$8243271231LOT1", {"quantity": 24, "expiry": "2027-12-31", "lot": "LOT1"}),
    ("$$82442712312300A", {"quantity": 24, "expiry": "2027-12-31", "lot": "00A"}),
    ("$$824525001LOT1", {"quantity": 24, "expiry": "2025-01-01", "lot": "LOT1"}),
    ("$$82462536523LOT1", {"quantity": 24, "expiry": "2025-12-31", "lot": "LOT1"}),
    ("$$900100", {"quantity": 100}),
    ("$$9001003271231LOT1", {"quantity": 100, "expiry": "2027-12-31", "lot": "LOT1"}),
    ("$$9123457LOT1", {"quantity": 12345, "lot": "LOT1"}),
    ("$$+0925SN1", {"expiry": "2025-09-30", "serial": "SN1"}),
    ("$$+2123125SN1", {"expiry": "2025-12-31", "serial": "SN1"}),
    ("$$+3271231SN1", {"expiry": "2027-12-31", "serial": "SN1"}),
    ("$$+42712312300A", {"expiry": "2027-12-31", "serial": "00A"}),
    ("$$+525001SN1", {"expiry": "2025-01-01", "serial": "SN1"}),
    ("$$+62536523SN1", {"expiry": "2025-12-31", "serial": "SN1"}),
    ("$$+7SN1", {"serial": "SN1"}),
    ("$$+8243271231SN1", {"quantity": 24, "expiry": "2027-12-31", "serial": "SN1"}),
    ("$$+9001007SN1", {"quantity": 100, "serial": "SN1"}),
    # supplementary data identifiers
    ("$$7L1/14D20280229", {"lot": "L1", "expiry": "2028-02-29"}),
    ("$$7L1/16D20240229", {"lot": "L1", "production_date": "2024-02-29"}),
    ("$$7L1/SABC-1.2", {"lot": "L1", "serial": "ABC-1.2"}),
    ("$/Q500", {"quantity": 500}),
    ("$10X3/16D20111231/14D20200131/Q500", {"lot": "10X3", "production_date": "2011-12-31", "expiry": "2020-01-31", "quantity": 500}),
    # a second secondary segment carrying the serial (BPB builder output)
    ("$$812710X3/$$+320090677DEFG45", {"quantity": 12, "lot": "10X3", "expiry": "2020-09-06", "serial": "77DEFG45"}),
    # the same expiry twice is not a conflict
    ("$$3200906L1/14D20200906", {"lot": "L1", "expiry": "2020-09-06"}),
]


@pytest.mark.parametrize("data,pi", FLAG_CASES)
def test_flags_concatenated(data, pi):
    r = parse(cat("+A99912345/" + data))
    assert r["valid"], r["errors"]
    assert r["pi"] == pi
    assert r["di"] == "+A99912345"


@pytest.mark.parametrize("data,pi", FLAG_CASES)
def test_flags_separate_secondary(data, pi):
    # The same data as a separate secondary symbol (with link and check).
    r = parse(sec(data, "3"))
    assert r["valid"], r["errors"]
    expected = dict(pi)
    expected["link"] = "3"
    assert r["pi"] == expected
    assert r["di"] is None
    assert "hibc_link_unverified" in codes(r, "notes")


def test_month_only_expiry_is_end_of_month():
    r = parse(cat("+A99912345/$$0227L"))
    assert r["pi"]["expiry"] == "2027-02-28"
    assert "hibc_month_expiry" in codes(r, "notes")


def test_elements_in_order():
    r = parse(cat("+A99912345/$$+82442712312300A/16D20240101/Q7"))
    assert [k for k, _ in elements(r)] == [
        "lic", "pcn", "um", "flag", "quantity", "expiry", "serial", "production_date", "quantity", "check"
    ]
    assert ("flag", "$$+8") in elements(r)
    assert ("expiry", "27123123") in elements(r)


def test_two_digit_year_uses_today_window():
    s = cat("+A99912345/$$3990101L")
    assert parse(s)["pi"]["expiry"] == "2099-01-01"  # no today: 20yy
    assert parse(s, today="2026-05-01")["pi"]["expiry"] == "1999-01-01"  # GS1 window
    s = cat("+A99912345/$$3490101L")
    assert parse(s, today="2026-05-01")["pi"]["expiry"] == "2049-01-01"


def test_leap_years_follow_century():
    # Day 366 of yy=00: 2000 is a leap year, 2100 is not.
    s = cat("+A99912345/$$500366L")
    assert parse(s)["valid"]
    assert parse(s)["pi"]["expiry"] == "2000-12-31"
    r = parse(s, today="2080-01-01")
    assert codes(r) == ["hibc_bad_julian"]


# ---- errors ---------------------------------------------------------------


def test_bad_check_reports_position_and_expected():
    r = parse("+A123BJC5D6E71H")
    assert codes(r) == ["hibc_bad_check"]
    e = r["errors"][0]
    assert e["at"] == 14
    assert "'H'" in e["message"] and "'G'" in e["message"]
    r = parse("+A99912345/$$52001510X34")
    assert codes(r) == ["hibc_bad_check"] and r["errors"][0]["at"] == 23


def test_bad_check_of_secondary_symbol():
    r = parse("+$$52001510X3GE")
    assert codes(r) == ["hibc_bad_check"]


def test_space_check_character_and_caption():
    s = "+A999BJC5D6E71/$$09271X3 "
    assert hibc_mod43(s[:-1]) == " "
    r = parse(s)
    assert r["valid"], r["errors"]
    assert r["hri"] == "*+A999BJC5D6E71/$$09271X3_*"
    r = parse("+A999BJC5D6E71/$$09271X3")  # space check lost (e.g. trimmed)
    assert not r["valid"]


def test_caption_input_is_accepted_with_warning():
    r = parse("*+A999BJC5D6E71/$$09271X3_*")
    assert r["valid"], r["errors"]
    assert codes(r, "warnings") == ["hibc_hri_input"]
    assert r["pi"]["lot"] == "1X3"
    r = parse("*+A123BJC5D6E71H*")
    assert codes(r) == ["hibc_bad_check"] and r["errors"][0]["at"] == 15  # position in the input


def test_bad_link_with_check_link():
    prim = parse("+A123BJC5D6E71G")
    good = parse("+$$52001510X3GD")
    bad = parse("+$$52001510X3HE")
    assert bad["valid"]  # alone it cannot be judged
    assert hibc.check_link(prim, good) is None
    t = hibc.check_link(prim, bad)
    assert t[0] == "hibc_bad_link"
    assert "'H'" in t[1] and "'G'" in t[1]
    assert t[0] in CATALOGUE


def test_check_link_rejects_wrong_kinds():
    prim = parse("+A123BJC5D6E71G")
    sec_ = parse("+$$52001510X3GD")
    assert hibc.check_link(sec_, prim)[0] == "hibc_link_no_primary"
    assert hibc.check_link(prim, prim)[0] == "hibc_link_no_secondary"
    other = result.new("x", "gs1", None)
    assert hibc.check_link(other, sec_)[0] == "hibc_link_no_primary"


def test_check_link_space_link():
    prim = parse(cat("+A123BJCMD6E79"))
    assert prim["pi"] == {} and hibc_mod43("+A123BJCMD6E79") == "+"
    s = parse("+$$52001510X3+ ")
    assert s["valid"] and s["pi"]["link"] == "+"
    assert s["hri"] == "*+$$52001510X3+_*"
    assert hibc.check_link(prim, s) is None


def test_joined_primary_and_secondary():
    r = parse("+A123BJC5D6E71G+$$52001510X3GD")
    assert r["valid"], r["errors"]
    assert r["di"] == "+A123BJC5D6E71"
    assert r["pi"] == {"expiry": "2020-01-15", "lot": "10X3", "link": "G"}
    assert r["hri"] == "*+A123BJC5D6E71G* *+$$52001510X3GD*"
    assert parse("+A123BJC5D6E71G+2001510X3GG")["valid"]  # legacy secondary
    assert parse("+A123BJCMD6E79++$$52001510X3+ ")["valid"]  # '+' check, space check


def test_joined_bad_link():
    r = parse("+A123BJC5D6E71G+$$52001510X3+ ")
    assert codes(r) == ["hibc_bad_link"]
    assert r["errors"][0]["at"] == 28
    # wrong primary check: reported once, not again as a link error
    r = parse("+A123BJC5D6E71++$$52001510X3+D")
    assert "hibc_bad_link" not in codes(r)
    assert codes(r).count("hibc_bad_check") == 2


def test_lower_case():
    r = parse("+a123bjc5d6e71g")
    assert codes(r) == ["hibc_lower_case"]
    assert r["errors"][0]["at"] == 1
    r = parse("+A99912345/$$7Lot1Z")  # lower case in a lot
    assert codes(r) == ["hibc_lower_case"]
    assert r["errors"][0]["at"] == 15 and r["errors"][0]["message"].startswith("2 lower-case")


def test_bad_characters():
    r = parse("+A99912345/$$520\u00b401510X^0")
    assert codes(r) == ["hibc_bad_char"]
    assert r["errors"][0]["at"] == 16
    assert "U+00B4" in r["errors"][0]["message"]
    r = parse("+A123BJC5D6E71G\r\n")
    assert codes(r) == ["hibc_bad_char"] and r["errors"][0]["at"] == 15


def test_lic_starting_with_digit():
    r = parse("+1234BJC5D6E71G")
    assert codes(r) == ["hibc_lic_first_digit"]
    assert r["errors"][0]["at"] == 1


def test_no_flag_empty_and_bad_start():
    assert codes(parse("A123BJC5D6E71G")) == ["hibc_no_flag"]
    assert codes(parse("")) == ["hibc_empty"]
    assert codes(parse("+")) == ["hibc_truncated"]
    assert codes(parse("+-123X")) == ["hibc_bad_start"]


def test_bad_lic_pcn_um():
    assert codes(parse(cat("+A1-3BJC5D6E71"))) == ["hibc_bad_lic"]
    r = parse(cat("+A123BJ.5D6E71"))
    assert codes(r) == ["hibc_bad_pcn"] and r["errors"][0]["at"] == 7
    r = parse(cat("+A123BJC5D6E7X"))
    assert codes(r) == ["hibc_bad_um"] and r["errors"][0]["at"] == 13
    assert r["package_level"] is None and r["di"] is None


def test_pcn_lengths():
    r = parse(cat("+A123" + "P" * 13 + "1"))
    assert r["valid"] and not r["warnings"]
    r = parse(cat("+A123" + "P" * 18 + "1"))
    assert r["valid"] and codes(r, "warnings") == ["hibc_pcn_legacy_length"]
    r = parse(cat("+A123" + "P" * 19 + "1"))
    assert codes(r) == ["hibc_pcn_too_long"]


def test_lot_lengths():
    r = parse(cat("+A99912345/$$7" + "L" * 14))
    assert r["valid"] and codes(r, "warnings") == ["hibc_field_legacy_length"]
    r = parse(cat("+A99912345/$$7" + "L" * 19))
    assert codes(r) == ["hibc_field_too_long"]
    r = parse(cat("+A99912345/$$7L/S" + "9" * 19))
    assert codes(r) == ["hibc_field_too_long"]


@pytest.mark.parametrize(
    "data,code,at",
    [
        ("$$521366L", "hibc_bad_julian", 16),  # 2021 has 365 days
        ("$$521000L", "hibc_bad_julian", 16),  # day 000
        ("21366L", "hibc_bad_julian", 13),  # legacy YYJJJ
        ("$$62136612L", "hibc_bad_julian", 16),
        ("$$3271301L", "hibc_bad_month", 16),
        ("$$1325L", "hibc_bad_month", 13),  # MMYY month 13
        ("$$0025L", "hibc_bad_month", 13),  # MMYY month 00
        ("$$2133125L", "hibc_bad_month", 14),  # MMDDYY
        ("$$3270229L", "hibc_bad_day", 18),  # 2027 not a leap year
        ("$$3280230L", "hibc_bad_day", 18),
        ("$$3270431L", "hibc_bad_day", 18),
        ("$$3270400L", "hibc_bad_day", 18),
        ("$$2023027L", "hibc_bad_day", 16),  # MMDDYY Feb 30
        ("$$4271231240L", "hibc_bad_hour", 20),
        ("$$6251012400L", "hibc_bad_hour", 19),
        ("$$8243271301L", "hibc_bad_month", 19),  # date after quantity
        ("$$7L/14D20270229", "hibc_bad_day", 25),
        ("$$7L/16D20231301", "hibc_bad_month", 23),
        ("$$327A231L", "hibc_bad_date", 14),
        ("$$7L/14D2027022", "hibc_truncated", 19),
        ("$$7L/14D202702281", "hibc_bad_date", 19),
        ("$$7L/16DABCDEFGH", "hibc_bad_date", 19),
        ("$$32712", "hibc_truncated", 14),  # YYMMDD cut short
        ("$$0", "hibc_truncated", 13),  # MMYY cut short
        ("$$", "hibc_truncated", 13),
        ("$$+", "hibc_truncated", 14),
        ("$$A", "hibc_bad_flag", 13),
        ("$$82", "hibc_truncated", 14),  # 2-digit quantity cut short
        ("$$9123", "hibc_truncated", 14),
        ("$$8A1L", "hibc_bad_quantity", 14),
        ("$$8128L", "hibc_bad_flag", 16),  # quantity then another quantity flag
        ("$$7L/Q12A", "hibc_bad_quantity", 17),
        ("$$7L/Q", "hibc_empty_field", 16),
        ("$$7L/S", "hibc_empty_field", 16),
        ("$$7L//S1", "hibc_empty_segment", 16),
        ("$$7L/", "hibc_empty_segment", 16),
        ("$$7L/X12", "hibc_unknown_segment", 16),
        ("$$7L/1234", "hibc_unknown_segment", 16),
        ("$$7L1/$$7L2", "hibc_conflict", 20),
        ("$$3270101L/14D20270102", "hibc_conflict", 25),
        ("$$824L/Q25", "hibc_conflict", 19),
    ],
)
def test_secondary_errors(data, code, at):  # at = offending sub-field
    r = parse(cat("+A99912345/" + data))
    assert codes(r) == [code], r["errors"]
    assert r["errors"][0]["at"] == at, r["errors"][0]
    assert not r["valid"]


def test_truncated_primary():
    r = parse("+A12")
    assert codes(r) == ["hibc_truncated"]
    r = parse("+A123B")
    assert codes(r) == ["hibc_truncated"]
    r = parse(cat("+A12/$$7L"))  # primary part of a concatenated string too short
    assert codes(r) == ["hibc_truncated"]


def test_truncated_concatenated_string():
    # the last 3 characters lost: the date is short and the check fails
    r = parse("+A99912345/$$520015")
    assert "hibc_truncated" in codes(r)
    assert "hibc_bad_check" in codes(r)


def test_truncated_secondary_symbol():
    assert codes(parse("+$G")) == ["hibc_truncated"]
    r = parse(sec("$$52001", "G"))
    assert codes(r) == ["hibc_truncated"]


def test_profile_print_warns_on_legacy_flags():
    for data in ("2001510X3", "$10X3", "$+SN1", "$$824", "$$900100"):
        s = cat("+A99912345/" + data)
        assert parse(s)["warnings"] == []
        r = parse(s, profile="print")
        assert r["valid"] and codes(r, "warnings") == ["hibc_deprecated_flag"], data
    assert parse(cat("+A99912345/$$3271231L"), profile="print")["warnings"] == []


def test_quantity_warnings():
    r = parse(cat("+A99912345/$$800"))
    assert r["valid"] and codes(r, "warnings") == ["hibc_quantity_zero"]
    r = parse(cat("+A99912345/$$824ABC"))
    assert r["valid"] and codes(r, "warnings") == ["hibc_no_date_flag"]
    assert r["pi"] == {"quantity": 24, "lot": "ABC"}


def test_package_levels():
    for um in range(10):
        r = parse(cat("+A123PCN%d" % um))
        assert r["valid"] and r["package_level"] == um
        assert r["di"] == "+A123PCN%d" % um


def test_every_code_is_described():
    used = set()
    for name in ("hibc.py", "hibc_build.py"):
        src = open(os.path.join(ROOT, "udi_codes", name), encoding="utf-8").read()
        used |= set(re.findall(r'"(hibc_[a-z0-9_]+)"', src))
    assert used <= set(CATALOGUE), used - set(CATALOGUE)
    # no stale entries: every hibc_ code in the catalogue is still used
    assert {c for c in CATALOGUE if c.startswith("hibc_")} == used
    # the source scan (what test_messages relies on) finds them all
    assert used == module_codes("hibc", "hibc_build")
    assert not hasattr(hibc, "CODES")  # descriptions live in udi_codes.messages


# ---- build ----------------------------------------------------------------


def test_build_known_strings():
    assert hibc.build("A123", "BJC5D6E7", 1) == "+A123BJC5D6E71G"
    assert hibc.build("A999", "1234", 5, lot="10X3", expiry="2020-01-15", date_format="YYJJJ") == "+A99912345/$$52001510X33"
    assert (
        hibc.build("J123", "AQ345", 1, lot="BC34567", serial="4012", expiry="2025-11-30", date_format="MMYY")
        == "+J123AQ3451/$$1125BC34567/S4012L"
    )
    assert hibc.build("A999", "1234", 5, lot="L", expiry="2027-12-31") == cat("+A99912345/$$3271231L")
    assert hibc.build("A999", "1234", 5, serial="S1") == cat("+A99912345/$$+7S1")
    assert hibc.build("A999", "1234", 9, quantity=500) == cat("+A99912349/$$7/Q500")
    assert (
        hibc.build("A999", "1234", 5, lot="L", expiry="2027-12-31", date_format="YYYYMMDD", production_date="2024-02-29")
        == cat("+A99912345/$$7L/14D20271231/16D20240229")
    )
    assert hibc.build("A999", "1", 0, lot="L", expiry="2025-01-31", date_format="YYJJJHH", expiry_hour=7) == cat(
        "+A99910/$$62503107L"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lic="1234", pcn="X", um=1),
        dict(lic="a123", pcn="X", um=1),
        dict(lic="A12", pcn="X", um=1),
        dict(lic="A123", pcn="", um=1),
        dict(lic="A123", pcn="P" * 19, um=1),
        dict(lic="A123", pcn="ab", um=1),
        dict(lic="A123", pcn="X", um=10),
        dict(lic="A123", pcn="X", um="A"),
        dict(lic="A123", pcn="X", um=1, lot="lot1"),
        dict(lic="A123", pcn="X", um=1, lot="A/B"),
        dict(lic="A123", pcn="X", um=1, lot=""),
        dict(lic="A123", pcn="X", um=1, lot="L" * 19),
        dict(lic="A123", pcn="X", um=1, serial="s1"),
        dict(lic="A123", pcn="X", um=1, expiry="2027-02-29"),
        dict(lic="A123", pcn="X", um=1, expiry="20270228"),
        dict(lic="A123", pcn="X", um=1, expiry="2100-01-01"),
        dict(lic="A123", pcn="X", um=1, expiry="2080-01-01", today="2026-01-01"),
        dict(lic="A123", pcn="X", um=1, expiry="2027-02-27", date_format="MMYY"),
        dict(lic="A123", pcn="X", um=1, expiry="2027-02-28", date_format="YYMMDDHH"),
        dict(lic="A123", pcn="X", um=1, expiry="2027-02-28", date_format="DDMMYY"),
        dict(lic="A123", pcn="X", um=1, production_date="2023-02-29"),
        dict(lic="A123", pcn="X", um=1, quantity=0),
        dict(lic="A123", pcn="X", um=1, quantity="5"),
    ],
)
def test_build_rejects(kwargs):
    with pytest.raises(ValueError):
        hibc.build(**kwargs)


def test_build_2100_with_four_digit_year():
    s = hibc.build("A123", "X", 1, lot="L", expiry="2100-01-01", date_format="YYYYMMDD")
    assert parse(s)["pi"] == {"lot": "L", "expiry": "2100-01-01"}


ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
FIELD = HIBC_CHARS.replace("/", "")
FORMATS = ["MMYY", "MMDDYY", "YYMMDD", "YYMMDDHH", "YYJJJ", "YYJJJHH", "YYYYMMDD"]


def check_roundtrip(case):
    kw = dict(case)
    if kw.get("expiry") is not None and kw["date_format"] == "MMYY":
        y, m = int(kw["expiry"][:4]), int(kw["expiry"][5:7])
        kw["expiry"] = "%04d-%02d-%02d" % (y, m, calendar.monthrange(y, m)[1])
    if not kw["date_format"].endswith("HH"):
        kw["expiry_hour"] = None
    s = hibc.build(**kw)
    for profile in ("read", "print"):
        r = parse(s, profile=profile)
        assert r["valid"], (s, r["errors"])
        assert r["di"] == "+" + kw["lic"] + kw["pcn"] + str(kw["um"])
        assert r["package_level"] == kw["um"]
        want = {}
        for k in ("lot", "serial", "expiry", "production_date", "quantity"):
            if kw.get(k) is not None:
                want[k] = kw[k]
        assert r["pi"] == want, s
        assert r["hri"] == "*" + s[:-1] + s[-1].replace(" ", "_") + "*"
        if profile == "print":
            assert "hibc_deprecated_flag" not in codes(r, "warnings")


def random_case(rng):
    def text(chars, lo, hi):
        return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))

    def maybe(v):
        return v if rng.random() < 0.5 else None

    def day(lo, hi):
        return (datetime.date(lo, 1, 1) + datetime.timedelta(days=rng.randint(0, 365 * (hi - lo)))).isoformat()

    return dict(
        lic=rng.choice(ALNUM[10:]) + text(ALNUM, 3, 3),
        pcn=text(ALNUM, 1, 18),
        um=rng.randint(0, 9),
        lot=maybe(text(FIELD, 1, 18)),
        serial=maybe(text(FIELD, 1, 18)),
        expiry=maybe(day(2000, 2099)),
        production_date=maybe(day(1990, 2099)),
        quantity=maybe(rng.randint(1, 10**6)),
        date_format=rng.choice(FORMATS),
        expiry_hour=rng.randint(0, 23),
    )


def test_build_parse_roundtrip_seeded():
    rng = random.Random(20240229)
    for _ in range(400):
        check_roundtrip(random_case(rng))


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is optional
    given = None

if given is not None:

    def _opt(s):
        return st.none() | s

    _dates = st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)).map(lambda d: d.isoformat())

    @settings(max_examples=300, deadline=None)
    @given(
        st.fixed_dictionaries(
            {
                "lic": st.tuples(st.sampled_from(ALNUM[10:]), st.text(ALNUM, min_size=3, max_size=3)).map("".join),
                "pcn": st.text(ALNUM, min_size=1, max_size=18),
                "um": st.integers(0, 9),
                "lot": _opt(st.text(FIELD, min_size=1, max_size=18)),
                "serial": _opt(st.text(FIELD, min_size=1, max_size=18)),
                "expiry": _opt(_dates),
                "production_date": _opt(
                    st.dates(datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)).map(lambda d: d.isoformat())
                ),
                "quantity": _opt(st.integers(1, 10**9)),
                "date_format": st.sampled_from(FORMATS),
                "expiry_hour": st.integers(0, 23),
            }
        )
    )
    def test_build_parse_roundtrip_hypothesis(case):
        check_roundtrip(case)


# ---- MicroPython VM ---------------------------------------------------------

MP_EXTRA = [
    # (raw, pair) basic cases beyond §9: flags, errors, joined, caption
    (cat("+A99912345/$$42712312300A/16D20240229/Q12"), None),
    (cat("+A99912345/$$+62536523SN1"), None),
    (cat("+A99912345/$$9001003271231LOT1"), None),
    (cat("+A99912345/$$3270229L"), None),
    (cat("+A99912345/$$521366L"), None),
    ("+A123BJC5D6E71G+$$52001510X3GD", None),
    ("+A123BJC5D6E71G+$$52001510X3+ ", None),
    ("*+A999BJC5D6E71/$$09271X3_*", None),
    ("+A99912345/$$520015", None),
]

MP_SCRIPT = """
from udi_codes import hibc, result

V = %r
OPTS = {"profile": "read", "today": "2026-01-01"}


def run(s):
    r = result.new(s, "hibc", None)
    hibc.parse(s, r, OPTS)
    return result.finish(r)


for raw, pair in V:
    r = run(raw)
    if pair:
        t = hibc.check_link(run(pair), r)
        if t:
            result.error(r, t[0], t[1], t[2])
            result.finish(r)
    pi = ";".join(["%%s=%%s" %% (k, r["pi"][k]) for k in sorted(r["pi"])])
    errs = ",".join(["%%s@%%s" %% (e["code"], e["at"]) for e in r["errors"]])
    print("%%s|%%s|%%s|%%s|%%s|%%s|%%s" %% (
        raw, "valid" if r["valid"] else "invalid", errs, r["di"], r["package_level"], pi, r["hri"]))
print(hibc.build("A999", "1234", 5, lot="10X3", expiry="2020-01-15", date_format="YYJJJ"))
print(hibc.build("A123", "BJC5D6E7", 1, serial="S1", expiry="2027-12-31", production_date="2024-02-29", quantity=3))
"""


def _mp_script(tmp_path):
    cases = [(raw, pair) for raw, _, pair in VECTORS] + MP_EXTRA
    script = tmp_path / "hibc_probe.py"
    script.write_text(MP_SCRIPT % (cases,))
    return str(script)


def _check_mp_output(proc, script):
    assert proc.returncode == 0, proc.stderr + proc.stdout
    ref = subprocess.run(
        [sys.executable, script], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=60
    )
    assert ref.returncode == 0, ref.stderr
    assert proc.stdout == ref.stdout
    lines = proc.stdout.splitlines()
    assert len(lines) == len(VECTORS) + len(MP_EXTRA) + 2
    for (raw, expected, _), line in zip(VECTORS, lines):
        assert line.split("|")[1] == expected, line


needs_mp = pytest.mark.skipif(binary() is None, reason="MicroPython VM not installed")


@needs_mp
def test_micropython_matches_cpython(tmp_path):
    # From source: compiling hibc.py on the VM needs about 115 KB of heap.
    script = _mp_script(tmp_path)
    _check_mp_output(run(script, heap="256K", timeout=60), script)


@needs_mp
def test_micropython_precompiled_fits_small_heap(tmp_path):
    # As on the device (.mpy, no compiler spike): the package plus hibc
    # (about 25 KB resident) and the parses fit a 64 KB heap.
    from micropython_vm import engine_mpy_dir

    script = _mp_script(tmp_path)
    _check_mp_output(run(script, heap="256K", path=(engine_mpy_dir(),), timeout=60), script)
