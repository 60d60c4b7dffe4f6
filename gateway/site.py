"""The site: every gateway that shares this database (one per line, say)
says it is alive in `gateways` every few seconds, with its figures (ingest
counters, CPU, memory).  Print jobs started on a printer another gateway runs
are handed to that gateway through the database (PrintJobs.pick_up), so the
panel of any gateway can run the whole site (docs/deployment.md)."""

import logging
import os
import socket
import threading
import time

from sqlalchemy import insert, select, update

from gateway.schema import gateways

log = logging.getLogger("udi_edge.site")

BEAT_S = 5.0
ALIVE_S = 20.0  # missed beats before a gateway counts as not running


def version():
    try:
        from importlib.metadata import version as v

        return v("udi-edge")
    except Exception:
        return None


def beat(engine, gateway_id, api=None, stats=None, started_at=None):
    """Record that `gateway_id` runs now (insert on its first beat)."""
    now = time.time()
    values = {"last_seen": now, "stats": stats}
    if started_at is not None:
        values.update(started_at=started_at, host=socket.gethostname(), api=api, version=version())
    with engine.begin() as c:
        if c.execute(update(gateways).where(gateways.c.id == gateway_id).values(**values)).rowcount == 0:
            values.setdefault("started_at", now)
            c.execute(insert(gateways).values(id=gateway_id, **values))


def members(engine):
    """Every gateway the site has seen, with `alive` -> [dict], by id."""
    now = time.time()
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(select(gateways).order_by(gateways.c.id)).mappings()]
    for r in rows:
        r["alive"] = now - r["last_seen"] <= ALIVE_S
    return rows


def alive(engine, gateway_id):
    with engine.connect() as c:
        seen = c.execute(select(gateways.c.last_seen).where(gateways.c.id == gateway_id)).scalar()
    return seen is not None and time.time() - seen <= ALIVE_S, seen


def proc_use(pid, children=False):
    """-> (CPU seconds, resident MB, peak resident MB) of a process (Linux
    /proc), or None when it is gone.  children: with the CPU of the children
    it has reaped (a server whose workers come and go)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/%d/status" % pid) as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
    except (OSError, IndexError):
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime + cstime
    rss = int(status["VmRSS"].split()[0]) / 1024 if "VmRSS" in status else 0.0
    peak = int(status["VmHWM"].split()[0]) / 1024 if "VmHWM" in status else rss
    return ticks / os.sysconf("SC_CLK_TCK"), rss, peak


class ProcessUse:
    """CPU % since the last reading and resident memory of this process."""

    def __init__(self, pid=None):
        self.pid = pid or os.getpid()
        self.last = None

    def read(self):
        use = proc_use(self.pid)
        if use is None:
            return None
        cpu_s, rss, peak = use
        now = time.monotonic()
        out = {"cpu_s": round(cpu_s, 2), "rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1)}
        if self.last is not None and now > self.last[0]:
            out["cpu_pct"] = round(100 * (cpu_s - self.last[1]) / (now - self.last[0]), 1)
        self.last = (now, cpu_s)
        return out


class Member(threading.Thread):
    """This gateway in the site: a beat every BEAT_S, and print jobs other
    gateways started on this gateway's printers picked up every second."""

    RETRY_S = 1.0  # job pick-up, and a retry while the database is away

    def __init__(self, engine, gateway_id, print_jobs=None, stats=None, api=None):
        super().__init__(name="udi-site", daemon=True)
        self.engine = engine
        self.gateway_id = gateway_id
        self.print_jobs = print_jobs
        self.stats = stats or (lambda: {})
        self.api = api
        self.use = ProcessUse()
        self.stop_event = threading.Event()
        self.started_at = time.time()

    def run(self):
        next_beat = 0.0
        first = True
        down_since = None  # monotonic time of the first failure of an outage
        while not self.stop_event.is_set():
            try:  # a lost database must not end the thread: it comes back
                if time.monotonic() >= next_beat:
                    beat(self.engine, self.gateway_id, self.api, dict(self.stats(), **(self.use.read() or {})),
                         self.started_at if first else None)
                    first = False
                    next_beat = time.monotonic() + BEAT_S
                if self.print_jobs is not None:
                    self.print_jobs.pick_up()
                if down_since is not None:  # the outage's end, once, so the log shows how long it lasted
                    log.warning("site beat / job pick-up works again after %.0f s", time.monotonic() - down_since)
                    down_since = None
            except Exception:
                if down_since is None:  # once per outage, not every second
                    log.exception("site beat / job pick-up failed; trying again every %g s", self.RETRY_S)
                    down_since = time.monotonic()
            self.stop_event.wait(self.RETRY_S)

    def stop(self):
        self.stop_event.set()
        self.join(5)
