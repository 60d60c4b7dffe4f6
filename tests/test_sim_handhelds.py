"""`udi-edge sim handhelds`: handhelds running the real firmware on the
MicroPython VM deliver every scan to a real broker, once, with the identity
(dev, boot, seq) the gateway de-duplicates on."""

import json
import os
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from gateway.sim import handhelds
from test_mqtt_client import MOSQUITTO, Broker

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")


class Collector:
    # Subscribed to the handhelds' scans; answers each one as a gateway would
    # (a handheld keeps a scan until its answer), unless answer=False.
    def __init__(self, port, answer=True):
        self.answer = answer
        self.scans = []
        self.status = {}
        self.lock = threading.Lock()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="collector")
        self.c.on_message = self.on_message
        self.c.connect("127.0.0.1", port)
        self.c.subscribe("udi/v1/dev/+/scan", 1)
        self.c.subscribe("udi/v1/dev/+/status", 1)
        self.c.loop_start()
        time.sleep(0.3)

    def on_message(self, client, userdata, msg):
        with self.lock:
            data = json.loads(msg.payload)
            if msg.topic.endswith("/scan"):
                self.scans.append(data)
                if self.answer:
                    client.publish("udi/v1/dev/%s/answer" % data["dev"],
                                   json.dumps({"v": 1, "boot": data["boot"], "seq": data["seq"], "verdict": "good"}), 1)
            else:
                self.status[msg.topic.split("/")[3]] = data["state"]

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def test_every_scan_arrives_once_with_its_identity(tmp_path):
    broker = Broker(tmp_path)
    col = Collector(broker.port)
    try:
        summary = handhelds.run(count=4, broker="127.0.0.1:%d" % broker.port, per_device=15, rate=30, per_vm=2,
                                root=str(tmp_path / "flash"))
        time.sleep(0.5)
    finally:
        col.stop()
        broker.stop()
    assert summary["errors"] == [] and summary["devices"] == 4
    assert summary["undelivered"] == 0 and summary["refused"] == 0
    keys = [(s["dev"], s["boot"], s["seq"]) for s in col.scans]
    assert len(keys) == len(set(keys)) == summary["scans"] == 4 * 15 - summary["duplicates_suppressed"]
    by_dev = {}
    for dev, boot, seq in keys:
        by_dev.setdefault(dev, []).append(seq)
    for dev, seqs in by_dev.items():
        assert seqs == list(range(1, len(seqs) + 1)), dev  # in order, no gaps
    assert all(s["pre"]["verdict"] in ("good", "bad", "unknown") for s in col.scans)
    assert all(("raw" in s) != ("raw_b64" in s) for s in col.scans)
    assert set(col.status) == set(by_dev)  # each announced itself (retained status)


def test_scans_the_broker_took_with_no_gateway_are_stored_once_after_a_broker_restart(tmp_path):
    # A broker PUBACKs a scan even when nobody gets it (no gateway subscribed,
    # e.g. mosquitto 2.0 lost the site's shared subscriptions in a restart):
    # the handhelds keep every scan until a gateway answers it.
    from gateway.ingest import Ingest
    from gateway.sim import vm
    from gateway.store import Store

    with open(os.path.join(vm.bundle(), "config.json")) as f:
        config = json.load(f)
    config["mqtt"]["answer_timeout_s"] = 1  # unanswered scans go again after 1-2 s
    config["mqtt"]["answer_timeout_max_s"] = 2
    config_file = str(tmp_path / "config.json")
    with open(config_file, "w") as f:
        json.dump(config, f)
    broker = Broker(tmp_path)
    deaf = Collector(broker.port, answer=False)  # sees what the broker acknowledged; answers nothing
    summary = {}
    run = threading.Thread(target=lambda: summary.update(handhelds.run(
        count=2, broker="127.0.0.1:%d" % broker.port, per_device=10, rate=20, per_vm=2,
        root=str(tmp_path / "flash"), config=config_file)))
    run.start()
    ingest = None
    try:
        deadline = time.time() + 60
        while len({(s["dev"], s["seq"]) for s in deaf.scans}) < 20 and time.time() < deadline:
            time.sleep(0.1)
        heard = {(s["dev"], s["seq"]) for s in deaf.scans}
        deaf.stop()
        broker.stop()  # no persistence: whatever the broker held is gone
        broker.start()
        store = Store("sqlite:///" + str(tmp_path / "gw.sqlite"))
        ingest = Ingest(store, "127.0.0.1", broker.port, gateway_id="line1").start()
        run.join(120)
        ingest.flush()
    finally:
        if ingest is not None:
            ingest.stop()
        broker.stop()
    assert len(heard) == 20  # every scan reached the broker before any gateway was there
    assert len(deaf.scans) > 20  # and unanswered, they went again
    assert summary["errors"] == [] and summary["undelivered"] == 0 and summary["scans"] == 20
    assert store.count_scans() == 20 and ingest.stats["scans"] == 20  # each stored, once
