# The handheld's own trigger button (active low), debounced, with long press.
import machine

from timebase import ticks_diff

DEBOUNCE_MS = 25


class Trigger:
    def __init__(self, pin, long_press_ms=1500):
        self.pin = machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP)
        self.long_ms = long_press_ms
        self.down = False
        self.since = 0
        self.long_sent = False

    def poll(self, now_ms):
        # -> "press", "release", "long" or None
        pressed = self.pin.value() == 0
        if pressed != self.down and ticks_diff(now_ms, self.since) >= DEBOUNCE_MS:
            self.down = pressed
            self.since = now_ms
            self.long_sent = False
            return "press" if pressed else "release"
        if self.down and not self.long_sent and ticks_diff(now_ms, self.since) >= self.long_ms:
            self.long_sent = True
            return "long"
        return None
