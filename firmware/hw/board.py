# The real handheld: every part built from the pin map in the settings.
import machine

from hw.battery import Battery
from hw.buzzer import Buzzer
from hw.led import Led
from hw.trigger import Trigger
from hw.uart import open_uart
from hw.vibration import Vibration
from hw.watchdog import Watchdog
from hw.wifi import Wifi

RESET_CAUSES = {
    getattr(machine, "PWRON_RESET", -1): "power_on",
    getattr(machine, "HARD_RESET", -2): "hard",
    getattr(machine, "WDT_RESET", -3): "watchdog",
    getattr(machine, "DEEPSLEEP_RESET", -4): "deepsleep",
    getattr(machine, "SOFT_RESET", -5): "soft",
}


class Board:
    def __init__(self, s):
        pins = s["pins"]
        self.uart = open_uart(s["engine"])
        self.trigger = Trigger(pins["trigger"], s.get("long_press_ms", 1500))
        self.buzzer = Buzzer(pins["buzzer"], s.get("feedback", {}).get("volume", 50))
        self.led = Led(pins["led_r"], pins["led_g"], pins["led_b"])
        self.vibration = Vibration(pins["vibration"]) if pins.get("vibration") is not None else None
        self.battery = Battery(pins["battery_adc"], s["battery"]["divider"]) if pins.get("battery_adc") is not None else None
        self.wifi = Wifi(s["wifi"]["ssid"], s["wifi"]["password"])
        self.watchdog = None  # started by the supervisor once the app is up

    def start_watchdog(self, ms):
        self.watchdog = Watchdog(ms)

    def device_id(self):
        import binascii

        return "hh" + binascii.hexlify(machine.unique_id()).decode()

    def reset_cause(self):
        return RESET_CAUSES.get(machine.reset_cause(), "unknown")

    def reset(self):
        machine.reset()
