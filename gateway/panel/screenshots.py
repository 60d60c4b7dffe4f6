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


# A three-code mapping table as Excel on Chinese Windows saves it (GB18030), with one bad row.
DEMO_MAPPING = ("追溯码前缀,GTIN,医保编码,商品码,名称\n8301234,,XA02BCA211A012010100154,SP001,阿莫西林胶囊 0.25g*24粒\n"
                ",06901234567892,C0344051070500007551,SP100,一次性使用无菌注射器\n8309999,,XN01AX0900014305116,SP9,编码位数不对\n"
                "8301235,,,,没有医保编码\n")


def seed_packing(engine):
    """Package levels of the demo product (盒 of 10, 箱 of 4 盒) and a pallet
    of two cases packed by the print line (gateway.trace) -> a case's key."""
    import udi_codes
    from gateway.schema import products
    from gateway.trace import Tracer, aggregation
    from udi_codes.checkchars import gs1_mod10

    box, case = (body + str(gs1_mod10(body)) for body in ("1690123456789", "2690123456789"))
    sscc = "069012340000004201"[:17] + str(gs1_mod10("069012340000004201"[:17]))
    with engine.begin() as c:
        for di, level, inner, qty in ((box, "中盒", GTIN, 10), (case, "箱", box, 4)):
            c.execute(insert(products).values(di=di, primary_di=GTIN, level=level, contains_di=inner, contains_qty=qty,
                                              name="一次性使用无菌注射器", reg_no="国械注准20173151234", source="udid",
                                              pi_lot=True, pi_serial=True, pi_mfg=False, pi_expiry=True, updated_at=time.time()))
    tracer, today = Tracer(), time.strftime("%Y-%m-%d")

    def pack(parent, children):
        with engine.begin() as c:
            batch = tracer.batch(c, today)
            aggregation.pack(batch, udi_codes.parse(parent, "read", today),
                             [udi_codes.parse(k, "read", today) for k in children], "line-1")
            tracer.record(c, batch, {})

    cases = []
    for ci in range(2):
        boxes = ["]d201%s21B%d%d" % (box, ci, bi) for bi in range(4)]
        for bi, b in enumerate(boxes):
            pack(b, ["]d201%s172810311020260A\x1d21S%d%d%02d" % (GTIN, ci, bi, u) for u in range(10)])
        cases.append("]d201%s21C%d" % (case, ci))
        pack(cases[-1], boxes)
    pack("]C100%s02%s372" % (sscc, case), cases)
    return "(01)%s(21)C0" % case


def seed_handheld(engine, dev="hh0a1b2c3d4e5f"):
    """The demo handheld's last heartbeat and commands as the firmware answers them: a mode
    change done, an update refused with its reason, an update downloading (progress)."""
    from sqlalchemy import update

    from gateway.schema import commands, devices

    now = time.time()
    hb = {"v": 1, "fw": "1.4.2", "boot": 17, "up_s": 15320, "heap_free": 41000, "rssi": -58, "battery_mv": 3950,
          "queue": 0, "reset_cause": "power_on", "boots": 17, "mode": "dispatch", "engine": "ok", "engine_errors": 0,
          "mqtt": "connected"}
    url = "http://192.168.1.10:8080/udi-edge-1.4.3.udiota"
    with engine.begin() as c:
        c.execute(update(devices).where(devices.c.dev == dev).values(heartbeat=hb))
        for cid, cmd, args, ago, ok, detail in (
                ("c0a1", "set_mode", {"mode": "dispatch"}, 600, True, "dispatch"),
                ("c0a2", "ota", {"url": url, "size": 91234}, 300, False, "ota_not_newer: 1.4.2"),
                ("c0a3", "ota", {"url": url, "size": 91234}, 5, None, {"done": 36864, "total": 91234})):
            c.execute(insert(commands).values(id=cid, dev=dev, cmd=cmd, args=args, sent_at=now - ago, ok=ok, detail=detail,
                                              done_at=now - ago + 2 if ok is not None else None))


def seed_users(engine):
    # People beside the demo admin: an operator locked out by wrong passwords, a disabled viewer.
    from gateway.panel import users

    for name, role in (("王工", "operator"), ("li.na", "operator"), ("qa-zhang", "viewer"), ("temp-01", "viewer")):
        users.create_user(engine, name, PASSWORD, role, actor=ADMIN)
    users.authenticate(engine, "王工", PASSWORD)
    for _ in range(users.MAX_FAILURES):
        users.authenticate(engine, "li.na", "not the password")
    users.set_disabled(engine, "temp-01", True, actor=ADMIN)


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
        page.goto(page.url.split("?")[0])  # the ended job: per-label void / reprint, the reconciliation with reprints
        row = page.locator("#labels tbody tr").nth(3)
        row.locator("summary").click()
        row.locator("input[name=reason]").fill("标签污损")
        row.locator("form.label-form button.primary").click()
        page.wait_for_url("**msg=reprinted_new**")
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
        seed_handheld(_store.engine)
        for name, path in (("dashboard", "/panel"), ("handhelds", "/panel/handhelds"),
                           ("handheld", "/panel/handhelds/hh0a1b2c3d4e5f"), ("scans", "/panel/scans"),
                           ("scan", "/panel/scans/1"), ("jobs", "/panel/jobs"), ("alerts", "/panel/alerts"),
                           ("quality", "/panel/quality"), ("printers", "/panel/printers"), ("templates", "/panel/templates"),
                           ("template", "/panel/templates/udi-item-dm?dpi=203"), ("audit", "/panel/audit")):
            page.goto(base + path)
            if name == "dashboard":
                page.wait_for_selector("#live.on")
            if name == "quality":
                page.wait_for_function("() => [...document.querySelectorAll('img.thumb')].every(i => i.complete)")
            if name == "template":  # the label drawn at 203 dpi, decoded back under it
                page.wait_for_function("() => { const i = document.querySelector('#label');"
                                       " return i && i.complete && i.naturalWidth > 0; }")
            if name == "printers":  # with the feedback of a test print
                page.click("tr[data-printer=virtual] form button")
                page.wait_for_selector(".notice.ok")
            shot(name)
        # products, the check of a mapping file (dry run), a case in the aggregation browser
        case = seed_packing(_store.engine)
        page.goto(base + "/panel/products")
        shot("products")
        mapping_csv = os.path.join(tmp, "三码映射.csv")
        with open(mapping_csv, "wb") as f:
            f.write(DEMO_MAPPING.encode("gb18030"))
        page.goto(base + "/panel/products/mappings")
        page.set_input_files("#map-import input[type=file]", mapping_csv)
        page.click("#map-import button.primary")
        page.wait_for_url("**/panel/products/mappings/check/*")
        shot("mapping-import")
        page.goto(base + "/panel/products/aggregation?code=" + case)
        shot("aggregation")
        page.goto(base + "/panel/printers")  # network discovery finds the virtual printer
        page.fill("#discover input[name=hosts]", "127.0.0.1-3")
        page.fill("#discover input[name=port]", str(_printer.port))
        page.click("#discover button")
        page.wait_for_selector("#found")
        page.locator("#found").scroll_into_view_if_needed()
        shot("printers-discover")
        seed_users(_store.engine)  # users: a locked one, a disabled one
        page.goto(base + "/panel/users")
        shot("users")
        page.goto(base + "/panel/exports")
        page.check("input[name=what][value=serials]")
        page.fill("input[name=job]", "1")
        shot("exports")
        page.goto(base + "/panel/lang/en?next=/panel")
        page.wait_for_selector("#live.on")
        shot("dashboard-en")
        page.close()
        browser.close()


if __name__ == "__main__":
    main()
