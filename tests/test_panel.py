"""The operator panel over HTTP (TestClient): sign-in, lock-out, CSRF,
roles, security headers, both languages, the audit log, live events."""

import json
import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from gateway.api.app import create_app
from gateway.panel import mount_panel, users
from gateway.printing.jobs import PrintJobs
from gateway.schema import alerts, products, scans
from gateway.store import Store

PW = "correct horse battery"
GTIN = "06901234567892"


@pytest.fixture
def store(tmp_path):
    return Store("sqlite:///" + str(tmp_path / "panel.sqlite"))


@pytest.fixture
def client(store):
    app = create_app(store, print_jobs=PrintJobs(store.engine, poll_s=0.05))
    mount_panel(app)
    for name, role in (("ada", "admin"), ("olga", "operator"), ("vic", "viewer")):
        users.create_user(store.engine, name, PW, role)
    with store.engine.begin() as c:
        c.execute(insert(alerts).values(kind="used_twice", dev="hh1", item="X1", detail="d", created_at=time.time(),
                                        acknowledged=False))
        c.execute(insert(products).values(di=GTIN, primary_di=GTIN, name="注射器", pi_lot=True, pi_serial=True,
                                          pi_expiry=True, source="udid", updated_at=0))
    with TestClient(app) as c:
        yield c


def csrf_of(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client, name, password=PW):
    form = client.get("/panel/login")
    return client.post("/panel/login", data={"name": name, "password": password, "csrf": csrf_of(form.text)},
                       follow_redirects=False)


def signed_in(client, name):
    r = sign_in(client, name)
    assert r.status_code == 303, r.text
    page = client.get("/panel")
    assert page.status_code == 200
    return csrf_of(page.text)


def audit_actions(store):
    return [(r["user"], r["action"]) for r in users.recent_audit(store.engine)]


def test_password_hash_is_scrypt_with_a_salt_and_rejects_short_passwords(store):
    a, b = users.hash_password(PW), users.hash_password(PW)
    assert a.startswith("scrypt$16384$8$1$") and a != b
    assert users.check_password(PW, a) and not users.check_password(PW + "x", a)
    with pytest.raises(ValueError, match="at least 10"):
        users.create_user(store.engine, "short", "123456789", "viewer")
    with pytest.raises(ValueError, match="role"):
        users.create_user(store.engine, "x", PW, "root")
    users.create_user(store.engine, "dup", PW, "viewer")
    with pytest.raises(users.UserExists):
        users.create_user(store.engine, "dup", PW, "viewer")


def test_pages_need_a_session(client):
    r = client.get("/panel/scans", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/panel/login?next=/panel/scans")
    assert client.get("/panel/events?once=1").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/panel"


def test_sign_in_success_sets_a_strict_httponly_cookie(client, store):
    r = sign_in(client, "ada")
    assert r.status_code == 303 and r.headers["location"] == "/panel"
    cookie = r.headers["set-cookie"]
    assert "panel_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http in the test; https adds it
    page = client.get("/panel")
    assert page.status_code == 200 and "ada" in page.text
    assert ("ada", "signin") in audit_actions(store)


def test_sign_in_failure_says_what_to_do(client, store):
    r = sign_in(client, "ada", "wrong password!")
    assert r.status_code == 401 and "用户名或密码不正确" in r.text
    assert "panel_session" not in r.headers.get("set-cookie", "")
    r = sign_in(client, "nobody", "wrong password!")
    assert r.status_code == 401
    assert ("ada", "signin_failed") in audit_actions(store)


def test_sign_in_form_needs_its_csrf_token(client):
    client.get("/panel/login")
    r = client.post("/panel/login", data={"name": "ada", "password": PW, "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403 and "panel_session" not in r.headers.get("set-cookie", "")


def test_five_failures_lock_the_account_for_15_minutes(client, store):
    for _ in range(4):
        assert sign_in(client, "olga", "wrong password!").status_code == 401
    r = sign_in(client, "olga", "wrong password!")
    assert r.status_code == 423 and "15" in r.text
    r = sign_in(client, "olga")  # the right password is refused while locked
    assert r.status_code == 423
    assert ("olga", "locked") in audit_actions(store)
    # the lock runs out after 15 minutes
    assert users.authenticate(store.engine, "olga", PW, now=time.time() + 15 * 60 + 1)[0] == "ok"


def test_post_without_csrf_is_refused(client, store):
    signed_in(client, "ada")
    alert_id = 1
    r = client.post("/panel/alerts/%d/ack" % alert_id, data={}, follow_redirects=False)
    assert r.status_code == 403 and "刷新页面" in r.text
    r = client.post("/panel/alerts/%d/ack" % alert_id, data={"csrf": "nope"}, follow_redirects=False)
    assert r.status_code == 403
    with store.engine.connect() as c:
        assert c.execute(select(alerts.c.acknowledged)).scalar() is False


def test_viewer_cannot_change_anything(client, store):
    csrf = signed_in(client, "vic")
    r = client.post("/panel/alerts/1/ack", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 403 and "需要操作员权限" in r.text
    r = client.post("/panel/jobs", data={"csrf": csrf, "di": GTIN, "template": "udi-item-dm", "printer": "p",
                                         "quantity": "1"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/panel/api/preview", json={"di": GTIN}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "detail" in r.json()
    assert client.get("/panel/jobs/new").status_code == 403
    assert client.get("/panel/audit").status_code == 403
    with store.engine.connect() as c:
        assert c.execute(select(alerts.c.acknowledged)).scalar() is False


def test_operator_acks_an_alert_and_it_is_audited(client, store):
    csrf = signed_in(client, "olga")
    r = client.post("/panel/alerts/1/ack", data={"csrf": csrf})
    assert r.status_code == 200 and "告警 #1 已确认" in r.text
    with store.engine.connect() as c:
        assert c.execute(select(alerts.c.acknowledged)).scalar() is True
    assert ("olga", "alert_ack") in audit_actions(store)
    assert client.get("/panel/audit").status_code == 403  # the audit page is for admins


def test_security_headers_on_every_panel_response(client):
    for path in ("/panel/login", "/static/panel.css"):
        h = client.get(path).headers
        assert h["content-security-policy"].startswith("default-src 'self'")
        assert h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"


def test_pages_render_in_chinese_and_english(client, store):
    with store.engine.begin() as c:
        c.execute(insert(scans).values(dev="hh1", boot=1, seq=1, raw="]d2010690123456789217281031", scheme="gs1",
                                       verdict="bad", di=GTIN, nhsa_code="C1234", received_at=time.time(),
                                       result={"errors": [{"code": "check_digit", "message": "check digit is 3", "at": "01"}],
                                               "warnings": [], "elements": [{"ai": "01", "title": "GTIN", "value": GTIN}],
                                               "trace": [{"code": "used_twice", "bad": True}]}))
    signed_in(client, "ada")
    pages = ["/panel", "/panel/handhelds", "/panel/scans", "/panel/scans?code=" + GTIN, "/panel/scans/1",
             "/panel/jobs", "/panel/jobs/new", "/panel/alerts", "/panel/alerts?show=all", "/panel/audit",
             "/panel/printers", "/panel/quality", "/panel/quality?job=1"]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert 'lang="zh-CN"' in r.text and "总览" in r.text, path
    assert "C1234" in client.get("/panel/scans/1").text
    r = client.get("/panel/lang/en?next=/panel/scans", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/panel/scans"
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200 and 'lang="en"' in r.text and "Dashboard" in r.text, path
    assert client.get("/panel/lang/en?next=https://evil.example/", follow_redirects=False).headers["location"] == "/panel"
    assert client.get("/panel/scans/999").status_code == 404


def test_events_stream_a_json_snapshot(client):
    signed_in(client, "olga")
    r = client.get("/panel/events?once=1")
    assert r.headers["content-type"].startswith("text/event-stream")
    data = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    snap = json.loads(data[0])
    assert snap["alerts"] == 1 and snap["handhelds"] == {"online": 0, "total": 0} and snap["jobs"] == []


def test_a_bad_job_says_what_is_wrong_and_sign_out_ends_the_session(client, store):
    csrf = signed_in(client, "olga")
    r = client.post("/panel/jobs", data={"csrf": csrf, "di": GTIN, "template": "udi-item-dm", "printer": "nope",
                                         "quantity": "5", "lot": "L1", "expiry": "2028-10-31"})
    assert r.status_code == 422 and "nope" in r.text
    r = client.post("/panel/api/preview", json={"di": GTIN, "template": "udi-item-dm", "lot": "L1"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "expiry" in r.json()["detail"]
    r = client.post("/panel/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/panel", follow_redirects=False).status_code == 303
    assert ("olga", "signout") in audit_actions(store)


# --- printers ---------------------------------------------------------------------------------

@pytest.fixture
def vprinter():
    from gateway.sim.printer import VirtualPrinter

    p = VirtualPrinter(port=0, ips=14, label_length_in=0.5).start()
    yield p
    p.stop()


def test_admin_adds_a_printer_and_the_page_shows_its_live_status(client, store, vprinter):
    csrf = signed_in(client, "ada")
    r = client.post("/panel/printers", data={"csrf": csrf, "name": "line-1", "uri": vprinter.uri, "dpi": "300",
                                             "ips": "8"}, follow_redirects=False)
    assert r.status_code == 303 and "msg=added" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "打印机 line-1 已添加" in page and "就绪" in page and vprinter.uri in page
    client.post("/panel/printers", data={"csrf": csrf, "name": "far", "uri": "tcp://127.0.0.1:1", "dpi": "203", "ips": "4"})
    vprinter.inject("paper_out")
    t0 = time.monotonic()
    page = client.get("/panel/printers").text
    assert time.monotonic() - t0 < 5
    row = page.split('data-printer="line-1"')[1].split("</tr>")[0]
    assert "缺纸" in row and "未就绪" in row
    assert "无法连接" in page.split('data-printer="far"')[1].split("</tr>")[0]
    client.get("/panel/lang/en")
    assert "paper out" in client.get("/panel/printers").text
    # changing it keeps one row and says so
    r = client.post("/panel/printers", data={"csrf": csrf, "name": "line-1", "uri": vprinter.uri, "dpi": "600",
                                             "ips": "6"}, follow_redirects=False)
    assert "msg=changed" in r.headers["location"]
    from gateway.schema import printers
    with store.engine.connect() as c:
        assert c.execute(select(printers.c.dpi).where(printers.c.name == "line-1")).scalar() == 600
    acts = audit_actions(store)
    assert ("ada", "printer_add") in acts and ("ada", "printer_change") in acts


def test_printer_form_says_what_is_wrong(client, store):
    csrf = signed_in(client, "ada")
    r = client.post("/panel/printers", data={"csrf": csrf, "name": "", "uri": "http://x", "dpi": "250", "ips": "99"})
    assert r.status_code == 422
    for words in ("名称：必填", "连接地址：应为", "请选择 203、300 或 600", "1 到 14"):
        assert words in r.text, words
    r = client.post("/panel/printers", data={"csrf": csrf, "name": "ok", "uri": "tcp://", "dpi": "300", "ips": "6"})
    assert r.status_code == 422 and "连接地址" in r.text and "名称" not in r.text.split('class="problems"')[1].split("</ul>")[0]
    from gateway.schema import printers
    with store.engine.connect() as c:
        assert c.execute(select(printers)).first() is None


def test_viewer_and_operator_may_not_add_printers_and_viewer_may_not_test(client, vprinter):
    csrf = signed_in(client, "vic")
    client.app.state.print_jobs.add_printer("p1", vprinter.uri, 300, 6)
    page = client.get("/panel/printers")
    assert page.status_code == 200 and "p1" in page.text and 'action="/panel/printers"' not in page.text
    assert "/test" not in page.text
    r = client.post("/panel/printers", data={"csrf": csrf, "name": "x", "uri": "tcp://h", "dpi": "300", "ips": "6"})
    assert r.status_code == 403 and "需要管理员权限" in r.text
    r = client.post("/panel/printers/p1/test", data={"csrf": csrf})
    assert r.status_code == 403 and "需要操作员权限" in r.text
    client.post("/panel/logout", data={"csrf": csrf})
    csrf = signed_in(client, "olga")
    r = client.post("/panel/printers", data={"csrf": csrf, "name": "x", "uri": "tcp://h", "dpi": "300", "ips": "6"})
    assert r.status_code == 403
    time.sleep(0.2)
    assert vprinter.labels_printed == 0


def test_operator_prints_a_test_label(client, store, vprinter):
    client.app.state.print_jobs.add_printer("p1", vprinter.uri, 300, 6)
    csrf = signed_in(client, "olga")
    r = client.post("/panel/printers/p1/test", data={"csrf": csrf})
    assert r.status_code == 200 and "测试标签已发送到 p1" in r.text
    assert vprinter.wait_printed(1, 10)
    assert "^FDUDI Edge test^FS" in vprinter.printed[0]["zpl"]
    assert ("olga", "printer_test") in audit_actions(store)
    # an unreachable printer: told so in words, and audited
    client.app.state.print_jobs.add_printer("gone", "tcp://127.0.0.1:1", 300, 6)
    r = client.post("/panel/printers/gone/test", data={"csrf": csrf})
    assert r.status_code == 502 and "测试标签未能发送到 gone" in r.text
    assert client.post("/panel/printers/nope/test", data={"csrf": csrf}).status_code == 404


# --- label quality ------------------------------------------------------------------------------

def _png(path, shade=0):
    from PIL import Image

    Image.new("L", (300, 200), shade).save(path)
    return str(path)


def _checks(store, tmp_path):
    from gateway.schema import label_checks

    now = time.time()
    rows = [{"job_id": 7, "decoded": "(01)1", "match": True, "valid": True, "grade": 3.8, "notation": "3.8/10/660", "passed": True,
             "reason": None, "image": _png(tmp_path / "ok.png", 255), "at": now},
            {"job_id": 7, "decoded": "(01)2", "match": False, "valid": True, "grade": 3.5, "notation": "3.5", "passed": False,
             "reason": "data does not match what was sent", "image": _png(tmp_path / "bad.png", 80), "at": now - 100},
            {"job_id": 8, "decoded": None, "match": False, "valid": False, "grade": 0.0, "notation": None, "passed": False,
             "reason": "no symbol could be decoded", "image": None, "at": now - 200}]
    with store.engine.begin() as c:
        for r in rows:
            c.execute(insert(label_checks).values(**r))


def test_quality_page_lists_failures_first_with_reasons_and_a_summary(client, store, tmp_path):
    _checks(store, tmp_path)
    signed_in(client, "vic")
    page = client.get("/panel/quality").text
    order = re.findall(r'data-check="(\d+)" class="(\w+)"', page)
    assert order == [("2", "failed"), ("3", "failed"), ("1", "passed")]
    assert "解码数据与发送的数据不一致" in page and "无法解码条码" in page
    assert '/panel/quality/image/2?thumb=1' in page and '/panel/quality/image/3?' not in page
    summary = page.split('id="q-summary"')[1].split("</table>")[0]
    row7 = summary.split('data-job="7"')[1].split("</tr>")[0]
    assert '"checked">2<' in row7 and '"passed">1<' in row7 and "3.6" in row7 and ">A<" in row7
    assert "<svg" in page
    one = client.get("/panel/quality?job=8").text
    assert re.findall(r'data-check="(\d+)"', one) == ["3"]
    client.get("/panel/lang/en")
    assert "the decoded data differs from what was sent" in client.get("/panel/quality").text


def test_quality_image_route_serves_only_label_check_images(client, store, tmp_path):
    _checks(store, tmp_path)
    signed_in(client, "vic")
    r = client.get("/panel/quality/image/2?thumb=1")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
    assert client.get("/panel/quality/image/1").status_code == 200
    assert client.get("/panel/quality/image/3").status_code == 404  # a check without an image
    assert client.get("/panel/quality/image/99").status_code == 404
    for bad in ("/panel/quality/image/..%2F..%2Fetc%2Fpasswd", "/panel/quality/image/%2Fetc%2Fpasswd",
                "/panel/quality/image/1%2F..%2F..%2Fpanel.sqlite", "/panel/quality/image?path=" + str(tmp_path / "ok.png")):
        r = client.get(bad)
        assert r.status_code in (404, 422) and b"root:" not in r.content and r.content[:4] != b"\x89PNG", bad
    client.post("/panel/logout", data={"csrf": csrf_of(client.get("/panel").text)})
    assert client.get("/panel/quality/image/2", follow_redirects=False).status_code == 303
