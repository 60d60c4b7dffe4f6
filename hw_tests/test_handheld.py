"""On a real ESP32: deploy the firmware's ROMFS image with mpremote, then run
the pre-check conformance vectors on the device and compare with the
gateway's engine, and report the device's free heap and pre-check time."""

import json
import os
import subprocess
import sys
import tempfile

import udi_codes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def vectors():
    # shared/reference/codes.md §9, as the test suite keeps them
    rows = []
    with open(os.path.join(ROOT, "tests", "vectors", "codes_md.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith(("#", "raw_string\t")):
                rows.append(line.split("\t")[0].replace("\\x1d", "\x1d"))
    return rows
MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")

DEVICE_SCRIPT = """
import json, gc, time, sys
sys.path.insert(0, '/rom')
import precheck
raws = json.loads(%r)
out = []
t = time.ticks_us()
for r in raws:
    v = precheck.check(r)
    out.append([v[0], v[1], v[2]])
us = time.ticks_diff(time.ticks_us(), t) / len(raws)
gc.collect()
print(json.dumps({"verdicts": out, "precheck_us": us, "heap_free": gc.mem_free()}))
"""


def mpremote(port, *args, timeout=300):
    return subprocess.run([MPREMOTE, "connect", port, *args], capture_output=True, text=True, timeout=timeout)


def test_precheck_on_the_device_agrees_with_the_gateway(esp32):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import build_firmware

    out = tempfile.mkdtemp()
    build_firmware.build(os.path.join(out, "firmware"))
    image = build_firmware.build_romfs(os.path.join(out, "firmware"), os.path.join(out, "firmware.romfs"))
    deploy = mpremote(esp32, "romfs", "deploy", image)
    assert deploy.returncode == 0, deploy.stderr
    raws = vectors()
    script = os.path.join(out, "check.py")
    with open(script, "w") as f:
        f.write(DEVICE_SCRIPT % json.dumps(raws))
    run = mpremote(esp32, "run", script)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    import precheck

    for raw, fw in zip(raws, result["verdicts"]):
        gw = udi_codes.parse(raw)
        assert not (gw["valid"] and fw[0] == "bad"), raw
        assert tuple(fw) == precheck.verdict(gw), raw
    print("device: pre-check %.0f µs per scan, %d bytes free" % (result["precheck_us"], result["heap_free"]))
