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
from mqttc import MQTTClient
from outbox import Outbox, OutboxFull
from timebase import ticks_ms

FW_VERSION = "1.0.0"
POLL_MS = 5
DRAIN_INFLIGHT = 4
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
    def __init__(self, settings, board, root=".", device_id=None):
        self.s = settings
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
        if self.answers == 1:
            self._healthy()
        if msg.get("boot") != self.boot:
            return
        pre = self.pre.pop(msg.get("seq"), None)
        final = msg.get("verdict")
        if pre is not None and final != pre and final in ("good", "bad", "duplicate"):
            self.feedback.play("gateway_good" if final == "good" else "gateway_bad", ticks_ms())

    async def _on_cmd(self, msg):
        try:
            import commands

            await commands.run(self, msg)
        finally:
            _forget("commands")

    def _healthy(self):
        # First answer from the gateway after a boot: an update on trial is good.
        try:
            import ota

            ota.Updater(self.root, self.root + "/ota_staging", None).mark_healthy()
        except Exception:
            pass

    async def _drain(self):
        # Deliver the outbox in order, a few in flight; ack on PUBACK.
        while self.running:
            if not self.mqtt.is_connected() or not self.outbox.depth():
                await asyncio.sleep(0.02)
                continue
            try:
                await self._deliver()
                self.drain_batch = DRAIN_INFLIGHT
            except Exception:  # e.g. MemoryError on a full heap: the records stay, try again
                self.loop_errors += 1
                self.drain_batch = 1  # one record at a time needs the least heap
                gc.collect()
                await asyncio.sleep(0.5)

    async def _deliver(self):
        batch = list(self.outbox.pending(self.drain_batch))
        deliveries = []
        for rid, data in batch:
            deliveries.append((rid, await self.mqtt.publish_start(self.topics["scan"], data, 1)))
        del batch  # the payloads are in the packets now
        upto = None
        for rid, d in deliveries:
            if not await d.wait():
                break
            upto = rid
        if upto is not None:
            self.outbox.ack(upto)

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


def main():
    from hw.board import Board

    s, problems = load_settings("config.json")
    board = Board(s)
    if board.wifi is not None:
        board.wifi.connect()
    h = Handheld(s, board)
    asyncio.run(h.run())
