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


def run(script, stdin="", heap="100K", path=(ROOT,), timeout=120):
    env = dict(os.environ, MICROPYPATH=":".join(path))
    return subprocess.run(
        [binary(), "-X", "heapsize=" + heap, script],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )
