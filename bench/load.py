"""Site load test: several gateways (one per print line) against one
PostgreSQL and one mosquitto, 1,000 simulated handhelds and 4 print lines,
all on this machine.

    .venv/bin/python bench/load.py                  # 1,000 handhelds, 4 lines, 4 gateways
    .venv/bin/python bench/load.py --short          # smoke: 100 handhelds, 2 lines, 2 gateways
    .venv/bin/python bench/load.py [--handhelds 1000] [--lines 4] [--gateways 4] [--rates 250,500,1000]
                                   [--seconds 20] [--burst 20] [--ips 6] [--database-url URL]

Every handheld has its own MQTT connection and speaks the protocol with the
firmware's own client (firmware/mqttc.py under CPython asyncio; the
MicroPython VM would cost 1,000 VMs): a scan is published QoS 1 and sent
again until the broker acknowledges it, as the firmware's outbox does; the
answer closes it.  The handhelds run in a few load processes.  Phases:

- steady: each rate in --rates (scans/s for the whole site, spread evenly
  over the handhelds) for --seconds: answered scans/s, p50/p99 scan→answer;
- burst: every handheld sends --burst scans back to back (an outbox drained
  after a Wi-Fi outage): the sustained rate is answers / time to the last.

All the time each line prints one long job at --ips on a virtual printer
(its own process), every line the same DI and lot, so the four jobs draw
serials from one pool through four gateways.  Labels/s come from the
printers' own counters.  CPU and memory of every gateway, the broker and
PostgreSQL are read from /proc over each phase.

Afterwards the records are checked: every scan sent stored exactly once
(lost, duplicated), every scan answered, no serial given twice.  PostgreSQL
is a throwaway cluster (tests/postgres.py) with fsync switched back on,
unless --database-url names a server.  The last line is a JSON object."""

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import corpus  # noqa: E402
from bench.faults import GatewayProcess  # noqa: E402

GTIN = "06901234567892"
PREFIX = "udi/v1"
LOT = "LOAD1"


# --- the handhelds ------------------------------------------------------------------

def firmware_mqtt():
    # The handhelds' own MQTT client (firmware/mqttc.py runs under CPython too).
    spec = importlib.util.spec_from_file_location("udi_firmware_mqttc", os.path.join(ROOT, "firmware", "mqttc.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def scan_codes(n=5000, seed=3):
    # Site-like scans: GS1 DataMatrix UDI codes and 20-digit drug codes (as bench/ingest.py).
    return [c for c in corpus.make(n, seed=seed) if c.startswith("]d2") or c[:1] == "8"]


class Handheld:
    """One simulated handheld on its own MQTT connection: scans out (QoS 1,
    sent again until the broker has it, as the firmware's outbox does),
    answers back.  For asyncio; `mq` is firmware_mqtt()."""

    def __init__(self, mq, dev, host, port, boot=1):
        self.dev, self.boot, self.seq = dev, boot, 0
        self.sent = {}  # seq -> (time.time() first sent, phase)
        self.raw = {}  # seq -> the code scanned
        self.answers = {}  # seq -> the answer
        self.done = {}  # phase -> [(sent, answered)], time.time()
        self.duplicates = 0  # answers for a scan answered before
        self.mq, self.host, self.port = mq, host, port
        self.client = None

    async def connect(self, timeout=60):
        # A new connection each time (a handheld that roamed to another access point).
        self.client = self.mq.MQTTClient(self.dev, self.host, self.port, keepalive=60, clean=True, max_inflight=8,
                                         on_message=self._on_message)
        self.client.start()
        if not await self.client.wait_connected(timeout):
            raise RuntimeError("%s: no connection to the broker" % self.dev)
        if not await self.client.subscribe("%s/dev/%s/answer" % (PREFIX, self.dev), 1, timeout_s=timeout):
            raise RuntimeError("%s: answer subscription refused" % self.dev)

    def _on_message(self, topic, payload, retained):
        a = json.loads(payload)
        if a.get("boot") != self.boot or a.get("seq") not in self.sent:
            return
        now = time.time()
        if a["seq"] in self.answers:
            self.duplicates += 1
            return
        self.answers[a["seq"]] = a
        t, phase = self.sent[a["seq"]]
        self.done.setdefault(phase, []).append((t, now))

    def payload(self, seq, raw, mode):
        return json.dumps({"v": 1, "dev": self.dev, "boot": self.boot, "seq": seq, "raw": raw, "mode": mode,
                           "pre": {"verdict": "good", "code": None, "scheme": "gs1"}})

    async def scan(self, raw, mode="receive", phase=None):
        """Publish the next scan until the broker acknowledges it -> its seq."""
        self.seq += 1
        seq = self.seq
        self.sent[seq] = (time.time(), phase)
        self.raw[seq] = raw
        topic = "%s/dev/%s/scan" % (PREFIX, self.dev)
        while not await self.client.publish(topic, self.payload(seq, raw, mode), 1):
            await asyncio.sleep(0.2)  # not connected / connection lost: the outbox sends it again
        return seq

    def unanswered(self):
        return [s for s in self.sent if s not in self.answers]

    async def close(self):
        if self.client is not None:
            await self.client.disconnect()


async def wait_answered(handhelds, timeout, quiet_s=None):
    # Until every scan is answered; with quiet_s, also given up when no answer
    # came for that long (a site behind its load catches up, however long it takes).
    deadline = time.monotonic() + timeout
    last, last_change = None, time.monotonic()
    while time.monotonic() < deadline:
        left = sum(len(h.unanswered()) for h in handhelds)
        if not left:
            break
        if left != last:
            last, last_change = left, time.monotonic()
        elif quiet_s is not None and time.monotonic() - last_change > quiet_s:
            break
        await asyncio.sleep(0.1)
    return sum(len(h.unanswered()) for h in handhelds)


async def _steady(h, phase, codes, rng):
    # rate_per_device scans/s from phase["start"] (wall clock), at a random phase offset.
    rate = phase["rate_per_device"]
    n = int(rate * phase["seconds"])
    t0 = phase["start"] + rng.random() / rate
    for k in range(n):
        delay = t0 + k / rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await h.scan(rng.choice(codes), phase=phase["name"])


async def _burst(h, phase, codes, rng):
    delay = phase["start"] - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
    for _ in range(phase["n"]):
        await h.scan(rng.choice(codes), phase=phase["name"])


async def client_main(args):
    # One load process: its share of the handhelds through every phase.
    mq = firmware_mqtt()
    codes = scan_codes()
    rng = random.Random(args["seed"])
    hh = [Handheld(mq, d, args["host"], args["port"]) for d in args["devices"]]
    for i in range(0, len(hh), 50):  # not a thousand SYNs at once
        await asyncio.gather(*(h.connect() for h in hh[i:i + 50]))
    print("ready", flush=True)
    t0 = float(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    for phase in args["phases"]:
        phase = dict(phase, start=t0 + phase["at"])
        if phase["kind"] != "idle":
            run = _burst if phase["kind"] == "burst" else _steady
            await asyncio.gather(*(run(h, phase, codes, rng) for h in hh))
    unanswered = await wait_answered(hh, 900, quiet_s=30)
    out = {"sent": [[h.dev, h.boot, s] for h in hh for s in h.sent], "unanswered": unanswered,
           "duplicate_answers": sum(h.duplicates for h in hh), "phases": {}}
    gws = {}
    for h in hh:
        for a in h.answers.values():
            gws[a.get("gw")] = gws.get(a.get("gw"), 0) + 1
        for name, done in h.done.items():
            p = out["phases"].setdefault(name, {"done": []})
            p["done"].extend((round(a, 4), round(b, 4)) for a, b in done)
    out["answered_by"] = gws
    await asyncio.gather(*(h.close() for h in hh))
    with open(args["results"], "w") as f:
        json.dump(out, f)


# --- the site -------------------------------------------------------------------------

class SiteGateway(GatewayProcess):
    """`udi-edge run` as one gateway of a site (bench/faults.py's process
    handling): its own gateway_id, the shared database and broker, and
    optionally its own virtual printer registered as `printer`."""

    def __init__(self, tmp, broker_port, db_url, gateway_id, printer=None, ips=14.0):
        os.makedirs(tmp, exist_ok=True)
        super().__init__(tmp, broker_port, db_url)
        self.gateway_id = gateway_id
        with open(self.conf, "w") as f:
            f.write('gateway_id = "%s"\ndata_dir = "%s"\ndatabase_url = "%s"\n[mqtt]\nurl = "mqtt://127.0.0.1:%d"\n[api]\nport = 0\n'
                    % (gateway_id, os.path.join(tmp, "data"), db_url, broker_port))
            if printer:
                f.write('[printing]\nvirtual_printer = true\nvirtual_name = "%s"\nvirtual_ips = %s\n' % (printer, ips))

    def pid(self):
        return self.proc.pid


def prepare_database(db_url, gateway_dirs):
    """Migrate, add the product, and one admin API token for every gateway
    (each finds it in its data directory, as the first gateway's own)."""
    from sqlalchemy import insert, select

    from gateway.api.auth import create_token
    from gateway.schema import products
    from gateway.service import DEMO_PRODUCT
    from gateway.store import Store

    store = Store(db_url)
    with store.engine.begin() as c:
        if c.execute(select(products.c.di).where(products.c.di == GTIN)).first() is None:
            c.execute(insert(products).values(updated_at=time.time(), **dict(DEMO_PRODUCT, di=GTIN, primary_di=GTIN)))
    token = create_token(store.engine, "site-%d" % os.getpid(), "admin")
    for d in gateway_dirs:
        os.makedirs(os.path.join(d, "data"), exist_ok=True)
        with open(os.path.join(d, "data", "admin-token"), "w") as f:
            f.write(token + "\n")
    return store


def start_all(gateways):
    # Side by side, as a site's machines come up: they also migrate together.
    each(gateways, "start")


def stop_all(gateways):
    each(gateways, "stop")


def each(gateways, method):
    errors = []

    def one(g):
        try:
            getattr(g, method)()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(g,)) for g in gateways]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def wait_alive(engine, ids, timeout=30):
    from gateway import site

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up = {m["id"] for m in site.members(engine) if m["alive"]}
        if set(ids) <= up:
            return
        time.sleep(0.2)
    raise RuntimeError("gateways not alive in the site: %s" % sorted(set(ids) - up))


class PrinterProcess:
    # A virtual printer as its own process (a real one is its own machine).
    def __init__(self, ips, dpi=300):
        self.proc = subprocess.Popen([sys.executable, "-m", "gateway.sim.printer", "--port", "0", "--control-port", "0",
                                      "--dpi", str(dpi), "--ips", str(ips)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        ports = json.loads(self.proc.stdout.readline())
        self.uri, self.control = ports["printer"], ports["control_port"]

    def printed(self):
        from gateway.sim.printer import control_request

        return control_request(self.control, {"state": True})["state"]["labels_printed"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def pg_pids(data_dir):
    # The postmaster (first line of postmaster.pid) and its backends.
    try:
        with open(os.path.join(data_dir, "postmaster.pid")) as f:
            main = int(f.readline())
    except (OSError, ValueError):
        return []
    kids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == main:
                        kids.append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    return [main] + kids


class Meter:
    """CPU % and memory of groups of processes between two readings (/proc).
    A group's CPU is the sum over its processes; for PostgreSQL the
    postmaster's reaped children count too (backends come and go)."""

    def __init__(self, groups):
        self.groups = groups  # name -> callable returning pids (the first one: the group's parent)
        self.last = {}

    def read(self):
        from gateway.site import proc_use

        now = time.monotonic()
        out = {}
        for name, pids in self.groups.items():
            cpu = rss = peak = 0.0
            for i, pid in enumerate(pids()):
                use = proc_use(pid, children=(name == "postgres" and i == 0))
                if use is not None:
                    cpu, rss, peak = cpu + use[0], rss + use[1], peak + use[2]
            before = self.last.get(name)
            self.last[name] = (now, cpu)
            out[name] = {"cpu_pct": round(max(0.0, 100 * (cpu - before[1]) / (now - before[0])), 1) if before else None,
                         "rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1)}
        return out


class LockWaits(threading.Thread):
    """How many gateways wait for the site's trace lock (PostgreSQL advisory
    lock, gateway/store.py), sampled 4 times a second: the mean over a phase
    says whether the serialised step is what holds the site back."""

    def __init__(self, engine):
        super().__init__(daemon=True)
        self.engine = engine
        self.samples = []

    def run(self):
        from sqlalchemy import text

        q = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'")
        while True:
            try:
                with self.engine.connect() as c:
                    self.samples.append(c.execute(q).scalar())
            except Exception:
                pass  # a sample missed
            time.sleep(0.25)

    def start(self):
        super().start()
        return self

    def reset(self):
        self.samples = []

    def mean(self):
        return round(sum(self.samples) / len(self.samples), 2) if self.samples else None


def rated_labels_per_s(printer, ips, dpi=300):
    # All lines at their rated speed: ips / the label length the printer feeds (^LL of the template).
    from gateway.sim.printer import control_request

    first = control_request(printer.control, {"printed": True, "since": 0})["printed"][:1]
    return round(ips / (first[0]["label_length_dots"] / dpi), 3) if first else None


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(len(v) * p / 100))], 1)


def plan(rates, seconds, burst, handhelds, gap=3.0):
    # Phases at offsets from a common start, with a gap to drain between;
    # first the lines alone (no scans): the base the scans' costs are read against.
    idle = min(seconds, 10.0)
    phases, at = [{"name": "lines_only", "kind": "idle", "at": 0.0, "seconds": idle}], idle
    for r in rates:
        phases.append({"name": "steady_%g" % r, "kind": "steady", "at": at, "seconds": seconds, "rate": r,
                       "rate_per_device": r / handhelds})
        at += seconds + gap
    if burst:
        phases.append({"name": "burst", "kind": "burst", "at": at, "n": burst, "seconds": None})
    return phases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", help="a smoke test: 100 handhelds, 2 lines, 2 gateways, one 5 s phase")
    ap.add_argument("--handhelds", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=4)
    ap.add_argument("--gateways", type=int, default=None, help="default: one per line")
    ap.add_argument("--rates", default="250,500,1000", help="site-wide scans/s, one steady phase each")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--burst", type=int, default=20, help="scans per handheld in the burst phase (0: none)")
    ap.add_argument("--ips", type=float, default=6.0, help="the virtual printers' speed")
    ap.add_argument("--clients", type=int, default=4, help="load processes playing the handhelds")
    ap.add_argument("--database-url", help="a PostgreSQL server to use (an empty database); default: a throwaway cluster")
    args = ap.parse_args()
    if args.short:
        args.handhelds, args.lines, args.rates, args.seconds, args.burst, args.clients = 100, 2, "100", 5, 5, 2
    n_gw = args.gateways or args.lines
    rates = [float(r) for r in args.rates.split(",") if r]
    tmp = tempfile.mkdtemp(prefix="udi-bench-load-")
    args.load_before = round(os.getloadavg()[0], 2)  # what else the machine was doing (measure on a quiet one)
    print("work directory %s; load average before %.2f on %d cores" % (tmp, args.load_before, os.cpu_count()), flush=True)

    from gateway.broker import EmbeddedBroker
    from gateway.printing.jobs import PrintJobs

    cluster = None
    db_url = args.database_url
    if not db_url:
        import psycopg

        from tests.postgres import Cluster

        cluster = Cluster()
        with psycopg.connect("host=127.0.0.1 port=%d user=postgres dbname=postgres" % cluster.port, autocommit=True) as c:
            c.execute("ALTER SYSTEM SET fsync = on")  # the test cluster runs without; a site's does not
            c.execute("SELECT pg_reload_conf()")
        db_url = cluster.database()
    broker = EmbeddedBroker(tmp, 0).start()
    gws = [SiteGateway(os.path.join(tmp, "gw%d" % i), broker.port, db_url, "gw%d" % i) for i in range(1, n_gw + 1)]
    printers, gateways_up, clients = [], False, []
    try:
        store = prepare_database(db_url, [g.tmp for g in gws])
        printers = [PrinterProcess(args.ips) for _ in range(args.lines)]
        t = time.monotonic()
        gateways_up = True
        start_all(gws)
        print("%d gateways up in %.1f s (migrating one database together)" % (n_gw, time.monotonic() - t), flush=True)
        wait_alive(store.engine, [g.gateway_id for g in gws])
        jobs = PrintJobs(store.engine)  # no gateway of its own: starting hands each job to its printer's gateway
        total_s = len(rates) * (args.seconds + 3) + (30 if args.burst else 0) + 60
        job_ids = []
        for i, p in enumerate(printers):
            name = "line%d" % (i + 1)
            jobs.add_printer(name, p.uri, 300, args.ips, owner=gws[i % n_gw].gateway_id)
            job = jobs.create(GTIN, "udi-item-dm", name, int(args.ips * 2 * total_s) + 100, lot=LOT, expiry="2030-12-31", actor="bench")
            job_ids.append(job["id"])

        phases = plan(rates, args.seconds, args.burst, args.handhelds)
        devices = ["load%04d" % i for i in range(args.handhelds)]
        for k in range(args.clients):
            spec = {"host": "127.0.0.1", "port": broker.port, "devices": devices[k::args.clients], "phases": phases,
                    "seed": k, "results": os.path.join(tmp, "client%d.json" % k)}
            with open(os.path.join(tmp, "client%d.args.json" % k), "w") as f:
                json.dump(spec, f)
            clients.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--client", f.name], cwd=ROOT,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for c in clients:
            if c.stdout.readline().strip() != "ready":
                raise RuntimeError("a load process did not connect its handhelds")
        print("%d handhelds connected (%d load processes)" % (args.handhelds, args.clients), flush=True)
        for job_id in job_ids:
            jobs.start(job_id, actor="bench")
        meter = Meter(dict({g.gateway_id: (lambda g=g: [g.pid()]) for g in gws},
                           broker=lambda: [broker.proc.pid],
                           postgres=lambda: pg_pids(cluster.data) if cluster else [],
                           handhelds=lambda: [c.pid for c in clients]))
        time.sleep(2)  # the lines get going
        t0 = time.time() + 1
        for c in clients:
            c.stdin.write("%f\n" % t0)
            c.stdin.flush()
        results = []
        waits = LockWaits(store.engine).start()
        for ph in phases:
            start = t0 + ph["at"]
            time.sleep(max(0.0, start - time.time()))
            meter.read()
            waits.reset()
            labels0 = [p.printed() for p in printers]
            t_in = time.time()
            if ph["kind"] != "burst":
                time.sleep(ph["seconds"])
            else:  # the burst ends when every handheld's scans are answered (the clients say so by ending)
                while any(c.poll() is None for c in clients) and time.time() - t_in < 1000:
                    time.sleep(0.5)
            use = meter.read()
            lock_waiting = waits.mean()
            dt = time.time() - t_in
            labels = sum(p.printed() for p in printers) - sum(labels0)
            results.append({"phase": ph["name"], "use": use, "labels": labels, "labels_per_s": round(labels / dt, 2), "seconds": dt,
                            "start": start, "load_avg": round(os.getloadavg()[0], 2), "lock_waiting": lock_waiting})
            print("%-14s %s labels/s; gateways CPU %s %%, RSS %s MB; broker %s %%; postgres %s %%; waiting for the trace lock %s" % (
                ph["name"], results[-1]["labels_per_s"],
                "/".join("%g" % use[g.gateway_id]["cpu_pct"] for g in gws),
                "/".join("%g" % use[g.gateway_id]["rss_mb"] for g in gws),
                use["broker"]["cpu_pct"], use["postgres"]["cpu_pct"], lock_waiting), flush=True)
        for c in clients:
            c.wait(1000)
        for job_id in job_ids:
            try:
                jobs.cancel(job_id, actor="bench")
            except Exception as e:  # a job that ended (done) or held: say so, the checks below still run
                print("job %d: %s" % (job_id, e))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(jobs.get(j)["state"] not in ("cancelled", "done", "failed", "held") for j in job_ids):
            time.sleep(0.5)
        report = summarize(store, tmp, args, phases, results, gws, printers, jobs, job_ids, clients)
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
        if gateways_up:
            stop_all(gws)
        for p in printers:
            p.stop()
        broker.stop()
        if cluster:
            cluster.stop()
    print(json.dumps(report))


def wait_stored(store, n, quiet_s=30):
    # The gateways may still be storing what they took (a site behind its load).
    from sqlalchemy import func, select

    from gateway.schema import scans

    last, last_change = None, time.monotonic()
    while True:
        with store.engine.connect() as c:
            stored = c.execute(select(func.count()).select_from(scans)).scalar()
        if stored >= n or (stored == last and time.monotonic() - last_change > quiet_s):
            return stored
        if stored != last:
            last, last_change = stored, time.monotonic()
        time.sleep(1)


def summarize(store, tmp, args, phases, results, gws, printers, jobs, job_ids, clients):
    from sqlalchemy import func, select

    from gateway.schema import print_jobs, rejects, scans, serials

    sent, unanswered, dup_answers, by_gw = set(), 0, 0, {}
    done = {}
    for k in range(len(clients)):
        with open(os.path.join(tmp, "client%d.json" % k)) as f:
            r = json.load(f)
        sent.update(tuple(x) for x in r["sent"])
        unanswered += r["unanswered"]
        dup_answers += r["duplicate_answers"]
        for g, n in r["answered_by"].items():
            by_gw[g] = by_gw.get(g, 0) + n
        for name, p in r["phases"].items():
            done.setdefault(name, []).extend(p["done"])
    wait_stored(store, len(sent))
    with store.engine.connect() as c:
        stored = c.execute(select(func.count()).select_from(scans)).scalar()
        keys = {(d, b, s) for d, b, s in c.execute(select(scans.c.dev, scans.c.boot, scans.c.seq))}
        n_rejects = c.execute(select(func.count()).select_from(rejects)).scalar()
        serial_rows, serial_distinct = c.execute(select(func.count(), func.count(func.distinct(serials.c.serial)))
                                                 .where(serials.c.di == GTIN)).one()
        printed = c.execute(select(func.count()).where(serials.c.di == GTIN, serials.c.state.in_(("printed", "verified")))).scalar()
        ran_by = dict(c.execute(select(print_jobs.c.printer, print_jobs.c.gateway).where(print_jobs.c.id.in_(job_ids))).all())
    out_phases, base = [], {}
    for ph, res in zip(phases, results):
        pairs = done.get(ph["name"], [])  # (sent, answered) of each scan of the phase
        values = [(b - a) * 1000 for a, b in pairs]
        row = {"phase": ph["name"], "answered": len(pairs), "p50_ms": pct(values, 50), "p99_ms": pct(values, 99),
               "labels_per_s": res["labels_per_s"], "use": res["use"], "load_avg": res["load_avg"],
               "lock_waiting": res["lock_waiting"]}
        if ph["kind"] == "idle":
            base = res["use"]
        elif ph["kind"] == "steady":  # answered within the phase: the rate the site keeps up with
            end = res["start"] + ph["seconds"]
            row.update(offered_per_s=ph["rate"], answered_per_s=round(sum(1 for _, b in pairs if b <= end) / ph["seconds"], 1))
        else:  # sustained: every burst scan answered, over the time to the last answer
            span = max((b for _, b in pairs), default=res["start"]) - res["start"]
            row.update(answered_per_s=round(len(pairs) / span, 1) if span > 0 else None)
        if pairs:
            # CPU time per scan above the lines-only base, whatever share of the
            # machine each process got (on a busy machine the CPU % is what it got, not what it needed)
            cpu_s = {k: (v["cpu_pct"] - base[k]["cpu_pct"]) / 100 * res["seconds"] for k, v in res["use"].items() if k in base}
            gw_s = sum(cpu_s[g.gateway_id] for g in gws)
            row["cpu_ms_per_scan"] = {"gateways": round(gw_s * 1000 / len(pairs), 3),
                                      "postgres": round(cpu_s["postgres"] * 1000 / len(pairs), 3),
                                      "broker": round(cpu_s["broker"] * 1000 / len(pairs), 3)}
        out_phases.append(row)
        if pairs:
            print("%-14s answered %6d  %7s scans/s  p50 %s ms  p99 %s ms  CPU ms/scan: gateways %s, postgres %s, broker %s" % (
                ph["name"], len(values), row["answered_per_s"], row["p50_ms"], row["p99_ms"], row["cpu_ms_per_scan"]["gateways"],
                row["cpu_ms_per_scan"]["postgres"], row["cpu_ms_per_scan"]["broker"]))
    label_s = [p["labels_per_s"] for p in out_phases]
    report = {
        "handhelds": args.handhelds, "lines": args.lines, "gateways": len(gws), "phases": out_phases,
        "sent": len(sent), "stored": stored, "lost": len(sent - keys), "duplicated": stored - len(keys),
        "unanswered": unanswered, "duplicate_answers": dup_answers, "rejects": n_rejects, "answered_by": by_gw,
        "serials": serial_rows, "serials_duplicated": serial_rows - serial_distinct, "labels_printed_ledger": printed,
        "labels_printed_printers": sum(p.printed() for p in printers), "jobs_ran_by": ran_by,
        "labels_per_s_min": min(label_s) if label_s else None, "rated_labels_per_s": rated_labels_per_s(printers[0], args.ips),
        "machine": "%s, %d cores" % (platform.machine(), os.cpu_count()), "load_before": args.load_before,
    }
    return report


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        with open(sys.argv[2]) as f:
            asyncio.run(client_main(json.load(f)))
    else:
        main()
