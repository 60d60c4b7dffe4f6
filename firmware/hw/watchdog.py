# Hardware watchdog: once started it cannot be stopped; the supervisor feeds
# it only while every task makes progress.
import machine


class Watchdog:
    def __init__(self, timeout_ms):
        self.wdt = machine.WDT(timeout=max(1000, timeout_ms))

    def feed(self):
        self.wdt.feed()
