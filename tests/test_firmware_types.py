"""Static gate: mypy checks every file the handheld ships (firmware/ and the
engine as tools/build_mpy.py bundles it) against the MicroPython ESP32 stubs
(PyPI micropython-esp32-stubs and its micropython-stdlib-stubs), not against
CPython's standard library: an attribute the ESP32 does not have (hashlib's
sha512, a misspelt machine.Pin method) fails the test.

The stubs are arranged into a typeshed layout (stdlib/ + VERSIONS) in a temp
directory from the installed packages, as mypy's --custom-typeshed-dir wants.
Function bodies are checked although the firmware carries no annotations
(--check-untyped-defs); `# type: ignore[code]` in the firmware always says why.
"""

import os
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_firmware  # noqa: E402
import build_mpy  # noqa: E402

pytest.importorskip("mypy", reason="mypy is in the test extra (pyproject.toml)")

OPTIONS = [
    "--python-version", "3.11",
    "--check-untyped-defs",  # the firmware has no annotations: check the bodies anyway
    "--warn-unused-ignores",  # a suppression that no longer suppresses anything goes
    "--explicit-package-bases",
    # MicroPython code carries no annotations, so "need type annotation" for an
    # empty dict or list would ask for what the engine's rules forbid.
    "--disable-error-code", "var-annotated",
    "--no-error-summary", "--show-error-codes", "--no-pretty",
]


def stub_dir(dist, name):
    # A file or directory a stub package installed (site-packages/<name>).
    path = metadata.distribution(dist).locate_file(name)
    assert os.path.exists(path), "%s does not provide %s" % (dist, name)
    return str(path)


@pytest.fixture(scope="module")
def typeshed(tmp_path_factory):
    # micropython-stdlib-stubs: stdlib/ (with VERSIONS), _mpy_shed/, stubs/;
    # micropython-esp32-stubs: machine.pyi, network.pyi, gc.pyi, ... at the top.
    # mypy takes non-stdlib modules from a typeshed only when VERSIONS lists them.
    try:
        stdlib = stub_dir("micropython-stdlib-stubs", "stdlib")
        esp32_files = [str(f) for f in metadata.distribution("micropython-esp32-stubs").files if str(f).endswith(".pyi") and "/" not in str(f)]
    except metadata.PackageNotFoundError as e:
        pytest.fail("the MicroPython stubs are not installed (pip install -e '.[test]'): %s" % e)
    root = tmp_path_factory.mktemp("mp-typeshed")
    shutil.copytree(stdlib, root / "stdlib")
    shutil.copytree(stub_dir("micropython-stdlib-stubs", "stubs"), root / "stubs")  # mypy_extensions
    shutil.copytree(stub_dir("micropython-stdlib-stubs", "_mpy_shed"), root / "stdlib" / "_mpy_shed")
    added = ["_mpy_shed"]
    dist = metadata.distribution("micropython-esp32-stubs")
    for rel in esp32_files:
        name = rel[:-4]
        if not (root / "stdlib" / rel).exists() and not (root / "stdlib" / name).is_dir():
            shutil.copyfile(dist.locate_file(rel), root / "stdlib" / rel)
            added.append(name)
    with open(root / "stdlib" / "VERSIONS", "a") as f:
        f.write("".join("%s: 3.0-\n" % name for name in added))
    assert "machine" in added and "network" in added
    return root


def mypy(typeshed, files, search_path, tmp_path):
    env = dict(os.environ, MYPYPATH=os.pathsep.join(search_path))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--custom-typeshed-dir", str(typeshed), "--cache-dir", str(tmp_path / "cache")]
        + OPTIONS + files,
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )


def shipped_sources():
    firmware = [os.path.join("firmware", rel) for rel in build_firmware.firmware_files() if rel.endswith(".py")]
    engine = [os.path.join("udi_codes", name) for name in build_mpy.engine_sources()]
    return firmware + engine


def test_every_shipped_file_type_checks_against_the_esp32_stubs(typeshed, tmp_path):
    files = shipped_sources()
    assert "firmware/app.py" in files and "firmware/hw/buzzer.py" in files and "udi_codes/gs1.py" in files
    assert "udi_codes/messages.py" not in files  # gateway-only: not shipped, not checked here
    p = mypy(typeshed, files, [os.path.join(ROOT, "firmware"), ROOT], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_gate_reports_what_the_esp32_does_not_have(typeshed, tmp_path):
    # A deliberately wrong firmware file: both lines are fine on CPython's
    # typeshed (hashlib.sha512 exists there), so the errors prove that the
    # MicroPython stubs are in force.
    bad = tmp_path / "fw" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(
        "import hashlib\nimport machine\n\n\n"
        "def blink(n):\n"
        "    led = machine.Pin(2, machine.Pin.OUT)\n"
        "    led.valu(n)\n"
        "    return hashlib.sha512(b'x').digest()\n"
    )
    p = mypy(typeshed, [str(bad)], [str(bad.parent)], tmp_path)
    assert p.returncode == 1
    errors = [line for line in p.stdout.splitlines() if ": error:" in line]
    assert any("bad.py:7:" in e and "valu" in e and "[attr-defined]" in e for e in errors), p.stdout
    assert any("bad.py:8:" in e and "sha512" in e and "[attr-defined]" in e for e in errors), p.stdout
    assert len(errors) == 2, p.stdout
