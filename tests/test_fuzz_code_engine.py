"""Fuzzing the code engine (fuzz/code_engine.py has the oracle): any text or
bytes, steered into every scheme by its prefixes, gives the engine's own
result with known, bilingual codes and a stable verdict.  The long form is
bench/fuzz.py (UDI_FUZZ_PROFILE=long, and the atheris harness)."""

from hypothesis import given
from hypothesis import strategies as st

from fuzz import code_engine
from fuzz.budget import fuzz_settings

# Characters the schemes give meaning to, mixed into arbitrary text.
SIGNIFICANT = list("0123456789()+$/.%\x1d\x1e\x04^|?=&:-_ABCDEFGHIJKLMNOPQRSTUVWXYZ#\u00e9批号")
TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from(SIGNIFICANT), max_size=80)


@fuzz_settings(400)
@given(prefix=st.sampled_from(code_engine.PREFIXES), body=TEXT, profile=st.sampled_from(["read", "print"]))
def test_any_text(prefix, body, profile):
    code_engine.check(prefix + body, profile)


@fuzz_settings(200)
@given(prefix=st.sampled_from(code_engine.PREFIXES), body=st.binary(max_size=60))
def test_any_bytes(prefix, body):
    # What a serial-port scanner hands over: bytes, UTF-8 or not.
    code_engine.check(prefix.encode() + body)


@fuzz_settings(100)
@given(data=st.binary(max_size=80))
def test_the_harness_input_mapping(data):
    # The atheris harness's own entry, so bench/fuzz.py runs what CI runs.
    code_engine.one_input(data)


def test_seeds_are_the_test_vectors():
    seeds = code_engine.seeds()
    assert len(seeds) > 500
    assert any(b"]d201069012345678921727123110LOT2024A\x1d21SN0001" in s for s in seeds)
    for s in seeds[:200]:
        code_engine.one_input(s)
