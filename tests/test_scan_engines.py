"""Scan-engine drivers (firmware/engines) against the scan-engine simulator
(gateway/sim/scan_engine.py): framing helpers and pure logic on CPython, the
real byte protocols on the MicroPython VM over a TCP "UART".

The MicroPython scripts drive the simulator's knobs themselves through its
control port, so each scenario runs in one VM process; pytest checks the
simulator's view (zones, parameters, counters) afterwards.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from micropython_vm import ROOT, binary, run

FIRMWARE = os.path.join(ROOT, "firmware")
MP_FAKES = os.path.join(ROOT, "tests", "mp_fakes")
if FIRMWARE not in sys.path:
    sys.path.append(FIRMWARE)  # appended: firmware modules never shadow anything else

from engines import make
from engines.gm65 import GM65, crc16_xmodem, gm_frame, gm_read, gm_reply, gm_write
from engines.line import LineEngine, ticks_diff
from engines.ssi import SSI, param_bytes, ssi_packet, ssi_valid

from gateway.sim.scan_engine import ScanEngineSim


def _load_fake_uart():
    spec = importlib.util.spec_from_file_location("fake_uart", os.path.join(MP_FAKES, "fake_uart.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SocketUART = _load_fake_uart().SocketUART
H = bytes.fromhex
UDI = b"]d2010690123456789217270200\x1d21SN-\xff\xfe\x80"  # AIM + GS + non-UTF-8


# ---------------------------------------------------------------------------
# framing helpers against the published frames (firmware.md A3)


@pytest.mark.parametrize(
    "built,published",
    [
        (gm_read(0x002A, 2), "7E 00 07 01 00 2A 02 D8 0F"),  # GM: query baud rate
        (gm_frame(0x09, 0x0000, b"\x00"), "7E 00 09 01 00 00 00 DE C8"),  # GM: save to flash
        (ssi_packet(0xE4), "04 E4 04 00 FF 14"),  # SSI START_DECODE
        (ssi_packet(0xE5), "04 E5 04 00 FF 13"),  # SSI STOP_DECODE
        (ssi_packet(0xD0), "04 D0 04 00 FF 28"),  # SSI CMD_ACK
        (ssi_packet(0xC6, b"\x00\x8a\x08", status=0x08), "07 C6 04 08 00 8A 08 FE 95"),  # host trigger mode
    ],
)
def test_published_frames(built, published):
    assert built == H(published.replace(" ", ""))


def test_gm_reply_frames_match_published_replies():
    # replies quoted with the GM861 command table (write ACK, baud-rate read)
    assert gm_reply(b"\x00") == H("02000001003331")
    assert gm_reply(b"\x39\x01") == H("020000023901C14C")
    assert crc16_xmodem(H("080100D950")) == 0x81D3  # "zone bytes reset to defaults"


def test_ssi_checksum_helpers():
    for p in ("04E40400FF14", "07C60408008A08FE95"):
        assert ssi_valid(H(p))
    assert not ssi_valid(H("04E40400FF15"))
    assert not ssi_valid(b"\x04\xe4")
    assert param_bytes([(0x2D, 1), (0x8A, 8)]) == H("2D018A08")
    with pytest.raises(ValueError):
        ssi_packet(0xF3, bytes(252))


def test_ticks_diff_shim_wraps_like_micropython():
    assert ticks_diff(5, 3) == 2
    assert ticks_diff(3, 0x3FFFFFFF) == 4  # across the 2**30 wrap
    assert ticks_diff(0x3FFFFFFF, 3) == -4


def test_factory():
    u = _ScriptUART()
    assert isinstance(make("gm65", u, {}), GM65)
    assert isinstance(make("ssi", u, {}), SSI)
    assert isinstance(make("line", u, {}), LineEngine)
    with pytest.raises(ValueError):
        make("nope", u, {})


# ---------------------------------------------------------------------------
# pure driver logic on CPython with an in-memory UART


class _ScriptUART:
    """rx: bytes the engine 'sent'; responder(frame) -> reply bytes."""

    def __init__(self, responder=None):
        self.rx = bytearray()
        self.tx = []
        self.responder = responder
        self.fail = None

    def any(self):
        if self.fail:
            raise self.fail
        return len(self.rx)

    def read(self, n):
        out = bytes(self.rx[:n])
        del self.rx[:n]
        return out or None

    def write(self, b):
        self.tx.append(bytes(b))
        if self.responder:
            self.rx.extend(self.responder(bytes(b)))
        return len(b)


def _drive(eng, t0, ms, step=5):
    evs = []
    for t in range(t0, t0 + ms, step):
        evs.extend(eng.poll(t))
    return evs


def test_gm65_begin_sequence_on_cpython():
    zones = {0x00: 0xD6, 0x60: 0x80, 0xD0: 0x00}

    def responder(frame):
        ftype, addr, data = frame[2], (frame[4] << 8) | frame[5], frame[6:-2]
        if ftype == 7:
            return gm_reply(bytes((zones.get(addr, 0),)))
        zones[addr] = data[0]
        return gm_reply(b"\x00")

    u = _ScriptUART(responder)
    eng = GM65(u, {})
    eng.begin(0)
    evs = _drive(eng, 0, 50)
    assert eng.state == "ok" and evs == []
    assert u.tx == [
        gm_read(0x0000),
        gm_write(0x0000, 0xD5),  # command-trigger mode, LED/aim/light bits kept
        gm_read(0x0060),
        gm_write(0x0060, 0x01),  # CR tail on, framed output (bit 7) off
        gm_write(0x00D0, 0x80),  # AIM ID on
        gm_read(0x00D0),  # verified
    ]
    assert not any(f[2] == 0x09 for f in u.tx)  # nothing saved to the engine's flash
    # a reply split byte by byte, then a scan split at the terminator
    eng.trigger(True, 100)
    assert u.tx[-1] == gm_write(0x0002, 0x01)
    u.responder = None
    u.rx.clear()
    for b in gm_reply(b"\x00") + b"]C1010123":
        u.rx.append(b)
        assert eng.poll(101) == ()
    u.rx.extend(b"4\r")
    assert eng.poll(102) == [("scan", b"]C10101234")]


def test_gm65_aim_readback_mismatch_is_a_config_error():
    def responder(frame):
        return gm_reply(b"\x00")  # every read answers 00: the AIM zone does not stick

    u = _ScriptUART(responder)
    eng = GM65(u, {"retry_ms": 1000})
    eng.begin(0)
    evs = _drive(eng, 0, 50)
    assert eng.state == "error"
    assert [e[1] for e in evs] == ["config"]
    n = len(u.tx)
    _drive(eng, 50, 1100)
    assert len(u.tx) > n  # begin retried after retry_ms


def test_poll_never_raises():
    u = _ScriptUART()
    eng = SSI(u, {"wake_ms": 0})
    u.fail = OSError(5)
    assert eng.poll(0) == [("error", "uart", "read: OSError(5)")]
    u.fail = ValueError("boom")
    evs = eng.poll(1)
    assert evs[0][:2] == ("error", "internal")
    u.fail = None

    class Broken(_ScriptUART):
        def write(self, b):
            raise OSError(32)

    eng = GM65(Broken(), {"reply_ms": 10, "retries": 0})
    eng.begin(0)
    evs = _drive(eng, 0, 40)
    assert ("error", "uart", "write: OSError(32)") in evs
    assert eng.state == "silent"


def test_ssi_nak_on_bad_checksum_and_no_duplicate_on_retransmit():
    u = _ScriptUART()
    eng = SSI(u, {"wake_ms": 0})
    eng.state = "ok"
    pkt = ssi_packet(0xF3, b"\x1b" + b"]d2ABC", source=0)
    u.rx.extend(pkt[:-1] + bytes((pkt[-1] ^ 1,)))
    assert eng.poll(0) == [("error", "bad_checksum", 0xF3)]
    assert u.tx[-1] == ssi_packet(0xD1, b"\x01")  # NAK RESEND
    u.rx.extend(pkt)
    assert eng.poll(1) == [("scan", b"]d2ABC")]
    assert u.tx[-1] == ssi_packet(0xD0)
    retrans = bytearray(pkt[:-2])
    retrans[3] |= 1
    c = (-sum(retrans)) & 0xFFFF
    u.rx.extend(bytes(retrans) + c.to_bytes(2, "big"))
    assert eng.poll(2) == ()  # ACKed again, not reported twice
    assert u.tx[-1] == ssi_packet(0xD0) and eng.counts["dups"] == 1


def test_line_engine_terminators_and_limits():
    u = _ScriptUART()
    eng = LineEngine(u, {"terminator": b"\r\n", "max_len": 8, "frame_ms": 50})
    eng.begin(0)
    assert eng.state == "ok"
    u.rx.extend(b"AB\x1dC\r")
    assert eng.poll(1) == ()
    u.rx.extend(b"\n\r\nXY\r\n")
    assert eng.poll(2) == [("scan", b"AB\x1dC"), ("scan", b"XY")]
    u.rx.extend(b"0123456789abc")
    assert eng.poll(3) == [("error", "frame_too_long", 13)]
    u.rx.extend(b"def\r\nOK\r\n")
    assert eng.poll(4) == [("scan", b"OK")]
    u.rx.extend(b"part")
    assert eng.poll(5) == ()
    assert eng.poll(60) == [("error", "frame_timeout", 4)]
    eng2 = LineEngine(u, {"probe": b"?", "reply_ms": 10, "retries": 1, "retry_ms": 100})
    eng2.begin(100)
    evs = _drive(eng2, 100, 40)
    assert eng2.state == "silent" and ("error", "silent", "probe") in evs
    u.tx.clear()
    u.responder = lambda b: b"!"
    _drive(eng2, 140, 120)
    assert eng2.state == "ok" and u.tx[-1] == b"?"


# ---------------------------------------------------------------------------
# the simulator itself (CPython)


def _recv_until(sock, n, timeout=2.0):
    sock.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    while len(data) < n and time.monotonic() < end:
        try:
            d = sock.recv(4096)
        except TimeoutError:
            break
        if not d:
            break
        data += d
    return data


def test_sim_gm65_replies_ignores_bad_crc_and_accepts_abcd():
    with ScanEngineSim("gm65") as sim:
        port = sim.start_tcp()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(gm_read(0x002A, 2))
        assert _recv_until(s, 8) == H("020000023901C14C")
        s.sendall(gm_read(0x0000)[:-1] + b"\x00")  # bad CRC: ignored
        s.sendall(H("7E000801000201ABCD"))  # "AB CD" = no CRC check
        assert _recv_until(s, 7) == H("02000001003331")
        assert sim.wait_for(lambda m: m.counters["bad_host_crc"] == 1 and m.counters["trigger_start"] == 1)
        s.close()


def test_sim_ssi_resends_decode_data_until_acked():
    with ScanEngineSim("ssi", ack_timeout_ms=60, max_resends=2) as sim:
        port = sim.start_tcp()
        s = socket.create_connection(("127.0.0.1", port))
        assert sim.wait_for(lambda m: m.connected)
        sim.params[0x2D] = 1
        sim.scan(b"]C1ABC")
        first = ssi_packet(0xF3, b"\x03]C1ABC", source=0)
        data = _recv_until(s, 3 * len(first), timeout=1.0)
        assert data[: len(first)] == first
        assert len(data) == 3 * len(first)  # sent once, resent twice (retransmit bit)
        assert data[len(first) + 3] & 0x01 and ssi_valid(data[len(first) :][: len(first)])
        assert sim.wait_for(lambda m: m.counters["ack_missing"] == 1)
        sim.scan(b"]C1XYZ")
        pkt = _recv_until(s, 12)
        s.sendall(ssi_packet(0xD0))
        assert sim.wait_for(lambda m: m.counters["decode_acked"] == 1)
        time.sleep(0.15)
        assert sim.counters["resend"] == 2 and pkt[4:-2] == b"\x03]C1XYZ"
        s.close()


def test_sim_over_a_pty():
    with ScanEngineSim("gm65") as sim:
        path = sim.start_pty()
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, gm_read(0x002A, 2))
            data = b""
            end = time.monotonic() + 2
            while len(data) < 8 and time.monotonic() < end:
                import select

                if select.select([fd], [], [], 0.1)[0]:
                    data += os.read(fd, 64)
            assert data == H("020000023901C14C")
        finally:
            os.close(fd)


def test_sim_cli_runs_control_commands_from_stdin():
    r = subprocess.run(  # noqa: PLW1510 - the return code is asserted below
        [sys.executable, "-m", "gateway.sim.scan_engine", "--kind", "ssi", "--tcp", "0", "--control", "0"],
        input="ping\nfragment 3 5\nstats\nbogus\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=20,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("host tcp 127.0.0.1:") and lines[1].startswith("control tcp 127.0.0.1:")
    assert "ok" in lines and lines[-1].startswith("err unknown command")
    stats = json.loads(next(ln for ln in lines if ln.startswith("ok {"))[3:])
    assert stats["kind"] == "ssi"


def test_drivers_on_cpython_against_the_sim():
    # the same drivers, CPython, real sockets: fast coverage of the whole path
    for kind in ("gm65", "ssi"):
        with ScanEngineSim(kind) as sim:
            u = SocketUART("127.0.0.1", sim.start_tcp())
            eng = make(kind, u, {"reply_ms": 200})
            t0 = int(time.monotonic() * 1000)
            eng.begin(t0)
            evs = []
            end = time.monotonic() + 2
            while time.monotonic() < end and not any(e[0] == "scan" for e in evs):
                now = int(time.monotonic() * 1000)
                evs.extend(eng.poll(now))
                if eng.state == "ok" and not sim.counters["scans"]:
                    sim.scan(UDI)
                time.sleep(0.002)
            assert ("scan", UDI) in evs, (kind, evs, sim.stats())
            u.close()


# ---------------------------------------------------------------------------
# MicroPython VM against the simulator

needs_vm = pytest.mark.skipif(binary() is None, reason="MicroPython VM not installed")

PRELUDE = r'''
import sys, time, socket, json
from fake_uart import SocketUART
from engines import make

PORT = @PORT@
CTL_PORT = @CTL@
UDI = b"]d2010690123456789217270200\x1d21SN-\xff\xfe\x80"


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Ctl:
    def __init__(self):
        self.s = socket.socket()
        self.s.connect(socket.getaddrinfo("127.0.0.1", CTL_PORT)[0][-1])
        self.s.settimeout(3)
        self.buf = b""

    def __call__(self, cmd):
        self.s.send((cmd + "\n").encode())
        while b"\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                fail("control port closed")
            self.buf += d
        i = self.buf.find(b"\n")
        line = self.buf[:i].decode()
        self.buf = self.buf[i + 1:]
        if line[:2] != "ok":
            fail("control %s -> %s" % (cmd, line))
        return line[3:]

    def stats(self):
        return json.loads(self("stats"))


ctl = Ctl()


def hexs(b):
    return "".join("%02x" % x for x in b)


def now():
    return time.ticks_ms()


def pump(eng, ms, until=None):
    evs = []
    t0 = now()
    while time.ticks_diff(now(), t0) < ms:
        evs.extend(eng.poll(now()))
        if until is not None and until(evs):
            break
        time.sleep_ms(2)
    return evs


def scans(evs):
    return [e[1] for e in evs if e[0] == "scan"]


def errors(evs):
    return [e[1] for e in evs if e[0] == "error"]


def has_scan(evs):
    return any(e[0] == "scan" for e in evs)


def started(kind, cfg):
    eng = make(kind, SocketUART("127.0.0.1", PORT), cfg)
    eng.begin(now())
    evs = pump(eng, 2000, lambda ev: eng.state == "ok")
    check(eng.state == "ok", "begin: state %s events %r" % (eng.state, evs))
    check(not evs, "begin events %r" % evs)
    return eng


def scan_roundtrip(eng, raw, ms=1500):
    ctl("scan " + hexs(raw))
    evs = pump(eng, ms, has_scan)
    check(scans(evs) == [raw], "scan %r -> %r" % (raw, evs))
    return evs
'''


@pytest.fixture
def new_sim():
    sims = []

    def factory(kind, **knobs):
        sim = ScanEngineSim(kind, **knobs)
        sim.start_tcp()
        sim.start_control()
        sims.append(sim)
        return sim

    yield factory
    for sim in sims:
        sim.stop()


def run_mp(sim, body, tmp_path, cfg="{}", timeout=25):
    script = PRELUDE.replace("@PORT@", str(sim.port)).replace("@CTL@", str(sim.control_port))
    script += "CFG = " + cfg + "\n" + textwrap.dedent(body) + '\nprint("PASS")\n'
    path = tmp_path / "scenario.py"
    path.write_text(script)
    r = run(str(path), heap="100K", path=(FIRMWARE, MP_FAKES), cwd=str(tmp_path), timeout=timeout)
    assert r.returncode == 0 and r.stdout.strip().endswith("PASS"), r.stdout + r.stderr
    return r


GM_CFG = '{"reply_ms": 150, "retries": 1, "retry_ms": 400, "frame_ms": 120}'
SSI_CFG = '{"reply_ms": 150, "retries": 1, "retry_ms": 400, "frame_ms": 120, "wake_ms": 10}'


@needs_vm
def test_mp_gm65_boot_config_scan_bytes_and_trigger(new_sim, tmp_path):
    sim = new_sim("gm65")
    run_mp(
        sim,
        """
        eng = started("gm65", CFG)
        st = ctl.stats()
        check(st["zones"]["0000"] & 3 == 1, "command trigger mode %r" % st)
        check(st["zones"]["00D0"] == 0x80, "AIM ID zone %r" % st)
        check(st["zones"]["0060"] == 0x01, "CR tail %r" % st)
        check("gm_save" not in st["counters"], "nothing saved to flash")
        # AIM ID, GS and non-UTF-8 bytes come through untouched
        scan_roundtrip(eng, UDI)
        scan_roundtrip(eng, b"]C1010690123456789217270200\\x1d10LOT\\x1d")
        scan_roundtrip(eng, b"]Q3\\x00\\x01\\x7f\\xc3(")
        # host trigger: press sends the command-trigger write, release the stop write
        ctl("trigger_scan " + hexs(b"]E06901234567892"))
        eng.trigger(True, now())
        evs = pump(eng, 1500, has_scan)
        check(scans(evs) == [b"]E06901234567892"], "trigger scan %r" % evs)
        eng.trigger(False, now())
        pump(eng, 200)
        c = ctl.stats()["counters"]
        check(c.get("trigger_start") == 1 and c.get("trigger_stop") == 1, "trigger frames %r" % c)
        check(eng.state == "ok", eng.state)
        # CR LF tail: a fresh driver asks for it at begin
        eng2 = make("gm65", SocketUART("127.0.0.1", PORT), {"terminator": b"\\r\\n"})
        eng2.begin(now())
        pump(eng2, 2000, lambda ev: eng2.state == "ok")
        check(eng2.state == "ok" and ctl.stats()["zones"]["0060"] == 0x21, "CRLF tail")
        scan_roundtrip(eng2, UDI)
        """,
        tmp_path,
        cfg=GM_CFG,
    )
    assert sim.zones[0xD0] == 0x80 and sim.counters["gm_save"] == 0
    writes = [(f[2], f[3]) for f in sim.host_frames if f[0] == "gm" and f[1] == 0x08]
    assert (0x0002, b"\x01") in writes and (0x0002, b"\x00") in writes


@needs_vm
def test_mp_gm65_fragments_garbage_and_overlong(new_sim, tmp_path):
    sim = new_sim("gm65")
    run_mp(
        sim,
        """
        cfg = dict(CFG)
        cfg["max_len"] = 256
        eng = started("gm65", cfg)
        # fragmented: 3 bytes every 15 ms (reply frames and scans alike)
        ctl("fragment 3 15")
        scan_roundtrip(eng, UDI + b"-FRAGMENTED-" + UDI)
        eng.trigger(True, now())
        evs = pump(eng, 600)
        check(not errors(evs) and eng.state == "ok", "fragmented reply %r" % evs)
        ctl("fragment off")
        # noise right before a scan: skipped up to the AIM "]"
        ctl("garbage fffe13")
        evs = scan_roundtrip(eng, UDI)
        check(errors(evs) == ["noise"], "noise %r" % evs)
        # a noise line with its own terminator: no AIM -> error with the raw bytes
        ctl("garbage " + hexs(b"\\x01zz\\r"))
        evs = pump(eng, 400, lambda ev: len(ev) > 0)
        check(evs == [("error", "no_aim", b"\\x01zz")], "no_aim %r" % evs)
        # a partial frame that stalls: dropped after frame_ms, the next scan is clean
        ctl("garbage 414243")
        evs = pump(eng, 600, lambda ev: len(ev) > 0)
        check(evs == [("error", "frame_timeout", 3)], "frame_timeout %r" % evs)
        scan_roundtrip(eng, UDI)
        # over-long frame: one error, skipped to its terminator, then back in sync
        ctl("overlong 3000")
        evs = pump(eng, 1500, lambda ev: len(ev) > 0)
        evs += pump(eng, 300)
        check([e[:2] for e in evs] == [("error", "frame_too_long")], "too long %r" % evs)
        scan_roundtrip(eng, UDI)
        """,
        tmp_path,
        cfg=GM_CFG,
    )
    assert sim.counters["garbage"] > 0


@needs_vm
def test_mp_gm65_bad_checksum_and_silent_engine(new_sim, tmp_path):
    sim = new_sim("gm65")
    run_mp(
        sim,
        """
        # silent from power-on: begin gives up within reply_ms * (retries + 1)
        ctl("silent 1")
        eng = make("gm65", SocketUART("127.0.0.1", PORT), CFG)
        t0 = now()
        eng.begin(t0)
        evs = pump(eng, 2000, lambda ev: eng.state == "silent")
        dt = time.ticks_diff(now(), t0)
        check(eng.state == "silent" and errors(evs) == ["silent"], "boot silent %r" % evs)
        check(dt < 600, "silent after %d ms" % dt)
        evs = pump(eng, 900)  # begin is retried every retry_ms, one event per outage
        check(not errors(evs) and eng.state == "silent", "retries %r" % evs)
        eng.trigger(True, now())
        check(errors(pump(eng, 20)) == ["not_ready"], "trigger while silent")
        ctl("silent 0")
        evs = pump(eng, 2000, lambda ev: eng.state == "ok")
        check(eng.state == "ok", "recovered %r" % evs)
        scan_roundtrip(eng, UDI)
        # a reply with a bad CRC: error event, the trigger is resent and acknowledged
        ctl("corrupt 1")
        eng.trigger(True, now())
        evs = pump(eng, 600)
        check(errors(evs) == ["bad_checksum"] and eng.state == "ok", "bad crc %r" % evs)
        # engine goes quiet after boot: the trigger gets no reply -> silent, then recovery
        ctl("silent 1")
        t0 = now()
        eng.trigger(True, now())
        evs = pump(eng, 2000, lambda ev: eng.state == "silent")
        check(eng.state == "silent" and errors(evs) == ["silent"], "trigger silent %r" % evs)
        check(time.ticks_diff(now(), t0) < 600, "silent too late")
        ctl("silent 0")
        evs = pump(eng, 2000, lambda ev: eng.state == "ok")
        check(eng.state == "ok" and not errors(evs), "recovered again %r" % evs)
        scan_roundtrip(eng, UDI)
        """,
        tmp_path,
        cfg=GM_CFG,
    )
    assert sim.counters["corrupted"] == 1 and sim.counters["ignored_silent"] > 0


@needs_vm
def test_mp_ssi_boot_config_scans_acks_and_trigger(new_sim, tmp_path):
    sim = new_sim("ssi")
    run_mp(
        sim,
        """
        eng = started("ssi", CFG)
        st = ctl.stats()
        check(st["params"] == {"2D": 1, "8A": 8, "9F": 1, "EE": 1}, "params %r" % st)
        check("param_permanent" not in st["counters"], "temporary parameters")
        scan_roundtrip(eng, UDI)
        scan_roundtrip(eng, b"]C1010690123456789217270200\\x1d10LOT")
        pump(eng, 100)  # let the last ACK reach the simulator
        c = ctl.stats()["counters"]
        check(c["decode_acked"] == c["decode_sent"] == 2, "acks %r" % c)
        # multi-packet message: 16 data bytes per packet, every packet ACKed
        ctl("ssi_chunk 16")
        big = UDI + b"0123456789" * 10
        scan_roundtrip(eng, big)
        pump(eng, 100)
        c = ctl.stats()["counters"]
        check(c["decode_acked"] == 2 + (len(big) + 15) // 16, "multi acks %r" % c)
        ctl("ssi_chunk 250")
        # host trigger
        ctl("trigger_scan " + hexs(b"]E06901234567892"))
        eng.trigger(True, now())
        evs = pump(eng, 1500, has_scan)
        check(scans(evs) == [b"]E06901234567892"], "trigger %r" % evs)
        eng.trigger(False, now())
        pump(eng, 200)
        c = ctl.stats()["counters"]
        check(c.get("trigger_start") == 1 and c.get("trigger_stop") == 1, "trigger frames %r" % c)
        check(eng.state == "ok" and eng.last_type == 0x0B, "state/type")
        """,
        tmp_path,
        cfg=SSI_CFG,
    )
    starts = [f for f in sim.host_frames if f[0] == "ssi" and f[1] == 0xE4]
    stops = [f for f in sim.host_frames if f[0] == "ssi" and f[1] == 0xE5]
    assert len(starts) == 1 and len(stops) == 1
    assert sim.counters["wake"] >= 1  # wake-up byte before the first command


@needs_vm
def test_mp_ssi_fragments_garbage_overlong_checksum_and_lost_ack(new_sim, tmp_path):
    sim = new_sim("ssi")
    run_mp(
        sim,
        """
        cfg = dict(CFG)
        cfg["max_len"] = 300
        eng = started("ssi", cfg)
        ctl("fragment 2 10")
        scan_roundtrip(eng, UDI)
        ctl("fragment off")
        # noise before a packet
        ctl("garbage ff1337")
        evs = scan_roundtrip(eng, UDI)
        check(errors(evs) == ["noise"], "noise %r" % evs)
        # a plausible header that never completes: dropped after frame_ms
        ctl("garbage 06f30000")
        evs = pump(eng, 600, lambda ev: len(ev) > 0)
        check(evs == [("error", "frame_timeout", 4)], "timeout %r" % evs)
        scan_roundtrip(eng, UDI)
        # over-long message (several packets): dropped with one error, all packets ACKed
        ctl("overlong 1000")
        evs = pump(eng, 1500, lambda ev: len(ev) > 0)
        evs += pump(eng, 300)
        check([e[:2] for e in evs] == [("error", "frame_too_long")], "too long %r" % evs)
        check(not ctl.stats()["inflight"], "all packets acked")
        scan_roundtrip(eng, UDI)
        # bad checksum: NAK RESEND, the resent packet gives exactly one scan
        ctl("corrupt 1")
        evs = scan_roundtrip(eng, UDI)
        check(errors(evs) == ["bad_checksum"], "bad checksum %r" % evs)
        evs = pump(eng, 300)
        check(not evs, "no duplicate %r" % evs)
        # our ACK "lost": the engine resends with the retransmit bit; ACKed, reported once
        ctl("ignore_acks 1")
        scan_roundtrip(eng, UDI)
        evs = pump(eng, 700)
        check(not evs and eng.counts.get("dups") == 1, "dup %r %r" % (evs, eng.counts))
        c = ctl.stats()["counters"]
        check(c["host_nak"] == 1 and c["ack_ignored"] == 1 and c["resend"] == 2, "counters %r" % c)
        """,
        tmp_path,
        cfg=SSI_CFG,
    )
    assert sim.counters.get("ack_missing", 0) == 0


@needs_vm
def test_mp_ssi_silent_engine_and_refused_parameters(new_sim, tmp_path):
    sim = new_sim("ssi")
    run_mp(
        sim,
        """
        eng = started("ssi", CFG)
        ctl("silent 1")
        t0 = now()
        eng.trigger(True, now())
        evs = pump(eng, 2000, lambda ev: eng.state == "silent")
        check(eng.state == "silent" and errors(evs) == ["silent"], "silent %r" % evs)
        check(time.ticks_diff(now(), t0) < 600, "silent too late")
        ctl("silent 0")
        evs = pump(eng, 2000, lambda ev: eng.state == "ok")
        check(eng.state == "ok" and not errors(evs), "recovered %r" % evs)
        scan_roundtrip(eng, UDI)
        # the engine refuses the parameters: state "error", retried later
        ctl("deny_params 1")
        eng.begin(now())
        evs = pump(eng, 1000, lambda ev: eng.state == "error")
        check(eng.state == "error" and evs == [("error", "config", "param_send:6")], "denied %r" % evs)
        ctl("deny_params 0")
        evs = pump(eng, 2000, lambda ev: eng.state == "ok")
        check(eng.state == "ok", "after deny %r" % evs)
        """,
        tmp_path,
        cfg=SSI_CFG,
    )
    # the unanswered START_DECODE was resent (retransmit bit) while the engine was deaf
    starts = [f for f in sim.host_frames if f[0] == "ssi" and f[1] == 0xE4]
    assert sim.counters["ignored_silent"] >= 2 * 6 and not starts


@needs_vm
def test_mp_line_driver(new_sim, tmp_path):
    sim = new_sim("gm65")
    sim.zones[0x60] = 0x21  # engine preconfigured: CR LF tail, AIM IDs on
    sim.zones[0xD0] = 0x80
    run_mp(
        sim,
        """
        eng = started("line", {"terminator": b"\\r\\n", "max_len": 128, "frame_ms": 120})
        scan_roundtrip(eng, UDI)
        ctl("fragment 1 5")
        scan_roundtrip(eng, UDI)
        ctl("fragment off")
        ctl("garbage 7a7a")
        evs = pump(eng, 600, lambda ev: len(ev) > 0)
        check(evs == [("error", "frame_timeout", 2)], "timeout %r" % evs)
        ctl("overlong 500")
        evs = pump(eng, 1000, lambda ev: len(ev) > 0)
        evs += pump(eng, 200)
        check([e[:2] for e in evs] == [("error", "frame_too_long")], "too long %r" % evs)
        scan_roundtrip(eng, UDI)
        """,
        tmp_path,
    )
