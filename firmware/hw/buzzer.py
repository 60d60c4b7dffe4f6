# Piezo buzzer on a PWM pin.  Its loudness (0-100 %) may change at any time:
# the gateway pushes it with the handheld's settings.
import machine


class Buzzer:
    def __init__(self, pin, volume=50):
        self.pwm = machine.PWM(machine.Pin(pin), freq=2000, duty_u16=0)
        self.hz = 0
        self.set_volume(volume)

    def set_volume(self, volume):
        # 0-100 % -> 16-bit PWM duty; 50 % duty (a square wave) is the loudest
        # a piezo gets.  A tone that is sounding changes at once.
        self.duty = 32768 * max(0, min(100, int(volume))) // 100
        if self.hz:
            self.pwm.duty_u16(self.duty)

    def tone(self, hz):
        self.hz = hz
        if hz:
            self.pwm.freq(hz)
            self.pwm.duty_u16(self.duty)
        else:
            self.pwm.duty_u16(0)
