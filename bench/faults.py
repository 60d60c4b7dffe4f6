"""Faults: kill the gateway (SIGKILL) at random moments while handhelds
running the real firmware send scans and while a print job runs; restart
it; then check the records, not the logs.

    .venv/bin/python bench/faults.py [--short] [--runs 3] [--seed 1]

- ingest: every scan each handheld generated is stored exactly once
  (lost = generated − stored distinct, duplicated = rows − distinct);
- printing: every serial of the job is in exactly one state, none printed
  twice (the printer's own record of what it printed), none printed
  without a ledger record, and the job reconciles with the printer's
  counter after the operator resumes it.

The broker and the printer are separate processes (they outlive the
gateway, as on a line); the gateway is `udi-edge run` with SQLite.  The last
line is a JSON object: runs, faults, scans, labels, lost, duplicated."""

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gateway.broker import EmbeddedBroker  # noqa: E402
from gateway.sim import handhelds as H  # noqa: E402

GTIN = "06901234567892"


class GatewayProcess:
    def __init__(self, tmp, broker_port):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "gw.toml")
        with open(self.conf, "w") as f:
            f.write('data_dir = "%s"\n[mqtt]\nurl = "mqtt://127.0.0.1:%d"\n[api]\nport = 0\n' % (os.path.join(tmp, "data"), broker_port))
        self.proc = None
        self.api = None

    def start(self):
        log = open(os.path.join(self.tmp, "gateway.log"), "a")
        self.proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--config", self.conf, "--handhelds", "0"],
                                     cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"API: (http://\S+/api)", line)
            if m:
                self.api = m.group(1)
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("the gateway did not start; see %s/gateway.log" % self.tmp)

    def _drain(self):
        for _ in self.proc.stdout:
            pass

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)

    def call(self, method, path, body=None):
        token = open(os.path.join(self.tmp, "data", "admin-token")).read().strip()
        req = urllib.request.Request(self.api + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s: %d %s" % (method, path, e.code, e.read().decode(errors="replace"))) from None

    def db(self):
        return sqlite3.connect(os.path.join(self.tmp, "data", "udi-edge.sqlite"))


def ingest_run(rng, devices=3, per_device=40, rate=8.0, kills=2):
    """Handhelds send; the gateway dies `kills` times with SIGKILL and comes back."""
    tmp = tempfile.mkdtemp(prefix="udi-faults-ingest-")
    broker = EmbeddedBroker(tmp, 0).start()
    gw = GatewayProcess(tmp, broker.port).start()
    summary = {}

    def send():
        summary.update(H.run(count=devices, broker="127.0.0.1:%d" % broker.port, per_device=per_device, rate=rate,
                             per_vm=devices, root=os.path.join(tmp, "hh")))

    t = threading.Thread(target=send)
    t.start()
    faults = 0
    t0 = time.monotonic()
    try:
        span = per_device / rate  # how long the handhelds keep scanning
        for at in sorted(rng.uniform(0.15, 0.85) * span for _ in range(kills)):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            gw.kill()
            faults += 1
            time.sleep(rng.uniform(0.2, 1.5))  # down for a moment; the broker keeps its session
            gw.start()
        t.join(300)
        # every scan the handhelds generated, stored: wait for the queue to drain
        generated = summary.get("scans", 0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with gw.db() as c:
                rows, distinct = c.execute("select count(*), count(distinct dev||':'||boot||':'||seq) from scans").fetchone()
            if distinct >= generated:
                break
            time.sleep(0.2)
    finally:
        gw.stop()
        broker.stop()
    return {"faults": faults, "scans": generated, "lost": generated - distinct, "duplicated": rows - distinct,
            "undelivered": summary.get("undelivered"), "errors": summary.get("errors")}


def print_run(rng, labels=40, kills=1):
    """A print job; the gateway dies mid-job, comes back, the operator resumes."""
    tmp = tempfile.mkdtemp(prefix="udi-faults-print-")
    broker = EmbeddedBroker(tmp, 0).start()
    printer = subprocess.Popen([sys.executable, "-m", "gateway.sim.printer", "--port", "0", "--control-port", "0",
                                "--dpi", "300", "--ips", "14", "--label-length-in", "0.5"],
                               cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.PIPE, text=True)
    ports = json.loads(printer.stdout.readline())
    gw = GatewayProcess(tmp, broker.port).start()
    faults = 0
    try:
        with gw.db() as c:
            c.execute("insert into products (di, primary_di, name, reg_no, pi_lot, pi_serial, pi_expiry, source, updated_at) "
                      "values (?, ?, '注射器', '国械注准20173151234', 1, 1, 1, 'sheet', 0)", (GTIN, GTIN))
        gw.call("PUT", "/printers/line1", {"uri": ports["printer"], "dpi": 300, "ips": 14})
        job = gw.call("POST", "/print-jobs", {"di": GTIN, "template": "udi-item-dm", "printer": "line1", "quantity": labels,
                                              "lot": "L1", "expiry": "2028-10-31"})
        gw.call("POST", "/print-jobs/%d/start" % job["id"])
        for _ in range(kills):
            time.sleep(rng.uniform(0.3, 1.0))  # labels are printing
            gw.kill()
            faults += 1
            time.sleep(rng.uniform(0.2, 1.0))
            gw.start()
            state = gw.call("GET", "/print-jobs/%d" % job["id"])
            if state["state"] == "held":  # the operator checks the line and resumes
                gw.call("POST", "/print-jobs/%d/resume" % job["id"])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = gw.call("GET", "/print-jobs/%d" % job["id"])
            if state["state"] in ("done", "failed"):
                break
            if state["state"] == "held":
                gw.call("POST", "/print-jobs/%d/resume" % job["id"])
            time.sleep(0.2)
        rows = gw.call("GET", "/print-jobs/%d/labels" % job["id"])
    finally:
        gw.stop()
        from gateway.sim.printer import control_request

        printed = control_request(ports["control_port"], {"printed": True, "since": 0})["printed"]
        printer.terminate()
        printer.wait(10)
        broker.stop()
    on_labels = [re.search(r"21([A-Za-z0-9]+)\^FS", p["zpl"]) for p in printed]
    serials_printed = [m.group(1) for m in on_labels if m]
    ledger_printed = {r["serial"] for r in rows if r["state"] == "printed"}
    dup = len(serials_printed) - len(set(serials_printed))
    without_record = len(set(serials_printed) - {r["serial"] for r in rows})
    return {"faults": faults, "labels": len(printed), "duplicated": dup + without_record,
            "lost": labels - len(ledger_printed), "state": state["state"],
            "agrees": bool((state.get("reconciliation") or {}).get("agrees")),
            "printed_not_in_ledger_as_printed": len(set(serials_printed) - ledger_printed)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", help="one ingest and one print run (CI)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    runs = 1 if args.short else args.runs
    total = {"runs": 0, "faults": 0, "scans": 0, "labels": 0, "lost": 0, "duplicated": 0}
    for i in range(runs):
        r = ingest_run(rng, per_device=30 if args.short else 120, kills=1 if args.short else 3)
        print("ingest run %d: %s" % (i + 1, r))
        p = print_run(rng, labels=60 if args.short else 300, kills=1 if args.short else 3)
        print("print run %d: %s" % (i + 1, p))
        total["runs"] += 2
        total["faults"] += r["faults"] + p["faults"]
        total["scans"] += r["scans"]
        total["labels"] += p["labels"]
        total["lost"] += r["lost"] + p["lost"]
        total["duplicated"] += r["duplicated"] + p["duplicated"]
        if not p["agrees"] or p["printed_not_in_ledger_as_printed"]:
            total["duplicated"] += 1  # a job that does not reconcile counts against us
    print(json.dumps(total))


if __name__ == "__main__":
    main()
