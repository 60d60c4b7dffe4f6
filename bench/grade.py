"""Print-quality grading time per label, against a plain zxing-cpp decode of
the same image in the same run.

    .venv/bin/python bench/grade.py [--repeat 30]

The labels are the shipped templates (udi-item-dm: GS1 DataMatrix;
case-sscc: GS1-128) rendered at 300 dpi as the virtual printer renders
them.  The last line is a JSON object with ms_2d, ms_linear, decode_ms_2d,
decode_ms_linear and ratio (grade time ÷ plain decode time, 2D)."""

import argparse
import io
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import zxingcpp  # noqa: E402
from PIL import Image  # noqa: E402

from gateway.printing import render, templates  # noqa: E402
from gateway.quality.grade import grade_image  # noqa: E402
from gateway.quality.reflectance import to_gray  # noqa: E402

TODAY = "2026-11-22"
LABELS = {
    "2d": ("udi-item-dm", {"gtin": "06901234567892", "lot": "L2026A", "expiry": "2028-10-31", "serial": "SN000123",
                           "product_name": "一次性使用无菌注射器", "reg_no": "国械注准20173151234"}),
    "linear": ("case-sscc", {"sscc": "069012340000000016", "content": "06901234567892", "count": 10,
                             "product_name": "一次性使用无菌注射器"}),
}


def label_image(name, fields, dpi=300):
    t = templates.load(name)
    png = render.png(t.render(fields, dpi, TODAY), dpi, t.width_mm, t.height_mm)[0]
    return Image.open(io.BytesIO(png)).convert("L"), t.encoded_data(fields, TODAY)


def best_ms(fn, repeat):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ms = (time.perf_counter() - t) * 1000
        best = ms if best is None else min(best, ms)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    out = {}
    for kind, (name, fields) in LABELS.items():
        img, expected = label_image(name, fields)
        gray = np.asarray(img)
        result = grade_image(img, dpi=300, expect=expected, today=TODAY)[0]
        assert result["match"], result
        decode = best_ms(lambda: zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain), args.repeat)
        grade = best_ms(lambda: grade_image(img, dpi=300, expect=expected, today=TODAY), args.repeat)
        out["ms_" + kind] = round(grade, 2)
        out["decode_ms_" + kind] = round(decode, 2)
        print("%-6s %-12s %dx%d px: grade %.1f ms (best of %d), plain decode %.1f ms; %s %s" % (
            kind, name, img.width, img.height, grade, args.repeat, decode, result["overall"]["notation"], result["decoded"][:3]))
    out["ratio"] = round(out["ms_2d"] / out["decode_ms_2d"], 2)
    out["ratio_linear"] = round(out["ms_linear"] / out["decode_ms_linear"], 2)
    out["machine"] = "%s, %d cores (one used)" % (platform.machine(), os.cpu_count())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
