# Piezo buzzer on a PWM pin.
import machine


class Buzzer:
    def __init__(self, pin, volume=50):
        self.pwm = machine.PWM(machine.Pin(pin), freq=2000, duty_u16=0)
        self.duty = int(32768 * max(0, min(100, volume)) / 100)

    def tone(self, hz):
        if hz:
            self.pwm.freq(hz)
            self.pwm.duty_u16(self.duty)
        else:
            self.pwm.duty_u16(0)
