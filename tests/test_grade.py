"""`udi-edge grade` and grade_image: decode, byte-for-byte data match
(AIM identifier, GS), the code engine's verdict, overall grade in GS1
notation, X-dimension against GS1's healthcare table."""

import io
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("zxingcpp")
pytest.importorskip("zplkit")

from PIL import Image  # noqa: E402

from conftest import ROOT, TODAY  # noqa: E402
from gateway.printing import render, templates  # noqa: E402
from gateway.quality.grade import expected_scan_data, grade_image  # noqa: E402

CASE = {"sscc": "069012340000000016", "content": "06901234567892", "count": 10, "product_name": "注射器"}
SCAN = "]C1000690123400000000160206901234567892\x1d3710"


def label(name="case-sscc", fields=CASE, dpi=300):
    t = templates.load(name)
    png = render.png(t.render(fields, dpi, TODAY), dpi, t.width_mm, t.height_mm)[0]
    return Image.open(io.BytesIO(png)), t.encoded_data(fields, TODAY)


def test_a_good_gs1_128_label_grades_high_and_matches():
    img, expected = label()
    (r,) = grade_image(img, dpi=300, expect=expected, today=TODAY)
    assert r["decoded"] == expected and r["match"] is True and r["valid"] is True
    assert r["overall"]["grade"] >= 3.5 and r["overall"]["letter"] == "A"
    assert r["overall"]["notation"].endswith("/660") and r["overall"]["passes"]
    assert set(r["parameters"]) == {"decode", "rmin_rmax", "symbol_contrast", "edge_contrast", "modulation",
                                    "defects", "decodability", "quiet_zone"}
    assert r["x_dimension_ok"] is True and r["quiet_zone_ok"] is True


def test_expect_as_hri_is_turned_into_scan_data():
    assert expected_scan_data("(00)069012340000000016(02)06901234567892(37)10", "]C1") == "]C1000690123400000000160206901234567892" + "3710"
    img, expected = label()
    (r,) = grade_image(img, dpi=300, expect="(00)069012340000000016(02)06901234567892(37)10", today=TODAY)
    assert r["match"] is True


def test_wrong_data_fails_however_well_printed():
    img, _ = label()
    (r,) = grade_image(img, dpi=300, expect="(00)069012340000000023(02)06901234567892(37)10", today=TODAY)
    assert r["match"] is False and r["overall"]["grade"] == 0.0 and not r["overall"]["passes"]


def test_no_symbol_is_a_clear_failure():
    (r,) = grade_image(Image.new("L", (400, 300), 255), dpi=300, expect=SCAN)
    assert r["decoded"] is None and r["overall"]["grade"] == 0.0 and r["error"]


def test_cli_exit_code_and_json(tmp_path):
    img, expected = label()
    good = tmp_path / "good.png"
    img.save(good)
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 200), 255).save(blank)
    env = dict(os.environ, PYTHONPATH=ROOT)
    run = subprocess.run([sys.executable, "-m", "gateway.cli", "grade", str(good), "--dpi", "300", "--json",
                          "--expect", expected, "--today", TODAY], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.splitlines()[0])
    assert out["match"] is True and out["image"] == str(good)
    bad = subprocess.run([sys.executable, "-m", "gateway.cli", "grade", str(blank)], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1
