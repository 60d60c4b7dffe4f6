"""The virtual printer (gateway/sim/printer.py) driven through the real transports
(gateway/printing/transports.py) and status parsers.  Timing checks use lower bounds (the
simulator can never print faster than its speed) and wide ratios only, so a loaded 2-core
CI box makes them slower, never red."""

import json
import os
import socket
import subprocess
import sys
import time
import types

import pytest

from gateway.printing import status, transports
from gateway.printing.transports import PrinterError, open_printer
from gateway.sim.printer import VirtualPrinter, ZplStream, control_request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# 2.0 in at 300 dpi
LABEL = b"^XA^LL600^FO20,20^A0N,30,30^FDLOT %d^FS^PQ%d^XZ"
GS1_DM = b"^XA^PW609^LL305^FO24,24^BXN,10,200,,,,_^FD_10106901234567892" + b"10ABC123_121SN0001^FS^XZ"
GS1_DM_DATA = "]d2" + "0106901234567892" + "10ABC123\x1d21SN0001"


def label(n=1, quantity=1):
    return LABEL % (n, quantity)


def need(*modules):
    # Optional packages (pyserial, pyusb, zebra, zplkit, zxing-cpp, Pillow): a test that
    # needs one is skipped, with its name, where it is not installed.
    for m in modules:
        pytest.importorskip(m)


def wait_for(cond, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


@pytest.fixture
def vp():
    printer = VirtualPrinter(port=0, ips=200.0, control_port=0).start()
    yield printer
    printer.stop()


@pytest.fixture
def conn(vp):
    with open_printer(vp.uri) as p:
        yield p


# -- stream splitting --------------------------------------------------------------------------


def test_stream_splits_formats_tildes_and_sgd_across_chunks():
    s = ZplStream()
    data = b'~H' + b'S^XA^FO1,1~HQES^FDa~1b^FS^X' + b'Z junk ! U1 getvar "head.latch"\r\n~JA^XA^FDx'
    events = []
    for i in range(len(data)):  # one byte at a time: nothing may depend on chunking
        events += s.feed(data[i:i + 1])
    assert events == [("tilde", "HS", ""), ("tilde", "HQ", "ES"), ("format", b"^XA^FO1,1^FDa~1b^FS^XZ"),
                      ("sgd", '! U1 getvar "head.latch"'), ("tilde", "JA", "")]
    assert s.in_format
    assert s.feed(b"~JA") == [("tilde", "JA", "")] and not s.in_format  # ~JA drops the partial format


# -- speed ------------------------------------------------------------------------------------


def timed_batch(vp, conn, quantity, ll=600):
    start = time.monotonic()
    before = vp.labels_printed
    conn.send(b"^XA^LL%d^FO20,20^A0N,30,30^FDx^FS^PQ%d^XZ" % (ll, quantity))
    assert vp.wait_printed(before + quantity, timeout=60)
    return time.monotonic() - start


def test_prints_at_the_stated_speed():
    with VirtualPrinter(port=0, ips=20.0).start() as vp, open_printer(vp.uri) as conn:
        # 2 in at 20 ips = 100 ms per label
        t_long = timed_batch(vp, conn, 10, ll=600)
        assert t_long >= 10 * 0.1 * 0.95
        # 1 in labels take half as long; a wide ratio band absorbs a loaded machine
        t_short = timed_batch(vp, conn, 10, ll=300)
        assert t_short >= 10 * 0.05 * 0.95
        assert 1.2 < t_long / t_short < 4.0
    with VirtualPrinter(port=0, ips=20.0, label_length_in=1.0).start() as vp, open_printer(vp.uri) as conn:
        start = time.monotonic()
        conn.send(b"^XA^FO20,20^A0N,30,30^FDx^FS^PQ5^XZ")  # no ^LL: label_length_in
        assert vp.wait_printed(5, timeout=60)
        assert time.monotonic() - start >= 5 * 0.05 * 0.95
        assert vp.printed[-1]["label_length_dots"] == 300


# -- ~HS reflects the buffer --------------------------------------------------------------------


def test_hs_shows_formats_labels_and_pause(vp, conn):
    vp.inject("pause")
    for i in range(3):
        conn.send(label(i, 2))
    s = status.poll(conn)
    assert s.faults == ["paused"] and s.formats_in_buffer == 3 and s.labels_remaining == 0 and not s.ready
    conn.send(b"^XA^FO10,10^FD")
    hs = status.parse_hs(conn.query(b"~HS"))
    assert hs["partial_format"] is True and hs["label_length_dots"] == 600
    conn.send(b"half^FS^XZ")
    conn.send(b"~PS")  # resume from the host, as the panel would
    assert vp.wait_printed(7, timeout=20)
    assert wait_for(lambda: status.poll(conn).idle)
    s = status.poll(conn)
    assert s.ready and s.faults == [] and s.formats_in_buffer == 0 and s.labels_remaining == 0


def test_labels_remaining_counts_down_during_a_batch(vp, conn):
    vp.inject("pause", after_labels=2)  # freeze the batch after its second label
    conn.send(label(1, 5))
    assert vp.wait_printed(2)
    assert wait_for(lambda: not vp.state()["printing"])
    s = status.poll(conn)
    assert s.labels_remaining == 3 and s.formats_in_buffer == 0 and s.faults == ["paused"] and not s.idle
    conn.send(b"~PS")
    assert vp.wait_printed(5)
    assert wait_for(lambda: status.poll(conn).idle)


def test_buffer_full_stops_reading_and_shows_on_another_connection():
    with VirtualPrinter(port=0, ips=200.0, buffer_formats=2).start() as vp:
        vp.inject("pause")
        a = open_printer(vp.uri)
        b = open_printer(vp.uri)
        try:
            a.send(label(1) + label(2) + label(3) + label(4))
            assert wait_for(lambda: status.poll(b).formats_in_buffer == 2)
            s = status.poll(b)
            assert "buffer_full" in s.faults and "paused" in s.faults
            assert vp.formats_received == 2
            vp.clear("pause")
            assert vp.wait_printed(4, timeout=20)
            assert wait_for(lambda: status.poll(b).idle)
            assert [r["job"] for r in vp.printed] == [1, 2, 3, 4]
        finally:
            a.close()
            b.close()


def test_tilde_commands_inside_a_format_are_answered_at_once(vp, conn):
    conn.send(b"^XA^FO20,20^A0N,30,30")
    reply = conn.query(b"~HS")
    assert status.parse_hs(reply)["partial_format"] is True
    conn.send(b"^FDinside^FS^XZ")
    assert vp.wait_printed(1)
    assert vp.printed[0]["zpl"] == "^XA^FO20,20^A0N,30,30^FDinside^FS^XZ"


def test_empty_and_stored_formats_print_nothing(vp, conn):
    conn.send(b"^XA^XZ^XA^LL305^XZ^XA^DFE:T1.ZPL^FS^FO10,10^A0N,30,30^FN1^FS^XZ")
    conn.send(b"^XA^XFE:T1.ZPL^FS^FN1^FDfrom template^FS^XZ")
    assert vp.wait_printed(1)
    assert vp.wait_idle()
    assert vp.labels_printed == 1 and vp.formats_discarded == 2 and vp.state()["stored_formats"] == ["E:T1.ZPL"]
    assert vp.printed[0]["label_length_dots"] == 305  # ^LL stays in force


def test_several_clients(vp):
    printers = [open_printer(vp.uri) for _ in range(3)]
    try:
        for i, p in enumerate(printers):
            p.send(label(i, 2))
        for p in printers:
            assert status.parse_hs(p.query(b"~HS"))["paper_out"] is False
        assert vp.wait_printed(6)
        assert sorted({r["zpl"] for r in vp.printed}) == sorted(label(i, 2).decode() for i in range(3))
    finally:
        for p in printers:
            p.close()


# -- faults ------------------------------------------------------------------------------------


def test_paper_out_after_n_stops_exactly_and_keeps_the_rest():
    with VirtualPrinter(port=0, ips=100.0).start() as vp, open_printer(vp.uri) as conn:
        vp.inject("paper_out", after_labels=5)
        conn.send(label(1, 8) + label(2, 2))
        assert vp.wait_printed(5, timeout=20)
        time.sleep(0.3)  # 15 label times: nothing more may print
        assert vp.labels_printed == 5
        s = status.poll(conn)
        assert "paper_out" in s.faults and not s.ready
        assert s.labels_remaining == 3 and s.formats_in_buffer == 1
        hqes = status.parse_hqes(conn.query(b"~HQES"))
        assert hqes["media_out"] and hqes["error_names"] == ["media_out"]
        vp.clear("paper_out")
        assert vp.wait_printed(10, timeout=20)
        assert wait_for(lambda: status.poll(conn).idle)
        time.sleep(0.1)
        assert vp.labels_printed == 10
        assert [r["index"] for r in vp.printed] == list(range(1, 11))
        assert [(r["job"], r["copy"]) for r in vp.printed] == [(1, c) for c in range(1, 9)] + [(2, 1), (2, 2)]


def test_label_under_the_head_when_paper_runs_out_is_not_counted():
    with VirtualPrinter(port=0, ips=1.0).start() as vp, open_printer(vp.uri) as conn:
        conn.send(label(1, 1))  # one 2-inch label: 2 s under the head
        assert wait_for(lambda: vp.state()["printing"], timeout=10)
        vp.inject("paper_out")
        assert wait_for(lambda: not vp.state()["printing"], timeout=10)
        assert vp.labels_printed == 0 and vp.labels_aborted == 1
        assert status.poll(conn).labels_remaining == 1
        vp.clear("paper_out")
        assert vp.wait_printed(1, timeout=20)
        assert wait_for(lambda: status.poll(conn).idle)
        assert vp.labels_printed == 1


@pytest.mark.parametrize("fault,hs_key,hqes_key", [("head_open", "head_open", "head_open"),
                                                   ("ribbon_out", "ribbon_out", "ribbon_out")])
def test_head_open_and_ribbon_out_hold_the_job(vp, conn, fault, hs_key, hqes_key):
    vp.inject(fault)
    conn.send(label(1, 2))
    time.sleep(0.1)
    assert vp.labels_printed == 0
    assert status.parse_hs(conn.query(b"~HS"))[hs_key] is True
    assert status.parse_hqes(conn.query(b"~HQES"))[hqes_key] is True
    s = status.poll(conn)
    assert s.faults == [fault] and s.labels_remaining == 0 and s.formats_in_buffer == 1
    vp.clear(fault)
    assert vp.wait_printed(2)


def test_printer_silent_on_hs_while_faulted():
    with VirtualPrinter(port=0, answer_hs_when_faulted=False).start() as vp, open_printer(vp.uri) as conn:
        vp.inject("head_open")
        assert conn.query(b"~HS", timeout=0.3) is None
        s = status.poll(conn, timeout=0.3)
        assert s.faults == ["head_open"] and not s.ready and s.hs is None
        vp.clear("head_open")
        assert status.poll(conn, timeout=2).ready


def test_pause_lets_the_current_label_finish_and_pp_ps():
    with VirtualPrinter(port=0, ips=4.0).start() as vp, open_printer(vp.uri) as conn:
        conn.send(label(1, 3))  # 0.5 s per label
        assert wait_for(lambda: vp.state()["printing"], timeout=10)
        conn.send(b"~PP")
        assert vp.wait_printed(1, timeout=10)
        assert wait_for(lambda: not vp.state()["printing"], timeout=10)
        done = vp.labels_printed  # 1, or 2 if ~PP came just after a label change on a slow box
        time.sleep(0.7)
        assert vp.labels_printed == done and vp.labels_aborted == 0
        hs = status.parse_hs(conn.query(b"~HS"))
        assert hs["paused"] and hs["labels_remaining"] == 3 - done
        conn.send(b"~PS")
        assert vp.wait_printed(3, timeout=20)


def test_cancel_all_drops_buffer_and_batch(vp, conn):
    vp.inject("pause")
    conn.send(label(1, 5) + label(2, 5) + b"^XA^FO1,1^FDpartial")
    conn.send(b"~JA")
    s = status.poll(conn)
    assert s.formats_in_buffer == 0 and s.labels_remaining == 0 and s.partial_format is False
    vp.clear("pause")
    time.sleep(0.1)
    assert vp.labels_printed == 0 and vp.formats_cancelled == 2 and vp.labels_cancelled == 10


def test_cancel_all_finishes_the_label_under_the_head():
    with VirtualPrinter(port=0, ips=4.0).start() as vp, open_printer(vp.uri) as conn:
        conn.send(label(1, 4) + label(2, 1))
        assert wait_for(lambda: vp.state()["printing"], timeout=10)
        conn.send(b"~JA")
        assert vp.wait_printed(1, timeout=10)
        assert wait_for(lambda: status.poll(conn).idle)
        time.sleep(0.6)
        # the label under the head at ~JA is finished (1, or 2 on a slow box), the rest dropped
        assert 1 <= vp.labels_printed <= 2 and vp.labels_aborted == 0
        assert vp.labels_printed + vp.labels_cancelled == 5


def test_disconnect_drops_and_refuses_then_recovers(vp, conn):
    assert status.poll(conn).ready
    vp.inject("disconnect")
    s = status.poll(conn, timeout=0.5)
    assert s.faults == ["unreachable"] and s.error
    with pytest.raises(PrinterError) as e:
        open_printer(vp.uri, timeout=1)
    assert "connection refused" in str(e.value) and vp.uri in str(e.value)
    vp.clear("disconnect")
    s = status.poll(conn)  # the transport reconnects on its next use
    assert s.ready and s.faults == []
    conn.send(label(1))
    assert vp.wait_printed(1)


def test_disconnect_after_labels_keeps_printing():
    with VirtualPrinter(port=0, ips=100.0).start() as vp, open_printer(vp.uri) as conn:
        vp.inject("disconnect", after_labels=2)
        conn.send(label(1, 4))
        assert vp.wait_printed(4, timeout=20)  # the network went, the printer did not
        with pytest.raises(PrinterError):
            conn.query(b"~HS", timeout=0.5)
        vp.clear("disconnect")
        assert status.poll(conn).idle


def test_unknown_fault_is_refused(vp):
    with pytest.raises(ValueError):
        vp.inject("jam")
    with pytest.raises(ValueError):
        vp.inject("paper_out", after_labels=-1)


# -- counters -----------------------------------------------------------------------------------


def test_counters_odometer_and_sgd(vp, conn):
    conn.send(label(1, 3))
    assert vp.wait_printed(3)
    assert status.sgd_getvar(conn, "odometer.total_label_count") == "3"
    assert status.label_count(conn) == 3
    od = status.parse_odometer(conn.query(b"~HQOD"))
    assert od["total"] == 6 and od["user1"] == 6 and od["unit"] == "in"  # 3 x 2 in
    conn.send(b"~RO1")
    od = status.parse_odometer(conn.query(b"~HQOD"))
    assert od["user1"] == 0 and od["user2"] == 6 and od["total"] == 6
    assert status.sgd_getvar(conn, "odometer.user_label_count1") == "0"
    assert status.sgd_getvar(conn, "odometer.user_label_count2") == "3"
    assert status.sgd_getvar(conn, "no.such.var") is None
    assert status.sgd_getvar(conn, "head.latch") == "ok"
    assert vp.labels_printed == 3 and vp.total_labels == 3
    assert status.parse_hi(conn.query(b"~HI"))["dpi"] == 300


def test_control_port(vp, conn):
    port = vp.control_port
    assert control_request(port, {"inject": "paper_out", "after_labels": 2}) == {"ok": True}
    conn.send(label(1, 3))
    assert control_request(port, {"wait_printed": 2, "timeout": 20})["ok"] is True
    state = control_request(port, {"state": True})["state"]
    assert wait_for(lambda: control_request(port, {"state": True})["state"]["faults"] == ["paper_out"])
    assert state["labels_printed"] == 2
    assert control_request(port, {"clear": "paper_out"}) == {"ok": True}
    assert control_request(port, {"wait_printed": 3, "timeout": 20}) == {"ok": True, "labels_printed": 3}
    printed = control_request(port, {"printed": True, "since": 1})["printed"]
    assert [r["index"] for r in printed] == [2, 3]
    assert control_request(port, {"inject": "jam"})["ok"] is False
    assert "unknown request" in control_request(port, {"hello": 1})["error"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"{not json\n")
        assert json.loads(s.makefile("rb").readline())["ok"] is False


# -- PNG output -----------------------------------------------------------------------------------


def decode(png_path):
    import zxingcpp
    from PIL import Image

    return zxingcpp.read_barcodes(Image.open(png_path), text_mode=zxingcpp.TextMode.Plain)


def test_png_gs1_datamatrix_decodes_byte_for_byte(tmp_path):
    need("zplkit", "zxingcpp", "PIL")
    with VirtualPrinter(port=0, ips=200.0, png_dir=str(tmp_path)).start() as vp, open_printer(vp.uri) as conn:
        conn.send(GS1_DM)
        assert vp.wait_printed(1)
        rec = vp.printed[0]
        assert rec["render_error"] is None and os.path.exists(rec["png"])
        (code,) = decode(rec["png"])
        assert code.symbology_identifier == "]d2"
        assert code.symbology_identifier + code.text == GS1_DM_DATA
        assert "\x1d" in code.text
        import zxingcpp
        from PIL import Image

        (hri,) = zxingcpp.read_barcodes(Image.open(rec["png"]))
        assert hri.text == "(01)06901234567892(10)ABC123(21)SN0001"
        # printing.md §1.1 pitfall: ^FH before the field turns _10 into byte 0x10: not GS1 any more
        conn.send(GS1_DM.replace(b"^FD", b"^FH^FD"))
        assert vp.wait_printed(2)
        codes = decode(vp.printed[1]["png"])
        assert not codes or codes[0].symbology_identifier != "]d2"


def test_png_per_copy_and_unsupported_commands_skipped(tmp_path):
    need("zplkit", "zxingcpp", "PIL")
    with VirtualPrinter(port=0, ips=200.0, png_dir=str(tmp_path)).start() as vp, open_printer(vp.uri) as conn:
        conn.send(b"~SD20^XA^CI28^MMT^PR4,4,4^PW609^LL305^FO24,24^BXN,5,200,,,,_^FD_1010950600013435217271231"
                  b"10ABC123_121SN0001^FS^FO160,24^A0N,28,28^FD(01)09506000134352^FS^PQ2,0,1,N^XZ")
        assert vp.wait_printed(2)
        pngs = [r["png"] for r in vp.printed]
        assert len(set(pngs)) == 2 and all(os.path.exists(p) for p in pngs)
        (code,) = decode(pngs[1])
        assert code.symbology_identifier + code.text == "]d2" + "01095060001343521727123110ABC123\x1d21SN0001"


def test_png_degraded(tmp_path):
    need("zplkit", "PIL")
    from PIL import Image

    spec = {"darkness": 0.5, "smear": 1, "missing_dots": 0.02, "seed": 3}
    with VirtualPrinter(port=0, ips=200.0, png_dir=str(tmp_path), degrade=spec).start() as vp, \
            open_printer(vp.uri) as conn:
        conn.send(GS1_DM)
        assert vp.wait_printed(1)
        im = Image.open(vp.printed[0]["png"]).convert("L")
        lo, hi = im.getextrema()
        assert 120 <= lo <= 135 and hi == 255  # ink at half darkness
        white_cols = sum(1 for x in range(24, 134) if im.crop((x, 24, x + 1, 134)).getextrema()[0] == 255)
        assert white_cols >= 1  # dead print-head elements leave white streaks through the symbol
    with pytest.raises(ValueError):
        VirtualPrinter(port=0, degrade={"darkness": 2})
    with pytest.raises(ValueError):
        VirtualPrinter(port=0, degrade={"fuzz": 1})


def test_render_error_does_not_stop_the_printer(tmp_path):
    need("zplkit")
    with VirtualPrinter(port=0, ips=200.0, png_dir=str(tmp_path)).start() as vp, open_printer(vp.uri) as conn:
        conn.send(b"^XA^XFE:MISSING.ZPL^FS^FN1^FDx^FS^XZ" + label(2))
        assert vp.wait_printed(2)
        assert vp.printed[0]["png"] is None and vp.printed[0]["render_error"]
        assert vp.printed[1]["png"] and vp.printed[1]["render_error"] is None


# -- transports -----------------------------------------------------------------------------------


def test_serial_transport_over_a_pty(vp):
    need("serial")
    path = vp.attach_pty()
    with open_printer("serial:%s?baud=115200" % path) as p:
        hs = status.parse_hs(p.query(b"~HS"))
        assert hs["formats_in_buffer"] == 0
        p.send(label(7))
        assert vp.wait_printed(1)
        assert status.poll(p).ready
    with open_printer("serial://%s" % path) as p:  # reopen: the pty survives
        assert status.parse_hi(p.query(b"~HI"))["dpmm"] == 12


@pytest.mark.parametrize("uri,needle", [
    ("serial:/dev/does-not-exist", "no such device"),
    ("serial:/dev/ttyS0?parity=E", "unknown serial option"),
    ("serial:/dev/ttyS0?baud=fast", "baud"),
    ("serial:", "no device"),
    ("lpt:1", "unknown printer URI scheme"),
    ("tcp://", "no host"),
    ("tcp://host.invalid:9100", "unknown host"),
    ("", "empty"),
])
def test_open_errors(uri, needle):
    if uri.startswith("serial:/dev/does"):
        need("serial")
    with pytest.raises(PrinterError) as e:
        open_printer(uri, timeout=2)
    assert needle in str(e.value)


def test_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(PrinterError) as e:
        open_printer("tcp://127.0.0.1:%d" % port)
    assert e.value.uri == "tcp://127.0.0.1:%d" % port and "connection refused" in e.value.cause


def test_query_timeout_is_none_and_send_takes_bytes(vp, conn):
    assert conn.query(b"~HQXX", timeout=0.2) is None  # unknown query types are ignored
    with pytest.raises(TypeError):
        conn.send("^XA^XZ")
    conn.close()
    with pytest.raises(PrinterError):
        conn.send(b"^XA^XZ")


def test_cups_is_send_only(capfd):
    need("zebra")
    p = transports.CupsPrinter("cups:zebra_python_unittest", "zebra_python_unittest", check_queue=False)
    p.send(b"^XA^FDcups^FS^XZ")  # the zebra package pipes this queue name to `cat -`
    assert "^FDcups" in capfd.readouterr().out
    assert p.query(b"~HS") is None and p.can_query is False
    assert status.poll(p).faults == ["status_unsupported"]
    with pytest.raises(PrinterError) as e:
        open_printer("cups:nosuchqueue")
    assert "cups:nosuchqueue" in str(e.value)


def test_usb_without_device_or_backend():
    need("usb")
    with pytest.raises(PrinterError) as e:
        open_printer("usb:XXXX0000")
    assert e.value.uri == "usb:XXXX0000"
    assert "libusb" in e.value.cause or "no such device" in e.value.cause
    assert isinstance(transports.discover(), list)


class _FakeEndpoint:
    def __init__(self, address, reply_to):
        self.bEndpointAddress, self.bmAttributes, self.wMaxPacketSize = address, 2, 64  # bulk
        self.reply_to = reply_to

    def write(self, data, timeout):
        self.reply_to.pending += self.reply_to.answer(bytes(data))
        return len(data)

    def read(self, size, timeout):
        if not self.reply_to.pending:
            raise self.reply_to.core.USBTimeoutError("timed out")
        out, self.reply_to.pending = self.reply_to.pending[:size], self.reply_to.pending[size:]
        return out


class _FakeUsbPrinter:
    """A USB device tree as pyusb shows it: config -> printer-class interface -> bulk EPs."""

    def __init__(self, core, vp):
        self.core, self.vp, self.pending = core, vp, b""
        self.serial_number, self.product, self.manufacturer, self.bus, self.address = "52J0001", "ZT410", "Zebra", 1, 4
        self.detached = self.attached = False
        eps = [_FakeEndpoint(0x01, self), _FakeEndpoint(0x81, self)]
        self.intf = type("Intf", (), {"__iter__": lambda s: iter(eps), "bInterfaceClass": 7, "bInterfaceNumber": 0})()

    def answer(self, data):
        return self.vp.hs_reply() if data.strip() == b"~HS" else b""

    def get_active_configuration(self):
        return [types.SimpleNamespace(bInterfaceClass=3), self.intf]

    def is_kernel_driver_active(self, n):
        return not self.detached

    def detach_kernel_driver(self, n):
        self.detached = True

    def attach_kernel_driver(self, n):
        self.attached = True


def test_usb_transport_with_a_fake_device(monkeypatch):
    need("usb")
    import usb.util

    core = types.SimpleNamespace(USBError=type("USBError", (IOError,), {}), NoBackendError=type("NB", (ValueError,), {}))
    core.USBTimeoutError = type("USBTimeoutError", (core.USBError,), {})
    vp = VirtualPrinter(port=0)
    dev = _FakeUsbPrinter(core, vp)
    core.find = lambda find_all, idVendor: [dev] if idVendor == transports.ZEBRA_VENDOR_ID else []
    calls = []
    util = types.SimpleNamespace(
        endpoint_type=usb.util.endpoint_type, endpoint_direction=usb.util.endpoint_direction,
        ENDPOINT_TYPE_BULK=usb.util.ENDPOINT_TYPE_BULK, ENDPOINT_OUT=usb.util.ENDPOINT_OUT,
        claim_interface=lambda d, i: calls.append(("claim", i)), release_interface=lambda d, i: calls.append(("release", i)),
        dispose_resources=lambda d: calls.append(("dispose",)))
    monkeypatch.setattr(transports, "_usb_core", lambda uri: (core, util))
    with open_printer("usb:52J0001") as p:
        assert dev.detached and ("claim", 0) in calls
        assert status.parse_hs(p.query(b"~HS"))["paper_out"] is False
        assert p.query(b"~HI", timeout=0.1) is None
    assert dev.attached and ("release", 0) in calls and ("dispose",) in calls
    with pytest.raises(PrinterError) as e:
        open_printer("usb:OTHER")
    assert "no such device" in e.value.cause
    assert transports.discover_usb() == [{"uri": "usb:52J0001", "serial": "52J0001", "product": "ZT410",
                                          "manufacturer": "Zebra", "bus": 1, "address": 4}]


def test_discover_probes_only_the_given_hosts(vp):
    found = transports.discover(hosts=["127.0.0.1"], port=vp.port, usb=False)
    assert [f["uri"] for f in found] == [vp.uri] and found[0]["model"] == vp.model
    assert transports.probe_tcp("127.0.0.1", port=1, timeout=0.5) is None


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_module_runs_and_reports(tmp_path):
    need("zplkit")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.sim.printer", "--port", "0", "--control-port", "0", "--ips", "100",
         "--paper-out-after", "2", "--png-dir", str(tmp_path), "--seconds", "20"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        with open_printer(info["printer"]) as p:
            p.send(label(1, 3))
            assert control_request(info["control_port"], {"wait_printed": 2, "timeout": 20})["ok"]
            assert wait_for(lambda: "paper_out" in status.poll(p).faults)
        proc.send_signal(15)
        out, _ = proc.communicate(timeout=20)
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["labels_printed"] == 2 and summary["labels_remaining"] == 1
        assert summary["faults"] == ["paper_out"]
        assert len(os.listdir(tmp_path)) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_add_cli_registers_printer_subcommand():
    import argparse

    from gateway.sim import printer

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd")
    printer.add_cli(sub)
    args = p.parse_args(["printer", "--port", "0", "--dpi", "203", "--ips", "4", "--paper-out-after", "5"])
    assert args.func is printer.run_cli and args.dpi == 203 and args.paper_out_after == 5
    with pytest.raises(SystemExit):  # argparse refuses a resolution no print head has
        printer.main(["--dpi", "150"])


def test_cli_bad_degrade_is_reported(capsys):
    from gateway.sim import printer

    assert printer.main(["--port", "0", "--degrade", '{"fuzz": 1}', "--seconds", "0"]) == 2
    assert "degrade" in capsys.readouterr().err

