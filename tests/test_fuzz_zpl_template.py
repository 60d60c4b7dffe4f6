"""Fuzzing the label template renderer (fuzz/zpl_template.py has the
oracle): every field of every template in printer_templates/, at every dpi,
with any value — ZPL commands and prefixes, the ^FH / ^BX / ^BC escape
characters, control characters, lone surrogates, non-text values — is
either refused with a rule or printed inside its own field: the ZPL keeps
exactly the template's commands, text is ^FH-escaped and reads back as
the value."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz import zpl_template as Z
from fuzz.budget import fuzz_settings
from gateway.printing import templates as T

TEMPLATES = Z.shipped()
FIELDS = [(t.name, f) for t in TEMPLATES for f in sorted(t.fields)]
BY_NAME = {t.name: t for t in TEMPLATES}

TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from(list("^~_>\\%{}\x00\x1d\r\n\u2028\x85")), max_size=40)
VALUES = (TEXT
          | st.sampled_from(Z.INJECTIONS)
          | st.builds(lambda a, b, c: a + b + c, TEXT, st.sampled_from(Z.INJECTIONS), TEXT)
          | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(codec="ascii"), max_size=6)
          | st.none() | st.booleans() | st.integers() | st.floats() | st.dates()
          | st.lists(st.text(max_size=3), max_size=2) | st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2))


def test_the_base_fields_print_on_every_template():
    # Otherwise every fuzzed label would be refused for another field and the fuzzing would prove nothing.
    assert {t.name for t in TEMPLATES} >= {"udi-item-dm", "udi-item-128", "case-sscc", "drug-20", "ma-qr", "hibc"}
    for t in TEMPLATES:
        for dpi in t.dpis:
            assert Z.check(t, Z.base_fields(t), dpi) is not None, (t.name, dpi)


@pytest.mark.parametrize("name,field", FIELDS)
@fuzz_settings(12)
@given(data=st.data())
def test_any_value_in_every_field(name, field, data):
    t = BY_NAME[name]
    fields = Z.base_fields(t)
    fields[field] = data.draw(VALUES, label=field)
    Z.check(t, fields, data.draw(st.sampled_from(t.dpis), label="dpi"))


@fuzz_settings(60)
@given(data=st.data())
def test_any_values_in_all_fields_at_once(data):
    t = data.draw(st.sampled_from(TEMPLATES), label="template")
    fields = {f: data.draw(st.just(v) | VALUES, label=f) for f, v in Z.base_fields(t).items()}
    if data.draw(st.booleans(), label="extra field"):
        fields[data.draw(st.text(max_size=8), label="name")] = data.draw(VALUES, label="extra")
    Z.check(t, fields, data.draw(st.sampled_from(t.dpis), label="dpi"))


@fuzz_settings(60)
@given(data=st.binary(max_size=60))
def test_the_harness_input_mapping(data):
    Z.one_input(data)


def test_injections_print_as_text():
    # The printer prints exactly the value: ^XZ^XA ... inside a text field is text.
    t = BY_NAME["udi-item-dm"]
    for value in ("^XZ^XA^FDpwned^FS", "~JA", "注射器^FS~DGR:X", "_5E", "{{hri}}", "100%"):
        assert Z.check(t, dict(Z.base_fields(t), product_name=value), 300) is not None, value


def test_a_lone_surrogate_is_refused():
    # Found: a lone surrogate (JSON "\ud800") in a text field raised UnicodeEncodeError from render().
    t = BY_NAME["udi-item-dm"]
    for value in ("\ud800", "注射器\udcff"):
        problems = t.check(dict(Z.base_fields(t), product_name=value), 300, Z.TODAY)
        assert [(p["field"], p["rule"]) for p in problems] == [("product_name", "control_character")]
        with pytest.raises(T.TemplateError):
            t.render(dict(Z.base_fields(t), product_name=value), 300, Z.TODAY)


def test_non_text_values_are_refused_with_the_field():
    t = BY_NAME["case-sscc"]
    for field, value in (("count", 1.5), ("count", True), ("sscc", 6901234500000001), ("product_name", ["a"]),
                         ("product_name", datetime.date(2026, 1, 1))):
        problems = t.check(dict(Z.base_fields(t), **{field: value}), 300, Z.TODAY)
        assert (field, "field_type") in {(p["field"], p["rule"]) for p in problems}, (field, value)
