# Battery voltage through a resistor divider on an ADC pin.
import machine


class Battery:
    def __init__(self, pin, divider=2.0):
        self.adc = machine.ADC(machine.Pin(pin))
        try:
            self.adc.atten(machine.ADC.ATTN_11DB)
        except AttributeError:
            pass
        self.divider = divider

    def millivolts(self):
        return int(self.adc.read_uv() * self.divider / 1000)
