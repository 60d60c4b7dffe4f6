"""The HTTP API (FastAPI TestClient) over a real Store, on SQLite and on a
real PostgreSQL server: token auth and roles, pagination, every filter,
404/422 with specific messages, blocks validation, the unmapped listing and
the OpenAPI document.  No input may produce a 500."""

import time
import warnings

import pytest
from sqlalchemy import insert

from gateway.api import create_app
from gateway.api.auth import create_token, revoke_token
from gateway.devices import DeviceRegistry
from gateway.schema import alerts, api_tokens, devices, mappings, products, scans
from gateway.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note on httpx, not ours
    from fastapi.testclient import TestClient



@pytest.fixture
def store(db_url):
    # a fresh database per test, SQLite and PostgreSQL (conftest.db_url)
    return Store(db_url)


class Published(list):
    # Stands in for the MQTT client: what the registry would publish.
    def __call__(self, topic, payload, qos, retain):
        self.append((topic, payload, qos, retain))


@pytest.fixture
def api(store):
    published = Published()
    app = create_app(store, DeviceRegistry(store.engine, published))
    client = TestClient(app, raise_server_exceptions=False)
    client.store, client.app_, client.published = store, app, published
    client.tokens = {role: create_token(store.engine, role + "-tok", role) for role in ("admin", "operator", "reader")}
    client.as_ = lambda role: {"Authorization": "Bearer " + client.tokens[role]}
    return client


def add(store, table, rows):
    with store.engine.begin() as c:
        for row in rows:  # one by one: rows need not have the same keys
            c.execute(insert(table).values(**row))


def scan(i, **kw):
    row = {"dev": "hh1", "boot": 1, "seq": i, "raw": "]d2raw%d" % i, "mode": "receive", "location": "ward-1",
           "scheme": "gs1", "valid": True, "verdict": "good", "codes": [], "di": "06901234567892",
           "lot": "LOT%d" % (i % 3), "serial": "SN%d" % i, "item": "item-%d" % i,
           "result": {"raw": "]d2raw%d" % i, "scheme": "gs1", "valid": True, "errors": [], "warnings": [],
                      "elements": [{"ai": "01", "value": "06901234567892"}], "di": "06901234567892", "pi": {}},
           "received_at": 1_800_000_000 + i}
    row.update(kw)
    return row


def walk(api, url, role="reader", limit=7):
    # Every page of a listing; -> items in order, and the number of pages.
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = api.get(url, params=params, headers=api.as_(role))
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100


# --- auth -------------------------------------------------------------------------


def test_health_needs_no_token(api):
    r = api.get("/api/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


def test_health_says_when_scans_cannot_be_stored(api):
    # A full disk: the database still answers SELECT 1 but the ingest's
    # batches fail; it records the outage (tests/test_faults.py makes a real one).
    from gateway.ingest import Ingest

    ingest = Ingest(api.store, "127.0.0.1", 1)  # never started: only its outage state is read
    api.app_.state.ingest = ingest
    assert api.get("/api/health").status_code == 200
    ingest.outage = {"since": 1795392000.0, "error": "database or disk is full", "alert": None}
    r = api.get("/api/health")
    assert r.status_code == 503 and "scans cannot be stored since" in r.json()["detail"]
    assert "database or disk is full" in r.json()["detail"]
    ingest.outage = None  # stored again
    assert api.get("/api/health").status_code == 200


def _route_urls(api):
    # From the OpenAPI document: it lists every route (a test below checks).
    import re

    for path, ops in api.get("/openapi.json").json()["paths"].items():
        if path != "/api/health":
            for method in ops:
                yield method.upper(), re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_but_health_needs_a_token(api):
    urls = list(_route_urls(api))
    assert len(urls) >= 17
    for method, url in urls:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwdw=="}):
            r = api.request(method, url, headers=headers, json={})
            assert r.status_code == 401, (method, url, headers, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
            assert isinstance(r.json()["detail"], str)


def test_missing_invalid_and_revoked_tokens_are_401_with_a_reason(api):
    assert "Authorization: Bearer" in api.get("/api/scans").json()["detail"]
    assert api.get("/api/scans", headers={"Authorization": "Basic x"}).json()["detail"] == "the Authorization header must be 'Bearer <token>'"
    assert api.get("/api/scans", headers={"Authorization": "Bearer nope"}).json()["detail"] == "unknown API token"
    assert api.get("/api/scans", headers=api.as_("reader")).status_code == 200
    assert revoke_token(api.store.engine, "reader-tok") is True
    r = api.get("/api/scans", headers=api.as_("reader"))
    assert r.status_code == 401 and r.json()["detail"] == "this API token was revoked"
    assert r.headers["www-authenticate"] == "Bearer"
    assert revoke_token(api.store.engine, "reader-tok") is False
    with pytest.raises(KeyError):
        revoke_token(api.store.engine, "nobody")


def test_only_a_hash_of_the_token_is_stored(api):
    with api.store.engine.connect() as c:
        stored = {r.hash for r in c.execute(api_tokens.select())}
    assert not set(api.tokens.values()) & stored
    assert all(len(t) >= 43 for t in api.tokens.values())  # 32 random bytes, base64


def test_roles(api):
    add(api.store, devices, [{"dev": "hh1"}])
    add(api.store, alerts, [{"kind": "used_twice", "created_at": 1.0, "acknowledged": False}])
    block = {"di": "06901234567892", "reason": "recall 2026-17"}
    writes = {
        # (method, url, body): the lowest role allowed
        ("POST", "/api/devices/hh1/commands", (("cmd", "status"),)): "operator",
        ("POST", "/api/blocks", tuple(block.items())): "operator",
        ("POST", "/api/alerts/1/ack", None): "operator",
        ("PATCH", "/api/devices/hh1", (("name", "Ward 1 handheld"),)): "admin",
        ("PUT", "/api/devices/hh1/config", (("mode", "use"),)): "admin",
        ("GET", "/api/tokens", None): "admin",
        ("POST", "/api/tokens", (("name", "erp"), ("role", "reader"))): "admin",
    }
    rank = {"reader": 0, "operator": 1, "admin": 2}
    for (method, url, body), needed in writes.items():
        for role in ("reader", "operator", "admin"):
            r = api.request(method, url, headers=api.as_(role), json=dict(body) if body else None)
            if rank[role] < rank[needed]:
                assert r.status_code == 403, (method, url, role, r.text)
                assert "needs the %s role" % needed in r.json()["detail"]
                assert ("has role %s" % role) in r.json()["detail"]
            else:
                assert r.status_code < 300, (method, url, role, r.text)
    for url in ("/api/scans", "/api/devices", "/api/products", "/api/mappings", "/api/mappings/unmapped", "/api/alerts", "/api/blocks"):
        assert api.get(url, headers=api.as_("reader")).status_code == 200, url


# --- scans ----------------------------------------------------------------------------


def test_pagination_walks_every_scan_exactly_once_newest_first(api):
    add(api.store, scans, [scan(i) for i in range(1, 58)])
    items, pages = walk(api, "/api/scans", limit=10)
    ids = [s["id"] for s in items]
    assert len(ids) == 57 and len(set(ids)) == 57 and pages == 6
    assert ids == sorted(ids, reverse=True)
    # exactly one page when the limit equals the count: no empty last page
    assert walk(api, "/api/scans", limit=57)[1] == 1
    r = api.get("/api/scans", headers=api.as_("reader"))
    assert len(r.json()["items"]) == 57 and r.json()["next_cursor"] is None


def test_scan_items_carry_engine_result_codes_and_mapping(api):
    add(api.store, scans, [scan(1, nhsa_code="C01234567890123456789", commodity_code="CC1", product="06901234567892",
                                codes=["expired"])])
    item = api.get("/api/scans", headers=api.as_("reader")).json()["items"][0]
    assert item["nhsa_code"] == "C01234567890123456789" and item["commodity_code"] == "CC1"
    assert item["product"] == "06901234567892" and item["codes"] == ["expired"]
    assert item["result"]["elements"] == [{"ai": "01", "value": "06901234567892"}] and item["result"]["valid"] is True
    one = api.get("/api/scans/%d" % item["id"], headers=api.as_("reader")).json()
    assert one == item


def test_scan_filters(api):
    add(api.store, scans, [
        scan(1), scan(2, dev="hh2", verdict="bad", valid=False, scheme="unknown"),
        scan(3, mode="dispatch", location="pharmacy"), scan(4, scheme="cn-drug", di="8000001"),
        scan(5, raw="]d2abc", lot="L-42", serial="S-42", item="I-42"),
    ])

    def seqs(**params):
        r = api.get("/api/scans", params=params, headers=api.as_("reader"))
        assert r.status_code == 200, r.text
        return sorted(s["seq"] for s in r.json()["items"])

    assert seqs(dev="hh2") == [2]
    assert seqs(verdict="bad") == [2] and seqs(verdict="good") == [1, 3, 4, 5]
    assert seqs(scheme="cn-drug") == [4] and seqs(scheme="unknown") == [2]
    assert seqs(mode="dispatch") == [3]
    assert seqs(location="pharmacy") == [3]
    # code: exactly the raw scan, DI, item, lot or serial; never a substring
    assert seqs(code="]d2abc") == [5] and seqs(code="]d2ab") == []
    assert seqs(code="8000001") == [4]
    assert seqs(code="L-42") == [5] and seqs(code="S-42") == [5] and seqs(code="I-42") == [5]
    assert seqs(code="SN3") == [3]
    # since inclusive, until exclusive; Unix seconds or ISO 8601
    assert seqs(since=1_800_000_003) == [3, 4, 5]
    assert seqs(until="1800000003") == [1, 2]
    assert seqs(since="2027-01-15T08:00:03+00:00", until="2027-01-15T08:00:05Z") == [3, 4]
    assert seqs(since="2027-01-15T16:00:03+08:00") == [3, 4, 5]
    assert seqs(since="2027-01-15T08:00:03") == [3, 4, 5]  # no offset: UTC
    assert seqs(dev="hh1", mode="receive", verdict="good", location="ward-1") == [1, 4, 5]


def test_scan_404_and_422(api):
    r = api.get("/api/scans/12345", headers=api.as_("reader"))
    assert r.status_code == 404 and r.json() == {"detail": "no scan with id 12345"}
    for bad in ("0", "-1", "abc", "99999999999999999999"):
        r = api.get("/api/scans/" + bad, headers=api.as_("reader"))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "scan_id"], bad


@pytest.mark.parametrize("param,value", [
    ("verdict", "maybe"), ("scheme", "qr"), ("mode", "sell"), ("limit", "0"), ("limit", "1001"), ("limit", "ten"),
    ("since", "yesterday"), ("until", "2026-13-45"), ("since", "nan"), ("cursor", "garbage"), ("cursor", "W10"),
    ("dev", "a\x00b"), ("code", "x" * 300),
])
def test_bad_scan_query_values_are_422_naming_the_parameter(api, param, value):
    r = api.get("/api/scans", params={param: value}, headers=api.as_("reader"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["query", param]
    assert r.json()["detail"][0]["msg"]


def test_a_cursor_of_another_listing_is_refused(api):
    add(api.store, alerts, [{"kind": "k", "created_at": float(i), "acknowledged": False} for i in range(3)])
    cursor = api.get("/api/alerts", params={"limit": 1}, headers=api.as_("reader")).json()["next_cursor"]
    assert cursor
    r = api.get("/api/scans", params={"cursor": cursor}, headers=api.as_("reader"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_no_input_makes_a_500(api):
    # Every query parameter of every GET listing, with hostile values.
    add(api.store, scans, [scan(1)])
    schema = api.get("/openapi.json").json()
    values = ["", "\x00", "-1", "9" * 40, "1e400", "' OR 1=1 --", "%", "_", "ü漢字", "true", "null", "[]"]
    for path, ops in schema["paths"].items():
        if "{" in path or "get" not in ops:
            continue
        for p in ops["get"].get("parameters", []):
            for v in values:
                r = api.get(path, params={p["name"]: v}, headers=api.as_("admin"))
                assert r.status_code in (200, 422), (path, p["name"], v, r.status_code, r.text)
    add(api.store, devices, [{"dev": "hh1"}])
    for method, path, body in (("PUT", "/api/devices/hh1/config", {"operator": "a\x00b"}),
                               ("POST", "/api/devices/hh1/commands", {"cmd": "sync_time", "args": {"unix": 2**70}}),
                               ("POST", "/api/devices/hh1/commands", {"cmd": "ota", "args": {"url": "http://a\x00", "size": 2**64}}),
                               ("PATCH", "/api/devices/hh1", {"name": "a\x00"}),
                               ("POST", "/api/blocks", {"di": "06901234567892", "reason": "a\x00", "lot": "\x00"}),
                               ("POST", "/api/tokens", {"name": "a\x00", "role": "reader"})):
        r = api.request(method, path, json=body, headers=api.as_("admin"))
        assert r.status_code < 500, (path, body, r.text)
    for path in ("/api/scans/x", "/api/products/%00", "/api/devices/%00", "/api/devices/" + "x" * 70, "/api/alerts/1e9/ack"):
        assert api.get(path, headers=api.as_("admin")).status_code in (404, 405, 422), path


# --- devices ----------------------------------------------------------------------------


def test_devices_list_detail_and_meta(api):
    now = time.time()
    add(api.store, devices, [{"dev": "hh1", "state": "online", "fw": "1.0.0", "last_seen": now, "battery_mv": 3900, "queue": 2},
                             {"dev": "hh2", "state": "offline", "last_seen": now - 600}])
    r = api.get("/api/devices", headers=api.as_("reader")).json()
    assert [d["dev"] for d in r["items"]] == ["hh1", "hh2"] and r["next_cursor"] is None
    assert r["items"][0]["online"] is True and r["items"][1]["online"] is False
    assert [d["dev"] for d in api.get("/api/devices?online=false", headers=api.as_("reader")).json()["items"]] == ["hh2"]
    assert [d["dev"] for d in walk(api, "/api/devices", limit=1)[0]] == ["hh1", "hh2"]
    d = api.get("/api/devices/hh1", headers=api.as_("reader")).json()
    assert d["fw"] == "1.0.0" and d["battery_mv"] == 3900 and d["queue"] == 2 and d["commands"] == []
    r = api.get("/api/devices/nope", headers=api.as_("reader"))
    assert r.status_code == 404 and "no device 'nope'" in r.json()["detail"]
    # PATCH: names, clears with null, registers an unseen device
    r = api.patch("/api/devices/hh1", json={"name": "Ward 1", "location": "ward-1"}, headers=api.as_("admin"))
    assert r.status_code == 200 and r.json()["name"] == "Ward 1" and r.json()["location"] == "ward-1"
    r = api.patch("/api/devices/hh1", json={"location": None}, headers=api.as_("admin"))
    assert r.json()["name"] == "Ward 1" and r.json()["location"] is None
    r = api.patch("/api/devices/hh9", json={"name": "spare"}, headers=api.as_("admin"))
    assert r.status_code == 200 and r.json()["dev"] == "hh9" and r.json()["online"] is False
    for body in ({"name": "x" * 65}, {"colour": "red"}, {"name": 5}):
        r = api.patch("/api/devices/hh1", json=body, headers=api.as_("admin"))
        assert r.status_code == 422, body
    r = api.patch("/api/devices/a+b", json={"name": "x"}, headers=api.as_("admin"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "dev"]


def test_config_push(api):
    add(api.store, devices, [{"dev": "hh1"}])
    r = api.put("/api/devices/hh1/config", json={"mode": "use", "operator": "nurse-7", "feedback": {"volume": 20}}, headers=api.as_("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["rev"] == 1 and r.json()["topic"] == "udi/v1/dev/hh1/config" and r.json()["delivery"] == "sent"
    r = api.put("/api/devices/hh1/config", json={"mode": "verify"}, headers=api.as_("admin"))
    assert r.json()["rev"] == 2
    topic, payload, qos, retain = api.published[-1]
    assert (topic, qos, retain) == ("udi/v1/dev/hh1/config", 1, True)
    import json

    assert json.loads(payload) == {"v": 1, "rev": 2, "mode": "verify"}
    d = api.get("/api/devices/hh1", headers=api.as_("reader")).json()
    assert d["config"] == {"mode": "verify"} and d["config_rev"] == 2
    n = len(api.published)
    for body, loc in (({"mode": "sell"}, ["body", "mode"]), ({"volume": 3}, ["body", "volume"]),
                      ({"heartbeat_s": "60"}, ["body", "heartbeat_s"]), ({"heartbeat_s": -5}, ["body", "heartbeat_s"]),
                      ({"feedback": {"volume": "loud"}}, ["body", "feedback", "volume"]),
                      ({"feedback": {"tone": 1}}, ["body", "feedback", "tone"]),
                      ({"operator": "x" * 65}, ["body", "operator"]), ({"aggregate_order": "random"}, ["body", "aggregate_order"])):
        r = api.put("/api/devices/hh1/config", json=body, headers=api.as_("admin"))
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"] == loc, (body, r.json())
        assert loc[-1] in r.json()["detail"][0]["msg"] or r.json()["detail"][0]["msg"]
    assert len(api.published) == n  # nothing refused was published
    assert api.get("/api/devices/hh1", headers=api.as_("reader")).json()["config_rev"] == 2
    for body in ("[]", "not json", '"text"'):
        r = api.put("/api/devices/hh1/config", content=body, headers=dict(api.as_("admin"), **{"content-type": "application/json"}))
        assert r.status_code == 422, body
    r = api.put("/api/devices/ghost/config", json={"mode": "use"}, headers=api.as_("admin"))
    assert r.status_code == 404


def test_commands(api):
    add(api.store, devices, [{"dev": "hh1"}])
    r = api.post("/api/devices/hh1/commands", json={"cmd": "set_mode", "args": {"mode": "use"}}, headers=api.as_("operator"))
    assert r.status_code == 202, r.text
    cmd = r.json()
    assert cmd["cmd"] == "set_mode" and cmd["ok"] is None and cmd["done_at"] is None
    topic, payload, qos, retain = api.published[-1]
    assert (topic, qos, retain) == ("udi/v1/dev/hh1/cmd", 1, False) and cmd["id"] in payload
    registry = api.app_.state.registry
    registry.on_cmd_result("hh1", ('{"v":1,"id":"%s","ok":true,"detail":"use"}' % cmd["id"]).encode())
    listed = api.get("/api/devices/hh1/commands", headers=api.as_("reader")).json()["items"]
    assert listed[0]["id"] == cmd["id"] and listed[0]["ok"] is True and listed[0]["detail"] == "use" and listed[0]["done_at"]
    for i in range(25):
        api.post("/api/devices/hh1/commands", json={"cmd": "status"}, headers=api.as_("operator"))
    assert len(api.get("/api/devices/hh1", headers=api.as_("reader")).json()["commands"]) == 20
    items, _ = walk(api, "/api/devices/hh1/commands", limit=4)
    assert len(items) == 26 and len({c["id"] for c in items}) == 26
    n = len(api.published)
    for body, loc in (({"cmd": "selfdestruct"}, ["body", "cmd"]), ({"cmd": "set_mode", "args": {"mode": "x"}}, ["body", "args", "mode"]),
                      ({"cmd": "set_mode"}, ["body", "args", "mode"]), ({"cmd": "reboot", "args": {"now": True}}, ["body", "args", "now"]),
                      ({"cmd": "ota", "args": {"url": "ftp://x", "size": 10}}, ["body", "args", "url"]),
                      ({"cmd": "ota", "args": {"url": "http://gw/b.bin"}}, ["body", "args", "size"]),
                      ({"cmd": "sync_time", "args": {"unix": "now"}}, ["body", "args", "unix"]),
                      ({"cmd": "status", "args": []}, ["body", "args"]), ({"command": "status"}, ["body", "cmd"])):
        r = api.post("/api/devices/hh1/commands", json=body, headers=api.as_("operator"))
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"] == loc, (body, r.json())
    assert len(api.published) == n
    assert api.post("/api/devices/ghost/commands", json={"cmd": "status"}, headers=api.as_("operator")).status_code == 404
    assert api.get("/api/devices/ghost/commands", headers=api.as_("reader")).status_code == 404


def test_without_an_mqtt_connection_push_and_commands_are_503(store):
    app = create_app(store)
    token = create_token(store.engine, "a", "admin")
    add(store, devices, [{"dev": "hh1"}])
    c = TestClient(app, raise_server_exceptions=False)
    h = {"Authorization": "Bearer " + token}
    r = c.put("/api/devices/hh1/config", json={"mode": "use"}, headers=h)
    assert r.status_code == 503 and "MQTT" in r.json()["detail"]
    assert c.get("/api/devices/hh1", headers=h).json()["config_rev"] is None  # rolled back
    r = c.post("/api/devices/hh1/commands", json={"cmd": "status"}, headers=h)
    assert r.status_code == 503
    cmd = c.get("/api/devices/hh1/commands", headers=h).json()["items"][0]
    assert cmd["ok"] is False and cmd["detail"].startswith("not sent")


# --- product master, mappings ----------------------------------------------------------------


def product(di, primary, contains=None, qty=None, **kw):
    row = {"di": di, "primary_di": primary, "contains_di": contains, "contains_qty": qty, "source": "udid",
           "updated_at": 1.0, "name": "Syringe 5 ml", "reg_no": "国械注准20153140001", "level": "盒"}
    row.update(kw)
    return row


def test_products_filters_pagination_and_chain(api):
    add(api.store, products, [
        product("06901234567892", "06901234567892", level="最小销售单元"),
        product("16901234567899", "06901234567892", "06901234567892", 10),
        product("26901234567896", "06901234567892", "16901234567899", 20, level="箱"),
        product("36901234567893", "06901234567892", "16901234567899", 40, level="大箱"),
        product("06900000000017", "06900000000017", name="Catheter 100% silicone", reg_no="国械注进20183030002"),
    ])

    def dis(**params):
        r = api.get("/api/products", params=params, headers=api.as_("reader"))
        assert r.status_code == 200, r.text
        return [p["di"] for p in r.json()["items"]]

    assert dis(q="syringe") == ["06901234567892", "16901234567899", "26901234567896", "36901234567893"]
    assert dis(q="CATHETER") == ["06900000000017"]
    assert dis(q="20183030") == ["06900000000017"]
    assert dis(q="269012") == ["26901234567896"]
    assert dis(q="100%") == ["06900000000017"] and dis(q="%") == ["06900000000017"] and dis(q="_") == []
    assert dis(primary_di="06900000000017") == ["06900000000017"]
    assert len(walk(api, "/api/products", limit=2)[0]) == 5
    box = api.get("/api/products/16901234567899", headers=api.as_("reader")).json()
    assert [p["di"] for p in box["below"]] == ["06901234567892"]
    assert [p["di"] for p in box["above"]] == ["26901234567896", "36901234567893"]
    case = api.get("/api/products/26901234567896", headers=api.as_("reader")).json()
    assert [p["di"] for p in case["below"]] == ["16901234567899", "06901234567892"] and case["above"] == []
    unit = api.get("/api/products/06901234567892", headers=api.as_("reader")).json()
    assert unit["below"] == [] and {p["di"] for p in unit["above"]} == {"16901234567899", "26901234567896", "36901234567893"}
    assert unit["above"][0]["di"] == "16901234567899"  # nearest first
    r = api.get("/api/products/00000000000000", headers=api.as_("reader"))
    assert r.status_code == 404 and "00000000000000" in r.json()["detail"]


def test_a_packaging_cycle_in_bad_data_ends(api):
    add(api.store, products, [product("A", "A", "B", 1), product("B", "A", "A", 1)])
    r = api.get("/api/products/A", headers=api.as_("reader"))
    assert r.status_code == 200 and [p["di"] for p in r.json()["below"]] == ["B"]


def test_mappings_filters(api):
    add(api.store, mappings, [
        {"kind": "trace_prefix", "key": "8100001", "nhsa_code": "XA01", "updated_at": 1.0},
        {"kind": "di", "key": "06901234567892", "nhsa_code": "C0101", "commodity_code": "CC9", "updated_at": 1.0},
        {"kind": "gtin", "key": "06901234567892", "nhsa_code": "C0101", "updated_at": 1.0},
    ])

    def keys(**params):
        r = api.get("/api/mappings", params=params, headers=api.as_("reader"))
        assert r.status_code == 200, r.text
        return [(m["kind"], m["key"]) for m in r.json()["items"]]

    assert keys(kind="di") == [("di", "06901234567892")]
    assert keys(key="06901234567892") == [("di", "06901234567892"), ("gtin", "06901234567892")]
    assert keys(nhsa_code="XA01") == [("trace_prefix", "8100001")]
    assert len(walk(api, "/api/mappings", limit=1)[0]) == 3
    r = api.get("/api/mappings", params={"kind": "ean"}, headers=api.as_("reader"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "kind"]


def test_unmapped_lists_scanned_dis_without_insurance_code(api):
    add(api.store, products, [product("06901234567892", "06901234567892")])
    rows = [scan(i, di="06901234567892") for i in range(1, 4)]
    rows += [scan(10, di="8000001", scheme="cn-drug")]
    rows += [scan(20 + i, di="06900000000017", nhsa_code="C0101") for i in range(2)]  # mapped: not listed
    rows += [scan(30, di=None, verdict="bad")]  # no DI: nothing to map
    rows += [scan(40 + i, di="MA.156.M0.100000.0ABCDEF1", scheme="ma") for i in range(3)]
    add(api.store, scans, rows)
    r = api.get("/api/mappings/unmapped", headers=api.as_("reader")).json()
    got = [(u["di"], u["scans"]) for u in r["items"]]
    assert got == [("06901234567892", 3), ("MA.156.M0.100000.0ABCDEF1", 3), ("8000001", 1)]
    first = r["items"][0]
    assert first["product_name"] == "Syringe 5 ml" and first["first_seen"] == 1_800_000_001 and first["last_seen"] == 1_800_000_003
    assert r["items"][2]["scheme"] == "cn-drug" and r["items"][2]["product_name"] is None
    assert [(u["di"], u["scans"]) for u in walk(api, "/api/mappings/unmapped", limit=1)[0]] == got
    r = api.get("/api/mappings/unmapped", params={"since": 1_800_000_040}, headers=api.as_("reader")).json()
    assert [(u["di"], u["scans"]) for u in r["items"]] == [("MA.156.M0.100000.0ABCDEF1", 3)]


# --- alerts, blocks --------------------------------------------------------------------------------


def test_alerts_filters_and_ack(api):
    add(api.store, alerts, [
        {"kind": "used_twice", "item": "I1", "created_at": 100.0, "acknowledged": False},
        {"kind": "recalled", "di": "06901234567892", "created_at": 200.0, "acknowledged": False},
        {"kind": "recalled", "created_at": 300.0, "acknowledged": True},
    ])

    def kinds(**params):
        r = api.get("/api/alerts", params=params, headers=api.as_("reader"))
        assert r.status_code == 200, r.text
        return [(a["kind"], a["created_at"]) for a in r.json()["items"]]

    assert kinds() == [("recalled", 300.0), ("recalled", 200.0), ("used_twice", 100.0)]
    assert kinds(kind="used_twice") == [("used_twice", 100.0)]
    assert kinds(acknowledged="false") == [("recalled", 200.0), ("used_twice", 100.0)]
    assert kinds(since=200) == [("recalled", 300.0), ("recalled", 200.0)]
    assert len(walk(api, "/api/alerts", limit=2)[0]) == 3
    first = api.get("/api/alerts?kind=used_twice", headers=api.as_("reader")).json()["items"][0]
    r = api.post("/api/alerts/%d/ack" % first["id"], headers=api.as_("operator"))
    assert r.status_code == 200 and r.json()["acknowledged"] is True
    assert api.post("/api/alerts/%d/ack" % first["id"], headers=api.as_("operator")).status_code == 200
    assert kinds(acknowledged="false") == [("recalled", 200.0)]
    r = api.post("/api/alerts/999999/ack", headers=api.as_("operator"))
    assert r.status_code == 404 and r.json() == {"detail": "no alert with id 999999"}
    assert api.get("/api/alerts?acknowledged=perhaps", headers=api.as_("reader")).status_code == 422


@pytest.mark.parametrize("di", ["06901234567892", "MA.156.M0.100000.0ABCDEF1", "8000001", "+A123BJC5D6E71"])
def test_blocks_take_every_kind_of_di(api, di):
    r = api.post("/api/blocks", json={"di": di, "reason": "recall"}, headers=api.as_("operator"))
    assert r.status_code == 201, r.text
    assert r.json()["di"] == di and r.json()["active"] is True


@pytest.mark.parametrize("di,words", [
    ("06901234567891", "check digit"),  # GS1 check digit
    ("6901234567892", "not a product identifier"),  # 13 digits
    ("MA.156.M0.100000", "not a valid MA DI"),
    ("MA.156.M0.100000.0ABCDEF1.L123", "alone"),  # DI + PI
    ("1000001", "must start with 8"),  # 药品标识码 starts with 8
    ("+a123", "HIBC"),
    ("hello", "not a product identifier"),
])
def test_blocks_refuse_a_bad_di_naming_the_field(api, di, words):
    r = api.post("/api/blocks", json={"di": di, "reason": "recall"}, headers=api.as_("operator"))
    assert r.status_code == 422, r.text
    err = r.json()["detail"][0]
    assert err["loc"] == ["body", "di"] and words in err["msg"], err


def test_blocks_ranges_listing_and_delete(api):
    h = api.as_("operator")
    gtin = "06901234567892"
    r = api.post("/api/blocks", json={"di": gtin, "lot": "LOT1", "serial_from": "9", "serial_to": "10", "reason": "r"}, headers=h)
    assert r.status_code == 201 and r.json()["serial_from"] == "9"  # 9 <= 10: numeric when both are digits
    for body, loc in (({"serial_from": "A"}, ["body", "serial_to"]), ({"serial_to": "B"}, ["body", "serial_from"]),
                      ({"serial_from": "B", "serial_to": "A"}, ["body", "serial_to"]), ({"reason": ""}, ["body", "reason"]),
                      ({"lot": "x" * 65}, ["body", "lot"]), ({"colour": "red"}, ["body", "colour"])):
        r = api.post("/api/blocks", json=dict({"di": gtin, "reason": "r"}, **body), headers=h)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"] == loc, (body, r.json())
    r = api.post("/api/blocks", json={"di": gtin}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]
    other = api.post("/api/blocks", json={"di": "8000001", "reason": "r"}, headers=h).json()
    assert [b["di"] for b in api.get("/api/blocks", headers=h).json()["items"]] == ["8000001", gtin]
    assert [b["di"] for b in api.get("/api/blocks", params={"di": gtin}, headers=h).json()["items"]] == [gtin]
    r = api.delete("/api/blocks/%d" % other["id"], headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    assert [b["di"] for b in api.get("/api/blocks", params={"active": "true"}, headers=h).json()["items"]] == [gtin]
    assert [b["di"] for b in api.get("/api/blocks", params={"active": "false"}, headers=h).json()["items"]] == ["8000001"]
    assert len(walk(api, "/api/blocks", limit=1)[0]) == 2
    r = api.delete("/api/blocks/424242", headers=h)
    assert r.status_code == 404 and r.json() == {"detail": "no block entry with id 424242"}


# --- tokens ------------------------------------------------------------------------------------------


def test_tokens_routes(api):
    h = api.as_("admin")
    listed = api.get("/api/tokens", headers=h).json()
    assert {t["name"] for t in listed} == {"admin-tok", "operator-tok", "reader-tok"}
    assert all(set(t) == {"id", "name", "role", "scopes", "created_at", "revoked_at"} for t in listed)
    r = api.post("/api/tokens", json={"name": "erp", "role": "reader"}, headers=h)
    assert r.status_code == 201 and r.json()["role"] == "reader"
    token = r.json()["token"]
    erp = {"Authorization": "Bearer " + token}
    assert api.get("/api/scans", headers=erp).status_code == 200
    assert api.get("/api/tokens", headers=erp).status_code == 403
    r = api.post("/api/tokens", json={"name": "erp", "role": "admin"}, headers=h)
    assert r.status_code == 409 and "erp" in r.json()["detail"]
    for body, loc in (({"name": "x", "role": "root"}, ["body", "role"]), ({"name": "", "role": "reader"}, ["body", "name"]),
                      ({"role": "reader"}, ["body", "name"])):
        r = api.post("/api/tokens", json=body, headers=h)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, body
    r = api.delete("/api/tokens/erp", headers=h)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert api.get("/api/scans", headers=erp).status_code == 401
    assert api.delete("/api/tokens/erp", headers=h).status_code == 200
    assert api.delete("/api/tokens/ghost", headers=h).status_code == 404


def test_create_token_refuses_bad_input(store):
    with pytest.raises(ValueError, match="role"):
        create_token(store.engine, "x", "root")
    with pytest.raises(ValueError, match="name"):
        create_token(store.engine, "", "reader")
    create_token(store.engine, "x", "reader")
    with pytest.raises(ValueError, match="exists"):
        create_token(store.engine, "x", "admin")


# --- OpenAPI ---------------------------------------------------------------------------------------


def test_openapi_lists_every_route_with_typed_models(api):
    doc = api.get("/openapi.json").json()
    expected = {
        ("get", "/api/health"): "Health",
        ("get", "/api/scans"): "Page_ScanOut_",
        ("get", "/api/scans/{scan_id}"): "ScanOut",
        ("get", "/api/devices"): "Page_DeviceOut_",
        ("get", "/api/devices/{dev}"): "DeviceDetail",
        ("patch", "/api/devices/{dev}"): "DeviceDetail",
        ("put", "/api/devices/{dev}/config"): "ConfigPushed",
        ("post", "/api/devices/{dev}/commands"): "CommandOut",
        ("get", "/api/devices/{dev}/commands"): "Page_CommandOut_",
        ("get", "/api/products"): "Page_ProductOut_",
        ("get", "/api/products/{di}"): "ProductDetail",
        ("get", "/api/mappings"): "Page_MappingOut_",
        ("get", "/api/mappings/unmapped"): "Page_UnmappedDI_",
        ("get", "/api/alerts"): "Page_AlertOut_",
        ("post", "/api/alerts/{alert_id}/ack"): "AlertOut",
        ("get", "/api/blocks"): "Page_BlockOut_",
        ("post", "/api/blocks"): "BlockOut",
        ("delete", "/api/blocks/{block_id}"): "BlockOut",
        ("get", "/api/tokens"): "TokenOut",
        ("post", "/api/tokens"): "TokenCreated",
        ("delete", "/api/tokens/{name}"): "TokenOut",
        ("get", "/api/aggregations/{item}"): "AggregationView",
        ("post", "/api/aggregations"): "PackOut",
        ("delete", "/api/aggregations/{item}"): "UnpackOut",
        ("get", "/api/items/{item}"): "ItemDetail",
        ("get", "/api/stock"): "StockRow",
        ("get", "/api/exports/traceability"): None,  # CSV or JSON by ?format=
        ("get", "/api/printers"): "PrinterOut",
        ("put", "/api/printers/{name}"): "PrinterOut",
        ("get", "/api/printers/{name}/status"): "PrinterStateOut",
        ("get", "/api/templates"): "TemplateOut",
        ("post", "/api/templates/{name}/preview"): "png",
        ("get", "/api/print-jobs"): "PrintJobOut",
        ("post", "/api/print-jobs"): "PrintJobOut",
        ("get", "/api/print-jobs/{job_id}"): "PrintJobOut",
        ("post", "/api/print-jobs/{job_id}/start"): "PrintJobOut",
        ("post", "/api/print-jobs/{job_id}/pause"): "PrintJobOut",
        ("post", "/api/print-jobs/{job_id}/resume"): "PrintJobOut",
        ("post", "/api/print-jobs/{job_id}/cancel"): "PrintJobOut",
        ("get", "/api/print-jobs/{job_id}/labels"): "SerialOut",
        ("get", "/api/print-jobs/{job_id}/checks"): "LabelCheckOut",
        ("post", "/api/serials/{serial_id}/reprint"): "SerialOut",
        ("post", "/api/serials/{serial_id}/void"): "SerialOut",
        ("post", "/api/serial-pools"): "PoolOut",
        ("post", "/api/serial-pools/{di}/list"): "ListImportOut",
    }
    listed = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert listed == set(expected)
    for (method, path), model in expected.items():
        op = doc["paths"][path][method]
        if model is None:
            assert "text/csv" in op["responses"]["200"]["content"]
            continue
        if model == "png":
            assert "image/png" in op["responses"]["200"]["content"]
            continue
        ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
        assert model in str(ok["content"]["application/json"]["schema"]), (method, path)
        assert model in doc["components"]["schemas"]
        if path != "/api/health":
            assert op["security"] == [{"HTTPBearer": []}], (method, path)
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    config = doc["paths"]["/api/devices/{dev}/config"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert config["additionalProperties"] is False and "mode" in config["properties"] and "heartbeat_s" in config["properties"]
    scans_params = {p["name"] for p in doc["paths"]["/api/scans"]["get"]["parameters"]}
    assert scans_params == {"since", "until", "dev", "code", "verdict", "scheme", "mode", "location", "limit", "cursor"}
