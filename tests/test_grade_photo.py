"""Camera-like images: a rendered label photographed at an angle, under
uneven light, with sensor noise and JPEG compression, in a larger frame.
The grader must find, decode, match and grade it without error (grades may
drop — a photo is not a verifier's image — but nothing may crash, and the
data must still match byte for byte)."""

import io

import numpy as np
import pytest

pytest.importorskip("zxingcpp")
pytest.importorskip("zplkit")

from PIL import Image  # noqa: E402

from conftest import TODAY  # noqa: E402
from gateway.printing import render, templates  # noqa: E402
from gateway.quality.grade import grade_image  # noqa: E402

FIELDS = {"gtin": "06901234567892", "lot": "L2026A", "expiry": "2028-10-31", "serial": "SN000123",
          "product_name": "一次性使用无菌注射器", "reg_no": "国械注准20173151234"}


def photo(label, tilt=0.04, light=0.35, noise=6.0, quality=80, seed=1):
    rng = np.random.default_rng(seed)
    w, h = label.size
    frame = Image.new("L", (int(w * 1.4), int(h * 1.4)), 90)  # the conveyor behind the label
    frame.paste(label, (int(w * 0.2), int(h * 0.2)))
    W, H = frame.size
    # a slight perspective: the camera looks at the label from above and to one side
    coeffs = (1 + tilt, tilt * 0.5, -tilt * W * 0.3, tilt * 0.3, 1 - tilt * 0.5, 0, tilt * 1e-4, -tilt * 5e-5)
    frame = frame.transform((W, H), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR, fillcolor=90)
    arr = np.asarray(frame).astype(np.float64)
    ramp = 1.0 - light * np.linspace(0, 1, W)[None, :]  # a lamp on one side
    arr = arr * ramp + rng.normal(0, noise, arr.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB").save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize("seed,tilt,light", [(1, 0.0, 0.2), (2, 0.03, 0.35), (3, 0.05, 0.5)])
def test_photographed_labels_decode_match_and_grade(seed, tilt, light):
    t = templates.load("udi-item-dm")
    png = render.png(t.render(FIELDS, 300, TODAY), 300, t.width_mm, t.height_mm)[0]
    expected = t.encoded_data(FIELDS, TODAY)
    img = photo(Image.open(io.BytesIO(png)).convert("L"), tilt=tilt, light=light, seed=seed)
    results = grade_image(img, dpi=300, expect=expected, today=TODAY)
    dm = [r for r in results if r["decoded"] and r["decoded"].startswith("]d2")]
    assert dm, results
    r = dm[0]
    assert r["match"] is True and r["valid"] is True
    assert 0.0 <= r["overall"]["grade"] <= 4.0 and r["relative"] is True
    assert set(r["parameters"]) >= {"decode", "symbol_contrast", "modulation", "reflectance_margin", "fixed_pattern_damage",
                                    "axial_nonuniformity", "grid_nonuniformity", "unused_error_correction", "print_growth"}
    # uneven light lowers contrast against the clean label, never raises it
    clean = grade_image(Image.open(io.BytesIO(png)), dpi=300, expect=expected, today=TODAY)[0]
    assert r["parameters"]["symbol_contrast"]["value"] <= clean["parameters"]["symbol_contrast"]["value"] + 1.0
