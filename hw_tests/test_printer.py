"""The printer behaviours the gateway relies on, on a real Zebra printer when one is given
(``--printer tcp://HOST:9100`` / ``usb`` / ``serial:/dev/…``), else on the virtual printer.

On a real printer these tests print 2 small labels (test_prints_and_returns_to_idle) and
pause/resume it once (test_cancel_all_while_paused); faults that need hands on the printer
(media out, head open) run on the virtual printer only.  Each real reply to ~HS, ~HQES,
~HI and ~HQOD is saved to hw_tests/fixtures/printer/<model>_<query>.bin, and
tests/test_printer_status.py parses every file there, so a capture from a new model becomes
a parser test by committing it.
"""

import os
import re
import time

import pytest

from gateway.printing import status
from gateway.printing.transports import open_printer

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "printer")
TEST_LABEL = b"^XA^LL203^FO20,20^A0N,30,30^FDudi-edge hw test %d^FS^PQ%d^XZ"


@pytest.fixture
def printer(printer_target):
    with open_printer(printer_target["uri"]) as p:
        yield p


@pytest.fixture(scope="session")
def model(printer_target):
    with open_printer(printer_target["uri"]) as p:
        reply = p.query(b"~HI", timeout=5)
    return status.parse_hi(reply)["model"] if reply else "unknown"


def capture(target, model, query, reply):
    # Real replies only: the virtual printer's are generated from the same manual text.
    if not target["real"] or reply is None:
        return
    os.makedirs(FIXTURES, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-") or "unknown"
    with open(os.path.join(FIXTURES, "%s_%s.bin" % (name, query)), "wb") as f:
        f.write(reply)


def wait_idle(printer, timeout):
    deadline = time.monotonic() + timeout
    state = status.poll(printer)
    while not state.idle and time.monotonic() < deadline:
        time.sleep(0.3)
        state = status.poll(printer)
    return state


def test_host_identification(printer, printer_target, model):
    reply = printer.query(b"~HI", timeout=5)
    assert reply is not None, "no answer to ~HI"
    capture(printer_target, model, "hi", reply)
    hi = status.parse_hi(reply)
    assert hi["dpmm"] in (6, 8, 12, 24) and hi["firmware"]


def test_host_status_is_three_framed_strings(printer, printer_target, model):
    reply = printer.query(b"~HS", timeout=5)
    if reply is None:
        pytest.skip("no answer to ~HS: the printer is probably faulted (media out, head open, ...)")
    capture(printer_target, model, "hs", reply)
    assert reply.count(b"\x02") == 3 and reply.count(b"\x03") == 3
    hs = status.parse_hs(reply)
    assert hs["label_length_dots"] > 0 and hs["format_while_printing"] is True


def test_error_status(printer, printer_target, model):
    reply = printer.query(b"~HQES", timeout=5)
    assert reply is not None, "no answer to ~HQES"
    capture(printer_target, model, "hqes", reply)
    hqes = status.parse_hqes(reply)
    assert hqes["error_flag"] == bool(hqes["errors"] or hqes["errors_group2"])


def test_odometer(printer, printer_target, model):
    reply = printer.query(b"~HQOD", timeout=5)
    if reply is None:
        pytest.skip("no answer to ~HQOD (older firmware?)")
    capture(printer_target, model, "hqod", reply)
    assert status.parse_odometer(reply)["total"] >= 0


def test_silence_is_none_not_an_error(printer):
    assert printer.query(b"~HQXX", timeout=0.5) is None  # undefined query types are ignored


def test_prints_and_returns_to_idle(printer):
    before = status.poll(printer)
    if not before.ready:
        pytest.skip("printer not ready: %s" % ", ".join(before.faults))
    count = status.label_count(printer)
    printer.send(TEST_LABEL % (1, 2))
    after = wait_idle(printer, timeout=60)
    assert after.idle and after.ready, after
    if count is not None:
        assert status.label_count(printer) - count == 2


def test_cancel_all_while_paused(printer):
    if not status.poll(printer).ready:
        pytest.skip("printer not ready")
    printer.send(b"~PP")
    try:
        printer.send(TEST_LABEL % (2, 3))
        hs = status.parse_hs(printer.query(b"~HS", timeout=5))
        assert hs["paused"] and hs["formats_in_buffer"] + (hs["labels_remaining"] > 0) >= 1
        printer.send(b"~JA")
        time.sleep(0.5)
        hs = status.parse_hs(printer.query(b"~HS", timeout=5))
        assert hs["formats_in_buffer"] == 0 and hs["labels_remaining"] == 0
    finally:
        printer.send(b"~PS")
    assert wait_idle(printer, timeout=30).ready


def test_paper_out_holds_the_job(printer, printer_target):
    vp = printer_target["sim"]
    if vp is None:
        pytest.skip("needs an operator to take the media out on a real printer")
    start = vp.labels_printed
    vp.inject("paper_out", after_labels=2)
    printer.send(TEST_LABEL % (3, 5))
    assert vp.wait_printed(start + 2, timeout=30)
    assert wait_for_fault(printer, "paper_out")
    state = status.poll(printer)
    assert state.labels_remaining == 3 and not state.ready
    vp.clear("paper_out")
    assert wait_idle(printer, timeout=30).idle
    assert vp.labels_printed == start + 5


def wait_for_fault(printer, fault, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fault in status.poll(printer, timeout=1).faults:
            return True
        time.sleep(0.1)
    return False
