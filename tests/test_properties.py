"""Property tests: elements -> scan data / HRI / Digital Link -> parse ->
the same elements; and fuzzing: any input gives the engine's own result."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import udi_codes
from conftest import TODAY
from udi_codes import checkchars, gs1

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"


@st.composite
def gtin14(draw):
    body = draw(st.text(DIGITS, min_size=13, max_size=13))
    return body + checkchars.gs1_mod10(body)


@st.composite
def yymmdd(draw):
    # Real days only (day 00 is a healthcare warning, tested elsewhere).
    yy = draw(st.integers(0, 99))
    mm = draw(st.integers(1, 12))
    dd = draw(st.integers(1, 28))
    return "%02d%02d%02d" % (yy, mm, dd)


@st.composite
def udi_pairs(draw):
    pairs = [("01", draw(gtin14()))]
    for ai in ("11", "17"):
        if draw(st.booleans()):
            pairs.append((ai, draw(yymmdd())))
    if draw(st.booleans()):
        pairs.append(("10", draw(st.text(CSET82, min_size=1, max_size=20))))
    if draw(st.booleans()):
        pairs.append(("21", draw(st.text(CSET82, min_size=1, max_size=20))))
    if draw(st.booleans()):
        pairs.append(("240", draw(st.text(CSET82, min_size=1, max_size=30))))
    if draw(st.booleans()):
        pairs.append(("30", draw(st.text(DIGITS, min_size=1, max_size=8))))
    # The order of elements in a symbol is free; keep 01 first sometimes.
    rest = pairs[1:]
    rest = draw(st.permutations(rest)) if rest else rest
    return [pairs[0]] + list(rest) if draw(st.booleans()) else list(rest) + [pairs[0]]


@st.composite
def logistic_pairs(draw):
    body = draw(st.text(DIGITS, min_size=17, max_size=17))
    pairs = [("00", body + checkchars.gs1_mod10(body)), ("02", draw(gtin14())), ("37", draw(st.text(DIGITS, min_size=1, max_size=8)))]
    return pairs


def elements(res):
    return [(e["ai"], e["value"]) for e in res["elements"]]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.one_of(udi_pairs(), logistic_pairs()), sym=st.sampled_from(["]d2", "]C1", "]Q3", "]e0", "]J1"]))
def test_scan_data_round_trip(pairs, sym):
    res = udi_codes.parse(gs1.to_scan_data(pairs, sym), today=TODAY)
    assert res["valid"], res["errors"]
    assert elements(res) == pairs
    assert res["symbology"] == sym


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.one_of(udi_pairs(), logistic_pairs()))
def test_hri_round_trip(pairs):
    res = udi_codes.parse(gs1.to_hri(pairs), today=TODAY)
    assert res["valid"], res["errors"]
    assert elements(res) == pairs
    assert res["hri"] == gs1.to_hri(pairs)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=udi_pairs(), carrier=st.sampled_from(["", "]Q1", "]d1"]))
def test_digital_link_round_trip(pairs, carrier):
    uri = gs1.to_dl_uri(pairs)
    res = udi_codes.parse(carrier + uri, today=TODAY)
    assert res["valid"], res["errors"]
    assert sorted(elements(res)) == sorted(pairs)
    assert res["dl_uri"] == uri


@settings(max_examples=200)
@given(pairs=udi_pairs())
def test_the_three_forms_agree(pairs):
    a = udi_codes.parse(gs1.to_scan_data(pairs), today=TODAY)
    b = udi_codes.parse(gs1.to_hri(pairs), today=TODAY)
    c = udi_codes.parse(gs1.to_dl_uri(pairs), today=TODAY)
    for key in ("di", "pi", "package_level", "dl_uri", "valid"):
        assert a[key] == b[key] == c[key], key


PREFIXES = ["", "]d2", "]C1", "]Q3", "]e0", "]E0", "]E4", "]I1", "]d1", "]Q1", "]C0", "]A0", "]XX", "(", "+", "+$$", "MA.", "MF", "8", "X", "C", "https://id.gs1.org/01/", "]Q1http://x/"]
FUZZ_KEYS = {"raw", "scheme", "symbology", "valid", "errors", "warnings", "notes", "elements", "di", "pi", "hri", "dl_uri", "package_level"}


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(PREFIXES), body=st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF) | st.sampled_from(list("0123456789()+$/.%\x1d^|?=&")), max_size=60))
def test_fuzz_never_raises(prefix, body):
    res = udi_codes.parse(prefix + body, today=TODAY)
    assert set(res) == FUZZ_KEYS
    assert not [e for e in res["errors"] if e["code"] == "internal_error"], res["errors"]
    assert res["valid"] is (not res["errors"])
    assert res["scheme"] in ("gs1", "hibc", "ma", "ahm", "cn-drug", "nhsa-drug", "nhsa-consumable", "unknown")
    json.dumps(res)  # results always serialise


@settings(max_examples=500)
@given(data=st.binary(max_size=40))
def test_fuzz_bytes_input(data):
    res = udi_codes.parse(data, today=TODAY)
    assert not [e for e in res["errors"] if e["code"] == "internal_error"]
    json.dumps(res)
