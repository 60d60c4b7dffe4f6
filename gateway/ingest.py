"""Ingest: take every scan from the handhelds over MQTT, judge it with the
code engine, keep it (once), and answer the handheld.  Nothing a handheld or
anyone else publishes can stop the loop: a payload that cannot be used is
recorded in `rejects` with the reason (and answered when the scan's identity
is readable)."""

import base64
import functools
import logging
import queue
import sys
import threading
import time

import orjson  # scans arrive and answers leave thousands of times a second
import paho.mqtt.client as mqtt

import udi_codes
from gateway.devices import DEV_ID
from gateway.store import db_text, storage_outage
from gateway.trace import messages as trace_messages
from udi_codes import messages

log = logging.getLogger("udi_edge.ingest")


def today():
    return time.strftime("%Y-%m-%d")


INT_MAX = 2**31 - 1  # the Integer columns are 32-bit on PostgreSQL
BIGINT_MAX = 2**63 - 1


class BadScan(Exception):
    def __init__(self, reason, detail, identity=None):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.identity = identity  # (boot, seq) when they could be read


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
    if not isinstance(dev, str) or not DEV_ID.fullmatch(dev):
        raise BadScan("bad_dev", "a device id is [A-Za-z0-9_-]{1,32}, got %r" % (dev,))
    for key in ("boot", "seq"):
        if not isinstance(msg.get(key), int) or isinstance(msg.get(key), bool) or not 0 <= msg[key] <= INT_MAX:
            raise BadScan("bad_" + key, "%s must be an integer 0-%d, got %r" % (key, INT_MAX, msg.get(key)))
    identity = (msg["boot"], msg["seq"])
    if isinstance(msg.get("raw"), str):
        raw = msg["raw"]
    elif isinstance(msg.get("raw_b64"), str):
        try:
            raw = base64.b64decode(msg["raw_b64"], validate=True)
        except ValueError as e:
            raise BadScan("bad_raw_b64", str(e), identity)
    else:
        raise BadScan("no_raw", "a scan needs raw (text) or raw_b64", identity)
    return msg, raw


LEGACY_CLIENT_ID = "udi-edge-gateway"  # the one client id of the versions before sites of several gateways
SHARE_GROUP = "udi-edge"  # the gateways of a site share the handhelds' topics in this group


def client_id_of(gateway_id):
    return "udi-edge-" + gateway_id


class Ingest:
    def __init__(self, store, host, port, prefix="udi/v1", user=None, password=None, max_payload=16384,
                 gateway_id="gateway", tracer=None, tls=None, shared=True):
        # tls: an ssl.SSLContext for an mqtts:// broker (gateway.tls.client_context)
        # shared: scans through the site's shared subscription; False for a
        # gateway alone, whose plain subscription survives a broker restart
        # (_on_connect)
        self.store = store
        self.shared = shared
        self.gateway_id = gateway_id
        self.client_id = client_id_of(gateway_id)
        self.login = (user, password, tls)
        self.tracer = tracer
        self.registry = None  # gateway.devices.DeviceRegistry: command results, config re-publish
        self.prefix = prefix
        self.max_payload = max_payload
        self.stats = {"scans": 0, "duplicates": 0, "rejects": 0, "answers": 0, "held": 0}
        # While the database cannot store (a PostgreSQL restart, a full disk):
        # {"since", "error", "alert"}; None when it stores.
        self.outage = None
        self._stopping = threading.Event()
        self.lock = threading.Lock()
        # A persistent session: while the gateway is down (restart, crash) the
        # broker keeps every QoS 1 scan for it, and answers come as soon as it
        # is back (a handheld keeps each scan until the gateway's answer and
        # sends it again after a while; a clean session would make every
        # handheld resend everything sent while the gateway was away).  Each gateway of a
        # site has its own client id (one id would have them throw each other
        # off the broker) and its own session.
        self.client = self._client(self.client_id, clean=False)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        # In a site, back within 2 s of the broker's return: until a gateway has
        # subscribed again, the broker has no shared subscription to keep scans for
        self.client.reconnect_delay_set(1, 2 if shared else 30)
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
        if self.client_id != LEGACY_CLIENT_ID:
            self.legacy = threading.Thread(target=self._take_legacy_session, name="udi-ingest-legacy", daemon=True)
            self.legacy.start()
        return self

    def _client(self, client_id, clean):
        user, password, tls = self.login
        # manual_ack: the broker hears that a scan arrived (PUBACK) only once
        # it is stored; until then it keeps it in the session and delivers it
        # again after a crash of the gateway or of its database.
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean, manual_ack=True)
        if user:
            c.username_pw_set(user, password)
        if tls is not None:
            c.tls_set_context(tls)
        return c

    def flush(self, timeout=30):
        """-> True once every scan taken in before this call is stored and answered."""
        done = threading.Event()
        self.queue.put(done)
        return done.wait(timeout)

    def _take_legacy_session(self):
        # A gateway upgraded in place from a version with the one fixed client
        # id: the broker kept that session and queued the scans sent during
        # the upgrade for it.  Take them in, then end that session, or the
        # broker would keep a copy of every scan for it from now on.
        if self.connected.wait(30):
            legacy = [self.prefix + "/dev/+/" + kind for kind in ("scan", "status", "heartbeat", "cmd/result")]
            self.take_session(LEGACY_CLIENT_ID, legacy)

    def retire(self):
        """This gateway leaves the site for good (`udi-edge site retire`, the
        gateway stopped): it stops taking its turn at the handhelds' scans,
        stores and answers what the broker kept for it, and ends its session
        -> True when done.  Without this, the broker would go on keeping a
        share of the scans for a gateway that never comes back."""
        self.running = True
        self.worker.start()
        try:
            return self.take_session(self.client_id, [topic for topic, _qos in self.filters()])
        finally:
            self.running = False
            self.queue.put(None)
            self.worker.join(10)

    def take_session(self, client_id, filters, quiet_s=1.0, limit_s=600):
        """Take over the broker's session of `client_id`: unsubscribe
        `filters` (nothing new comes), take in what it kept, and end it once
        all of that is stored -> True when it was ended.  Never while another
        client holds that id: the broker would throw one off."""
        try:
            state = {"present": None, "last": time.monotonic(), "received": 0}

            def on_connect(c, userdata, flags, reason_code, properties):
                state["present"] = bool(flags.session_present)
                if state["present"]:
                    c.unsubscribe(filters)  # nothing new; what is queued still comes

            def on_message(c, userdata, msg):
                state["last"] = time.monotonic()
                state["received"] += 1
                self._on_message(c, userdata, msg)

            old = self._client(client_id, clean=False)
            old.on_connect, old.on_message = on_connect, on_message
            old.connect(self.host, self.port, keepalive=30)
            deadline = time.monotonic() + limit_s
            checked = None
            # its own loop, no reconnect: if something else holds that id, leave it be
            while self.running and time.monotonic() < deadline and old.loop(0.1) == mqtt.MQTT_ERR_SUCCESS:
                if state["present"] is False:
                    break
                if state["present"] and time.monotonic() - state["last"] > quiet_s:
                    if checked == state["received"]:
                        break  # everything received is stored and acknowledged, and nothing more came
                    # The broker sends a few unacknowledged at a time: store and
                    # acknowledge what came (the loop sends the acks), then wait for more.
                    checked = state["received"]
                    if not self.flush(60):
                        break
                    state["last"] = time.monotonic()
            old.disconnect()
            if state["present"] is None or (state["present"] and checked != state["received"]) or not self.flush(60):
                return False  # not sure everything is stored: the session stays for the next try
            if state["present"]:
                log.info("took in the %d messages the broker kept for %s; ending that session", state["received"], client_id)
            end = self._client(client_id, clean=True)  # a clean connect ends the kept session
            end.connect(self.host, self.port, keepalive=30)
            for _ in range(50):
                if end.loop(0.1) != mqtt.MQTT_ERR_SUCCESS or end.is_connected():
                    break
            end.disconnect()
            return True
        except OSError as e:  # the broker cannot be reached: nothing taken, nothing ended
            log.warning("the session of %s was not taken over: the broker at %s:%d: %s", client_id, self.host, self.port, e)
            return False
        except Exception:
            log.exception("the session of %s was not taken over", client_id)
            return False

    def stop(self):
        self.running = False
        self._stopping.set()
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
            flushes = [i for i in batch if isinstance(i, threading.Event)]  # flush(): set once the batch is done
            batch = [i for i in batch if not isinstance(i, threading.Event)]
            if batch:
                self._store_batch(batch)
            for done in flushes:
                done.set()

    def _store_batch(self, batch):
        # -> after the batch is stored (or recorded as rejected), its PUBACKs.
        try:
            self.on_scans([(dev, payload) for dev, payload, _ack in batch])
        except _Stopping:
            return  # not acknowledged: the broker delivers these again at the next start
        except Exception as e:  # a bug: record every scan of the batch, go on
            log.exception("ingest batch failed")
            for dev, payload, _ack in batch:
                self._reject_quietly("%s/dev/%s/scan" % (self.prefix, dev), dev, "internal_error", repr(e), payload)
        for _dev, _payload, ack in batch:
            ack()

    def _durably(self, write, rows=()):
        # One database write, tried again until the database takes it.  While
        # it cannot (server restarting, disk full) nothing is acknowledged:
        # the scans wait in the broker, the handhelds of `rows` hear that
        # theirs wait, the admin gets an alert.
        delay = 0.5
        while True:
            try:
                result = write()
            except Exception as e:
                if not storage_outage(e):
                    raise
                self._storage_failed(e, rows)
                rows = ()  # told once
                if self._stopping.wait(delay):
                    raise _Stopping()
                delay = min(delay * 2, 10.0)
                continue
            if self.outage is not None:
                self._storage_back()
            return result

    def _storage_failed(self, e, rows):
        if self.outage is None:
            self.outage = {"since": time.time(), "error": _first_line(e), "alert": None}
            log.error("the database cannot store scans (%s): they wait in the broker, unacknowledged; trying again",
                      self.outage["error"])
        self._tell_waiting(rows)
        if self.outage["alert"] is None:  # on a full disk a small write often still fits
            try:
                self.outage["alert"] = self.store.system_alert("storage_unavailable", outage_detail(self.outage))
            except Exception:
                pass

    def _tell_waiting(self, rows):
        for r in rows:
            self.answer(r["dev"], r["boot"], r["seq"], "held", ["storage_unavailable"], HELD_MESSAGE)
        with self.lock:
            self.stats["held"] += len(rows)

    def _tell_held(self, dev, payload):
        # A scan that arrives while the database cannot store: its handheld hears so at once.
        try:
            msg, _raw = read_scan(dev, payload, self.max_payload)
        except BadScan:
            return  # recorded (and answered) once the database is back
        self._tell_waiting([{"dev": dev, "boot": msg["boot"], "seq": msg["seq"]}])

    def _storage_back(self):
        outage, self.outage = self.outage, None
        outage["until"] = time.time()
        log.warning("the database stores again after %.1f s", outage["until"] - outage["since"])
        try:  # the admin's alert says how long, whether or not it could be written at the start
            self.store.system_alert("storage_unavailable", outage_detail(outage), outage["alert"])
        except Exception:
            log.exception("the storage alert could not be written")

    def filters(self):
        # -> [(topic filter, qos)] this gateway subscribes to.
        base = self.prefix + "/dev/+/"
        # Scans, heartbeats and command results: each to one gateway of the
        # site (a shared subscription; a gateway alone gets them all).
        # Status: to every gateway, so each applies a handheld's online /
        # offline changes in order, and gets the retained ones when it starts.
        # mosquitto (2.0.11) does not restore a shared subscription from its
        # persistence file: after a broker restart every scan sent before the
        # gateway subscribes again is dropped (bench/faults.py, broker).  A
        # gateway alone keeps a plain one, which the broker restores.
        shared = "$share/%s/%s" % (SHARE_GROUP, base) if self.shared else base
        return [(shared + "scan", 1), (base + "status", 1), (shared + "heartbeat", 0), (shared + "cmd/result", 1)]

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        nodelay(client)  # answers are small: Nagle would hold each one back
        client.subscribe(self.filters())
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
            if kind in ("status", "heartbeat") and not DEV_ID.fullmatch(dev or ""):
                # No handheld has this id (docs/protocol.md): nothing to file it under.
                self._reject(msg.topic, None, "bad_dev", "a device id is [A-Za-z0-9_-]{1,32}, got %r" % (dev,), msg.payload)
            elif kind == "scan":
                if self.outage is not None:
                    self._tell_held(dev, msg.payload)
                self.queue.put((dev, msg.payload, _acker(client, msg)))
                return  # acknowledged once stored (_store_batch)
            elif kind == "status":
                self.on_status(dev, msg.payload)
            elif kind == "heartbeat":
                self.on_heartbeat(dev, msg.payload)
            elif kind == "cmd/result" and self.registry is not None:
                self.registry.on_cmd_result(dev, msg.payload)
        except Exception as e:
            if storage_outage(e):  # a status or heartbeat the database cannot take now: the next one updates it
                log.warning("%s not recorded: %s", msg.topic, _first_line(e))
            else:  # a bug, not bad input: record it and go on
                log.exception("ingest failed on %s", msg.topic)
                self._reject_quietly(msg.topic, None, "internal_error", repr(e), msg.payload)
        _acker(client, msg)()

    def on_scan(self, dev, payload):
        self.on_scans([(dev, payload)])

    def on_scans(self, batch):
        rows = []
        for dev, payload in batch:
            topic = "%s/dev/%s/scan" % (self.prefix, dev)
            try:
                msg, raw = read_scan(dev, payload, self.max_payload)
            except BadScan as e:
                self._durably(functools.partial(self._reject, topic, dev, e.reason, e.detail, payload))
                if e.identity is not None:  # the handheld can tell which scan: it hears why
                    self.answer(dev, *e.identity, "bad", [e.reason], reject_message(e))
                continue
            res = udi_codes.parse(raw, "read", today())
            rows.append(scan_row(dev, msg, res))
        if not rows:
            return
        for (stored, new), row in zip(self._durably(lambda: self.store.add_scans(rows, self.tracer, today()), rows), rows):
            with self.lock:
                self.stats["scans" if new else "duplicates"] += 1
            if new:
                self.answer(row["dev"], row["boot"], row["seq"], stored["verdict"], stored["codes"], operator_message(stored),
                            first_alert(stored))
            else:
                self.answer(row["dev"], row["boot"], row["seq"], stored["verdict"], stored["codes"] or [], "already received")

    def answer(self, dev, boot, seq, verdict, codes, message, alert=None):
        payload = orjson.dumps({"v": 1, "boot": boot, "seq": seq, "verdict": verdict, "codes": codes,
                                "message": message, "alert": alert, "gw": self.gateway_id})
        self.client.publish("%s/dev/%s/answer" % (self.prefix, dev), payload, qos=1)
        with self.lock:
            self.stats["answers"] += 1

    def on_status(self, dev, payload):
        try:
            msg = orjson.loads(payload)  # as scans: a lone surrogate ("\ud800") is not JSON text
            state = msg["state"]
            if state not in ("online", "offline"):
                raise ValueError("state must be online or offline")
        except (ValueError, KeyError, TypeError) as e:
            self._reject("status", dev, "bad_status", str(e), payload)
            return
        self.store.device_seen(dev, state=state, fw=_text(msg.get("fw"), 32), boot=_int(msg.get("boot")))

    def on_heartbeat(self, dev, payload):
        try:
            msg = orjson.loads(payload)  # as scans: a lone surrogate ("\ud800") is not JSON text
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError as e:
            self._reject("heartbeat", dev, "bad_heartbeat", str(e), payload)
            return
        ints = {k: _int(msg.get(k)) for k in ("battery_mv", "queue")}
        self.store.device_seen(dev, state="online", fw=_text(msg.get("fw"), 32), heartbeat=msg, **ints)

    def _reject(self, topic, dev, reason, detail, payload):
        self.store.reject(topic, dev, reason, detail, payload)
        with self.lock:
            self.stats["rejects"] += 1

    def _reject_quietly(self, *args):
        # In an error path: a reject that cannot be written is logged, never raised.
        try:
            self._reject(*args)
        except Exception:
            log.exception("a reject could not be recorded")


class _Stopping(Exception):
    pass


def _acker(client, msg):
    # The PUBACK of one received message, sent when called (QoS 0: nothing).
    if msg.qos == 0:
        return lambda: None
    return lambda: client.ack(msg.mid, msg.qos)


HELD_MESSAGE = "网关暂时无法保存：扫描已收到并保留，恢复后自动入库，无需重扫"


def _first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def outage_detail(outage):
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(outage["since"]))
    if outage.get("until") is None:
        return ("数据库无法写入，扫描暂存于消息代理，等待恢复 / the database cannot store since %s (%s): scans wait "
                "in the broker, unacknowledged, nothing is lost; free disk space or restart the database" % (since, outage["error"]))
    return ("数据库曾无法写入，已恢复，扫描均已入库 / the database could not store from %s for %.0f s (%s); the scans "
            "waited in the broker and are stored" % (since, outage["until"] - outage["since"], outage["error"]))


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
        # raw exactly as scanned stays in result; the column holds it as text can
        "dev": dev, "boot": msg["boot"], "seq": msg["seq"], "raw": _text(res["raw"], None),
        "mode": _text(str(msg.get("mode")), 16), "operator": _text(msg.get("op")), "location": _text(msg.get("loc")),
        "device_ts": _int(msg.get("ts"), BIGINT_MAX), "up_ms": _int(msg.get("up_ms"), BIGINT_MAX),
        "pre_verdict": _text(pre.get("verdict"), 8) if isinstance(pre, dict) else None,
        "scheme": res["scheme"], "valid": res["valid"], "verdict": "good" if res["valid"] else "bad",
        "codes": [e["code"] for e in res["errors"]] + [w["code"] for w in res["warnings"]],
        "di": res["di"], "lot": _text(pi.get("lot")), "serial": _text(pi.get("serial")),
        "expiry": _text(pi.get("expiry"), 16), "result": res,
        "agg": msg.get("agg") if isinstance(msg.get("agg"), dict) else None,
        # filled by the traceability rules (gateway.trace) when they run
        "item": None, "product": None, "nhsa_code": None, "commodity_code": None,
    }


def _text(v, length=64):
    return db_text(v, length)


def _int(v, limit=INT_MAX):
    # An integer field its column can hold, else None (not a number, or past
    # the column's range: 32-bit columns, and 64-bit ones for the clocks).
    return v if isinstance(v, int) and not isinstance(v, bool) and -limit <= v <= limit else None


REJECT_ZH = {
    "no_raw": "扫描数据缺失（没有 raw 或 raw_b64）",
    "bad_raw_b64": "raw_b64 不是有效的 Base64 数据",
}


def reject_message(e):
    # The operator's line for a scan the gateway could not use.
    zh = REJECT_ZH.get(e.reason)
    return "%s（%s）" % (zh, e.detail) if zh else e.detail
