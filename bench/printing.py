"""Label printing figures: template rendering rate, and a print job against
the virtual printer at a stated speed with one paper-out fault midway.

    .venv/bin/python bench/printing.py [--labels 1000] [--ips 12] [--paper-out-at 500]

The job runs as the gateway runs it (PrintJobs: ledger, look-ahead, ~HS /
~HQES / label-counter polling over TCP 9100) on SQLite.  The paper runs out
after `--paper-out-at` labels; the benchmark plays the operator (reload,
resume).  Achieved speed is the printer's labels per second while it could
print (the time it stood without paper is the operator's, not the
gateway's), divided by its rated speed (ips / label length).  The last line
is a JSON object: render_per_s, rated_per_s, achieved_per_s, ratio,
duplicated, missing, counter_agrees."""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sqlalchemy import insert, select  # noqa: E402

from gateway.printing import templates as T  # noqa: E402
from gateway.printing.jobs import PrintJobs  # noqa: E402
from gateway.schema import products, serials  # noqa: E402
from gateway.sim.printer import control_request  # noqa: E402
from gateway.store import Store  # noqa: E402

GTIN = "06901234567892"
TODAY = "2026-11-22"


def wait(jobs, job_id, states, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        if job["state"] in states:
            return job
        time.sleep(0.02)
    raise SystemExit("job %d stuck in %s" % (job_id, jobs.get(job_id)["state"]))


def printing_rate(times):
    # labels per second over a run of consecutive completions
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", type=int, default=1000)
    ap.add_argument("--ips", type=float, default=12.0)
    ap.add_argument("--paper-out-at", type=int, default=500)
    args = ap.parse_args()

    render_per_s = T.bench_render(20000)
    print("template rendering: %.0f labels/s (udi-item-dm, 300 dpi, a new serial per label)" % render_per_s)

    tmp = tempfile.mkdtemp(prefix="udi-bench-print-")
    store = Store("sqlite:///" + os.path.join(tmp, "p.sqlite"))
    with store.engine.begin() as c:
        c.execute(insert(products).values(di=GTIN, primary_di=GTIN, name="一次性使用无菌注射器", reg_no="国械注准20173151234",
                                          pi_lot=True, pi_serial=True, pi_mfg=False, pi_expiry=True, source="udid", updated_at=0))
    # The printer is its own process, as a real one is its own machine (in
    # this process its timing would share the GIL with the gateway).
    sim = subprocess.Popen([sys.executable, "-m", "gateway.sim.printer", "--port", "0", "--control-port", "0",
                            "--dpi", "300", "--ips", str(args.ips), "--paper-out-after", str(args.paper_out_at)],
                           cwd=ROOT, stdout=subprocess.PIPE, text=True)
    ports = json.loads(sim.stdout.readline())
    jobs = PrintJobs(store.engine, today=TODAY)
    jobs.add_printer("line1", ports["printer"], 300, args.ips)
    try:
        job = jobs.create(GTIN, "udi-item-dm", "line1", args.labels, lot="L2026A", expiry="2028-10-31")
        t0 = time.perf_counter()
        jobs.start(job["id"])
        wait(jobs, job["id"], ("held",), 3600)
        state = control_request(ports["control_port"], {"state": True})["state"]
        print("held after %d labels: %s" % (state["labels_printed"], jobs.get(job["id"])["reason"]))
        time.sleep(1.0)  # the operator reloads paper
        control_request(ports["control_port"], {"clear": "paper_out"})
        jobs.resume(job["id"], actor="bench")
        done = wait(jobs, job["id"], ("done", "failed"), 3600)
        wall = time.perf_counter() - t0
        printed_labels = control_request(ports["control_port"], {"printed": True, "since": 0})["printed"]
    finally:
        sim.terminate()
        sim.wait(10)
    label_in = printed_labels[0]["label_length_dots"] / 300.0  # the label length the printer feeds (^LL)
    rated = args.ips / label_in
    times = [p["time"] for p in printed_labels]
    first, second = times[:args.paper_out_at], times[args.paper_out_at:]
    if os.environ.get("UDI_BENCH_GAPS"):
        gaps = sorted(b - a for a, b in zip(times, times[1:]))
        print("label gaps (s): min %.4f median %.4f top %s" % (gaps[0], gaps[len(gaps) // 2], [round(g, 3) for g in gaps[-6:]]))
    achieved = (len(first) + len(second) - 2) / ((first[-1] - first[0]) + (second[-1] - second[0]))
    with store.engine.connect() as c:
        rows = c.execute(select(serials.c.serial, serials.c.state).where(serials.c.job_id == job["id"])).all()
    printed = [s for s, st in rows if st == "printed"]
    on_labels = [p["zpl"] for p in printed_labels]
    duplicated = len(printed) - len(set(printed))
    missing = args.labels - len(set(printed))
    rec = done.get("reconciliation") or {}
    print("job: %d labels, %s; wall %.1f s; rated %.2f labels/s (%.1f ips, %.1f mm labels fed); achieved %.2f labels/s while printing"
          % (args.labels, done["state"], wall, rated, args.ips, label_in * 25.4, achieved))
    print("ledger printed %d, printer counter %s, labels printed %d" % (len(printed), rec.get("printer_counter"), len(on_labels)))
    print(json.dumps({
        "render_per_s": round(render_per_s), "rated_per_s": round(rated, 3), "achieved_per_s": round(achieved, 3),
        "ratio": round(achieved / rated, 4), "duplicated": duplicated, "missing": missing,
        "counter_agrees": bool(rec.get("agrees")), "labels": args.labels, "paper_out_at": args.paper_out_at,
        "wall_s": round(wall, 1), "machine": "%s, %d cores" % (platform.machine(), os.cpu_count()),
    }))


if __name__ == "__main__":
    main()
