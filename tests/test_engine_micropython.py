"""The engine gives the same answers on the MicroPython VM as on CPython,
run from .mpy as the firmware ships it: every vector on a roomy heap
(ESP32-S3 class), and the GS1 and drug-code vectors a UDI/drug handheld
mostly reads on an ESP32-like 100 KB heap (the 64-bit unix port is the
stricter of the two: its objects are larger than on the device)."""

import json
import os

import pytest

import udi_codes
from conftest import TODAY
from micropython_vm import ROOT, binary, engine_mpy_dir, run
from test_vectors import VECTORS

pytestmark = pytest.mark.skipif(binary() is None, reason="MicroPython VM not installed")

EXTRA = [
    "]C18006069012345678920102",
    "]E02112345678900|]e099COMPOSITE\x1d98XYZ",
    "(01)06901234567892(10)AB-12(21)S1",
    "0106901234567892",
    "6901234567892",
    "]d2010690123456789217270200",
    "+A99912345/$$812710X3/16D20111212/14D20200906/S77DEFG453",
]


def cpython_view(raw):
    res = udi_codes.parse(raw, "read", TODAY)
    return {
        "scheme": res["scheme"],
        "valid": res["valid"],
        "errors": sorted(e["code"] for e in res["errors"]),
        "warnings": sorted(w["code"] for w in res["warnings"]),
        "di": res["di"],
        "pi": res["pi"],
        "hri": res["hri"],
    }


def gs1_and_drug(raw):
    res = udi_codes.parse(raw, "read", TODAY)
    return res["scheme"] in ("gs1", "cn-drug") and not raw.startswith(("http", "]Q1", "]d1"))


@pytest.mark.parametrize("heap,subset", [("256K", "all"), ("100K", "gs1+drug")])
def test_same_verdicts_on_micropython(heap, subset):
    raws = [v[0] for v in VECTORS] + EXTRA
    if subset != "all":
        raws = [r for r in raws if gs1_and_drug(r)]
    stdin = "".join(json.dumps({"raw": r, "today": TODAY}) + "\n" for r in raws)
    proc = run(os.path.join(ROOT, "tests", "mp", "engine_batch.py"), stdin, heap=heap, path=(engine_mpy_dir(),))
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len(raws)
    for raw, line in zip(raws, lines):
        assert json.loads(line) == cpython_view(raw), raw
