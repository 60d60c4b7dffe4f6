"""Firmware figures on the MicroPython unix port (the real VM):
pre-check time per typical GS1 UDI scan, heap allocated per scan, and free
heap after boot with everything running at -X heapsize=100K.

    .venv/bin/python bench/firmware.py [--heap 100K] [--no-32bit]

Starts its own broker on 127.0.0.1 and the gateway's ingest; the last line is
a JSON object with precheck_us, heap_per_scan_bytes, free_after_boot_bytes
(and free heap after 20 scans, what is still undelivered after 5 s,
exceptions the firmware's loops survived).

The unix port is 64-bit: pointers, and so nearly every object, are twice
their size on the ESP32.  The same benchmark then runs on MicroPython's
WebAssembly port (32-bit, from npm, under Node) and adds
free_after_boot_32bit_bytes: 100 KiB of 16-byte GC blocks less the heap the
firmware took there at the same point (heap_after_boot_32bit_bytes).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gateway.broker import EmbeddedBroker  # noqa: E402
from gateway.sim import vm  # noqa: E402

TARGETS = {"precheck_us": 50, "heap_per_scan_bytes": 4096, "free_after_boot_bytes": 40 * 1024}
# MicroPython's WebAssembly port, pinned: a 32-bit VM with ROMFS and asyncio.
MPWASM = "@micropython/micropython-webassembly-pyscript@1.29.0-6"
MPWASM_DIR = os.path.join(os.path.expanduser("~"), ".cache", "udi-edge", "mpwasm")


def usable(heap, block):
    # Bytes of GC blocks in a heap of `heap` bytes: MicroPython's allocation
    # table takes 2 bits and its finaliser table 1 bit per block.
    return int(heap / (block + 3 / 8)) * block


def micropython_wasm():
    mjs = os.path.join(MPWASM_DIR, "node_modules", *MPWASM.rsplit("@", 1)[0].split("/"), "micropython.mjs")
    if not os.path.exists(mjs):
        os.makedirs(MPWASM_DIR, exist_ok=True)
        subprocess.run(["npm", "install", "--no-save", "--prefix", MPWASM_DIR, MPWASM], check=True,
                       stdout=subprocess.DEVNULL)
    return mjs


def run_32bit(port, heap):
    # bench_firmware on the WebAssembly port -> its JSON result (or an error).
    root = tempfile.mkdtemp(prefix="udi-bench-fw32-")
    shutil.copy(os.path.join(vm.bundle(), "config.json"), root)
    try:
        cmd = ["node", os.path.join(vm.WASM, "run.mjs"), micropython_wasm(), vm.wasm_image(), root, "bench_firmware",
               "127.0.0.1", str(port), "/flash"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        return {"error_32bit": str(e)}
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"error_32bit": ((p.stdout + p.stderr).strip().splitlines() or ["no output"])[-1][:300]}
    r = json.loads(lines[-1])
    used = r["heap_after_boot_bytes"]
    return {"heap_after_boot_32bit_bytes": used, "free_after_boot_32bit_bytes": usable(vm.heap_bytes(heap), 16) - used,
            "asyncio_before_32bit": r.get("asyncio_before"), "maxsize_32bit": r.get("maxsize"), "connected_32bit": r["connected"], "undelivered_32bit": r["undelivered"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--heap", default="100K")
    ap.add_argument("--no-32bit", dest="bits32", action="store_false", help="skip the WebAssembly (32-bit) run")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="udi-bench-fw-")
    broker = EmbeddedBroker(tmp, 0).start()  # port 0: any free port
    port = broker.port
    # The real gateway ingest answers the scans: a handheld keeps each scan in
    # its outbox until the gateway's answer, so `undelivered` counts what no
    # gateway answered in time.
    from gateway.ingest import Ingest
    from gateway.store import Store

    ingest = Ingest(Store("sqlite:///" + os.path.join(tmp, "gw.sqlite")), "127.0.0.1", port).start()
    try:
        script = os.path.join(ROOT, "gateway", "sim", "mp", "bench_firmware.py")
        p = subprocess.run(
            vm.command(script, args.heap) + ["127.0.0.1", str(port), tmp],
            env=vm.env((os.path.join(ROOT, "gateway", "sim", "mp"),)), cwd=vm.bundle(),
            capture_output=True, text=True, timeout=300,
        )
        r32 = run_32bit(port, args.heap) if args.bits32 else {}
    finally:
        ingest.stop()
        broker.stop()
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        print(p.stderr[-2000:], file=sys.stderr)
        result = {"error": (p.stderr.strip().splitlines() or ["vm failed"])[-1], "heap": args.heap}
        print(json.dumps(result))
        return 1
    r = json.loads(lines[-1])
    # micropython.qstr_info() after boot: "qstr pool: n_pool=…, n_qstr=…, n_str_data_bytes=…, n_total_bytes=…"
    for line in p.stdout.splitlines():
        if line.startswith("qstr pool:"):
            fields = dict(f.strip().split("=") for f in line[len("qstr pool:"):].split(","))
            r["boot_qstr_names"] = int(fields["n_qstr"])
            r["boot_qstr_bytes"] = int(fields["n_total_bytes"])
    r.update(r32)
    if args.bits32 and "free_after_boot_32bit_bytes" in r:
        targets = dict(TARGETS, free_after_boot_32bit_bytes=TARGETS["free_after_boot_bytes"])
    else:
        targets = TARGETS
    for k, target in targets.items():
        if r[k] is None:
            good = False
        else:
            good = r[k] >= target if k.startswith("free") else r[k] <= target
        print("%-28s %10s   target %s %s  %s" % (k, r[k], ">=" if k.startswith("free") else "<=", target, "ok" if good else "MISSED"))
    r.update({"heap": args.heap, "machine": "%s, %d cores" % (platform.machine(), os.cpu_count())})
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
