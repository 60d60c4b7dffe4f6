"""Hardware-in-the-loop tests: the same checks as the simulator tests, run on
a real handheld (ESP32 on a serial port) or a real printer when one is given,
skipped otherwise.

    .venv/bin/python -m pytest hw_tests --esp32 /dev/ttyUSB0
"""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))


def pytest_addoption(parser):
    parser.addoption("--esp32", default=None, help="serial port of a handheld (ESP32 with MicroPython >= 1.25)")


@pytest.fixture(scope="session")
def esp32(request):
    port = request.config.getoption("--esp32")
    if not port:
        pytest.skip("no handheld given (--esp32 /dev/ttyUSB0)")
    return port
