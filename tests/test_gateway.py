"""The gateway core: embedded broker + ingest + SQLite.  Handhelds running
the real firmware deliver scans that are judged, stored once and answered;
bad payloads are recorded with the reason and never stop the loop."""

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from gateway import config as C
from gateway.service import Gateway
from gateway.sim import handhelds
from test_mqtt_client import MOSQUITTO

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")

SCAN = "]d201069012345678921727123110LOT2024A\x1d21SN0001"


@pytest.fixture
def gateway(tmp_path):
    cfg, problems = C.load(None, environ={})
    assert problems == []
    cfg["data_dir"] = str(tmp_path / "data")
    cfg["mqtt"]["port"] = 0  # the embedded broker takes a free port
    cfg["api"]["port"] = 0
    gw = Gateway(cfg).start()
    yield gw
    gw.stop()


class Device:
    # A plain MQTT client posing as a handheld, to send exact payloads.
    def __init__(self, gateway, dev="hhtest0001", password=None):
        # logs in as the device, with the password the gateway gave it
        port = gateway.port
        password = password or gateway.provision(dev)
        self.dev = dev
        self.answers = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=dev)
        self.c.username_pw_set(dev, password)
        self.c.on_message = lambda c, u, m: self.answers.append(json.loads(m.payload))
        acked = threading.Event()
        self.c.on_subscribe = lambda c, u, mid, codes, props: acked.set()
        self.c.connect("127.0.0.1", port)
        self.c.subscribe("udi/v1/dev/%s/answer" % dev, 1)
        self.c.loop_start()
        assert acked.wait(10), "no SUBACK from the broker"  # answers can only arrive once subscribed

    def send(self, payload, topic=None):
        topic = topic or "udi/v1/dev/%s/scan" % self.dev
        self.c.publish(topic, payload if isinstance(payload, (bytes, str)) else json.dumps(payload), qos=1).wait_for_publish(5)

    def scan(self, seq, raw=SCAN, boot=1, mode="receive"):
        self.send({"v": 1, "dev": self.dev, "boot": boot, "seq": seq, "raw": raw, "mode": mode, "loc": "ward-3",
                   "pre": {"verdict": "good", "code": None, "scheme": "gs1"}})

    def wait(self, n, timeout=10):
        deadline = time.time() + timeout
        while len(self.answers) < n and time.time() < deadline:
            time.sleep(0.05)
        return self.answers

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def test_handhelds_running_the_firmware_are_stored_once_and_answered(gateway):
    creds = {dev: gateway.provision(dev) for dev in handhelds.device_ids(3, per_vm=3)}
    summary = handhelds.run(count=3, broker="%s:%d" % (gateway.host, gateway.port), per_device=12, rate=30, per_vm=3,
                            credentials=creds)
    assert summary["errors"] == [] and summary["undelivered"] == 0
    deadline = time.time() + 10
    while gateway.store.count_scans() < summary["scans"] and time.time() < deadline:
        time.sleep(0.1)
    assert gateway.store.count_scans() == summary["scans"]
    rows = gateway.store.scans(limit=1000)
    assert len({(r["dev"], r["boot"], r["seq"]) for r in rows}) == len(rows)
    assert {r["verdict"] for r in rows} <= {"good", "bad"}
    assert gateway.ingest.stats["answers"] >= summary["scans"]
    assert len(gateway.store.devices()) == 3


def test_redelivery_is_stored_once_and_answered_again(gateway):
    d = Device(gateway)
    try:
        d.scan(7)
        d.scan(7)
        d.scan(8, raw="]d201069012345678931727123110LOT2024A\x1d21SN0001")  # wrong check digit
        answers = d.wait(3)
    finally:
        d.close()
    assert gateway.store.count_scans() == 2
    assert [a["seq"] for a in answers] == [7, 7, 8]
    assert answers[0]["verdict"] == answers[1]["verdict"] == "good"
    assert answers[1]["message"] == "already received"
    assert answers[2]["verdict"] == "bad" and answers[2]["codes"][0] == "check_digit"
    assert "校验" in answers[2]["message"]  # the operator's reason, in Chinese
    assert gateway.ingest.stats["duplicates"] == 1


def test_bad_payloads_are_recorded_and_never_stop_ingest(gateway):
    d = Device(gateway)
    try:
        d.send(b"\xff\xfe not json")
        d.send("[1, 2, 3]")
        d.send({"v": 2, "dev": d.dev, "boot": 1, "seq": 1, "raw": SCAN})
        d.send({"v": 1, "dev": "someone-else", "boot": 1, "seq": 1, "raw": SCAN})
        d.send({"v": 1, "dev": d.dev, "boot": "one", "seq": 1, "raw": SCAN})
        d.send({"v": 1, "dev": d.dev, "boot": 1, "seq": 2})
        d.send("x" * 20000)
        d.send(b"not json either", topic="udi/v1/dev/%s/status" % d.dev)
        d.scan(3)  # a good scan after all that is still taken
        d.wait(1)
    finally:
        d.close()
    deadline = time.time() + 5
    while len(gateway.store.rejects()) < 8 and time.time() < deadline:
        time.sleep(0.05)
    reasons = [r["reason"] for r in gateway.store.rejects()]
    # scans are judged by the batch worker, status inline: the order may differ
    assert sorted(reasons) == sorted(["bad_json", "not_an_object", "bad_version", "dev_mismatch", "bad_boot", "no_raw", "too_large", "bad_status"])
    assert gateway.store.count_scans() == 1


def test_config_check_explains_problems(tmp_path):
    f = tmp_path / "gw.toml"
    f.write_text('data_dir = "x"\nunknown = 1\n[mqtt]\nport = "abc"\nurl = "http://broker"\n')
    cfg, problems = C.load(str(f), environ={})
    assert "unknown: unknown setting" in problems
    assert any(p.startswith("mqtt.port: must be a TCP port") for p in problems)
    assert any(p.startswith("mqtt.url: must start with mqtt://") for p in problems)
    cfg, problems = C.load(None, environ={"UDI_EDGE_DATABASE_URL": "mysql://x"})
    assert problems and problems[0].startswith("database_url:")


def test_a_unit_used_twice_gets_a_bad_answer_and_an_alert(gateway):
    d = Device(gateway)
    try:
        d.scan(1, mode="use")
        d.scan(2, mode="use")
        d.scan(2, mode="use")  # the redelivery keeps its first answer
        answers = d.wait(3)
    finally:
        d.close()
    assert [(a["seq"], a["verdict"]) for a in answers] == [(1, "good"), (2, "bad"), (2, "bad")]
    assert answers[1]["alert"] == "used_twice" and "used_twice" in answers[1]["codes"]
    assert "已使用" in answers[1]["message"]
    rows = gateway.store.scans(limit=10)
    assert [r["item"] for r in rows] == ["(01)06901234567892(21)SN0001"] * 2


def test_the_api_runs_with_the_gateway_and_a_first_admin_token(gateway):
    import os
    import urllib.request

    base = "http://%s:%d/api" % (gateway.api.host, gateway.api.port)
    with urllib.request.urlopen(base + "/health") as r:
        assert r.status == 200
    path = gateway.admin_token_file
    assert os.stat(path).st_mode & 0o077 == 0  # readable by the gateway's user only
    token = open(path).read().strip()
    req = urllib.request.Request(base + "/devices", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        assert json.loads(r.read())["items"] == []


def test_config_push_and_command_result_through_the_broker(gateway):
    d = Device(gateway, dev="hhcfg0001")
    got = []
    subscribed = []
    d.c.on_subscribe = lambda c, u, mid, codes, props: subscribed.append(mid)
    d.c.message_callback_add("udi/v1/dev/hhcfg0001/cmd", lambda c, u, m: got.append(json.loads(m.payload)))
    _, mid = d.c.subscribe("udi/v1/dev/hhcfg0001/cmd", 1)
    deadline = time.time() + 5
    while mid not in subscribed and time.time() < deadline:  # the broker has the subscription before we send
        time.sleep(0.02)
    try:
        cid = gateway.registry.send_command("hhcfg0001", "status", {})
        deadline = time.time() + 5
        while not got and time.time() < deadline:
            time.sleep(0.05)
        assert got and got[0]["id"] == cid
        d.send({"v": 1, "id": cid, "ok": True, "detail": {"heap_free": 41000}}, topic="udi/v1/dev/hhcfg0001/cmd/result")
        deadline = time.time() + 5
        while gateway.registry.command(cid)["ok"] is None and time.time() < deadline:
            time.sleep(0.05)
        assert gateway.registry.command(cid)["ok"] is True
    finally:
        d.close()


def test_each_handheld_reaches_only_its_own_topics(gateway):
    a = Device(gateway, dev="hhacl0001")
    b = Device(gateway, dev="hhacl0002")
    try:
        # a subscribes to b's answers, but the broker delivers it none of them
        seen = []
        a.c.message_callback_add("udi/v1/dev/hhacl0002/#", lambda c, u, m: seen.append(m.topic))
        a.c.subscribe("udi/v1/dev/hhacl0002/#", 1)
        time.sleep(0.2)
        # a cannot post scans as b: the broker drops them, nothing is stored
        a.send({"v": 1, "dev": "hhacl0002", "boot": 1, "seq": 1, "raw": SCAN, "mode": "receive"},
               topic="udi/v1/dev/hhacl0002/scan")
        b.scan(2)  # b's own scan arrives
        assert [x["seq"] for x in b.wait(1)] == [2]
        time.sleep(0.3)
        assert [(r["dev"], r["seq"]) for r in gateway.store.scans()] == [("hhacl0002", 2)]
        assert seen == []
    finally:
        a.close()
        b.close()
    # anonymous or wrong-password clients are refused
    for user, password in ((None, None), ("hhacl0001", "wrong")):
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="intruder")
        if user:
            c.username_pw_set(user, password)
        with pytest.raises(Exception):
            c.connect("127.0.0.1", gateway.port)
            rc = c.loop(2)
            assert c.is_connected() and rc == 0
            raise AssertionError("connected")  # pragma: no cover
