# RGB LED (common cathode) on three PWM pins.
import machine


class Led:
    def __init__(self, r, g, b):
        self.pwms = [machine.PWM(machine.Pin(p), freq=1000, duty_u16=0) for p in (r, g, b)]

    def colour(self, rgb):
        for pwm, v in zip(self.pwms, rgb):
            pwm.duty_u16(v * 257)
