"""Firmware figures on the MicroPython unix port (the real VM):
pre-check time per typical GS1 UDI scan, heap allocated per scan, and free
heap after boot with everything running at -X heapsize=100K.

    .venv/bin/python bench/firmware.py [--heap 100K]

Starts its own mosquitto on 127.0.0.1; the last line is a JSON object with
precheck_us, heap_per_scan_bytes, free_after_boot_bytes (and free heap after
20 scans, what is still undelivered after 5 s, exceptions the firmware's
loops survived).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gateway.broker import EmbeddedBroker  # noqa: E402
from gateway.sim import vm  # noqa: E402

TARGETS = {"precheck_us": 50, "heap_per_scan_bytes": 4096, "free_after_boot_bytes": 40 * 1024}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--heap", default="100K")
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
    for k, target in TARGETS.items():
        if r[k] is None:
            good = False
        else:
            good = r[k] >= target if k.startswith("free") else r[k] <= target
        print("%-24s %10s   target %s %s  %s" % (k, r[k], ">=" if k.startswith("free") else "<=", target, "ok" if good else "MISSED"))
    r.update({"heap": args.heap, "machine": "%s, %d cores" % (platform.machine(), os.cpu_count())})
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
