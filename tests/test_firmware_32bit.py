"""The firmware on a 32-bit MicroPython VM: the WebAssembly port (npm) under
Node has the ESP32's word size, where the unix port is 64-bit.  The real
firmware boots from its ROMFS image as main.py does, connects to a real
broker through Node's sockets, and the gateway's ingest answers every scan
(bench/firmware.py takes its 32-bit heap figures from the same run)."""

import shutil

import pytest
from micropython_vm import binary

from bench import firmware as bench
from gateway.broker import EmbeddedBroker, find_mosquitto
from gateway.ingest import Ingest
from gateway.store import Store

pytestmark = pytest.mark.skipif(
    binary() is None or find_mosquitto() is None or shutil.which("node") is None or shutil.which("npm") is None,
    reason="needs the MicroPython VM (for the build), mosquitto, node and npm",
)


def test_firmware_boots_and_delivers_on_a_32_bit_vm(tmp_path):
    broker = EmbeddedBroker(str(tmp_path), 0).start()
    ingest = Ingest(Store("sqlite:///" + str(tmp_path / "gw.sqlite")), "127.0.0.1", broker.port).start()
    try:
        r = bench.run_32bit(broker.port, "100K")
    finally:
        ingest.stop()
        broker.stop()
    assert "error_32bit" not in r, r
    assert r["maxsize_32bit"] == 2**31 - 1  # a 32-bit VM, not the unix port's 64 bits
    assert r["connected_32bit"] is True
    assert r["undelivered_32bit"] == 0  # every scan answered by the gateway within 5 s
    assert r["asyncio_before_32bit"] is False  # asyncio counts in the heap figure
    # The figure is the heap the firmware holds: a running handheld holds at
    # least its engine and MQTT client, and never more than the VM gave it.
    assert 0 < r["heap_after_boot_32bit_bytes"] < 100 * 1024


def test_without_node_the_benchmark_reports_why_and_goes_on(monkeypatch):
    # The 32-bit run is an addition to the unix figures: with no node on the
    # PATH it returns the reason in the JSON instead of failing the benchmark.
    monkeypatch.setenv("PATH", "/nonexistent")
    r = bench.run_32bit(1, "100K")
    assert set(r) == {"error_32bit"}
    assert "'node'" in r["error_32bit"] or "'npm'" in r["error_32bit"]  # the program it could not find
