"""Grow GM65 / GM861 / GM805 / GM812 scan engines (``7E 00`` zone-bit protocol).

Host -> engine: ``7E 00 <type> <len> <addrH> <addrL> <data: len bytes> <CRC16>`` with type
07 read (data = number of zone bytes to read), 08 write, 09 save to flash; CRC is
CRC-16/XMODEM over type..data (``AB CD`` would skip the check; we always send a real CRC).
Engine -> host: ``02 00 <status> <len> <data> <CRC16>``, CRC over status..data; a write is
acknowledged with ``02 00 00 01 00 33 31``.  Decoded data arrives as plain bytes ending in
the configured tail (CR by default), between or after those reply frames.

begin() runs, each step waiting for its reply (resent cfg retries times, then "silent"):
  rd_mode / wr_mode  zone 0x0000 bits 1-0 := 01 (command-trigger mode), other bits kept
  rd_out  / wr_out   zone 0x0060: bit 0 tail on, bits 6-5 tail type (00 CR, 01 CRLF, 10 TAB),
                     bit 7 (framed "protocol" output) off; other bits kept
  wr_aim  / rd_aim   AIM ID on (zone 0x00D0 := 0x80) and read back to verify
Nothing is saved to the engine's flash (zone writes are volatile; they are redone at every
boot, which spares the engine's flash).
trigger(True) writes zone 0x0002 := 01 (the command-trigger flag, cleared by the engine after
the read); trigger(False) writes 00 to stop a read in progress (cfg stop_on_release).

BENCH CHECKS (not confirmed on a GM65 here):
  * zone 0x00D0 = 0x80 "Enable AIM ID" is documented for the GM812/GM861 (and used by
    Tasmota's GM861 driver); for the GM65 it is assumed - read the zones of the real module
    (older GM65 firmware may only have the Grow "Code ID" bit in zone 0x0060).  cfg aim_zone /
    aim_value override it, aim_zone None skips it.
  * zone 0x0060 bit layout (tail enable bit 0, type bits 6-5, protocol output bit 7) is taken
    from GM65/GM861 manual excerpts and the GM861 zone dump (default 0x01 = CR tail).
  * writing 00 to zone 0x0002 to stop a read early.
  * whether FNC1 inside GS1 codes comes out as GS (0x1D); check with a GS1-128 label.

cfg keys (defaults): terminator b"\\r" (b"\\r\\n" or b"\\t" also set the engine tail),
max_len 1024, frame_ms 200, reply_ms 300, retries 2, retry_ms 5000, require_aim True,
aim_zone 0x00D0, aim_value 0x80, set_tail True, stop_on_release True.

Error codes on top of engines/line.py: bad_checksum ("reply": a reply frame failed its CRC;
the command is resent), nak ("<step>:<status>": a reply with non-zero status), config (the
AIM zone did not read back as written; state "error", begin retried after retry_ms).
"""

from engines.line import LineEngine

T_READ = 0x07
T_WRITE = 0x08
T_SAVE = 0x09
Z_MODE = 0x0000
Z_TRIGGER = 0x0002
Z_OUTPUT = 0x0060
Z_AIM = 0x00D0  # GM812/GM861 "Enable AIM ID"; to verify on the bench for the GM65
AIM_ON = 0x80
MODE_COMMAND = 0x01  # zone 0x0000 bits 1-0: 00 manual, 01 command, 10 continuous, 11 sensor
_TAILS = ((b"\r", 0x00), (b"\r\n", 0x20), (b"\t", 0x40))  # terminator -> zone 0x0060 bits 6-5


def _tail_bits(term):
    for t, bits in _TAILS:
        if t == term:
            return bits
    return None


def crc16_xmodem(data, crc=0):
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def gm_frame(ftype, addr, data):
    """A host command: gm_frame(0x07, 0x002A, b"\\x02") reads the two baud-rate zone bytes."""
    body = bytes((ftype, len(data), (addr >> 8) & 0xFF, addr & 0xFF)) + bytes(data)
    c = crc16_xmodem(body)
    return b"\x7e\x00" + body + bytes((c >> 8, c & 0xFF))


def gm_read(addr, count=1):
    return gm_frame(T_READ, addr, bytes((count,)))


def gm_write(addr, value):
    return gm_frame(T_WRITE, addr, bytes((value,)))


def gm_reply(data, status=0):
    """An engine reply frame (used by tests; the simulator has its own)."""
    body = bytes((status, len(data))) + bytes(data)
    c = crc16_xmodem(body)
    return b"\x02\x00" + body + bytes((c >> 8, c & 0xFF))


class GM65(LineEngine):
    kind = "gm65"

    def __init__(self, uart, cfg=None):
        LineEngine.__init__(self, uart, cfg)
        cfg = self.cfg
        self.aim_zone = cfg.get("aim_zone", Z_AIM)
        self.aim_value = cfg.get("aim_value", AIM_ON)
        self.stop_on_release = cfg.get("stop_on_release", True)
        self._tail_bits = _tail_bits(self.terminator) if cfg.get("set_tail", True) else None
        self._zone_mode = 0
        self._zone_out = 0

    def _default_require_aim(self):
        return True

    # -- begin / trigger ---------------------------------------------------

    def _begin_steps(self):
        steps = ["rd_mode", "wr_mode"]
        if self._tail_bits is not None:
            steps.append("rd_out")
            steps.append("wr_out")
        if self.aim_zone is not None:
            steps.append("wr_aim")
            steps.append("rd_aim")
        return steps

    def _step_frame(self, name):
        if name == "rd_mode":
            return gm_read(Z_MODE)
        if name == "wr_mode":
            return gm_write(Z_MODE, (self._zone_mode & 0xFC) | MODE_COMMAND)
        if name == "rd_out":
            return gm_read(Z_OUTPUT)
        if name == "wr_out" and self._tail_bits is not None:  # a step only with tail bits
            return gm_write(Z_OUTPUT, (self._zone_out & 0x1E) | self._tail_bits | 0x01)
        if name == "wr_aim":
            return gm_write(self.aim_zone, self.aim_value)
        if name == "rd_aim":
            return gm_read(self.aim_zone)
        raise ValueError(name)

    def _send_trigger(self, pressed, now):
        if pressed:
            self._command("trig_on", gm_write(Z_TRIGGER, 0x01), now)
        elif self.stop_on_release:
            self._command("trig_off", gm_write(Z_TRIGGER, 0x00), now)

    # -- reply frames in the line stream -------------------------------------

    def _frame_at_start(self, now):
        buf = self._buf
        if buf[0] != 0x02:
            return None
        if len(buf) < 2:
            return 0
        if buf[1] != 0x00:
            return None
        if len(buf) < 4:
            return 0
        n = buf[3]
        total = n + 6
        if len(buf) < total:
            return 0
        frame = bytes(buf[0:total])
        buf[0:total] = b""
        if crc16_xmodem(frame[2 : 4 + n]) != (frame[4 + n] << 8) | frame[5 + n]:
            self._error("bad_checksum", "reply")
            if self._pending is not None and self._tries < self.retries:
                self._resend(now)
            return total
        self._heard(now)
        self._reply(frame[2], frame[4 : 4 + n], now)
        return total

    def _reply(self, status, data, now):
        name = self._pending
        if name is None:
            return  # a late reply to a resent command
        if status != 0:
            self._failed(now, "nak", name + ":" + str(status))
            return
        if name[:3] == "rd_":
            if len(data) != 1:
                return  # not the answer to this read: keep waiting
            v = data[0]
            if name == "rd_mode":
                self._zone_mode = v
            elif name == "rd_out":
                self._zone_out = v
            elif v != self.aim_value:
                self._failed(now, "config", f"aim zone 0x{self.aim_zone:04X} reads 0x{v:02X}")
                return
        elif data != b"\x00":
            return  # a write is acknowledged with a single 00
        self._done(now)
