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


def bundle():
    # Build the firmware bundle once per process into a temp dir.
    global _bundle
    if _bundle is None:
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        import build_firmware

        d = tempfile.mkdtemp(prefix="udi-firmware-")
        build_firmware.build(d)
        _bundle = d
    return _bundle


def command(script, heap="100K"):
    return [micropython(), "-X", "heapsize=" + heap, script]


def env(extra_paths=()):
    path = [bundle()] + list(extra_paths) + [".frozen"]  # .frozen: asyncio and the built-in libraries
    return dict(os.environ, MICROPYPATH=":".join(path))


def popen(script, heap="100K", extra_paths=(), **kw):
    return subprocess.Popen(command(script, heap), env=env(extra_paths), cwd=bundle(), **kw)
