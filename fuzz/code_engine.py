"""Target: the code engine, udi_codes.parse(), on any bytes or text.

What must hold for every input: parse() returns (never raises), the result
is the engine's own shape and serialises, no internal_error, the verdict
is stable (the same input twice, the handheld's lean pre-check, bytes and
their decoded text agree), and every error, warning and note is a code of
the catalogue with a message in Chinese and in English.

atheris: python -m fuzz.code_engine [libFuzzer options] [corpus dirs]"""

import json

import udi_codes
from fuzz import harness
from fuzz.budget import count
from udi_codes import messages

TARGET = "code_engine"
TODAY = "2026-11-22"  # a fixed reference date: verdicts must not depend on the day

# Heads that steer the input into each scheme's parser: AIM identifiers and
# the shapes the dispatcher routes on.
PREFIXES = ["", "]d2", "]C1", "]Q3", "]e0", "]E0", "]E4", "]I1", "]d1", "]Q1", "]C0", "]A0", "]XX", "(", "(01)",
            "01", "+", "+$$", "+$", "MA.", "MA.156.", "MF", "8", "X", "Z", "C", "https://id.gs1.org/01/",
            "]Q1http://x/", "HTTP://", "]d2\x1d", "]C1" + "0" * 16]
SCHEMES = {"gs1", "hibc", "ma", "ahm", "cn-drug", "nhsa-drug", "nhsa-consumable", "unknown"}
KEYS = {"raw", "scheme", "symbology", "valid", "errors", "warnings", "notes", "elements", "di", "pi", "hri",
        "dl_uri", "package_level"}


def check(raw, profile="read"):
    """Parse `raw` (str or bytes) and assert everything the engine promises."""
    count(TARGET)
    res = udi_codes.parse(raw, profile, TODAY)
    assert set(res) == KEYS, sorted(res)
    assert res["scheme"] in SCHEMES, res["scheme"]
    assert res["valid"] is (not res["errors"])
    assert not [e for e in res["errors"] if e["code"] == "internal_error"], res["errors"]
    for kind in ("errors", "warnings", "notes"):
        for entry in res[kind]:
            assert entry["code"] in messages.CATALOGUE, entry
            assert isinstance(entry["message"], str) and entry["message"], entry
            zh, en = messages.describe(entry, "zh"), messages.describe(entry, "en")
            assert zh.startswith(messages.CATALOGUE[entry["code"]][messages.ZH]) and en, entry
    json.dumps(res)
    # Stable: the same input gives the same result.
    assert udi_codes.parse(raw, profile, TODAY) == res
    if profile == "read":
        # The handheld's pre-check gives the gateway's verdict and error codes.
        lean = udi_codes.parse(raw, profile, TODAY, lean=True)
        assert lean["valid"] is res["valid"] and [e["code"] for e in lean["errors"]] == [e["code"] for e in res["errors"]], (lean["errors"], res["errors"])
    if isinstance(raw, (bytes, bytearray)):
        assert udi_codes.parse(res["raw"], profile, TODAY)["errors"] == res["errors"]
    return res


def from_bytes(data):
    """One fuzz input -> (raw, profile): the first byte picks a prefix, the
    second the form (text, or bytes as a scanner's serial port gives them)
    and the profile; the rest is the body."""
    if len(data) < 2:
        return data, "read"
    prefix = PREFIXES[data[0] % len(PREFIXES)]
    body = data[2:]
    profile = "print" if data[1] & 1 else "read"
    if data[1] & 2:
        return prefix.encode() + body, profile
    return prefix + body.decode("utf-8", "surrogatepass" if data[1] & 4 else "replace"), profile


def one_input(data):
    try:
        raw, profile = from_bytes(data)
    except UnicodeDecodeError:
        return
    check(raw, profile)


def seeds():
    """Seed inputs for a fresh corpus: the project's test vectors."""
    import csv
    import os

    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "vectors")
    out = []
    for name in sorted(os.listdir(here)):
        if name.endswith(".tsv"):
            with open(os.path.join(here, name), encoding="utf-8") as f:
                col = 1 if name.startswith("gse") else 0
                for row in csv.reader(f, delimiter="\t"):
                    if len(row) > col and row[0] not in ("raw_string", "kind") and not row[0].startswith("#"):
                        text = row[col].replace("\\x1d", "\x1d")
                        out.append(b"\x00\x00" + text.encode("utf-8", "replace"))
    return out


def main(argv=None):
    harness.fuzz(one_input, argv)


if __name__ == "__main__":
    main()
