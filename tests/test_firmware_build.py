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


def test_the_simulators_modules_run_from_their_own_rom_image(tmp_path):
    # What stands in for the device's ROM-resident board and main.py must not
    # take the heap the firmware is measured in: the sim modules load from a
    # second image (/sim), the firmware from /rom, and a sim script given by
    # path runs as a module from the image.
    import subprocess

    import pytest
    from micropython_vm import binary

    from gateway.sim import vm

    if binary() is None:
        pytest.skip("needs the MicroPython VM")
    cmd = vm.command(os.path.join(vm.SIM_MP, "handhelds.py"), "100K")
    assert cmd[-1] == "handhelds"  # imported from the image, not compiled into the heap
    images = cmd[-2].split(":")
    assert images == [vm.romfs_image(), vm.sim_image()]
    assert cmd[2] == "heapsize=%d" % (100 * 1024 + sum(os.path.getsize(i) for i in images) + 4096)
    script = tmp_path / "where.py"
    script.write_text("import simboard, app\nprint(simboard.__file__, app.__file__)\n")
    p = subprocess.run(vm.command(str(script), "100K"), env=vm.env((vm.SIM_MP,)), cwd=vm.bundle(),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["/sim/simboard.mpy", "/rom/app.mpy"]
