"""`udi-edge run`: the gateway with embedded defaults — SQLite under the data
directory, a broker it starts itself when none is configured, the ingest
loop, and (in the demo set-up) simulated handhelds running the real firmware."""

import logging
import os
import signal
import threading
import time

from gateway import config as C
from gateway.broker import EmbeddedBroker
from gateway.ingest import Ingest
from gateway.store import Store

log = logging.getLogger("udi_edge")


class Gateway:
    def __init__(self, cfg):
        self.cfg = cfg
        self.broker = None
        self.store = None
        self.ingest = None

    def start(self):
        cfg = self.cfg
        os.makedirs(cfg["data_dir"], exist_ok=True)
        host, port, tls = C.broker_address(cfg)
        if host is None:
            self.broker = EmbeddedBroker(cfg["data_dir"], port).start()
            host, port = "127.0.0.1", self.broker.port
        self.host, self.port = host, port
        self.store = Store(C.database_url(cfg))
        m = cfg["mqtt"]
        self.ingest = Ingest(self.store, host, port, m["topic_prefix"], m["user"], m["password"], m["max_payload"]).start()
        if not self.ingest.connected.wait(10):
            raise RuntimeError("cannot reach the MQTT broker at %s:%d" % (host, port))
        return self

    def stop(self):
        if self.ingest:
            self.ingest.stop()
        if self.broker:
            self.broker.stop()


def run(cfg, handhelds=0, scans=20, rate=2.0, seconds=None, out=print):
    gw = Gateway(cfg).start()
    out("UDI Edge gateway: broker %s:%d, database %s" % (gw.host, gw.port, C.database_url(cfg)))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, lambda *_: stop.set())
        except ValueError:  # not the main thread (tests)
            pass
    sim = None
    if handhelds:
        from gateway.sim import handhelds as H

        def simulate():
            summary = H.run(count=handhelds, broker="%s:%d" % (gw.host, gw.port), per_device=scans, rate=rate,
                            root=os.path.join(cfg["data_dir"], "handhelds"))
            out("simulated handhelds: %s" % summary)

        sim = threading.Thread(target=simulate, daemon=True)
        sim.start()
        out("%d simulated handhelds running the real firmware on the MicroPython VM" % handhelds)
    t0 = time.monotonic()
    last = None
    try:
        while not stop.is_set():
            if seconds is not None and time.monotonic() - t0 >= seconds:
                break
            stats = dict(gw.ingest.stats)
            if stats != last:
                out("scans %(scans)d  duplicates %(duplicates)d  rejected %(rejects)d  answers %(answers)d" % stats)
                last = stats
            stop.wait(1.0)
    finally:
        gw.stop()
    return gw
