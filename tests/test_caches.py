"""The engine's caches never change a result: a warm stream of site-like
codes (shared GTINs, lots and dates; new serials) gives exactly what each
code gives on its own with every cache empty."""

import json
import random

import udi_codes
from bench import corpus
from conftest import TODAY
from test_vectors import VECTORS
from udi_codes import gs1, gs1_dl, gs1_items, ma, repeats


def clear_all():
    for module in (gs1, gs1_dl, ma):
        module.clear_caches()


def test_warm_and_cold_results_are_identical():
    codes = corpus.make(1500, seed=7) + [v[0] for v in VECTORS]
    random.Random(3).shuffle(codes)
    codes = codes + codes[:300]  # repeats: the same code again, now from the caches
    warm = [udi_codes.parse(c, "read", TODAY) for c in codes]
    for c, w in zip(codes, warm):
        clear_all()
        assert udi_codes.parse(c, "read", TODAY) == w, c


def test_profile_and_reference_date_are_not_mixed_up_by_caches():
    raw = "]d2010690123456789211240101172502001012345678\x1d21ABC"
    for _ in range(2):
        read = udi_codes.parse(raw, "read", TODAY)
        printed = udi_codes.parse(raw, "print", TODAY)
        past = udi_codes.parse(raw, "read", "2020-01-01")
        assert read["valid"] and not printed["valid"]
        assert [w["code"] for w in read["warnings"]] == ["dd00_date", "expired"]
        assert [w["code"] for w in past["warnings"]] == ["dd00_date"]


def test_whole_results_of_lot_items_and_repeats_equal_cold_reads():
    # A small site: many items per lot, so most reads come from a lot's
    # template or a kept repeat.  Compared as JSON: values and key order.
    codes = corpus.make(3000, seed=9, products=12)
    clear_all()
    hits = {"lot": 0, "repeat": 0}
    warm = []
    for c in codes:
        if gs1_items.result(c, "read", TODAY) is not None:
            hits["lot"] += 1
        elif repeats.result(c, "read", TODAY) is not None:
            hits["repeat"] += 1
        warm.append(json.dumps(udi_codes.parse(c, "read", TODAY), ensure_ascii=False))
    assert hits["lot"] > 1000 and hits["repeat"] > 200, hits
    for c, w in zip(codes, warm):
        clear_all()
        assert json.dumps(udi_codes.parse(c, "read", TODAY), ensure_ascii=False) == w, c


def _lot(raw_of_serial, serials=("A1", "A2", "A3")):
    # Read a lot's first items, so that its template exists.
    for s in serials:
        udi_codes.parse(raw_of_serial(s), "read", TODAY)


def _same_as_cold(raw):
    warm = udi_codes.parse(raw, "read", TODAY)
    clear_all()
    cold = udi_codes.parse(raw, "read", TODAY)
    assert json.dumps(warm) == json.dumps(cold), raw
    return warm


LOT_PREFIX = "]d2010690123456789217291231107LOT5\x1d21"


def test_a_serial_needing_escapes_gets_them_from_a_template():
    # "(" is escaped in HRI, "/" and "+" are percent-encoded in a Digital Link.
    _lot(lambda s: LOT_PREFIX + s)
    assert gs1_items.result(LOT_PREFIX + "B(1/+", "read", TODAY) is not None
    res = _same_as_cold(LOT_PREFIX + "B(1/+")
    assert res["hri"].endswith("(21)B\\(1/+")
    assert "/21/B%281%2F%2B?17=291231" in res["dl_uri"]


def test_a_serial_that_may_hide_an_ai_is_read_the_full_way():
    _lot(lambda s: LOT_PREFIX + s)
    raw = LOT_PREFIX + "X11250101"  # "11" + a date: a production date swallowed?
    assert gs1_items.result(raw, "read", TODAY) is None
    res = _same_as_cold(raw)
    assert [w["code"] for w in res["warnings"]] == ["possible_missing_gs"]


def test_a_serial_the_ai_does_not_allow_is_read_the_full_way():
    _lot(lambda s: LOT_PREFIX + s)
    for bad in ("A B", "A\u00e9", "A" * 21):
        assert gs1_items.result(LOT_PREFIX + bad, "read", TODAY) is None
        assert not _same_as_cold(LOT_PREFIX + bad)["valid"]


def test_hri_and_digital_link_lots_have_templates_too():
    hri = "(01)06901234567892(17)291231(10)LOT5(21)"
    dl = "]Q1https://id.gs1.org/01/06901234567892/10/LOT5/21/%s?17=291231"
    _lot(lambda s: hri + s)
    _lot(lambda s: dl % s)
    assert gs1_items.result(hri + "C9", "read", TODAY) is not None
    assert gs1_items.result(dl % "C9", "read", TODAY) is not None
    assert _same_as_cold(hri + "C9")["pi"]["serial"] == "C9"
    assert _same_as_cold(dl % "C9")["elements"][2] == {"ai": "21", "title": "SERIAL", "value": "C9"}
    # An escaped value in the link, or an escaped "(" in HRI: the full way.
    assert gs1_items.result(dl % "C%2F9", "read", TODAY) is None
    assert _same_as_cold(dl % "C%2F9")["pi"]["serial"] == "C/9"
    assert gs1_items.result(hri + "C\\(9", "read", TODAY) is None
    assert _same_as_cold(hri + "C\\(9")["pi"]["serial"] == "C(9"


def test_a_template_never_answers_for_another_profile_or_date():
    raw = "]d2010690123456789211240100172502001012345678\x1d21%s"
    _lot(lambda s: raw % s)
    printed = udi_codes.parse(raw % "Z1", "print", TODAY)
    past = udi_codes.parse(raw % "Z1", "read", "2020-01-01")
    assert not printed["valid"] and [e["code"] for e in printed["errors"]] == ["dd00_date", "dd00_date"]
    assert [w["code"] for w in past["warnings"]] == ["dd00_date", "dd00_date"]
    assert udi_codes.parse(raw % "Z2", "read", TODAY)["valid"]


def test_changing_a_result_changes_nothing_handed_out_later():
    _lot(lambda s: LOT_PREFIX + s)
    raws = [LOT_PREFIX + "Q1", "]E06901234567892", "]E06901234567892"]
    for raw in raws:
        res = udi_codes.parse(raw, "read", TODAY)
        clean = json.dumps(res)
        res["elements"][0]["value"] = "tampered"
        res["elements"].append({"ai": "99", "title": "x", "value": "x"})
        res["pi"]["lot"] = "tampered"
        res["warnings"].append({"code": "x", "message": "x", "at": None})
        res["notes"].append({"code": "x", "message": "x", "at": None})
        assert json.dumps(udi_codes.parse(raw, "read", TODAY)) == clean, raw


def test_a_failing_shortcut_never_fails_a_read(monkeypatch):
    raw = LOT_PREFIX + "F1"
    cold = json.dumps(udi_codes.parse(raw, "read", TODAY))

    def broken(*args):
        raise RuntimeError("shortcut broken")

    for name in ("result", "learn"):
        monkeypatch.setattr(gs1_items, name, broken)
        monkeypatch.setattr(repeats, name, broken)
    for _ in range(3):
        assert json.dumps(udi_codes.parse(raw, "read", TODAY)) == cold
