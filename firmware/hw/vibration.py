# Vibration motor through a transistor on a GPIO.
import machine


class Vibration:
    def __init__(self, pin):
        self.pin = machine.Pin(pin, machine.Pin.OUT, value=0)

    def set(self, on):
        self.pin.value(1 if on else 0)
