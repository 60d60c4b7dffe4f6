"""Hardware-in-the-loop tests: the same checks as the simulator tests, run on
a real handheld (ESP32 on a serial port) or a real printer when one is given.
Handheld tests are skipped without --esp32; printer tests run against the virtual
printer (gateway/sim/printer.py) without --printer.

    .venv/bin/python -m pytest hw_tests --esp32 /dev/ttyUSB0
    .venv/bin/python -m pytest hw_tests/test_printer.py --printer tcp://10.0.0.7:9100
    .venv/bin/python -m pytest hw_tests/test_printer.py --printer usb      # or usb:SERIAL, serial:/dev/ttyUSB0?baud=9600
"""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))


def pytest_addoption(parser):
    parser.addoption("--esp32", default=None, help="serial port of a handheld (ESP32 with MicroPython >= 1.25)")
    parser.addoption("--printer", default=None,
                     help="a real Zebra printer: tcp://HOST[:9100], usb[:SERIAL] or serial:/dev/ttyUSB0[?baud=9600] "
                          "(default: the virtual printer)")


@pytest.fixture(scope="session")
def esp32(request):
    port = request.config.getoption("--esp32")
    if not port:
        pytest.skip("no handheld given (--esp32 /dev/ttyUSB0)")
    return port


@pytest.fixture(scope="session")
def printer_target(request):
    # {"uri", "real", "sim"}: the printer given with --printer, else a virtual one.
    uri = request.config.getoption("--printer")
    if uri:
        yield {"uri": uri, "real": True, "sim": None}
        return
    from gateway.sim.printer import VirtualPrinter

    vp = VirtualPrinter(port=0, ips=50.0).start()
    yield {"uri": vp.uri, "real": False, "sim": vp}
    vp.stop()
