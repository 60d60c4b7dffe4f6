"""Panel actions over HTTP: handhelds (set mode, reboot, config push, OTA with
its progress — and the real firmware on the MicroPython VM answering through
the real broker), a finished print job's per-label void and reprint on the
virtual printer with the reconciliation after them, printer counters and
network discovery of the virtual printer."""

import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time
import types
from functools import partial

import pytest
from sqlalchemy import insert, select
from test_panel import GTIN, PW, client, csrf_of, signed_in, store  # noqa: F401

from gateway.devices import DeviceRegistry
from gateway.schema import commands, devices, print_audit, print_jobs, serials

# --- helpers ---------------------------------------------------------------------------------------


def audit_actions(store):  # noqa: F811
    from gateway.panel import users

    return [(r["user"], r["action"]) for r in users.recent_audit(store.engine)]


def wait_for(pred, timeout=20, every=0.1):
    # Polls until pred() is true; -> its last value (the caller asserts it).
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class Published:
    """The registry's publish hook (paho's Client.publish signature): what the panel sent."""

    def __init__(self):
        self.messages = []

    def __call__(self, topic, payload, qos, retain):
        self.messages.append((topic, json.loads(payload), qos, retain))
        return types.SimpleNamespace(rc=0)


@pytest.fixture
def published(client, store):  # noqa: F811
    pub = Published()
    client.app.state.registry = DeviceRegistry(store.engine, pub)
    now = time.time()
    with store.engine.begin() as c:
        c.execute(insert(devices).values(dev="hh1", state="online", fw="1.0.0", last_seen=now, battery_mv=3900, queue=0,
                                         heartbeat={"v": 1, "fw": "1.0.0", "boot": 3, "up_s": 3700, "battery_mv": 3900,
                                                    "queue": 0, "mode": "receive", "engine": "ok", "rssi": -61}))
        c.execute(insert(devices).values(dev="hh2", state="offline", fw="1.0.0", last_seen=now - 600))
    return pub


# --- handhelds (HTTP) ------------------------------------------------------------------------------

def test_operator_sets_mode_and_reboots_and_each_is_audited(client, store, published):  # noqa: F811
    csrf = signed_in(client, "olga")
    page = client.get("/panel/handhelds").text
    assert 'href="/panel/handhelds/hh1"' in page
    r = client.post("/panel/handhelds/hh1/mode", data={"csrf": csrf, "mode": "dispatch"}, follow_redirects=False)
    assert r.status_code == 303
    topic, msg, qos, retain = published.messages[-1]
    assert topic == "udi/v1/dev/hh1/cmd" and msg["cmd"] == "set_mode" and msg["args"] == {"mode": "dispatch"}
    assert (qos, retain) == (1, False)
    page = client.get(r.headers["location"]).text
    assert "命令已发出：设置模式：出库" in page
    row = page.split('data-cmd="%s"' % msg["id"])[1].split("</tr>")[0]
    assert 'data-state="sent"' in row and "已发出，等待回复" in row
    client.post("/panel/handhelds/hh1/reboot", data={"csrf": csrf})
    assert published.messages[-1][1]["cmd"] == "reboot"
    acts = audit_actions(store)
    assert ("olga", "handheld_set_mode") in acts and ("olga", "handheld_reboot") in acts
    # an operator may not push config or start an update
    assert client.post("/panel/handhelds/hh1/config", data={"csrf": csrf, "mode": "use"}).status_code == 403
    r = client.post("/panel/handhelds/hh1/ota", data={"csrf": csrf, "url": "http://h/b", "size": "100"})
    assert r.status_code == 403 and "需要管理员权限" in r.text
    assert [m[1]["cmd"] for m in published.messages] == ["set_mode", "reboot"]
    # a viewer sees the page without the buttons, and may not act
    client.post("/panel/logout", data={"csrf": csrf})
    csrf = signed_in(client, "vic")
    page = client.get("/panel/handhelds/hh1").text
    assert "/reboot" not in page and "/config" not in page
    assert client.post("/panel/handhelds/hh1/reboot", data={"csrf": csrf}).status_code == 403


def test_a_command_to_an_offline_handheld_is_refused_in_words(client, store, published):  # noqa: F811
    csrf = signed_in(client, "olga")
    page = client.get("/panel/handhelds/hh2").text
    assert "扫码枪离线" in page
    r = client.post("/panel/handhelds/hh2/reboot", data={"csrf": csrf})
    assert r.status_code == 409 and "离线，命令没有发出" in r.text and "推送配置" in r.text
    assert published.messages == []
    with store.engine.connect() as c:
        assert c.execute(select(commands)).first() is None
    assert client.post("/panel/handhelds/nobody/reboot", data={"csrf": csrf}).status_code == 404
    r = client.post("/panel/handhelds/hh1/mode", data={"csrf": csrf, "mode": "teleport"})
    assert r.status_code == 422 and "teleport" in r.text and published.messages == []


def test_ota_progress_and_the_devices_reason_show_on_the_page(client, store, published):  # noqa: F811
    csrf = signed_in(client, "ada")
    r = client.post("/panel/handhelds/hh1/ota", data={"csrf": csrf, "url": "ftp://x/b", "size": "10"})
    assert r.status_code == 422 and "http://" in r.text and published.messages == []
    r = client.post("/panel/handhelds/hh1/ota", data={"csrf": csrf, "url": "http://10.0.0.9/fw.udiota", "size": "20000"},
                    follow_redirects=False)
    assert r.status_code == 303
    cid = published.messages[-1][1]["id"]
    assert published.messages[-1][1]["args"] == {"url": "http://10.0.0.9/fw.udiota", "size": 20000}
    registry = client.app.state.registry

    def answer(ok, detail):  # exactly what firmware/protocol.cmd_result publishes
        registry.on_cmd_result("hh1", json.dumps({"v": 1, "id": cid, "ok": ok, "detail": detail}).encode())

    def row():
        return client.get("/panel/handhelds/hh1/commands").text.split('data-cmd="%s"' % cid)[1].split("</tr>")[0]

    answer(None, {"done": 8192, "total": 20000})
    assert 'data-state="acked"' in row() and "data-pending" in row()
    assert 'value="40"' in row() and "8,192 / 20,000" in row()
    answer(False, "ota_bad_signature: manifest")
    assert 'data-state="failed"' in row() and "签名无效" in row() and "ota_bad_signature" in row()
    assert "data-pending" not in row()
    # a late progress message does not bring a finished command back
    answer(None, {"done": 20000, "total": 20000})
    assert 'data-state="failed"' in row()
    client.get("/panel/lang/en")
    assert "bad signature" in client.get("/panel/handhelds/hh1").text
    assert ("ada", "handheld_ota") in audit_actions(store)


def test_admin_pushes_config_validated_and_retained(client, store, published):  # noqa: F811
    csrf = signed_in(client, "ada")
    form = {"csrf": csrf, "mode": "aggregate", "aggregate_order": "parent_first", "operator": "张三", "location": "W1",
            "dup_window_ms": "1500", "heartbeat_s": "30", "volume": "80"}
    r = client.post("/panel/handhelds/hh1/config", data=dict(form, dup_window_ms="-1", heartbeat_s="0", volume="101",
                                                              mode="fly", operator="x" * 65))
    assert r.status_code == 422
    for words in ("重复扫码窗口（毫秒）：请输入 0 到 60000", "心跳间隔（秒）：请输入 1 到 3600", "蜂鸣音量", "模式：请从列表中选择",
                  "操作员：最多 64 个字符"):
        assert words in r.text, words
    assert published.messages == []
    # offline: saved and retained, applied when it reconnects
    r = client.post("/panel/handhelds/hh2/config", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert "配置版本 1 已保存并发布（保留消息）：扫码枪离线" in client.get(r.headers["location"]).text
    topic, msg, qos, retain = published.messages[-1]
    assert topic == "udi/v1/dev/hh2/config" and (qos, retain) == (1, True)
    assert msg == {"v": 1, "rev": 1, "mode": "aggregate", "aggregate_order": "parent_first", "operator": "张三",
                   "location": "W1", "dup_window_ms": 1500, "heartbeat_s": 30, "feedback": {"volume": 80}}
    page = client.get("/panel/handhelds/hh2").text
    assert 'value="1500"' in page and "配置版本 1" in page  # the form shows what was pushed
    assert ("ada", "handheld_config") in audit_actions(store)


# --- the real firmware on the MicroPython VM, through the real broker --------------------------------

HANDHELD_VM = r"""
# One handheld running the real firmware (app.Handheld) on a simulated board;
# a reset (reboot command) starts it again as the device would boot, with
# the next boot count.  A scan every 0.4 s; ends when the stop file appears.
import asyncio, json, os, sys
import app
import settings as S
from simboard import SimBoard

A = json.load(open(sys.argv[1]))

def stopped():
    try:
        os.stat(A["stop"])
        return True
    except OSError:
        return False

async def main():
    n = 0
    while not stopped():
        s, _ = S.load(A["config"])  # a boot reads config.json from flash again
        s["engine"]["kind"] = "line"
        s["mqtt"].update(host="127.0.0.1", port=A["port"], user=A["dev"], password=A["password"])
        s["heartbeat_s"] = 1
        board = SimBoard(A["dev"])
        h = app.Handheld(s, board, A["root"], A["dev"])
        task = asyncio.create_task(h.run(watchdog=False))
        while not board.resets and not stopped():
            await asyncio.sleep(0.4)
            n += 1
            board.uart.inject(b"]d201069012345678922110LOT1\x1d21SN%05d\r\n" % n)
        h.stop()
        await asyncio.sleep(0.3)
        task.cancel()
        print(json.dumps({"boot": h.boot, "mode": h.modes.mode, "resets": board.resets}))

asyncio.run(main())
"""


@pytest.fixture
def gateway_with_handheld(tmp_path):
    from test_mqtt_client import MOSQUITTO

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed")
    from gateway import config as C
    from gateway.panel import users
    from gateway.service import Gateway
    from gateway.sim import vm

    try:
        vm.micropython()
    except SystemExit as e:  # it says what to install
        pytest.skip(str(e))
    cfg, problems = C.load(None, environ={})
    assert problems == []
    cfg["data_dir"] = str(tmp_path / "data")
    cfg["mqtt"]["port"] = 0
    cfg["api"]["port"] = 0
    cfg["printing"]["virtual_printer"] = False
    gw = Gateway(cfg).start()
    dev = "hhpanel0001"
    root = tmp_path / "flash"
    root.mkdir()
    args = {"dev": dev, "password": gw.provision(dev, name="收货台"), "port": gw.port, "root": str(root),
            "config": os.path.join(vm.bundle(), "config.json"), "stop": str(tmp_path / "stop")}
    (tmp_path / "args.json").write_text(json.dumps(args))
    script = tmp_path / "handheld_vm.py"
    script.write_text(HANDHELD_VM)
    proc = subprocess.Popen(vm.command(str(script), "8M") + [str(tmp_path / "args.json")],
                            env=vm.env((os.path.join(os.path.dirname(vm.__file__), "mp"),)), cwd=str(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    users.create_user(gw.store.engine, "olga", PW, "operator")
    users.create_user(gw.store.engine, "ada", PW, "admin")
    try:
        yield gw, dev, proc
    finally:
        (tmp_path / "stop").write_text("")
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        gw.stop()


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    served: list = []  # one entry per request answered  # noqa: RUF012

    def log_message(self, *args):
        QuietFiles.served.append(args)


def test_panel_commands_reach_the_firmware_and_its_answers_show(gateway_with_handheld, tmp_path):
    import httpx

    gw, dev, proc = gateway_with_handheld
    reg = gw.registry
    hb = wait_for(lambda: (reg.get(dev) or {}).get("heartbeat"))
    assert hb and hb["boot"] == 1 and reg.get(dev)["online"], proc.stderr.read() if proc.poll() is not None else "no heartbeat"
    web = httpx.Client(base_url="http://127.0.0.1:%d" % gw.api.port, timeout=20)

    def commands_html():
        return web.get("/panel/handhelds/%s/commands" % dev).text

    def row(cid):
        html = commands_html()
        return html.split('data-cmd="%s"' % cid)[1].split("</tr>")[0] if cid in html else ""

    def last_cid(r):
        assert r.status_code == 303, r.text
        return re.search(r"cmd=([0-9a-f]+)", r.headers["location"]).group(1)

    try:
        csrf = signed_in(web, "olga")
        page = web.get("/panel/handhelds/" + dev).text
        assert "收货台" in page and 'data-field="mode">入库' in page
        # set mode: the firmware switches and says so; its next scans carry the mode
        cid = last_cid(web.post("/panel/handhelds/%s/mode" % dev, data={"csrf": csrf, "mode": "dispatch"}))
        done = wait_for(lambda: 'data-state="done"' in row(cid) and row(cid))
        assert done and "模式已切换为出库" in done, row(cid)
        assert wait_for(lambda: any(s["mode"] == "dispatch" for s in gw.store.scans(dev=dev, limit=5)))
        scans_part = web.get("/panel/handhelds/" + dev).text.split('id="recent-scans"')[1]
        assert "出库" in scans_part and "/panel/scans/" in scans_part
        # reboot: the firmware answers, resets, and comes back with the next boot count
        cid = last_cid(web.post("/panel/handhelds/%s/reboot" % dev, data={"csrf": csrf}))
        done = wait_for(lambda: 'data-state="done"' in row(cid) and row(cid))
        assert done and "正在重启" in done, row(cid)
        assert wait_for(lambda: ((reg.get(dev) or {}).get("heartbeat") or {}).get("boot") == 2)
        page = web.get("/panel/handhelds/" + dev).text
        assert 'data-field="boot">2' in page
        assert 'data-field="mode">入库' in page  # a reboot goes back to the configured mode
        # an update the firmware downloads and refuses: its reason shows in words
        web.post("/panel/logout", data={"csrf": csrf})
        csrf = signed_in(web, "ada")
        bundle = tmp_path / "www" / "fw.udiota"
        bundle.parent.mkdir()
        bundle.write_bytes(os.urandom(20000))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietFiles, directory=str(bundle.parent)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            url = "http://127.0.0.1:%d/fw.udiota" % srv.server_address[1]
            cid = last_cid(web.post("/panel/handhelds/%s/ota" % dev, data={"csrf": csrf, "url": url, "size": "20000"}))
            failed = wait_for(lambda: 'data-state="failed"' in row(cid) and row(cid))
        finally:
            srv.shutdown()
        assert QuietFiles.served  # the firmware downloaded the bundle before it refused it
        assert failed and re.search(r"（ota_\w+", failed), row(cid)
        assert not re.search(r'class="answer">ota_', failed)  # in words, the code beside them
    finally:
        web.close()
    acts = audit_actions(gw.store)
    assert ("olga", "handheld_set_mode") in acts and ("olga", "handheld_reboot") in acts and ("ada", "handheld_ota") in acts


# --- a finished print job: void and reprint ----------------------------------------------------------

@pytest.fixture
def vprinter():
    from gateway.sim.printer import VirtualPrinter

    p = VirtualPrinter(port=0, ips=14, label_length_in=0.5).start()
    yield p
    p.stop()


REG = {"reg_no": "国械注准20173151234"}  # the template prints it; the test product has none


def finished_job(client, vprinter, quantity=3, printer="vp"):  # noqa: F811
    jobs = client.app.state.print_jobs
    if jobs.printer(printer) is None:
        jobs.add_printer(printer, vprinter.uri, 300, 14)
    job = jobs.create(GTIN, "udi-item-dm", printer, quantity, lot="L1", expiry="2028-10-31", fields=REG, actor="olga")
    jobs.start(job["id"])
    done = jobs.wait(job["id"], 60)
    assert done["state"] == "done" and done["reconciliation"]["agrees"] is True
    return done["id"]


def labels_of(store, job_id):  # noqa: F811
    with store.engine.connect() as c:
        return [dict(r) for r in c.execute(select(serials).where(serials.c.job_id == job_id)
                                          .order_by(serials.c.label_no, serials.c.id)).mappings()]


def test_void_and_reprint_on_a_finished_job_reconcile(client, store, vprinter):  # noqa: F811
    job_id = finished_job(client, vprinter)
    first = labels_of(store, job_id)
    csrf = signed_in(client, "olga")
    page = client.get("/panel/jobs/%d" % job_id).text
    assert 'id="recon" class="ok"' in page and "对账一致" in page
    assert 'data-events=' not in page  # an ended job: no live stream
    assert page.count("/labels/") == 3 * 2  # reprint and void per label
    url = "/panel/jobs/%d/labels/%%d/%%s" % job_id
    # a reason is required
    r = client.post(url % (first[0]["id"], "void"), data={"csrf": csrf, "reason": "  "})
    assert r.status_code == 409 and "请填写原因" in r.text
    # void label 1
    r = client.post(url % (first[0]["id"], "void"), data={"csrf": csrf, "reason": "产品报废"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "序列号 %s 已作废" % first[0]["serial"] in page
    assert 'data-problem="short"' in page and "少 1 张" in page
    r = client.post(url % (first[0]["id"], "reprint"), data={"csrf": csrf, "reason": "再打"})
    assert r.status_code == 409 and "已作废" in r.text
    # reprint label 2, the bad label destroyed: the same serial, counted by the printer
    r = client.post(url % (first[1]["id"], "reprint"), data={"csrf": csrf, "reason": "污损", "destroyed": "1"},
                    follow_redirects=False)
    page = client.get(r.headers["location"]).text
    assert "已按原序列号 %s 补打" % first[1]["serial"] in page and "打印机计数 +1" in page
    assert vprinter.total_labels == 4 and "21" + first[1]["serial"] in vprinter.printed[-1]["zpl"]
    # reprint label 3, not destroyed: voided, a new serial in its place
    r = client.post(url % (first[2]["id"], "reprint"), data={"csrf": csrf, "reason": "贴歪"}, follow_redirects=False)
    page = client.get(r.headers["location"]).text
    now = labels_of(store, job_id)
    new = [x for x in now if x["id"] not in {f["id"] for f in first}]
    assert len(new) == 1 and new[0]["label_no"] == first[2]["label_no"] and new[0]["state"] == "printed"
    assert "原序列号 %s 已作废，新序列号 %s" % (first[2]["serial"], new[0]["serial"]) in page
    assert "21" + new[0]["serial"] in vprinter.printed[-1]["zpl"] and vprinter.total_labels == 5
    assert {x["serial"]: x["state"] for x in now} == {first[0]["serial"]: "voided", first[1]["serial"]: "printed",
                                                      first[2]["serial"]: "voided", new[0]["serial"]: "printed"}
    # the reconciliation: 3 at the end + 2 reprints on both sides; one item short (voided, not reprinted)
    recon = page.split('id="recon-table"')[1].split("</table>")[0]
    assert re.sub(r"\s+", "", recon.split('id="recon-counter"')[1].split("</tr>")[0]).endswith(
        "<td>3</td><td>+2</td><td><strong>5</strong></td>")
    assert re.sub(r"\s+", "", recon.split('id="recon-ledger"')[1].split("</tr>")[0]).endswith(
        "<td>3</td><td>+2</td><td><strong>5</strong></td>")
    assert 'id="recon-good">2<' in page and 'id="recon-voided">2<' in page
    assert 'data-problem="counter_mismatch"' not in page and 'data-problem="short"' in page
    with store.engine.connect() as c:
        acts = [r[0] for r in c.execute(select(print_audit.c.action).where(print_audit.c.job_id == job_id))]
    assert {"void", "reprint_same", "void_for_reprint", "reprint_new"} <= set(acts) and acts.count("reprint_printed") == 2
    panel_acts = audit_actions(store)
    assert ("olga", "label_void") in panel_acts and ("olga", "label_reprint") in panel_acts


def test_void_and_reprint_are_refused_in_words_when_not_allowed(client, store, vprinter):  # noqa: F811
    done_id = finished_job(client, vprinter, 2)
    label = labels_of(store, done_id)[0]
    jobs = client.app.state.print_jobs
    # a running job's label: refused (the job reconciles against the counter label by label)
    vprinter.inject("paper_out", after_labels=1)
    held = jobs.create(GTIN, "udi-item-dm", "vp", 5, lot="L1", expiry="2028-10-31", fields=REG)
    jobs.start(held["id"])
    assert wait_for(lambda: jobs.get(held["id"])["state"] == "held")
    csrf = signed_in(client, "olga")
    held_label = labels_of(store, held["id"])[0]
    r = client.post("/panel/jobs/%d/labels/%d/void" % (held["id"], held_label["id"]), data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 409 and "任务 #%d 当前为“已挂起”" % held["id"] in r.text and "只有已结束的任务" in r.text
    assert "/labels/" not in client.get("/panel/jobs/%d" % held["id"]).text  # no per-label buttons while it runs
    # the finished job's printer is used by the held job: a reprint would spoil its reconciliation
    r = client.post("/panel/jobs/%d/labels/%d/reprint" % (done_id, label["id"]), data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 409 and "正在执行任务 #%d" % held["id"] in r.text
    jobs.cancel(held["id"], actor="olga")
    assert wait_for(lambda: jobs.get(held["id"])["state"] == "cancelled", 30)
    # paper out on the printer: refused before the ledger is touched
    total = vprinter.total_labels
    r = client.post("/panel/jobs/%d/labels/%d/reprint" % (done_id, label["id"]), data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 409 and "未就绪（缺纸）" in r.text
    assert labels_of(store, done_id)[0]["state"] == "printed" and vprinter.total_labels == total
    vprinter.clear("paper_out")
    # a label of another job, an unknown action, and a viewer
    r = client.post("/panel/jobs/%d/labels/%d/void" % (done_id, held_label["id"]), data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 409 and "没有这张标签" in r.text
    assert client.post("/panel/jobs/%d/labels/%d/burn" % (done_id, label["id"]), data={"csrf": csrf}).status_code == 404
    client.post("/panel/logout", data={"csrf": csrf})
    csrf = signed_in(client, "vic")
    assert client.post("/panel/jobs/%d/labels/%d/void" % (done_id, label["id"]),
                       data={"csrf": csrf, "reason": "x"}).status_code == 403
    assert "/labels/" not in client.get("/panel/jobs/%d" % done_id).text
    assert labels_of(store, done_id)[0]["state"] == "printed"
    with store.engine.connect() as c:
        assert c.execute(select(print_jobs.c.counts).where(print_jobs.c.id == done_id)).scalar().get("reprints") is None


def test_reprint_and_void_keep_the_ledger_and_the_tally_on_both_databases(db_url, vprinter):
    from gateway.printing import reprint
    from gateway.printing.jobs import PrintJobs
    from gateway.schema import products
    from gateway.store import Store

    store = Store(db_url)  # noqa: F811  (its own, on each database)
    with store.engine.begin() as c:
        c.execute(insert(products).values(di=GTIN, primary_di=GTIN, name="注射器", reg_no="国械注准20173151234",
                                          pi_lot=True, pi_serial=True, pi_expiry=True, source="udid", updated_at=0))
    jobs = PrintJobs(store.engine, poll_s=0.05)
    jobs.add_printer("vp", vprinter.uri, 300, 14)
    job_id = jobs.create(GTIN, "udi-item-dm", "vp", 2, lot="L1", expiry="2028-10-31")["id"]
    jobs.start(job_id)
    assert jobs.wait(job_id, 60)["state"] == "done"
    a, b = labels_of(store, job_id)
    res = reprint.reprint_label(jobs, job_id, a["id"], False, "污损", "olga")
    assert res["state"] == "printed" and not res["same"] and res["counted"] == 1 and res["old_serial"] == a["serial"]
    reprint.void_label(jobs, job_id, b["id"], "报废", "olga")
    with pytest.raises(reprint.Refused) as e:
        reprint.void_label(jobs, job_id, b["id"], "again", "olga")
    assert e.value.code == "voided"
    rec = reprint.reconciliation(jobs, jobs.get(job_id))
    assert (rec["counter_total"], rec["ledger_total"], rec["good"], rec["voided"], rec["reprinted_new"]) == (3, 3, 1, 2, 1)
    assert [code for code, _ in rec["problems"]] == ["short"] and vprinter.total_labels == 3


def test_a_big_finished_job_pages_its_labels(client, store):  # noqa: F811
    from sqlalchemy import update

    jobs = client.app.state.print_jobs
    jobs.add_printer("far", "tcp://127.0.0.1:1", 300, 6)
    job_id = jobs.create(GTIN, "udi-item-dm", "far", 120, lot="L1", expiry="2028-10-31", fields=REG)["id"]
    # the ledger as a finished 120-label job leaves it (paging needs no printing)
    ids = [sid for sid, _ in jobs.ledger.allocate(GTIN, "L1", 120, job_id, 0)]
    jobs.ledger.mark(ids, "sent")
    jobs.ledger.mark(ids, "printed")
    with store.engine.begin() as c:
        c.execute(update(print_jobs).where(print_jobs.c.id == job_id).values(state="done"))
    signed_in(client, "vic")
    page = client.get("/panel/jobs/%d" % job_id).text
    assert "第 1 / 2 页，共 120 张" in page and page.count("<tr data-serial=") == 100
    page = client.get("/panel/jobs/%d?page=2" % job_id).text
    assert page.count("<tr data-serial=") == 20
    serial = labels_of(store, job_id)[7]["serial"]
    page = client.get("/panel/jobs/%d?q=%s" % (job_id, serial)).text
    assert page.count("<tr data-serial=") == 1 and 'data-serial="%s"' % serial in page
    assert "共 0 张" in client.get("/panel/jobs/%d?state=voided" % job_id).text
    assert "打印机没有回报计数" in page  # a job that never counted says so rather than agreeing


# --- printers: counters and discovery ---------------------------------------------------------------

def test_printers_page_shows_the_printers_counters(client, store, vprinter):  # noqa: F811
    finished_job(client, vprinter, 3)
    signed_in(client, "vic")
    row = client.get("/panel/printers").text.split('data-printer="vp"')[1].split("</tr>")[0]
    assert "标签总数 3 张" in row and "用户计数 1 / 2：3 / 3" in row
    assert "打印长度 %d 英寸" % int(vprinter.print_length_in) in row and vprinter.print_length_in >= 1  # ~HQOD


@pytest.fixture
def silent_port():
    # Something that accepts on the port and never answers (not a Zebra printer).
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    stop = threading.Event()

    def serve():
        held = []
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass
        for s in held:
            s.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join(2)
    srv.close()


def test_admin_discovers_the_virtual_printer_and_adds_it(client, store, vprinter, silent_port):  # noqa: F811
    csrf = signed_in(client, "ada")
    r = client.post("/panel/printers/discover", data={"csrf": csrf, "hosts": "127.0.0.1-3", "port": str(vprinter.port)})
    assert r.status_code == 200
    assert "在 3 个地址中找到 1 台 Zebra 打印机" in r.text
    found = r.text.split('id="found"')[1].split("</table>")[0]
    assert found.count("<tr data-found=") == 1 and vprinter.model in found and "就绪" in found
    form = csrf_of(found)
    fields = dict(re.findall(r'name="(name|uri|dpi|ips)" value="([^"]+)"', found))
    name = fields["name"]
    assert fields["uri"] == "tcp://127.0.0.1:%d" % vprinter.port and fields["dpi"] == "300"
    r = client.post("/panel/printers", data=dict(fields, csrf=form), follow_redirects=False)
    assert r.status_code == 303
    assert client.app.state.print_jobs.printer(name)["dpi"] == 300
    r = client.post("/panel/printers/discover", data={"csrf": csrf, "hosts": "127.0.0.1", "port": str(vprinter.port)})
    assert "已添加为 %s" % name in r.text.split('id="found"')[1]
    # a port that accepts but does not answer ~HI
    r = client.post("/panel/printers/discover", data={"csrf": csrf, "hosts": "127.0.0.1", "port": str(silent_port)})
    assert "不回应 ~HI" in r.text and "没有找到打印机" in r.text
    # bad input in words; nothing scanned
    for hosts, port, words in (("", "9100", "请填写要查找的地址"), ("10.0.0.0/16", "9100", "超过 256 个地址"),
                               ("printer_1", "9100", "无法识别“printer_1”"), ("127.0.0.1", "99999", "端口：请输入")):
        r = client.post("/panel/printers/discover", data={"csrf": csrf, "hosts": hosts, "port": port})
        assert r.status_code == 422 and words in r.text, words
    acts = audit_actions(store)
    assert acts.count(("ada", "printer_discover")) == 3 and ("ada", "printer_add") in acts
    client.post("/panel/logout", data={"csrf": csrf})
    csrf = signed_in(client, "olga")
    r = client.post("/panel/printers/discover", data={"csrf": csrf, "hosts": "127.0.0.1", "port": str(vprinter.port)})
    assert r.status_code == 403
    assert 'action="/panel/printers/discover' not in client.get("/panel/printers").text
