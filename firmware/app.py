# The handheld's supervisor: scan engine -> pre-check -> feedback -> outbox
# -> MQTT, answers and commands back, heartbeat, watchdog.  One Handheld per
# device; the simulators run many in one VM with simulated boards.

import asyncio
import gc
import json

import precheck
import protocol
from clock import Clock, next_boot
from feedback import Feedback
from modes import Modes, is_parent
from mqttc import MQTTClient, backoff_ms
from outbox import Outbox, OutboxFull
from timebase import ticks_add, ticks_diff, ticks_ms

FW_VERSION = "1.0.0"
POLL_MS = 5
DRAIN_INFLIGHT = 4
ANSWER_WINDOW = 16  # scans sent and not yet answered, at most
_BOOT = b'"boot":'
_SEQ = b'"seq":'
ANSWERS_KEPT = 32


def _tls(m, root):
    # MQTT over TLS (docs/protocol.md, TLS): the broker's certificate is always
    # checked against the site CA on flash (mqtt.ca_file, default ca.crt);
    # a client certificate when the broker asks for one.
    if not m.get("tls"):
        return None

    def path(name):
        return name if name.startswith("/") else root + "/" + name

    p = {"ca": path(m.get("ca_file") or "ca.crt"), "verify": True}
    if m.get("cert_file"):
        p["cert"], p["key"] = path(m["cert_file"]), path(m.get("key_file") or "")
    return p


class Handheld:
    def __init__(self, settings, board, root=".", device_id=None, trial=False):
        self.s = settings
        self.trial = trial  # this boot runs an update on trial (ota.Updater.on_boot)
        self.board = board
        self.root = root
        self.dev = device_id or settings.get("device_id") or board.device_id()
        self.boot = next_boot(root + "/boot.count")
        self.clock = Clock(self.boot)
        self.seq = 0
        self.modes = Modes(settings, self.boot)
        self.feedback = Feedback(board)
        self.feedback.set_volume(_volume(settings))
        ob = settings.get("outbox", {})
        self.outbox = Outbox(root + "/" + ob.get("path", "outbox"), ob.get("segment_bytes", 16384), ob.get("max_bytes", 262144))
        m = settings["mqtt"]
        self.topics = protocol.topics(m.get("topic_prefix", "udi/v1"), self.dev)
        from engines import make

        self.engine = make(settings["engine"]["kind"], board.uart, settings["engine"])
        self.mqtt = MQTTClient(
            self.dev,
            m["host"],
            m.get("port", 1883),
            user=m.get("user"),
            password=m.get("password"),
            keepalive=m.get("keepalive_s", 30),
            will=(self.topics["status"], protocol.status("offline", self.boot, FW_VERSION), 1, True),
            ssl=_tls(m, root),
            on_message=self._on_message,
            on_connect=self._on_connect,
            link_ok=board.wifi.connected if board.wifi is not None else None,
            # What a handheld receives is small (PUBACKs, answers, config):
            # short reads need no large free block in a fragmented heap.
            read_chunk=128,
        )
        self.pre = {}  # seq -> pre-check verdict, to compare with the answer
        self.answers = 0
        self.refused = 0  # scans refused with the outbox full
        self.progress = 0  # the I/O loop's heartbeat for the watchdog
        self.engine_errors = 0
        self.loop_errors = 0  # exceptions the I/O and delivery loops survived
        self.drain_batch = DRAIN_INFLIGHT  # scans in flight at once
        # A scan leaves the outbox when the gateway's answer for it arrives,
        # not on the broker's PUBACK: a broker may PUBACK a scan that no
        # gateway ever gets (docs/protocol.md, delivery guarantee).
        self.answer_timeout_ms = _seconds(m.get("answer_timeout_s"), 10) * 1000
        self.answer_timeout_max_ms = max(self.answer_timeout_ms, _seconds(m.get("answer_timeout_max_s"), 60) * 1000)
        self.waiting = []  # [record id, boot, seq, answered] of the scans sent, oldest first
        self.resends = 0  # unanswered rounds sent again since the last answer (backoff)
        self._sent = 0  # the last record id sent in this round
        self._round = -1  # mqtt.connects of this round: a new connection starts a new one
        self._resend_at = None  # ticks_ms when unanswered scans go again; None: none unanswered
        self.running = False

    # -- scans ------------------------------------------------------------

    def handle_scan(self, raw, now_ms=None):
        # One decoded scan from the engine (bytes) -> feedback and the outbox.
        now = ticks_ms() if now_ms is None else now_ms
        if self.modes.duplicate(raw, now):
            self.feedback.play("duplicate", now)
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeError:
            text = None
        res = None
        if text is None:
            verdict = (precheck.UNKNOWN, "not_utf8", None)
        else:
            verdict, res = precheck.check_result(text)
        agg = self.modes.aggregation(is_parent(res))
        res = None
        payload = protocol.scan(
            self.dev, self.boot, self.seq + 1, raw, self.modes.mode, self.s.get("operator"), self.s.get("location"),
            self.clock.now(), self.clock.uptime_ms(), verdict, agg,
        )
        try:
            self.outbox.append(payload.encode())
        except OutboxFull:
            self.refused += 1
            self.feedback.play("queue_full", now)
            return None
        self.seq += 1
        self.pre[self.seq] = verdict[0]
        if len(self.pre) > ANSWERS_KEPT:
            del self.pre[min(self.pre)]
        self.feedback.play(verdict[0], now)
        return self.seq

    def _take_scan(self, raw, now):
        # Nothing a scan raises may stop the I/O loop (e.g. MemoryError on a
        # full heap): a scan that did not reach the outbox is refused with
        # the "not taken" signal, so the operator scans it again.
        seq = self.seq
        try:
            self.handle_scan(raw, now)
        except Exception:
            self.loop_errors += 1
            precheck.release()
            gc.collect()
            if self.seq == seq:
                self.refused += 1
                self.feedback.play("queue_full", now)

    # -- MQTT -------------------------------------------------------------

    async def _on_connect(self, session_present):
        # Retained online status, then our subscriptions (the client renews
        # them itself after every reconnect).
        await self.mqtt.publish(self.topics["status"], protocol.status("online", self.boot, FW_VERSION), 1, True)

    def _on_message(self, topic, payload, retained):
        msg = protocol.parse(payload)
        if msg is None:
            return  # not a v1 JSON object: ignored (the gateway logs what it sent)
        if topic == self.topics["answer"]:
            self._on_answer(msg)
        elif topic == self.topics["config"]:
            S = _settings()
            S.apply_remote(self.s, msg)
            _forget("settings")
            self.modes.set_mode(self.s.get("mode"))
            self.feedback.set_volume(_volume(self.s))
        elif topic == self.topics["cmd"]:
            asyncio.create_task(self._on_cmd(msg))

    def _on_answer(self, msg):
        self.answers += 1
        if self.answers == 1 and self.trial:
            self._healthy()
        # "held": the gateway cannot store it yet and answers again once it has.
        if msg.get("verdict") != "held":
            boot, seq = msg.get("boot"), msg.get("seq")
            for e in self.waiting:
                if e[2] == seq and e[1] == boot and not e[3]:
                    e[3] = True  # leaves the outbox with the answered ones before it (_settle)
                    self.resends = 0
                    self._resend_at = ticks_add(ticks_ms(), self.answer_timeout_ms)
                    break
        final = msg.get("verdict")
        if msg.get("boot") != self.boot or final == "held":
            return  # a held scan's final answer comes later: compare the pre-check with that one
        pre = self.pre.pop(msg.get("seq"), None)
        if pre is not None and final != pre and final in ("good", "bad", "duplicate"):
            self.feedback.play("gateway_good" if final == "good" else "gateway_bad", ticks_ms())

    async def _on_cmd(self, msg):
        try:
            import commands

            await commands.run(self, msg)
        finally:
            _forget("commands")
            _forget("ota")  # an "ota" command that failed: the updater need not stay

    def _healthy(self):
        # First answer from the gateway after a boot: the update on trial is
        # good.  The updater's code leaves the heap again afterwards.
        try:
            import ota

            ota.Updater(self.root, self.root + "/ota_staging", None).mark_healthy()
        except Exception:
            pass
        finally:
            _forget("ota")
        self.trial = False

    async def _drain(self):
        # Deliver the outbox in order, a few in flight at once (PUBACK paces
        # them); a scan leaves the outbox when its answer arrives.
        while self.running:
            try:
                self._settle()
                if self.mqtt.is_connected() and self.outbox.depth() and await self._deliver():
                    self.drain_batch = DRAIN_INFLIGHT
                    continue
            except Exception:  # e.g. MemoryError on a full heap: the records stay, try again
                self.loop_errors += 1
                self.drain_batch = 1  # one record at a time needs the least heap
                precheck.release()  # the engine's caches are a speed aid: the scans come first
                gc.collect()
                await asyncio.sleep(0.5)
                continue
            await asyncio.sleep(0.02)

    def _settle(self):
        # Answered scans at the head of the window leave the outbox (one
        # marker write for all of them); an answered scan behind an
        # unanswered one waits for it, the marker being "acked up to".
        w = self.waiting
        upto = 0
        while w and w[0][3]:
            upto = w.pop(0)[0]
        if upto:
            self.outbox.ack(upto)
            if not w:
                self._resend_at = None

    async def _deliver(self):
        # -> True when it sent (or passed over) a record.  A new connection
        # or the answer timeout starts a new round: every unanswered scan
        # goes again, oldest first, before the new ones.
        now = ticks_ms()
        if self._round != self.mqtt.connects:
            self._round = self.mqtt.connects
            self._sent = 0
        elif self._resend_at is not None and ticks_diff(now, self._resend_at) >= 0:
            self.resends += 1
            self._sent = 0
            self._resend_at = None
        after = self._sent
        w = self.waiting
        if len(w) >= ANSWER_WINDOW and after >= w[-1][0]:
            return False  # the window is full and sent: wait for answers
        batch = self.outbox.pending(self.drain_batch, after)
        deliveries = []
        for rid, data in batch:
            e = self._entry(rid)
            if e is None:
                if len(w) >= ANSWER_WINDOW:
                    break
                e = [rid, _number(data, _BOOT), _number(data, _SEQ), False]
                w.append(e)
            if not e[3]:
                deliveries.append((e, await self.mqtt.publish_start(self.topics["scan"], data, 1)))
            self._sent = rid  # after the publish: one that raised (MemoryError) goes on the next pass
        del batch  # the payloads are in the packets now
        if deliveries and self._resend_at is None:
            self._resend_at = ticks_add(now, backoff_ms(self.answer_timeout_ms, self.answer_timeout_max_ms, self.resends))
        for e, d in deliveries:
            if not await d.wait():
                break  # connection lost: the next connection sends it again
            if e[1] is None or e[2] is None:
                e[3] = True  # no identity to answer to (never written so by us): the PUBACK is all it gets
        return self._sent != after

    def _entry(self, rid):
        for e in self.waiting:
            if e[0] == rid:
                return e
        return None

    # -- health -------------------------------------------------------------

    def health(self):
        b = self.board
        return {
            "v": protocol.VERSION,
            "fw": FW_VERSION,
            "boot": self.boot,
            "up_s": self.clock.uptime_ms() // 1000,
            "heap_free": gc.mem_free() if hasattr(gc, "mem_free") else None,
            "rssi": b.wifi.rssi() if b.wifi is not None else None,
            "battery_mv": b.battery.millivolts() if b.battery is not None else None,
            "queue": self.outbox.depth(),
            "reset_cause": b.reset_cause(),
            "boots": self.boot,
            "mode": self.modes.mode,
            "engine": self.engine.state,
            "engine_errors": self.engine_errors,
            "loop_errors": self.loop_errors,
            "mqtt": self.mqtt.state,
        }

    async def _heartbeat(self):
        while self.running:
            await asyncio.sleep(self.s.get("heartbeat_s", 60))
            if self.mqtt.is_connected():
                await self.mqtt.publish(self.topics["heartbeat"], json.dumps(self.health()), 0)

    # -- I/O loop and supervisor -------------------------------------------

    async def _io(self):
        b = self.board
        self.engine.begin(ticks_ms())
        while self.running:
            now = ticks_ms()
            ev = b.trigger.poll(now) if b.trigger is not None else None
            if ev == "press":
                self.engine.trigger(True, now)
            elif ev == "release":
                self.engine.trigger(False, now)
            elif ev == "long":
                self.modes.next_mode()
                self.feedback.play("mode", now)
            for event in self.engine.poll(now):
                if event[0] == "scan":
                    self._take_scan(event[1], now)
                else:
                    self.engine_errors += 1
                    self.feedback.play("engine_error", now)
            self.feedback.poll(now)
            self.progress += 1
            await asyncio.sleep(POLL_MS / 1000)

    async def _supervise(self):
        # Feed the watchdog only while the I/O loop makes progress.
        last = -1
        while self.running:
            await asyncio.sleep(1)
            if self.progress != last and self.board.watchdog is not None:
                self.board.watchdog.feed()
            last = self.progress

    async def run(self, watchdog=True):
        self.running = True
        if watchdog and hasattr(self.board, "start_watchdog"):
            self.board.start_watchdog(self.s.get("watchdog_ms", 8000))
        self.mqtt.start()
        for topic in ("answer", "config", "cmd"):
            asyncio.create_task(self.mqtt.subscribe(self.topics[topic], 1))
        await asyncio.gather(self._io(), self._drain(), self._heartbeat(), self._supervise())

    def stop(self):
        self.running = False


def _number(data, key):
    # The whole number after key (b'"seq":') in a scan's JSON, read in place
    # (no copy of the payload).  A quoted key and its colon cannot occur
    # inside a JSON string (its quotes are escaped there): the first match is
    # the field.
    i = data.find(key)
    if i < 0:
        return None
    i += len(key)
    n = len(data)
    while i < n and data[i] == 32:
        i += 1
    v = None
    while i < n and 48 <= data[i] <= 57:
        v = (v or 0) * 10 + data[i] - 48
        i += 1
    return v


def _seconds(v, default):
    # A whole number of seconds >= 1 from the settings, else the default.
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else default


def _volume(s):
    # The beep volume in the settings (validated: 0-100), 50 % without one.
    fb = s.get("feedback")
    return fb.get("volume", 50) if isinstance(fb, dict) else 50


def _settings():
    import settings

    return settings


def _forget(name):
    # Drop a module needed only now and then (settings: at boot and for a
    # config push) so that its code leaves the heap until the next time.
    import sys

    sys.modules.pop(name, None)


def load_settings(path="config.json"):
    # -> (settings, problems), as the handheld boots.
    try:
        return _settings().load(path)
    finally:
        _forget("settings")


def main(trial=False):
    # trial: main.py found an update on trial at boot (ota.Updater.on_boot).
    from hw.board import Board

    s, problems = load_settings("config.json")
    board = Board(s)
    if board.wifi is not None:
        board.wifi.connect()
    h = Handheld(s, board, trial=trial)
    asyncio.run(h.run())
