"""python -m gateway.panel.screenshots OUTDIR — a screenshot of every panel page.

Runs a throw-away gateway (SQLite in a temporary directory, the virtual
printer, a few demo rows) with the panel, signs in with a real browser
(Playwright + Debian chromium) and saves one PNG per page at 1366×768.
serve() is also what tests/test_panel_browser.py runs against."""

import contextlib
import os
import socket
import sys
import tempfile
import threading
import time

from sqlalchemy import insert

CHROMIUM = "/usr/bin/chromium"
GTIN = "06901234567892"
ADMIN, PASSWORD = "admin", "panel-demo-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(engine):
    # A product the label is printed for, two handhelds, a scan and an alert.
    from gateway.schema import alerts, devices, products, scans

    now = time.time()
    with engine.begin() as c:
        c.execute(insert(products).values(di=GTIN, primary_di=GTIN, name="一次性使用无菌注射器", reg_no="国械注准20173151234",
                                          pi_lot=True, pi_serial=True, pi_mfg=False, pi_expiry=True, source="udid",
                                          updated_at=0))
        c.execute(insert(devices).values(dev="hh0a1b2c3d4e5f", state="online", fw="1.4.2", last_seen=now, battery_mv=3950,
                                         queue=0, name="收货台 1", location="仓库A"))
        c.execute(insert(devices).values(dev="hh0a1b2c3d4e60", state="offline", fw="1.4.1", last_seen=now - 3600,
                                         battery_mv=3610, queue=12, name="病区 3", location="3F"))
        c.execute(insert(scans).values(
            dev="hh0a1b2c3d4e5f", boot=1, seq=1, raw="]d20106901234567892172810311020260A21000123", scheme="gs1",
            valid=True, verdict="bad", di=GTIN, lot="20260A", serial="000123", expiry="2028-10-31",
            item=GTIN + ":000123", nhsa_code="C14010102000001234567", received_at=now - 60,
            codes=["used_twice"],
            result={"symbology": "]d2", "hri": "(01)06901234567892(17)281031(10)20260A(21)000123", "errors": [],
                    "warnings": [], "elements": [{"ai": "01", "title": "GTIN", "value": GTIN},
                                                 {"ai": "17", "title": "USE BY or EXPIRY", "value": "281031"},
                                                 {"ai": "10", "title": "BATCH/LOT", "value": "20260A"},
                                                 {"ai": "21", "title": "SERIAL", "value": "000123"}],
                    "trace": [{"code": "used_twice", "bad": True}]}))
        c.execute(insert(scans).values(
            dev="hh0a1b2c3d4e5f", boot=1, seq=2, raw="]d2010690123456789317281031", scheme="gs1", valid=False,
            verdict="bad", received_at=now - 30,
            result={"symbology": "]d2", "errors": [{"code": "check_digit", "message": "AI (01): check digit is 3, expected 2", "at": "01"}],
                    "warnings": [], "elements": []}))
        c.execute(insert(alerts).values(kind="used_twice", scan_id=1, dev="hh0a1b2c3d4e5f", item=GTIN + ":000123",
                                        di=GTIN, detail="第二次使用", created_at=now - 60, acknowledged=False))


def seed_checks(engine, printer, job_id, workdir, since, grades):
    """Label checks for a finished job, as LineVerifier writes them: each printed label
    rendered by the virtual printer (a few with print defects) with a grade per label."""
    from sqlalchemy import select

    from gateway.schema import label_checks, serials
    from gateway.sim.printer import degrade_png, render_png

    with engine.connect() as c:
        labels = [dict(r) for r in c.execute(select(serials.c.id, serials.c.serial).where(serials.c.job_id == job_id)
                                             .order_by(serials.c.label_no)).mappings()]
    now = time.time()
    rows = []
    for i, (rec, grade, label) in enumerate(zip(printer.printed[since:], grades, labels)):
        png = render_png(rec["zpl"], printer.dpi)[0]
        reason = None
        decoded = "(01)%s(17)281031(10)20260A(21)%s" % (GTIN, label["serial"])
        if grade is None:  # unreadable
            png, grade, decoded, reason = degrade_png(png, {"smear": 6, "blur": 3}), 0.0, None, "no symbol could be decoded"
        elif grade < 1.5:
            png, reason = degrade_png(png, {"darkness": 0.45, "missing_dots": 0.03}), "grade %.1f below 1.5" % grade
        path = os.path.join(workdir, "check_%d_%03d.png" % (job_id, i))
        with open(path, "wb") as f:
            f.write(png)
        rows.append({"job_id": job_id, "serial_id": label["id"], "decoded": decoded, "match": decoded is not None,
                     "valid": decoded is not None, "grade": grade, "notation": None if decoded is None else "%.1f/10/660" % grade,
                     "passed": reason is None, "reason": reason, "image": path, "at": now - 30 + i})
    with engine.begin() as c:
        for r in rows:
            c.execute(insert(label_checks).values(**r))


@contextlib.contextmanager
def serve(workdir, users_=((ADMIN, "admin"),), demo=True):
    """A gateway with the panel on a free port -> (base url, store, virtual printer)."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.panel import mount_panel, users
    from gateway.printing.jobs import PrintJobs
    from gateway.sim.printer import VirtualPrinter
    from gateway.store import Store

    store = Store("sqlite:///" + os.path.join(workdir, "panel.sqlite"))
    printer = VirtualPrinter(port=0, ips=14, label_length_in=0.5).start()
    jobs = PrintJobs(store.engine, poll_s=0.05)
    jobs.add_printer("virtual", printer.uri, printer.dpi, 14)
    if demo:
        seed(store.engine)
    for name, role in users_:
        users.create_user(store.engine, name, PASSWORD, role)
    app = create_app(store, print_jobs=jobs)
    mount_panel(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield "http://127.0.0.1:%d" % port, store, printer
    finally:
        app.state.panel_closing = True  # ends open event streams
        server.should_exit = True
        thread.join(10)
        printer.stop()


def sign_in(page, base, name=ADMIN):
    page.goto(base + "/panel/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(base + "/panel")


def run_job(page, base, quantity=5):
    """Fill in the new-job form and wait until the label preview is drawn (the caller submits it)."""
    page.goto(base + "/panel/jobs/new")
    page.fill("input[name=lot]", "20260A")
    page.fill("input[name=expiry]", "2028-10-31")
    page.fill("input[name=quantity]", str(quantity))
    page.wait_for_function("() => { const i = document.querySelector('#preview');"
                           " return i && !i.hidden && i.complete && i.naturalWidth > 0; }", timeout=20000)
    return page


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out = os.path.abspath(argv[0] if argv else "docs/screenshots")
    os.makedirs(out, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, serve(tmp) as (base, _store, _printer), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768})

        def shot(name):
            page.screenshot(path=os.path.join(out, name + ".png"), full_page=False)
            print(os.path.join(out, name + ".png"))

        page.goto(base + "/panel/login")
        shot("signin")
        sign_in(page, base)
        run_job(page, base, 20)
        shot("job-new")
        page.click("#job-form button.primary")
        page.wait_for_url("**/panel/jobs/*")
        page.click("form[data-action=start] button")
        page.wait_for_selector("#job-state.s-done", timeout=60000)
        page.wait_for_selector("#recon.ok")
        shot("job")
        job_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
        seed_checks(_store.engine, _printer, job_id, tmp, 0,
                    [3.6, 3.8, 3.4, 1.2, 3.7, 3.5, 3.9, None, 3.6, 3.3, 3.8, 3.7])
        # a second, smaller job on the same printer: the quality trend gets a second point
        since = len(_printer.printed)
        run_job(page, base, 5)
        page.click("#job-form button.primary")
        page.wait_for_url("**/panel/jobs/*")
        page.click("form[data-action=start] button")
        page.wait_for_selector("#job-state.s-done", timeout=60000)
        seed_checks(_store.engine, _printer, int(page.url.rsplit("/", 1)[1].split("?")[0]), tmp, since,
                    [3.9, 3.8, 3.9, 3.7, 3.8])
        for name, path in (("dashboard", "/panel"), ("handhelds", "/panel/handhelds"), ("scans", "/panel/scans"),
                           ("scan", "/panel/scans/1"), ("jobs", "/panel/jobs"), ("alerts", "/panel/alerts"),
                           ("quality", "/panel/quality"), ("printers", "/panel/printers"), ("audit", "/panel/audit")):
            page.goto(base + path)
            if name == "dashboard":
                page.wait_for_selector("#live.on")
            if name == "quality":
                page.wait_for_function("() => [...document.querySelectorAll('img.thumb')].every(i => i.complete)")
            if name == "printers":  # with the feedback of a test print
                page.click("tr[data-printer=virtual] form button")
                page.wait_for_selector(".notice.ok")
            shot(name)
        page.goto(base + "/panel/lang/en?next=/panel")
        page.wait_for_selector("#live.on")
        shot("dashboard-en")
        page.close()
        browser.close()


if __name__ == "__main__":
    main()
