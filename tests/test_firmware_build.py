"""Static gate: every file the handheld ships compiles with mpy-cross for the
ESP32 (xtensawin), and the ROMFS image holds them all."""

import os
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_firmware  # noqa: E402


def test_every_shipped_file_compiles_and_lands_in_the_romfs_image(tmp_path):
    out = str(tmp_path / "firmware")
    built = build_firmware.build(out)
    shipped = list(build_firmware.firmware_files())
    assert len(shipped) >= 20
    for rel in shipped:
        target = rel[:-3] + ".mpy" if rel.endswith(".py") and os.path.basename(rel) not in build_firmware.AS_SOURCE else rel
        assert os.path.exists(os.path.join(out, target)), rel
    assert any(p.endswith(os.path.join("udi_codes", "gs1.mpy")) for p in built)
    assert not any("messages" in p or "gs1_ai_titles" in p for p in built)  # gateway-only modules stay out
    image = build_firmware.build_romfs(out, str(tmp_path / "firmware.romfs"))
    data = open(image, "rb").read()
    assert len(data) > 50000
    for name in (b"app.mpy", b"mqttc.mpy", b"outbox.mpy", b"gs1.mpy", b"precheck.mpy"):
        assert name in data
    # Mounted on the MicroPython VM: the modules are there; main.py and
    # config.json stay on the writable filesystem.
    from micropython_vm import binary, run

    if binary() is not None:
        script = tmp_path / "ls.py"
        script.write_text(
            "import os, vfs\nvfs.mount(vfs.VfsRom(bytearray(open(%r, 'rb').read())), '/rom')\n"
            "print(sorted(os.listdir('/rom')))\nprint(sorted(os.listdir('/rom/udi_codes')))\n" % image
        )
        p = run(str(script), heap="1M", path=(str(tmp_path),))
        top, engine = [eval(line) for line in p.stdout.splitlines()[:2]]
        assert "app.mpy" in top and "udi_codes" in top and "engines" in top
        assert "main.py" not in top and "config.json" not in top
        assert "gs1.mpy" in engine and "messages.mpy" not in engine
