"""Fuzzing the operator panel's forms (fuzz/panel_forms.py has the rig and
the oracle), as an admin, on SQLite and PostgreSQL: every POST form the
panel's pages show, found by following its links, posted with its fields
kept, left out, sent twice, replaced by any text, number, markup, ZPL or
format string, a random file, or a body that is not UTF-8 — no 5xx, no
exception, no traceback logged, nothing echoed as markup, and the panel
still works.  The long form is bench/fuzz.py."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz import panel_forms as P
from fuzz.budget import fuzz_settings

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",))
               | st.sampled_from(list("^~_<>&\"'{}%\x00\x1d\r\n\u202e")), max_size=40)
SPECIAL = st.sampled_from([
    P.MARK, "^XA^FDx^FS^XZ", "~JA", "{0.__class__}", "{lot.__class__.__mro__}", "{{7*7}}", "%s%n",
    "../../etc/passwd", "-1", "0", "1e309", "nan", "99999999999999999999999", "2026-02-30", "9999-12-31",
    "", " ", "\x00", "A" * 5000, "9" * 400, "127.0.0.1", "10.0.0.0/8", "::1", "line1", "admin", "viewer",
])
VALUE = TEXT | SPECIAL | st.builds(lambda a, b: a + P.MARK + b, TEXT, TEXT) | st.integers().map(str)
FORMS_MIN = 15  # the panel has more POST forms than this; fewer found means the crawl broke


@pytest.fixture
def rig(db_url):
    r = P.PanelRig(db_url)
    yield r
    r.close()


def mutated(data, form):
    fields, files = [], {}
    for name, value, kind, options in form["fields"]:
        if name == "csrf":
            fields.append((name, "<csrf>"))  # the session's token: the case reaches the form's own checks
            continue
        how = data.draw(st.sampled_from(["keep", "drop", "value", "twice"] + (["option"] if options else [])))
        if kind == "file":
            if how != "drop":
                files[name] = ("fuzz.csv", data.draw(st.binary(max_size=300)), "text/csv")
        elif how == "keep" and value is not None:
            fields.append((name, value))
        elif how == "value":
            fields.append((name, data.draw(VALUE)))
        elif how == "twice":
            fields += [(name, data.draw(VALUE)), (name, value or "")]
        elif how == "option":
            fields.append((name, data.draw(st.sampled_from(options))))
    if data.draw(st.booleans()):
        fields.append((data.draw(st.text(st.characters(codec="ascii"), min_size=1, max_size=8)), data.draw(VALUE)))
    return fields, files


def test_every_form_of_the_panel(rig):
    assert len(rig.forms) >= FORMS_MIN, [f["action"] for f in rig.forms]
    for form in rig.forms:

        @fuzz_settings(8)
        @given(data=st.data())
        def one(data):
            fields, files = mutated(data, form)
            P.check(rig, form, P.post(rig, form, fields, files=files or None))

        one()


HOSTILE = ("", "x\x00" + P.MARK, "-99999999999999999999")  # empty; not a number, NUL and markup; a huge negative


def test_each_field_alone_with_hostile_values(rig):
    # Every field of every form in turn, the others as the page filled them:
    # a field that is parsed without a guard (int(), a date, a lookup) fails here
    # whatever the random cases above happened to draw.
    for form in rig.forms:
        for i, (name, _, kind, _) in enumerate(form["fields"]):
            if name == "csrf" or kind == "file":
                continue
            for bad in HOSTILE:
                fields = [(n, "<csrf>" if n == "csrf" else (bad if k == i else v)) for k, (n, v, kd, _) in
                          enumerate(form["fields"]) if v is not None and kd != "file"]
                P.check(rig, form, P.post(rig, form, fields), revisit=False)


def test_markup_in_every_field_comes_back_escaped(rig):
    # Each form with markup in all of its fields at once: appended to the
    # current value (so the rest of the form stays as valid as it was), and
    # alone.  Whatever page answers, or shows what was stored, escapes it.
    for form in rig.forms:
        for make in (lambda v: (v or "") + P.MARK, lambda v: P.MARK):
            fields = [(n, "<csrf>" if n == "csrf" else make(v)) for n, v, kind, _ in form["fields"] if kind != "file"]
            P.check(rig, form, P.post(rig, form, fields))


def test_a_body_that_is_not_utf8_is_refused_in_words(rig):
    for form in rig.forms:
        rig.session_ok()
        names = [f[0] for f in form["fields"] if f[0] != "csrf"] or ["x"]
        raw = ("csrf=%s&" % rig.csrf).encode() + "&".join("%s=%%FF%%FE%%00" % n for n in names).encode() + b"&\xff\xfe=\xc3"
        P.check(rig, form, P.post(rig, form, [], raw=raw))


def test_the_crawl_finds_the_forms_that_change_things(rig):
    # The oracle is only as good as the forms found: the ones an admin uses most.
    actions = {f["action"] for f in rig.forms}
    for must in ("/panel/jobs", "/panel/printers", "/panel/printers/discover", "/panel/users/add",
                 "/panel/templates/udi-item-dm", "/panel/products/mappings/check"):
        assert must in actions, sorted(actions)
    assert any(a.startswith("/panel/jobs/%d/" % rig.job_id) for a in actions), sorted(actions)
