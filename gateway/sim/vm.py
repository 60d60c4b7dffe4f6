"""The MicroPython VM (unix port) running the real firmware bundle: what the
simulators and `udi-edge sim precheck` use instead of an ESP32."""

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKES = os.path.join(ROOT, "tests", "mp_fakes")


def micropython():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    found = here if os.path.exists(here) else shutil.which("micropython")
    if not found:
        raise SystemExit("micropython (the unix port) is not installed: run scripts/setup.sh --test")
    return found


_bundle = None
BOOT_ROMFS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp", "romfs_boot.py")


def bundle():
    # Build the firmware bundle (and its ROMFS image, bundle/../firmware.romfs)
    # once per process into a temp dir.
    global _bundle
    if _bundle is None:
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        import build_firmware

        d = tempfile.mkdtemp(prefix="udi-firmware-")
        out = os.path.join(d, "firmware")
        build_firmware.build(out)
        build_firmware.build_romfs(out, romfs_image(out))
        _bundle = out
    return _bundle


def romfs_image(bundle_dir=None):
    return (bundle_dir or bundle()) + ".romfs"


def command(script, heap="100K", romfs=True):
    # With romfs (the default, as on the device) the firmware's modules are
    # imported from the ROMFS image mapped outside the GC heap, like the
    # ESP32's memory-mapped ROM partition; the script runs after mounting it.
    if romfs:
        image = romfs_image()
        return [micropython(), "-X", "heapsize=%d" % (heap_bytes(heap) + os.path.getsize(image) + 4096), BOOT_ROMFS, image, script]
    return [micropython(), "-X", "heapsize=" + heap, script]


def heap_bytes(heap):
    # "100K" / "64M" / "4096" -> bytes
    units = {"K": 1024, "M": 1024 * 1024}
    if heap[-1:].upper() in units:
        return int(heap[:-1]) * units[heap[-1:].upper()]
    return int(heap)


def env(extra_paths=()):
    path = [bundle()] + list(extra_paths) + [".frozen"]  # .frozen: asyncio and the built-in libraries
    return dict(os.environ, MICROPYPATH=":".join(path))


def popen(script, heap="100K", extra_paths=(), **kw):
    return subprocess.Popen(command(script, heap), env=env(extra_paths), cwd=bundle(), **kw)
