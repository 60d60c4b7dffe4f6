"""A CPython simulator of the handheld's scan engines, speaking their byte protocols.

kind "gm65": Grow GM65/GM861 zone-bit protocol.  Host frames ``7E 00 <type> <len> <addr:2>
<data> <CRC-16/XMODEM>`` (CRC ``AB CD`` accepted as "no check"); type 07 read -> ``02 00 00
<n> <zone bytes> <CRC>``, 08 write -> ``02 00 00 01 00 33 31``, 09 save -> same ACK,
0A heartbeat -> ``03 00 00 01 00 33 31``.  Frames with a bad CRC are ignored (counted).
Scans are sent as plain bytes plus the tail selected in zone 0x0060 (bit 0 on, bits 6-5:
00 CR, 01 CRLF, 10 TAB); the AIM prefix is stripped unless zone 0x00D0 bit 7 is set.
Writing 01 to zone 0x0002 is the command trigger (counted as trigger_start and sends the
next queued trigger scan), 00 stops (trigger_stop).

kind "ssi": Zebra SSI.  Packets ``<len> <opcode> <source> <status> <data> <checksum:2>``;
host packets are ACKed (D0) or NAKed (D1 01 RESEND on a bad checksum, D1 06 DENIED when
deny_params is set, D1 02 BAD_CONTEXT for unknown opcodes).  PARAM_SEND (C6) parameters are
stored in ``params`` (the AIM prefix of scans is stripped unless param 0x2D is 1).
START_DECODE (E4) / STOP_DECODE (E5) are the host trigger.  Scans go out as DECODE_DATA (F3)
packets of at most ``ssi_chunk`` data bytes (continuation bit on all but the last); with
``require_ack`` each packet waits for the host's ACK and is resent with the retransmit bit
after ``ack_timeout_ms`` (up to ``max_resends``) or at once on a host NAK.  A lone 0x00 is
the wake-up byte (counted).

Knobs (attributes, also settable over the control port): fragment (n_bytes, every_ms) or
None, silent (ignore all input, send nothing), corrupt (corrupt the checksum of the next k
checksummed frames: GM replies, SSI packets), ignore_acks (SSI: ignore the next k host ACKs,
forcing resends), require_ack, ack_timeout_ms, max_resends, ssi_chunk, deny_params,
decode_ms (delay between a host trigger and its queued scan).

Attach with ``start_tcp(port=0)`` (127.0.0.1; one host connection at a time, a new one
replaces the old) or ``start_pty()`` (returns the slave path, raw mode).  ``start_control()``
opens a line-based control port on 127.0.0.1 so a test running elsewhere (e.g. the
MicroPython VM) can turn the knobs:

    scan <hex> | scantext <text with \\x1d escapes> | trigger_scan <hex> | garbage <hex>
    overlong <n> | fragment <n> <ms> | fragment off | silent 0|1 | corrupt <k>
    ignore_acks <k> | require_ack 0|1 | ssi_chunk <n> | deny_params 0|1 | decode_ms <ms>
    stats | reset_stats | ping                    -> "ok" / "ok <json>" / "err <why>"

CLI for manual use:
    python -m gateway.sim.scan_engine --kind gm65|ssi --tcp PORT [--control PORT] [--pty] [--serve]
then type control commands on stdin (e.g. ``scantext ]d2010690123456789217270200``), or with
--serve send them to the control port (``printf 'scantext ]C1...\n' | nc 127.0.0.1 CTL``).
"""

import argparse
import codecs
import collections
import json
import os
import select
import socket
import sys
import threading
import time

# -- protocol helpers (an independent implementation of what the firmware does) ----------


def crc16_xmodem(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def gm_reply(data, status=0, head=0x02):
    body = bytes((status, len(data))) + bytes(data)
    return bytes((head, 0x00)) + body + crc16_xmodem(body).to_bytes(2, "big")


def ssi_checksum(data):
    return (-sum(data)) & 0xFFFF


def ssi_packet(opcode, data=b"", status=0, source=0x00):
    body = bytes((4 + len(data), opcode, source, status)) + bytes(data)
    return body + ssi_checksum(body).to_bytes(2, "big")


def ssi_retransmit(pkt):
    body = bytearray(pkt[:-2])
    body[3] |= 0x01
    return bytes(body) + ssi_checksum(body).to_bytes(2, "big")


SSI_ACK, SSI_NAK, SSI_DECODE_DATA = 0xD0, 0xD1, 0xF3
SSI_PARAM_SEND, SSI_START, SSI_STOP = 0xC6, 0xE4, 0xE5
SSI_REQUEST_REVISION, SSI_REPLY_REVISION = 0xA3, 0xA4
SSI_SIMPLE_OPS = (0xE9, 0xEA, 0xD2, 0xE6, 0xE7, 0xE8, 0xEB, 0xC4, 0xC5, 0xC8)
# illustrative barcode-type bytes for DECODE_DATA, keyed by AIM symbology character
SSI_TYPES = {ord("C"): 0x03, ord("E"): 0x0B, ord("d"): 0x1B, ord("Q"): 0x1C, ord("e"): 0x30}
GM_ZONE_DEFAULTS = {0x00: 0xD4, 0x2A: 0x39, 0x2B: 0x01, 0x60: 0x00, 0xD0: 0x00}
TAILS = {0x00: b"\r", 0x20: b"\r\n", 0x40: b"\t", 0x60: b""}


class ScanEngineSim:
    def __init__(self, kind="gm65", **knobs):
        if kind not in ("gm65", "ssi"):
            raise ValueError("kind must be gm65 or ssi")
        self.kind = kind
        self.lock = threading.RLock()
        self.fragment = None
        self.silent = False
        self.corrupt = 0
        self.ignore_acks = 0
        self.require_ack = True
        self.ack_timeout_ms = 300
        self.max_resends = 3
        self.ssi_chunk = 250
        self.deny_params = False
        self.decode_ms = 20
        for k, v in knobs.items():
            if not hasattr(self, k):
                raise TypeError("unknown knob " + k)
            setattr(self, k, v)
        self.counters = collections.Counter()
        self.host_frames = []  # what the host sent, decoded: ("gm", type, addr, data) / ("ssi", op, status, data)
        self.zones = bytearray(0x10000)
        for a, v in GM_ZONE_DEFAULTS.items():
            self.zones[a] = v
        self.params = {}
        self.trigger_scans = collections.deque()
        self.port = None
        self.control_port = None
        self.pty_path = None
        self._rx = bytearray()
        self._t_rx = 0.0
        self._out = collections.deque()  # (due, bytes)
        self._last_due = 0.0
        self._timers = []  # (due, fn)
        self._inflight = None  # SSI DECODE_DATA message waiting for ACKs
        self._decode_queue = collections.deque()
        self._last_pkt = None
        self._srv = self._conn = self._ctl_srv = None
        self._pty_master = self._pty_slave = None
        self._ctl = {}  # socket -> bytearray
        self._wake_r, self._wake_w = os.pipe()
        self._thread = None
        self._stop = False

    # -- attach / detach -------------------------------------------------------

    def start_tcp(self, port=0, host="127.0.0.1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(2)
        self._srv = s
        self.port = s.getsockname()[1]
        self._run()
        return self.port

    def start_pty(self):
        import tty

        master, slave = os.openpty()
        tty.setraw(slave)
        self._pty_master, self._pty_slave = master, slave
        self.pty_path = os.ttyname(slave)
        self._run()
        return self.pty_path

    def start_control(self, port=0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(4)
        self._ctl_srv = s
        self.control_port = s.getsockname()[1]
        self._run()
        return self.control_port

    def stop(self):
        self._stop = True
        self._wake()
        if self._thread is not None:
            self._thread.join(2)
        for s in [self._srv, self._conn, self._ctl_srv] + list(self._ctl):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        for fd in (self._pty_master, self._pty_slave, self._wake_r, self._wake_w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def connected(self):
        return self._conn is not None or self._pty_master is not None

    # -- what a test calls -----------------------------------------------------

    def scan(self, data):
        """Emit a decoded scan now (data with its AIM prefix, e.g. b"]d2010...")."""
        with self.lock:
            self.counters["scans"] += 1
            if self.kind == "gm65":
                self._gm_scan(bytes(data))
            else:
                self._ssi_scan(bytes(data))
        self._wake()

    def queue_trigger_scan(self, data):
        """The scan to emit when the host next triggers a read."""
        with self.lock:
            self.trigger_scans.append(bytes(data))

    def garbage(self, data):
        with self.lock:
            self.counters["garbage"] += len(data)
            self._emit(bytes(data))
        self._wake()

    def overlong(self, n):
        self.scan(b"]C0" + b"9" * max(0, n - 3))

    def set(self, **knobs):
        with self.lock:
            for k, v in knobs.items():
                if not hasattr(self, k) or k.startswith("_"):
                    raise TypeError("unknown knob " + k)
                setattr(self, k, v)
            if knobs.get("silent"):
                self._out.clear()
        self._wake()

    def stats(self):
        with self.lock:
            return {
                "kind": self.kind,
                "connected": self.connected,
                "counters": dict(self.counters),
                "zones": {f"{a:04X}": self.zones[a] for a in (0x00, 0x02, 0x60, 0xD0)},
                "params": {f"{k:02X}": v for k, v in sorted(self.params.items())},
                "pending_out": len(self._out),
                "inflight": self._inflight is not None,
            }

    def reset_stats(self):
        with self.lock:
            self.counters.clear()
            del self.host_frames[:]

    def wait_for(self, pred, timeout=2.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if pred(self):
                    return True
            time.sleep(0.005)
        with self.lock:
            return pred(self)

    # -- output scheduling -------------------------------------------------------

    def _emit(self, data):
        if self.silent or not data:
            return
        now = time.monotonic()
        due = max(now, self._last_due)
        if self.fragment:
            n, ms = self.fragment
            n = max(1, int(n))
            for i in range(0, len(data), n):
                self._out.append((due, data[i : i + n]))
                due += ms / 1000.0
            self._last_due = due
        else:
            self._out.append((due, data))
            self._last_due = due

    def _later(self, ms, fn):
        self._timers.append((time.monotonic() + ms / 1000.0, fn))

    def _maybe_corrupt(self, frame):
        if self.corrupt > 0:
            self.corrupt -= 1
            self.counters["corrupted"] += 1
            frame = frame[:-1] + bytes((frame[-1] ^ 0x5A,))
        return frame

    # -- GM65 ----------------------------------------------------------------------

    def _gm_feed(self):
        buf = self._rx
        noise = 0
        while buf:
            i = buf.find(b"\x7e\x00")
            if i < 0:
                keep = 1 if buf[-1] == 0x7E else 0
                noise += len(buf) - keep
                del buf[: len(buf) - keep]
                break
            if i:
                noise += i
                del buf[:i]
            if len(buf) < 6:
                break
            total = 8 + buf[3]
            if len(buf) < total:
                break
            frame = bytes(buf[:total])
            del buf[:total]
            body, crc = frame[2:-2], frame[-2:]
            if crc != b"\xab\xcd" and crc16_xmodem(body) != int.from_bytes(crc, "big"):
                self.counters["bad_host_crc"] += 1
                continue
            self._gm_command(frame[2], (frame[4] << 8) | frame[5], frame[6:-2])
        if noise:
            self.counters["host_noise"] += noise

    def _gm_command(self, ftype, addr, data):
        self.host_frames.append(("gm", ftype, addr, data))
        if ftype == 0x07:
            self.counters["gm_read"] += 1
            count = data[0] if data else 1
            self._emit(self._maybe_corrupt(gm_reply(self.zones[addr : addr + count])))
        elif ftype == 0x08:
            self.counters["gm_write"] += 1
            for i, v in enumerate(data):
                self.zones[(addr + i) & 0xFFFF] = v
            self._emit(self._maybe_corrupt(gm_reply(b"\x00")))
            if addr == 0x0002 and data:
                if data[0] & 1:
                    self.counters["trigger_start"] += 1
                    self._later(self.decode_ms, self._trigger_fire)
                else:
                    self.counters["trigger_stop"] += 1
        elif ftype == 0x09:
            self.counters["gm_save"] += 1
            self._emit(self._maybe_corrupt(gm_reply(b"\x00")))
        elif ftype == 0x0A:
            self.counters["heartbeat"] += 1
            self._emit(gm_reply(b"\x00", head=0x03))
        else:
            self.counters["gm_unknown"] += 1

    def _gm_scan(self, data):
        if not self.zones[0xD0] & 0x80 and data[:1] == b"]" and len(data) >= 3:
            data = data[3:]
        z = self.zones[0x60]
        tail = TAILS[z & 0x60] if z & 0x01 else b""
        self._emit(data + tail)

    def _trigger_fire(self):
        if self.trigger_scans:
            data = self.trigger_scans.popleft()
            if self.kind == "gm65":
                self._gm_scan(data)
            else:
                self._ssi_scan(data)

    # -- SSI -------------------------------------------------------------------------

    def _ssi_feed(self):
        buf = self._rx
        while buf:
            n = buf[0]
            if n == 0:
                self.counters["wake"] += 1
                del buf[:1]
                continue
            if n < 4 or (len(buf) > 2 and buf[2] != 0x04):
                self.counters["host_noise"] += 1
                del buf[:1]
                continue
            if len(buf) < n + 2:
                break
            pkt = bytes(buf[: n + 2])
            del buf[: n + 2]
            if ssi_checksum(pkt[:-2]) != int.from_bytes(pkt[-2:], "big"):
                self.counters["bad_host_crc"] += 1
                self._ssi_send(ssi_packet(SSI_NAK, b"\x01"))
                continue
            self._ssi_command(pkt)

    def _ssi_send(self, pkt, remember=True):
        if remember:
            self._last_pkt = pkt
        self._emit(self._maybe_corrupt(pkt))

    def _ssi_command(self, pkt):
        op, st, data = pkt[1], pkt[3], pkt[4:-2]
        self.host_frames.append(("ssi", op, st, data))
        if st & 0x01:
            self.counters["host_retransmit"] += 1
        if op == SSI_ACK:
            self.counters["host_ack"] += 1
            if self.ignore_acks > 0:
                self.ignore_acks -= 1
                self.counters["ack_ignored"] += 1
                return
            inf = self._inflight
            if inf is not None:
                self.counters["decode_acked"] += 1
                inf["i"] += 1
                inf["resends"] = 0
                if inf["i"] >= len(inf["pkts"]):
                    self._inflight = None
                    self._next_decode()
                else:
                    inf["t"] = time.monotonic()
                    self._ssi_send(inf["pkts"][inf["i"]])
            return
        if op == SSI_NAK:
            self.counters["host_nak"] += 1
            inf = self._inflight
            if inf is not None:
                self.counters["resend"] += 1
                inf["t"] = time.monotonic()
                self._ssi_send(ssi_retransmit(inf["pkts"][inf["i"]]))
            elif self._last_pkt is not None:
                self.counters["resend"] += 1
                self._ssi_send(ssi_retransmit(self._last_pkt))
            return
        if op == SSI_PARAM_SEND:
            self.counters["param_send"] += 1
            if st & 0x08:
                self.counters["param_permanent"] += 1
            if self.deny_params:
                self._ssi_send(ssi_packet(SSI_NAK, b"\x06"))
                return
            i = 1  # data[0] is the beep code
            while i + 1 < len(data):
                num = data[i]
                if num in (0xF0, 0xF1, 0xF2) and i + 2 < len(data):
                    num = ((num - 0xEF) << 8) | data[i + 1]
                    i += 1
                self.params[num] = data[i + 1]
                i += 2
            self._ssi_send(ssi_packet(SSI_ACK))
            return
        if op == SSI_START:
            self.counters["trigger_start"] += 1
            self._ssi_send(ssi_packet(SSI_ACK))
            self._later(self.decode_ms, self._trigger_fire)
            return
        if op == SSI_STOP:
            self.counters["trigger_stop"] += 1
            self._ssi_send(ssi_packet(SSI_ACK))
            return
        if op == SSI_REQUEST_REVISION:
            self._ssi_send(ssi_packet(SSI_REPLY_REVISION, b"SIM-SSI 1.0"))
            return
        if op in SSI_SIMPLE_OPS:
            self._ssi_send(ssi_packet(SSI_ACK))
            return
        self.counters["ssi_unknown"] += 1
        self._ssi_send(ssi_packet(SSI_NAK, b"\x02"))

    def _ssi_scan(self, data):
        if self.params.get(0x2D) != 1 and data[:1] == b"]" and len(data) >= 3:
            btype = SSI_TYPES.get(data[1], 0x00)
            data = data[3:]
        else:
            btype = SSI_TYPES.get(data[1], 0x00) if len(data) > 1 else 0
        step = max(1, min(int(self.ssi_chunk), 250))
        chunks = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
        pkts = []
        for k, c in enumerate(chunks):
            st = 0x02 if k < len(chunks) - 1 else 0x00
            pkts.append(ssi_packet(SSI_DECODE_DATA, bytes((btype,)) + c, st))
        self.counters["decode_msgs"] += 1
        if not self.require_ack:
            for p in pkts:
                self.counters["decode_sent"] += 1
                self._ssi_send(p)
            return
        self._decode_queue.append(pkts)
        if self._inflight is None:
            self._next_decode()

    def _next_decode(self):
        if not self._decode_queue:
            return
        pkts = self._decode_queue.popleft()
        self._inflight = {"pkts": pkts, "i": 0, "resends": 0, "t": time.monotonic()}
        self.counters["decode_sent"] += 1
        self._ssi_send(pkts[0])

    def _ssi_timers(self, now):
        inf = self._inflight
        if inf is None or now - inf["t"] < self.ack_timeout_ms / 1000.0:
            return
        if inf["resends"] < self.max_resends:
            inf["resends"] += 1
            inf["t"] = now
            self.counters["resend"] += 1
            self._ssi_send(ssi_retransmit(inf["pkts"][inf["i"]]))
        else:
            self.counters["ack_missing"] += 1
            self._inflight = None
            self._next_decode()

    # -- control port ------------------------------------------------------------------

    def control(self, line):
        """Run one control command (see the module docstring); returns the reply line."""
        parts = line.strip().split(None, 1)
        if not parts:
            return "err empty"
        cmd, arg = parts[0], (parts[1] if len(parts) > 1 else "")
        try:
            if cmd == "ping":
                return "ok"
            if cmd == "scan":
                self.scan(bytes.fromhex(arg))
            elif cmd == "scantext":
                self.scan(codecs.decode(arg.encode("latin-1"), "unicode_escape").encode("latin-1"))
            elif cmd == "trigger_scan":
                self.queue_trigger_scan(bytes.fromhex(arg))
            elif cmd == "garbage":
                self.garbage(bytes.fromhex(arg))
            elif cmd == "overlong":
                self.overlong(int(arg))
            elif cmd == "fragment":
                if arg.strip() in ("", "off", "0"):
                    self.set(fragment=None)
                else:
                    n, ms = arg.split()
                    self.set(fragment=(int(n), float(ms)))
            elif cmd in ("silent", "require_ack", "deny_params"):
                self.set(**{cmd: arg.strip() not in ("0", "off", "false", "")})
            elif cmd in ("corrupt", "ignore_acks", "ssi_chunk", "max_resends", "ack_timeout_ms", "decode_ms"):
                self.set(**{cmd: int(arg)})
            elif cmd == "stats":
                return "ok " + json.dumps(self.stats(), sort_keys=True)
            elif cmd == "reset_stats":
                self.reset_stats()
            else:
                return "err unknown command " + cmd
        except (ValueError, TypeError) as e:
            return "err " + str(e)
        return "ok"

    # -- the I/O thread --------------------------------------------------------------

    def _run(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="scan-engine-sim", daemon=True)
            self._thread.start()
        else:
            self._wake()

    def _wake(self):
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _loop(self):
        while not self._stop:
            now = time.monotonic()
            with self.lock:
                due = [d for d, _ in self._timers]
                if self._out:
                    due.append(self._out[0][0])
                if self._inflight is not None:
                    due.append(self._inflight["t"] + self.ack_timeout_ms / 1000.0)
            timeout = 0.05 if not due else max(0.0, min(0.05, min(due) - now))
            rl = [self._wake_r] + list(self._ctl)
            for s in (self._srv, self._conn, self._ctl_srv):
                if s is not None:
                    rl.append(s)
            if self._pty_master is not None:
                rl.append(self._pty_master)
            try:
                ready, _, _ = select.select(rl, [], [], timeout)
            except (OSError, ValueError):
                if self._stop:
                    return
                time.sleep(0.01)
                continue
            for r in ready:
                if r == self._wake_r:
                    try:
                        os.read(self._wake_r, 512)
                    except OSError:
                        pass
                elif r is self._srv:
                    self._accept()
                elif r is self._ctl_srv:
                    c, _ = self._ctl_srv.accept()
                    self._ctl[c] = bytearray()
                elif r in self._ctl:
                    self._control_read(r)
                elif r is self._conn:
                    self._host_read_sock()
                elif r == self._pty_master:
                    self._host_read_pty()
            self._tick()

    def _accept(self):
        c, _ = self._srv.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except OSError:
                    pass
            self._conn = c
            self._rx.clear()
            self._out.clear()
            self.counters["connects"] += 1

    def _host_read_sock(self):
        try:
            data = self._conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            with self.lock:
                try:
                    self._conn.close()
                except OSError:
                    pass
                self._conn = None
            return
        self._feed(data)

    def _host_read_pty(self):
        try:
            data = os.read(self._pty_master, 4096)
        except OSError:
            return
        self._feed(data)

    def _feed(self, data):
        with self.lock:
            self.counters["rx_bytes"] += len(data)
            if self.silent:
                self.counters["ignored_silent"] += len(data)
                return
            self._rx.extend(data)
            self._t_rx = time.monotonic()
            if self.kind == "gm65":
                self._gm_feed()
            else:
                self._ssi_feed()

    def _control_read(self, c):
        try:
            data = c.recv(4096)
        except OSError:
            data = b""
        if not data:
            self._ctl.pop(c, None)
            c.close()
            return
        buf = self._ctl[c]
        buf.extend(data)
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            line = buf[:i].decode("latin-1")
            del buf[: i + 1]
            reply = self.control(line)
            try:
                c.sendall(reply.encode() + b"\n")
            except OSError:
                break

    def _tick(self):
        now = time.monotonic()
        with self.lock:
            if self._rx and now - self._t_rx > 0.5:  # a stalled partial host frame
                self.counters["host_noise"] += len(self._rx)
                self._rx.clear()
            fire = [fn for d, fn in self._timers if d <= now]
            self._timers = [(d, fn) for d, fn in self._timers if d > now]
            for fn in fire:
                fn()
            if self.kind == "ssi":
                self._ssi_timers(now)
            while self._out and self._out[0][0] <= now:
                _, chunk = self._out.popleft()
                self._write_host(chunk)

    def _write_host(self, chunk):
        if self.silent:
            return
        self.counters["tx_bytes"] += len(chunk)
        try:
            if self._conn is not None:
                self._conn.sendall(chunk)
            elif self._pty_master is not None:
                os.write(self._pty_master, chunk)
            else:
                self.counters["dropped_no_host"] += len(chunk)
        except OSError:
            self.counters["write_errors"] += 1


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m gateway.sim.scan_engine", description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("gm65", "ssi"), default="gm65")
    ap.add_argument("--tcp", type=int, metavar="PORT", help="listen for the host on 127.0.0.1:PORT (0 = any)")
    ap.add_argument("--pty", action="store_true", help="attach to a new pty and print its slave path")
    ap.add_argument("--control", type=int, metavar="PORT", default=None, help="control port (0 = any)")
    ap.add_argument("--serve", action="store_true", help="ignore stdin; run until interrupted (use --control)")
    a = ap.parse_args(argv)
    if a.tcp is None and not a.pty:
        ap.error("give --tcp PORT or --pty")
    sim = ScanEngineSim(a.kind)
    if a.tcp is not None:
        print(f"host tcp 127.0.0.1:{sim.start_tcp(a.tcp)}", flush=True)
    else:
        print(f"host pty {sim.start_pty()}", flush=True)
    if a.control is not None:
        print(f"control tcp 127.0.0.1:{sim.start_control(a.control)}", flush=True)
    try:
        if a.serve:
            while True:
                time.sleep(3600)
        print("commands on stdin: scantext <text>, scan <hex>, fragment <n> <ms>, silent 1, stats, ...", flush=True)
        for line in sys.stdin:
            if line.strip():
                print(sim.control(line), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
