"""The device registry against a real mosquitto: config pushed retained (a
handheld connecting later still gets it), commands published and their
results recorded, and nothing a device sends back can raise."""

import json
import logging
import queue
import time

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import insert

from gateway import devices as D
from gateway.broker import EmbeddedBroker, find_mosquitto
from gateway.schema import devices
from gateway.store import Store

pytestmark = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")

FIRMWARE_KEYS = ("mode", "operator", "location", "dup_window_ms", "heartbeat_s", "aggregate_order", "feedback")


class Client:
    # A paho client: the gateway's publisher, or a subscriber posing as a handheld.
    def __init__(self, port, name):
        self.messages = queue.Queue()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def subscribe(self, topic, qos=1):
        done = queue.Queue()
        self.c.on_subscribe = lambda *a: done.put(True)
        self.c.subscribe(topic, qos)
        done.get(timeout=5)
        return self

    def next(self, timeout=5):
        return self.messages.get(timeout=timeout)

    def nothing(self, wait=0.5):
        try:
            m = self.messages.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError("unexpected message on %s: %r" % (m.topic, m.payload))

    def close(self):
        self.c.disconnect()  # first: the network loop then ends at once
        self.c.loop_stop()


@pytest.fixture
def broker(tmp_path):
    b = EmbeddedBroker(str(tmp_path), 0).start()
    yield b
    b.stop()


@pytest.fixture
def clients(broker):
    made = []

    def make(name):
        c = Client(broker.port, name)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def registry(tmp_path, clients):
    store = Store("sqlite:///" + str(tmp_path / "dev.sqlite"))
    gw = clients("udi-edge-gateway")
    with store.engine.begin() as c:
        c.execute(insert(devices).values(dev="hh1", state="online"))
    reg = D.DeviceRegistry(store.engine, gw.c.publish)
    return reg


def wait_for(pred, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


# --- what the firmware accepts ------------------------------------------------------------


def test_accepted_settings_are_the_firmwares():
    assert tuple(D.REMOTE_DEFAULTS) == FIRMWARE_KEYS == tuple(D.FIRMWARE_SETTINGS.REMOTE)
    assert D.REMOTE_DEFAULTS["heartbeat_s"] == 60 and D.MODES[0] == "receive"
    good = {"mode": "aggregate", "operator": "nurse-7", "location": None, "dup_window_ms": 0, "heartbeat_s": 30,
            "aggregate_order": "parent_first", "feedback": {"volume": 80}}
    assert D.validate_settings(good) == good
    for bad, key in (({"engine": {"kind": "ssi"}}, "engine"), ({"wifi": {}}, "wifi"), ({"mode": 1}, "mode"),
                     ({"mode": "sell"}, "mode"), ({"dup_window_ms": 1.5}, "dup_window_ms"), ({"heartbeat_s": False}, "heartbeat_s"),
                     ({"heartbeat_s": -1}, "heartbeat_s"), ({"operator": 7}, "operator"), ({"feedback": 3}, "feedback"),
                     ({"feedback": {"volume": "x"}}, "feedback.volume"), ({"aggregate_order": "any"}, "aggregate_order")):
        with pytest.raises(D.SettingError) as e:
            D.validate_settings(bad)
        assert e.value.key == key and str(e.value).startswith(key + ":"), bad


# --- config ----------------------------------------------------------------------------------------


def test_config_push_is_retained_and_the_rev_increments(registry, clients):
    out = registry.push_config("hh1", {"mode": "use", "operator": "nurse-7"})
    assert out["rev"] == 1 and out["delivery"] == "sent"
    # a handheld connecting after the push still gets it
    late = clients("hh1").subscribe("udi/v1/dev/hh1/config")
    m = late.next()
    assert m.retain and m.qos == 1 and json.loads(m.payload) == {"v": 1, "rev": 1, "mode": "use", "operator": "nurse-7"}
    assert registry.push_config("hh1", {"mode": "verify"})["rev"] == 2
    m = late.next()
    assert json.loads(m.payload) == {"v": 1, "rev": 2, "mode": "verify"}
    later = clients("hh1-again").subscribe("udi/v1/dev/hh1/config")
    m = later.next()
    assert m.retain and json.loads(m.payload)["rev"] == 2
    later.nothing()  # only the latest is retained
    d = registry.get("hh1")
    assert d["config"] == {"mode": "verify"} and d["config_rev"] == 2 and d["online"] is True


def test_concurrent_pushes_never_share_a_rev(registry, clients):
    import threading

    revs = []
    threads = [threading.Thread(target=lambda i=i: revs.append(registry.push_config("hh1", {"heartbeat_s": i})["rev"]))
               for i in range(1, 11)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(revs) == list(range(1, 11))
    # the retained message is the last rev
    m = clients("hh1").subscribe("udi/v1/dev/hh1/config").next()
    assert json.loads(m.payload)["rev"] == 10 == registry.get("hh1")["config_rev"]


def test_a_bad_setting_is_refused_and_nothing_published(registry, clients):
    sub = clients("watcher").subscribe("udi/v1/dev/+/config")
    for bad in ({"volume": 3}, {"mode": "sell"}, {"heartbeat_s": "60"}, {"heartbeat_s": 0}, [("mode", "use")]):
        with pytest.raises(ValueError):
            registry.push_config("hh1", bad)
    with pytest.raises(D.UnknownDevice):
        registry.push_config("ghost", {"mode": "use"})
    with pytest.raises(ValueError, match="dev"):
        registry.push_config("hh1/#", {"mode": "use"})
    sub.nothing()
    assert registry.get("hh1")["config_rev"] is None


def test_configs_are_republished_after_a_broker_lost_them(registry, clients):
    registry.push_config("hh1", {"mode": "use"})
    registry.set_meta("hh2", name="spare")
    registry.push_config("hh2", {"heartbeat_s": 30})
    wipe = clients("wiper")  # what a broker restart without persistence does
    for dev in ("hh1", "hh2"):
        wipe.c.publish("udi/v1/dev/%s/config" % dev, b"", 1, True).wait_for_publish(5)
    assert registry.republish_configs() == 2
    sub = clients("hh2").subscribe("udi/v1/dev/hh2/config")
    assert json.loads(sub.next().payload) == {"v": 1, "rev": 1, "heartbeat_s": 30}


# --- commands ---------------------------------------------------------------------------------------


def handheld(clients, registry, dev="hh1", answer=None):
    # Subscribes to its cmd topic and answers like the firmware; the gateway
    # side routes cmd/result into the registry as the ingest will.
    gw = clients("gw-results-" + dev).subscribe("udi/v1/dev/%s/cmd/result" % dev)
    gw.c.on_message = lambda c, u, m: registry.on_cmd_result(m.topic.split("/")[3], m.payload)
    hh = clients(dev).subscribe("udi/v1/dev/%s/cmd" % dev)
    if answer:
        hh.c.on_message = lambda c, u, m: [hh.c.publish("udi/v1/dev/%s/cmd/result" % dev, json.dumps(r), 1)
                                           for r in answer(json.loads(m.payload))]
    return hh


def test_a_command_is_published_and_its_result_recorded(registry, clients):
    handheld(clients, registry, answer=lambda m: [{"v": 1, "id": m["id"], "ok": True, "detail": m["args"]["mode"]}])
    cid = registry.send_command("hh1", "set_mode", {"mode": "use"})
    assert wait_for(lambda: registry.command(cid)["done_at"] is not None)
    row = registry.command(cid)
    assert row["ok"] is True and row["detail"] == "use" and row["cmd"] == "set_mode" and row["args"] == {"mode": "use"}
    assert registry.get("hh1")["commands"][0]["id"] == cid


def test_the_command_message_is_qos1_not_retained(registry, clients):
    hh = clients("hh1").subscribe("udi/v1/dev/hh1/cmd")
    cid = registry.send_command("hh1", "sync_time", {"unix": 1_800_000_000})
    m = hh.next()
    assert m.qos == 1 and not m.retain
    assert json.loads(m.payload) == {"v": 1, "id": cid, "cmd": "sync_time", "args": {"unix": 1_800_000_000}}
    assert registry.command(cid)["ok"] is None


def test_ota_progress_updates_detail_until_the_result(registry, clients):
    cid = registry.send_command("hh1", "ota", {"url": "http://192.168.1.10/fw.bin", "size": 200000})

    def result(ok, detail):
        registry.on_cmd_result("hh1", json.dumps({"v": 1, "id": cid, "ok": ok, "detail": detail}).encode())

    result(None, {"done": 4096, "total": 200000})
    row = registry.command(cid)
    assert row["detail"] == {"done": 4096, "total": 200000} and row["ok"] is None and row["done_at"] is None
    result(None, {"done": 200000, "total": 200000})
    assert registry.command(cid)["detail"]["done"] == 200000
    result(True, "1.0.1")
    row = registry.command(cid)
    assert row["ok"] is True and row["detail"] == "1.0.1" and row["done_at"]
    result(None, {"done": 1, "total": 2})  # late progress (QoS 0 overtaken): ignored
    result(False, "ota_failed")  # a redelivered or contradicting result: the first one stands
    assert registry.command(cid)["detail"] == "1.0.1" and registry.command(cid)["ok"] is True


def test_bad_commands_are_refused_and_nothing_published(registry, clients):
    sub = clients("watcher").subscribe("udi/v1/dev/+/cmd")
    for cmd, args, field in (("selfdestruct", {}, "cmd"), ("set_mode", {"mode": "x"}, "args.mode"), ("set_mode", None, "args.mode"),
                             ("reboot", {"delay": 1}, "args.delay"), ("ota", {"url": "https://x/b", "size": 1}, "args.url"),
                             ("ota", {"url": "http://x/b", "size": "1"}, "args.size"), ("status", "now", "args"),
                             ("sync_time", {"unix": -1}, "args.unix"), (None, {}, "cmd")):
        with pytest.raises(D.CommandError) as e:
            registry.send_command("hh1", cmd, args)
        assert e.value.field == field, (cmd, args)
    with pytest.raises(D.UnknownDevice):
        registry.send_command("ghost", "status")
    for dev in ("+", "hh1/#", "", "x" * 33, None):
        with pytest.raises(ValueError):
            registry.send_command(dev, "status")
    sub.nothing()
    assert registry.get("hh1")["commands"] == []


def test_malformed_results_never_raise(registry, caplog):
    cid = registry.send_command("hh1", "status")
    bad = [b"", b"{", b"\xff\xfe", b"[]", b'"text"', b"null", b"42", json.dumps({"id": cid, "ok": True}).encode(),
           json.dumps({"v": 2, "id": cid, "ok": True}).encode(), json.dumps({"v": 1, "ok": True}).encode(),
           json.dumps({"v": 1, "id": 5, "ok": True}).encode(), json.dumps({"v": 1, "id": ["x"], "ok": True}).encode(),
           json.dumps({"v": 1, "id": "x" * 100, "ok": True}).encode(), json.dumps({"v": 1, "id": cid, "ok": "yes"}).encode(),
           json.dumps({"v": 1, "id": cid, "ok": 1}).encode(), b"x" * (D.MAX_RESULT_BYTES + 1), None, "text", 12]
    with caplog.at_level(logging.INFO, logger="udi_edge.devices"):
        for payload in bad:
            assert registry.on_cmd_result("hh1", payload) is None
        # an id this device was never sent (or another device's) is ignored and logged
        registry.on_cmd_result("hh1", json.dumps({"v": 1, "id": "feedfacefeedface", "ok": True}).encode())
        registry.on_cmd_result("hh2", json.dumps({"v": 1, "id": cid, "ok": True, "detail": "spoofed"}).encode())
    row = registry.command(cid)
    assert row["ok"] is None and row["detail"] is None and row["done_at"] is None
    assert "no command 'feedfacefeedface' was sent to it" in caplog.text
    assert "'hh2'" in caplog.text
    registry.on_cmd_result("hh1", json.dumps({"v": 1, "id": cid, "ok": False, "detail": "unknown_command"}).encode())
    assert registry.command(cid)["ok"] is False


def test_a_failure_while_recording_a_result_is_logged_not_raised(caplog):
    broken = D.DeviceRegistry(None, None)  # no database at all
    with caplog.at_level(logging.ERROR, logger="udi_edge.devices"):
        assert broken.on_cmd_result("hh1", json.dumps({"v": 1, "id": "abc", "ok": True}).encode()) is None
    assert "not recorded" in caplog.text


# --- devices --------------------------------------------------------------------------------------------


def test_set_meta_registers_and_names_devices(registry):
    d = registry.set_meta("hh5", name="Ward 5", location="ward-5")
    assert d["dev"] == "hh5" and d["name"] == "Ward 5" and d["online"] is False and d["commands"] == []
    d = registry.set_meta("hh5", location="")
    assert d["name"] == "Ward 5" and d["location"] is None
    assert registry.set_meta("hh1")["dev"] == "hh1"  # nothing to change: still fine
    assert [d["dev"] for d in registry.list()] == ["hh1", "hh5"]
    assert [d["dev"] for d in registry.list(online=True)] == ["hh1"]
    assert [d["dev"] for d in registry.list(online=False)] == ["hh5"]
    assert registry.get("nope") is None
    with pytest.raises(ValueError, match="name"):
        registry.set_meta("hh5", name="x" * 65)
    with pytest.raises(ValueError, match="dev"):
        registry.set_meta("a b", name="x")
    for _ in range(25):
        registry.send_command("hh5", "status")
    assert len(registry.get("hh5")["commands"]) == 20
