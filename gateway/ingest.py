"""Ingest: take every scan from the handhelds over MQTT, judge it with the
code engine, keep it (once), and answer the handheld.  Nothing a handheld or
anyone else publishes can stop the loop: a payload that cannot be used is
recorded in `rejects` with the reason (and answered when the scan's identity
is readable)."""

import base64
import json
import logging
import queue
import sys
import threading
import time

import orjson  # scans arrive and answers leave thousands of times a second
import paho.mqtt.client as mqtt

import udi_codes
from gateway.trace import messages as trace_messages
from udi_codes import messages

log = logging.getLogger("udi_edge.ingest")


def today():
    return time.strftime("%Y-%m-%d")


class BadScan(Exception):
    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read_scan(dev, payload, max_payload):
    # -> dict with the scan's fields, or raises BadScan(reason, detail).
    if len(payload) > max_payload:
        raise BadScan("too_large", "%d bytes (at most %d)" % (len(payload), max_payload))
    try:
        msg = orjson.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadScan("bad_json", str(e))
    if not isinstance(msg, dict):
        raise BadScan("not_an_object", "the payload must be a JSON object")
    if msg.get("v") != 1:
        raise BadScan("bad_version", "v must be 1, got %r" % (msg.get("v"),))
    if msg.get("dev") != dev:
        raise BadScan("dev_mismatch", "payload says %r, topic says %r" % (msg.get("dev"), dev))
    for key in ("boot", "seq"):
        if not isinstance(msg.get(key), int) or isinstance(msg.get(key), bool) or msg[key] < 0:
            raise BadScan("bad_" + key, "%s must be a non-negative integer, got %r" % (key, msg.get(key)))
    if isinstance(msg.get("raw"), str):
        raw = msg["raw"]
    elif isinstance(msg.get("raw_b64"), str):
        try:
            raw = base64.b64decode(msg["raw_b64"], validate=True)
        except ValueError as e:
            raise BadScan("bad_raw_b64", str(e))
    else:
        raise BadScan("no_raw", "a scan needs raw (text) or raw_b64")
    return msg, raw


class Ingest:
    def __init__(self, store, host, port, prefix="udi/v1", user=None, password=None, max_payload=16384,
                 client_id="udi-edge-gateway", tracer=None):
        self.store = store
        self.tracer = tracer
        self.registry = None  # gateway.devices.DeviceRegistry: command results, config re-publish
        self.prefix = prefix
        self.max_payload = max_payload
        self.stats = {"scans": 0, "duplicates": 0, "rejects": 0, "answers": 0}
        self.lock = threading.Lock()
        # A persistent session: while the gateway is down (restart, crash) the
        # broker keeps every QoS 1 scan for it.  A handheld drops a scan from its
        # outbox once the *broker* acknowledged it, so a clean session would
        # lose every scan sent while the gateway was away.
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        if user:
            self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self.host, self.port = host, port
        self.connected = threading.Event()
        # Scans are judged, stored and answered in batches by one worker: one
        # transaction for many scans keeps up with the broker.
        self.queue = queue.Queue()
        self.worker = threading.Thread(target=self._work, name="udi-ingest", daemon=True)
        self.running = False

    def start(self):
        # The worker's database calls release the GIL; with the default 5 ms
        # switch interval each one could wait that long to get it back from
        # the MQTT thread (measured: p50 11 ms at 1,000 scans/s; 1 ms gives
        # the worker its turn sooner).
        sys.setswitchinterval(0.001)
        self.running = True
        self.worker.start()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self):
        self.running = False
        self.queue.put(None)
        self.worker.join(10)
        self.client.loop_stop()
        self.client.disconnect()

    def _work(self):
        while self.running:
            item = self.queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < 500:
                try:
                    nxt = self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.running = False
                    break
                batch.append(nxt)
            try:
                self.on_scans(batch)
            except Exception as e:  # a bug: record every scan of the batch, go on
                log.exception("ingest batch failed")
                for dev, payload in batch:
                    self._reject("%s/dev/%s/scan" % (self.prefix, dev), dev, "internal_error", repr(e), payload)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        nodelay(client)  # answers are small: Nagle would hold each one back
        base = self.prefix + "/dev/+/"
        client.subscribe([(base + "scan", 1), (base + "status", 1), (base + "heartbeat", 0), (base + "cmd/result", 1)])
        self.connected.set()
        if self.registry is not None:
            threading.Thread(target=self._republish, daemon=True).start()

    def _republish(self):
        try:
            self.registry.republish_configs()
        except Exception:
            log.exception("re-publishing device configs failed")

    def publish(self, topic, payload, qos, retain):
        # For the device registry: config pushes and commands.
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def _on_message(self, client, userdata, msg):
        # Never raises: paho would stop the loop.
        try:
            parts = msg.topic.split("/")
            dev = parts[3] if len(parts) >= 5 else None
            kind = "/".join(parts[4:])
            if kind == "scan":
                self.queue.put((dev, msg.payload))
            elif kind == "status":
                self.on_status(dev, msg.payload)
            elif kind == "heartbeat":
                self.on_heartbeat(dev, msg.payload)
            elif kind == "cmd/result" and self.registry is not None:
                self.registry.on_cmd_result(dev, msg.payload)
        except Exception as e:  # a bug, not bad input: record it and go on
            log.exception("ingest failed on %s", msg.topic)
            self._reject(msg.topic, None, "internal_error", repr(e), msg.payload)

    def on_scan(self, dev, payload):
        self.on_scans([(dev, payload)])

    def on_scans(self, batch):
        rows = []
        for dev, payload in batch:
            topic = "%s/dev/%s/scan" % (self.prefix, dev)
            try:
                msg, raw = read_scan(dev, payload, self.max_payload)
            except BadScan as e:
                self._reject(topic, dev, e.reason, e.detail, payload)
                continue
            res = udi_codes.parse(raw, "read", today())
            rows.append(scan_row(dev, msg, res))
        if not rows:
            return
        for (stored, new), row in zip(self.store.add_scans(rows, self.tracer, today()), rows):
            with self.lock:
                self.stats["scans" if new else "duplicates"] += 1
            if new:
                self.answer(row["dev"], row["boot"], row["seq"], stored["verdict"], stored["codes"], operator_message(stored),
                            first_alert(stored))
            else:
                self.answer(row["dev"], row["boot"], row["seq"], stored["verdict"], stored["codes"] or [], "already received")

    def answer(self, dev, boot, seq, verdict, codes, message, alert=None):
        payload = orjson.dumps({"v": 1, "boot": boot, "seq": seq, "verdict": verdict, "codes": codes,
                                "message": message, "alert": alert})
        self.client.publish("%s/dev/%s/answer" % (self.prefix, dev), payload, qos=1)
        with self.lock:
            self.stats["answers"] += 1

    def on_status(self, dev, payload):
        try:
            msg = json.loads(payload)
            state = msg["state"]
            if state not in ("online", "offline"):
                raise ValueError("state must be online or offline")
        except (ValueError, KeyError, TypeError) as e:
            self._reject("status", dev, "bad_status", str(e), payload)
            return
        self.store.device_seen(dev, state=state, fw=_text(msg.get("fw")), boot=msg.get("boot") if isinstance(msg.get("boot"), int) else None)

    def on_heartbeat(self, dev, payload):
        try:
            msg = json.loads(payload)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError as e:
            self._reject("heartbeat", dev, "bad_heartbeat", str(e), payload)
            return
        ints = {k: msg.get(k) if isinstance(msg.get(k), int) else None for k in ("battery_mv", "queue")}
        self.store.device_seen(dev, state="online", fw=_text(msg.get("fw")), heartbeat=msg, **ints)

    def _reject(self, topic, dev, reason, detail, payload):
        self.store.reject(topic, dev, reason, detail, payload)
        with self.lock:
            self.stats["rejects"] += 1


def nodelay(client):
    import socket

    sock = client.socket()
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass


def operator_message(stored):
    # One line for the handheld's operator, in Chinese: the first reason the
    # scan is bad (the code's own error first, then a traceability rule).
    res = stored["result"]
    if res["errors"]:
        return messages.describe(res["errors"][0], "zh")
    for f in res.get("trace") or ():
        if f["bad"]:
            return trace_messages.describe(f["code"], "zh")
    return ""


def first_alert(stored):
    # The traceability finding the handheld should show most (a bad one first).
    found = sorted(stored["result"].get("trace") or (), key=lambda f: not f["bad"])
    return found[0]["code"] if found else None


def scan_row(dev, msg, res):
    # The stored form of one judged scan.
    pi = res["pi"]
    pre = msg.get("pre")
    return {
        "dev": dev, "boot": msg["boot"], "seq": msg["seq"], "raw": res["raw"],
        "mode": str(msg.get("mode"))[:16], "operator": _text(msg.get("op")), "location": _text(msg.get("loc")),
        "device_ts": msg.get("ts") if isinstance(msg.get("ts"), int) else None,
        "up_ms": msg.get("up_ms") if isinstance(msg.get("up_ms"), int) else None,
        "pre_verdict": pre.get("verdict") if isinstance(pre, dict) else None,
        "scheme": res["scheme"], "valid": res["valid"], "verdict": "good" if res["valid"] else "bad",
        "codes": [e["code"] for e in res["errors"]] + [w["code"] for w in res["warnings"]],
        "di": res["di"], "lot": _text(pi.get("lot")), "serial": _text(pi.get("serial")),
        "expiry": _text(pi.get("expiry")), "result": res,
        "agg": msg.get("agg") if isinstance(msg.get("agg"), dict) else None,
        # filled by the traceability rules (gateway.trace) when they run
        "item": None, "product": None, "nhsa_code": None, "commodity_code": None,
    }


def _text(v):
    return v[:64] if isinstance(v, str) else None
