# Millisecond ticks on MicroPython and CPython alike (the pure-logic modules
# also run under CPython for the gateway's simulators).

import time

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
    ticks_add = time.ticks_add
except AttributeError:  # CPython

    def ticks_ms():
        return int(time.monotonic() * 1000)  # type: ignore[attr-defined]  # CPython only: the stubs are MicroPython's

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b
