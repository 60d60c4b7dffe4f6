"""Zebra SSI (Simple Serial Interface) engines: SE4710, SE2707, SE4750, SE955 and compatibles
(Grow GM72/GM67 in host mode speak the same frames).

Packet: ``<len> <opcode> <source> <status> <data...> <checksum: 2 bytes, big-endian>``;
len counts len..data (not the checksum); checksum = 16-bit two's complement of the byte sum
of len..data.  source 04 = host, 00 = decoder.  status bit 0 = retransmission, bit 1 =
continuation (more packets of this message follow), bit 3 = permanent parameter change.

begin(): an optional wake-up byte (0x00, then cfg wake_ms), then one PARAM_SEND (C6) with
beep code FF (no beep) and the parameter pairs below, temporary (status 00) unless cfg
permanent; waits for CMD_ACK (D0).  A NAK RESEND or no answer within reply_ms -> resend with
the retransmit bit (cfg retries), then state "silent"; NAK DENIED/BAD_CONTEXT -> "config"
error, state "error", begin retried after retry_ms.
trigger(True) sends START_DECODE (E4), trigger(False) STOP_DECODE (E5); each waits for its
ACK the same way (a trigger that never gets an ACK makes the engine "silent").
DECODE_DATA (F3): ``<barcode type> <data>`` per packet; packets with the continuation bit
are joined; every valid decoder packet is ACKed (D0); a packet with a bad checksum gets
NAK RESEND (D1 01) and an ("error", "bad_checksum", opcode) event; a retransmission of the
packet accepted last (within cfg dup_ms, and not after a NAK or a dropped partial packet)
is ACKed again and not reported twice.

Default parameters (number, value):
  0x2D (45)  Transmit Code ID Character = 1 (AIM Code ID).  Number from Zebra's parameter
             tables (DS2208 guide "param 45", SE4500/SE4750 Android param index); TO VERIFY
             on the bench against the SE4710 Integration Guide.
  0x8A (138) Trigger Mode = 0x08 (host)   - the published GM72/SSI frame 07 C6 04 08 00 8A 08.
  0xEE (238) Decode Data Packet Format = 1 (packeted DECODE_DATA, not raw bytes).
  0x9F (159) Software (ACK/NAK) handshaking = 1.
cfg params replaces the list, cfg extra_params is appended (pairs of ints).  Parameters
>= 0x100 are sent as F0/F1/F2 + low byte (F0 = 0x100..0x1FF, ...; TO VERIFY per engine).

cfg keys (defaults): max_len 1024, frame_ms 200, msg_ms 1000 (gap allowed between the
packets of one message), reply_ms 300, retries 2, retry_ms 5000, require_aim True,
permanent False, beep 0xFF, wake_ms 20 (0 = never send the wake-up byte), awake_ms 500
(idle time after which the engine may sleep and a wake-up byte is sent first), dup_ms 3000.
The 0x00 wake-up and its 10-ms-class delay follow the SSI low-power rules; TO VERIFY the
exact timing on the SE4710.

Error codes on top of engines/line.py: bad_checksum (opcode), nak ("<what>:<cause>"; causes
1 RESEND, 2 BAD_CONTEXT, 6 DENIED, 10 CANCEL), config ("<what>:<cause>": the engine refused
the parameters), incomplete (bytes: a multi-packet message stopped before its last packet).
"""

from engines.line import EngineBase, ticks_diff

CMD_ACK = 0xD0
CMD_NAK = 0xD1
PARAM_SEND = 0xC6
PARAM_REQUEST = 0xC7
START_DECODE = 0xE4
STOP_DECODE = 0xE5
SCAN_ENABLE = 0xE9
SCAN_DISABLE = 0xEA
FLUSH_QUEUE = 0xD2
DECODE_DATA = 0xF3
EVENT = 0xF6
REQUEST_REVISION = 0xA3
REPLY_REVISION = 0xA4
SRC_HOST = 0x04
SRC_DECODER = 0x00
ST_RETRANSMIT = 0x01
ST_CONTINUATION = 0x02
ST_PERMANENT = 0x08
NAK_RESEND = 0x01
NAK_BAD_CONTEXT = 0x02
NAK_DENIED = 0x06
NAK_CANCEL = 0x0A
# opcodes a decoder may send; anything else at a packet start is noise
_FROM_DECODER = (CMD_ACK, CMD_NAK, DECODE_DATA, EVENT, REPLY_REVISION, PARAM_SEND, 0xB1, 0xB4)
DEFAULT_PARAMS = ((0x2D, 0x01), (0x8A, 0x08), (0xEE, 0x01), (0x9F, 0x01))


def ssi_checksum(data):
    s = 0
    for b in data:
        s += b
    return (-s) & 0xFFFF


def ssi_packet(opcode, data=b"", status=0, source=SRC_HOST):
    """ssi_packet(0xE4) == bytes.fromhex("04E40400FF14") (START_DECODE)."""
    n = 4 + len(data)
    if n > 255:
        raise ValueError("SSI packet too long")
    body = bytes((n, opcode, source, status)) + bytes(data)
    c = ssi_checksum(body)
    return body + bytes((c >> 8, c & 0xFF))


def ssi_valid(pkt):
    """True when a complete packet's checksum matches."""
    n = len(pkt)
    if n < 6:
        return False
    return ssi_checksum(pkt[0 : n - 2]) == (pkt[n - 2] << 8) | pkt[n - 1]


def param_bytes(params):
    out = bytearray()
    for num, val in params:
        if num >= 0x100:
            out.append(0xEF + (num >> 8))  # 0x1xx -> F0, 0x2xx -> F1, 0x3xx -> F2 (to verify)
        out.append(num & 0xFF)
        out.append(val & 0xFF)
    return bytes(out)


class SSI(EngineBase):
    kind = "ssi"

    def __init__(self, uart, cfg=None):
        EngineBase.__init__(self, uart, cfg)
        cfg = self.cfg
        params = list(cfg.get("params") or DEFAULT_PARAMS)
        params.extend(cfg.get("extra_params") or ())
        self.params = params
        self.permanent = bool(cfg.get("permanent", False))
        self.beep = int(cfg.get("beep", 0xFF))
        self.msg_ms = int(cfg.get("msg_ms", 1000))
        self.wake_ms = int(cfg.get("wake_ms", 20))
        self.awake_ms = int(cfg.get("awake_ms", 500))
        self.dup_ms = int(cfg.get("dup_ms", 3000))
        self._msg = bytearray()  # the message being assembled from DECODE_DATA packets
        self._msg_type = 0
        self._msg_skip = False  # dropping the rest of an over-long message
        self._t_msg = 0
        self._last = None  # (opcode, continuation, data) of the last accepted packet
        self._t_last = 0
        self._t_io = 0
        self._io_seen = False
        self._defer = False  # the pending frame waits for the wake-up delay
        self.last_type = None  # barcode type byte of the last scan

    # -- commands ------------------------------------------------------------

    def _on_begin(self, now):
        self._msg[0:] = b""
        self._msg_skip = False
        self._last = None
        self._io_seen = False
        self._defer = False

    def _begin_steps(self):
        return ("param_send",)

    def _step_frame(self, name):
        status = ST_PERMANENT if self.permanent else 0
        return ssi_packet(PARAM_SEND, bytes((self.beep,)) + param_bytes(self.params), status)

    def _send_trigger(self, pressed, now):
        if pressed:
            self._command("start_decode", ssi_packet(START_DECODE), now)
        else:
            self._command("stop_decode", ssi_packet(STOP_DECODE), now)

    def _command(self, name, frame, now):
        self._pending = name
        self._frame = frame
        self._tries = 0
        self._t_sent = now
        if self.wake_ms > 0 and not (self._io_seen and ticks_diff(now, self._t_io) < self.awake_ms):
            self._write(b"\x00")
            self._defer = True
        else:
            self._defer = False
            self._write(frame)
        self._touch(now)

    def _resend(self, now):
        self._defer = False
        EngineBase._resend(self, now)
        self._touch(now)

    def _resend_frame(self, frame):
        b = bytearray(frame[0 : len(frame) - 2])
        b[3] |= ST_RETRANSMIT
        c = ssi_checksum(b)
        b.append(c >> 8)
        b.append(c & 0xFF)
        return bytes(b)

    def _touch(self, now):
        self._t_io = now
        self._io_seen = True

    def _reply_to_engine(self, opcode, data, now):
        self._write(ssi_packet(opcode, data))
        self._touch(now)

    # -- parsing -------------------------------------------------------------

    def _parse(self, now):
        buf = self._buf
        self._touch(self._t_rx)
        noise = 0
        while buf:
            n = buf[0]
            have = len(buf)
            bad = n < 4
            if not bad and have > 1 and buf[1] not in _FROM_DECODER:
                bad = True
            if not bad and have > 2 and buf[2] != SRC_DECODER:
                bad = True
            if not bad and have > 3 and buf[3] & 0xF4:
                bad = True
            if bad:
                noise += 1
                buf[0:1] = b""
                continue
            total = n + 2
            if have < total:
                break  # wait for the rest (frame_ms drops a stalled partial packet)
            pkt = bytes(buf[0:total])
            buf[0:total] = b""
            if not ssi_valid(pkt):
                self._error("bad_checksum", pkt[1])
                self._reply_to_engine(CMD_NAK, bytes((NAK_RESEND,)), now)
                self._last = None  # we asked for it: the resent packet is not a duplicate
                continue
            self._packet(pkt, now)
        if noise:
            self._error("noise", noise)

    def _packet(self, pkt, now):
        op = pkt[1]
        st = pkt[3]
        self._heard(now)
        if op == CMD_ACK:
            if self._pending is not None and not self._defer:
                self._done(now)
            return
        if op == CMD_NAK:
            if self._pending is None or self._defer:
                return
            cause = pkt[4] if len(pkt) > 6 else 0
            if cause == NAK_RESEND and self._tries < self.retries:
                self._resend(now)
                return
            what = self._pending + ":" + str(cause)
            if self._step >= 0 and cause in (NAK_DENIED, NAK_BAD_CONTEXT):
                self._failed(now, "config", what)
            else:
                self._failed(now, "nak", what)
            return
        # every other decoder packet is acknowledged (ACK/NAK handshaking is on)
        self._reply_to_engine(CMD_ACK, b"", now)
        data = pkt[4 : len(pkt) - 2]
        key = (op, st & ST_CONTINUATION, data)
        if st & ST_RETRANSMIT and key == self._last and ticks_diff(now, self._t_last) < self.dup_ms:
            self.counts["dups"] = self.counts.get("dups", 0) + 1
            return  # our ACK was lost; the engine sent the same packet again
        self._last = key
        self._t_last = now
        if op == DECODE_DATA and data:
            self._decode(data, st, now)

    def _decode(self, data, st, now):
        more = st & ST_CONTINUATION
        if self._msg_skip:
            if not more:
                self._msg_skip = False
            return
        part = len(data) - 1
        if len(self._msg) + part > self.max_len:
            self._error("frame_too_long", len(self._msg) + part)
            self._msg[0:] = b""
            self._msg_skip = bool(more)
            self._t_msg = now
            return
        if not self._msg:
            self._msg_type = data[0]
        self._msg.extend(memoryview(data)[1:])
        if more:
            self._t_msg = now
            return
        raw = bytes(self._msg)
        self._msg[0:] = b""
        self.last_type = self._msg_type
        self._scan(raw, False)

    def _frame_timers(self, now):
        if self._defer and ticks_diff(now, self._t_sent) >= self.wake_ms:
            self._defer = False
            self._t_sent = now
            self._write(self._frame)
            self._touch(now)
        if self._buf and ticks_diff(now, self._t_rx) > self.frame_ms:
            self._error("frame_timeout", len(self._buf))
            self._buf[0:] = b""
            self._last = None  # a packet may be lost in there: its resend is no duplicate
        if (self._msg or self._msg_skip) and ticks_diff(now, self._t_msg) > self.msg_ms:
            if self._msg:
                self._error("incomplete", len(self._msg))
            self._msg[0:] = b""
            self._msg_skip = False
