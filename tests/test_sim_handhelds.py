"""`udi-edge sim handhelds`: handhelds running the real firmware on the
MicroPython VM deliver every scan to a real broker, once, with the identity
(dev, boot, seq) the gateway de-duplicates on."""

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from gateway.sim import handhelds
from test_mqtt_client import MOSQUITTO, Broker

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")


class Collector:
    def __init__(self, port):
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
