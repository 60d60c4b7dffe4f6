"""`udi-edge run`: the gateway with embedded defaults — SQLite under the data
directory, a broker it starts itself when none is configured, the ingest
loop, and (in the demo set-up) simulated handhelds running the real firmware."""

import logging
import os
import secrets
import signal
import threading
import time

from gateway import config as C
from gateway import site
from gateway.broker import EmbeddedBroker, TlsListener
from gateway.mqtt_access import Access
from gateway.printing.jobs import PrintJobs
from gateway.sim.printer import VirtualPrinter
from gateway.ingest import Ingest
from gateway.store import Store
from gateway.tls import Certs, client_context
from gateway.api import create_app
from gateway.api.auth import TokenExists, create_token, has_tokens
from gateway.panel import mount_panel
from gateway.devices import DeviceRegistry
from gateway.trace import Tracer

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
        m = cfg["mqtt"]
        user, password = m["user"], m["password"]
        self.access = None
        if host is None:
            # The embedded broker: per-device logins and topic ACLs from the start.
            self.access = Access(os.path.join(cfg["data_dir"], "broker"), m["topic_prefix"])
            user, password = self.access.prepare()
            self.broker = EmbeddedBroker(cfg["data_dir"], port, access=self.access, tls=tls_listener(cfg)).start()
            host, port = "127.0.0.1", self.broker.port  # the gateway itself: the local plain listener
        self.host, self.port = host, port
        self.store = Store(C.database_url(cfg))
        self.tracer = Tracer(expiry_warn_days=cfg["trace"]["expiry_warn_days"])
        self.gateway_id = C.gateway_id(cfg)
        self.ingest = Ingest(self.store, host, port, m["topic_prefix"], user, password, m["max_payload"],
                             gateway_id=self.gateway_id, tracer=self.tracer,
                             tls=client_context(m["ca_file"], m["cert_file"], m["key_file"]) if tls else None,
                             shared=cfg["gateway_id"] is not None)  # a site's gateways are named (docs/deployment.md)
        # Config pushes and commands go out through the ingest's connection;
        # retained configs are published again on every (re)connect, since a
        # broker without persistence forgets them.
        self.registry = DeviceRegistry(self.store.engine, self.ingest.publish, m["topic_prefix"])
        self.ingest.registry = self.registry
        self.ingest.start()
        if not self.ingest.connected.wait(10):
            raise RuntimeError("cannot reach the MQTT broker at %s:%d" % (host, port))
        # Print jobs that were running when the gateway stopped hold until an
        # operator resumes them (the resume reconciles with the printer).
        # A site of several gateways names each (gateway_id): a printer added
        # here is then run by this gateway only (docs/deployment.md).
        self.print_jobs = PrintJobs(self.store.engine, gateway=cfg["gateway_id"])
        self.print_jobs.hold_all_after_restart()
        self.virtual_printer = None
        if cfg["printing"]["virtual_printer"]:
            self.virtual_printer = VirtualPrinter(port=0, dpi=cfg["printing"]["virtual_dpi"], ips=cfg["printing"]["virtual_ips"],
                                                  # a folder per run: its label numbers start at 1 again
                                                  png_dir=_fresh_dir(os.path.join(cfg["data_dir"], "virtual-printer"))).start()
            self.print_jobs.add_printer(cfg["printing"]["virtual_name"], self.virtual_printer.uri, cfg["printing"]["virtual_dpi"],
                                        cfg["printing"]["virtual_ips"], owner=cfg["gateway_id"])
        app = create_app(self.store, self.registry, tracer=self.tracer, print_jobs=self.print_jobs)
        mount_panel(app)  # the web panel on the same server: / and /panel
        app.state.upload_dir = os.path.join(cfg["data_dir"], "uploads")  # mapping files between check and import
        app.state.ingest = self.ingest  # /api/health reports a storage outage (disk full, database down)
        self.api = ApiServer(app, cfg["api"]["host"], cfg["api"]["port"], cfg["api"]).start()
        self.admin_token_file = first_admin_token(self.store.engine, cfg["data_dir"])
        self.admin_password_file = first_panel_admin(self.store.engine, cfg["data_dir"])
        # Alive in the site's list of gateways, with its figures; jobs other
        # gateways started on this one's printers picked up.
        self.site = site.Member(self.store.engine, self.gateway_id, self.print_jobs, stats=lambda: dict(self.ingest.stats),
                                api="%s:%d" % (self.api.host, self.api.port))
        self.site.start()
        return self

    def provision(self, dev, **meta):
        """Register a handheld and give it an MQTT login on the embedded
        broker -> its password (None with an external broker: its logins
        are managed there)."""
        self.registry.set_meta(dev, **meta)
        return self.access.provision(dev) if self.access else None

    def stop(self):
        if getattr(self, "site", None):
            self.site.stop()
        if getattr(self, "api", None):
            self.api.stop()
        if getattr(self, "virtual_printer", None):
            self.virtual_printer.stop()
        if self.ingest:
            self.ingest.stop()
        if self.broker:
            self.broker.stop()


def tls_listener(cfg):
    # The embedded broker's TLS listener for handhelds (mqtt.tls_port), or None.
    m = cfg["mqtt"]
    if m.get("tls_port") is None:
        return None
    return TlsListener(Certs(os.path.join(cfg["data_dir"], "tls")), m["tls_port"], m["tls_host"], m["require_certificate"])


def _fresh_dir(parent):
    path = os.path.join(parent, time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(path, exist_ok=True)
    return path


class ApiServer:
    # uvicorn in a thread of the gateway process: one process to run, and
    # the API shares the store and the MQTT connection with the ingest.
    def __init__(self, app, host, port, options=None):
        import uvicorn

        # Behind a reverse proxy its X-Forwarded-For / -Proto count only from
        # forwarded_allow_ips: then rate limits see the real client and the
        # panel's cookies get Secure when the browser is on https.
        o = options or {}
        self.server = uvicorn.Server(uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", proxy_headers=True,
            forwarded_allow_ips=o.get("forwarded_allow_ips") or "127.0.0.1",
            ssl_certfile=o.get("tls_cert"), ssl_keyfile=o.get("tls_key")))
        self.thread = threading.Thread(target=self.server.run, name="udi-api", daemon=True)

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start (is the port in use?)")
            time.sleep(0.02)
        sock = self.server.servers[0].sockets[0].getsockname()
        self.host, self.port = sock[0], sock[1]
        return self

    def stop(self):
        self.server.config.app.state.panel_closing = True  # live-update streams end, so the server can
        self.server.should_exit = True
        self.thread.join(5)


def first_admin_token(engine, data_dir):
    # A fresh gateway has no token, so nobody could use the API: create one
    # admin token and leave it, readable by this user only, in the data
    # directory (never printed, never in the repo).
    if has_tokens(engine):
        return None
    path = os.path.join(os.path.abspath(data_dir), "admin-token")
    try:
        token = create_token(engine, "admin-initial", "admin")
    except TokenExists:  # another gateway of the site, starting at the same moment, made it
        return None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return path


def first_panel_admin(engine, data_dir):
    # Nobody could sign in to a fresh panel: one admin user, its random
    # password left in the data directory for this user only.
    from gateway.panel import users

    if users.list_users(engine):
        return None
    password = secrets.token_urlsafe(12)
    try:
        users.create_user(engine, "admin", password, "admin")
    except users.UserExists:  # another gateway of the site, starting at the same moment, made it
        return None
    path = os.path.join(os.path.abspath(data_dir), "admin-password")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return path


DEMO_PRODUCT = {"di": "06901234567892", "primary_di": "06901234567892", "name": "一次性使用无菌注射器（演示）",
                "reg_no": "国械注准20173151234", "pi_lot": True, "pi_serial": True, "pi_mfg": False, "pi_expiry": True,
                "source": "sheet"}


def demo_print_job(gw, out, quantity=12):
    # The demo line: a product in the master, a 12-label UDI job on the
    # virtual printer, every label graded as it comes out (panel: 打印任务, 质量).
    from sqlalchemy import insert, select

    from gateway.quality.line import FolderWatcher, LineVerifier
    from gateway.schema import products

    with gw.store.engine.begin() as c:
        if c.execute(select(products.c.di).where(products.c.di == DEMO_PRODUCT["di"])).first() is None:
            c.execute(insert(products).values(updated_at=time.time(), **DEMO_PRODUCT))
    expiry = time.strftime("%Y-%m-%d", time.localtime(time.time() + 2 * 365 * 86400))
    job = gw.print_jobs.create(DEMO_PRODUCT["di"], "udi-item-dm", gw.cfg["printing"]["virtual_name"], quantity, lot=time.strftime("D%y%m%d"),
                               expiry=expiry, actor="demo", verify={"min_grade": 1.5, "stop_after": 3})
    watcher = FolderWatcher(LineVerifier(gw.print_jobs, dpi=gw.virtual_printer.dpi), job["id"], gw.virtual_printer.png_dir)
    watcher.start()
    gw.print_jobs.start(job["id"], actor="demo")
    out("demo print job %d: %d labels on the virtual printer, each graded as it is printed" % (job["id"], quantity))
    return watcher


def run(cfg, handhelds=0, scans=20, rate=2.0, seconds=None, out=print):
    gw = Gateway(cfg).start()
    out("UDI Edge gateway: broker %s:%d, database %s" % (gw.host, gw.port, C.database_url(cfg)))
    if gw.broker and gw.broker.tls:
        out("handhelds: MQTT over TLS on %s:%d (CA %s)" % (gw.broker.tls.host, gw.broker.tls.port, gw.broker.tls.certs.ca_cert))
    web = "https" if cfg["api"].get("tls_cert") else "http"
    out("panel: %s://%s:%d/  API: %s://%s:%d/api (OpenAPI at /docs)" % (web, gw.api.host, gw.api.port, web, gw.api.host, gw.api.port))
    if gw.virtual_printer:
        out("virtual printer '%s' at %s (labels as PNG in %s)" % (cfg["printing"]["virtual_name"], gw.virtual_printer.uri, gw.virtual_printer.png_dir))
    if gw.admin_password_file:
        out("panel user 'admin', first password in %s (change it: udi-edge user passwd admin)" % gw.admin_password_file)
    if gw.admin_token_file:
        out("first admin API token written to %s (create more: udi-edge token create NAME --role admin)" % gw.admin_token_file)
    watcher = demo_print_job(gw, out) if gw.virtual_printer and cfg["demo"].get("print_job") else None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, lambda *_: stop.set())
        except ValueError:  # not the main thread (tests)
            pass
    sim = None
    if handhelds:
        from gateway.sim import handhelds as H

        # each simulated handheld gets its own login, as a real one would
        credentials = {dev: gw.provision(dev) for dev in H.device_ids(handhelds)}

        def simulate():
            summary = H.run(count=handhelds, broker="%s:%d" % (gw.host, gw.port), per_device=scans, rate=rate,
                            root=os.path.join(cfg["data_dir"], "handhelds"), credentials=credentials)
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
        if watcher is not None:
            watcher.stop()
        gw.stop()
    return gw
