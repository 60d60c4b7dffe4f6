"""Run code on the real MicroPython VM (the unix port from PyPI)."""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binary():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(here):
        return here
    return shutil.which("micropython")


def run(script, stdin="", heap="100K", path=(ROOT,), timeout=120, cwd=None):
    # cwd matters: the VM looks in the current directory first, so a run
    # against the .mpy build must not start in the repository root.
    env = dict(os.environ, MICROPYPATH=":".join(list(path) + [".frozen"]))
    return subprocess.run(
        [binary(), "-X", "heapsize=" + heap, script],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=cwd or path[0],
    )


_engine_dir = None


def engine_mpy_dir():
    # The engine compiled to .mpy as the firmware ships it (built once per
    # test session): importing .py on the VM would measure the compiler.
    global _engine_dir
    if _engine_dir is None:
        import tempfile

        sys.path.insert(0, os.path.join(ROOT, "tools"))
        import build_mpy

        d = tempfile.mkdtemp(prefix="udi-engine-mpy-")
        build_mpy.build(d)
        _engine_dir = d
    return _engine_dir


def run_engine_code(code, heap="256K", timeout=60):
    # Python source run on the VM against the engine's .mpy build.
    import tempfile

    d = engine_mpy_dir()
    with tempfile.NamedTemporaryFile("w", suffix=".py", dir=d, delete=False) as f:
        f.write(code)
    try:
        return run(f.name, heap=heap, path=(d,), timeout=timeout)
    finally:
        os.remove(f.name)
