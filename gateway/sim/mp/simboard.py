# A simulated handheld board for the MicroPython VM: the scan engine's UART
# is an in-memory byte queue the simulator writes scans into; buzzer, LED
# and vibration record what they were told.  No machine/network imports.


class SimUART:
    def __init__(self):
        self.rx = bytearray()
        self.tx = bytearray()

    def inject(self, data):
        self.rx.extend(data)

    def any(self):
        return len(self.rx)

    def read(self, n=-1):
        if not self.rx:
            return None
        if n is None or n < 0 or n > len(self.rx):
            n = len(self.rx)
        out = bytes(self.rx[:n])
        self.rx = self.rx[n:]
        return out

    def write(self, data):
        self.tx.extend(data)
        return len(data)


class Recorder:
    def __init__(self):
        self.last = None
        self.changes = 0

    def tone(self, hz):
        self._set(hz)

    def colour(self, rgb):
        self._set(rgb)

    def set(self, on):
        self._set(on)

    def _set(self, v):
        if v != self.last:
            self.changes += 1
        self.last = v


class SimBuzzer(Recorder):
    # Records tones like the other parts, and the volume it was set to.
    def __init__(self):
        super().__init__()
        self.volume = None

    def set_volume(self, volume):
        self.volume = volume


class SimBattery:
    def millivolts(self):
        return 3900


class SimWifi:
    def __init__(self):
        self.up = True

    def connected(self):
        return self.up

    def rssi(self):
        return -55


class SimBoard:
    def __init__(self, device_id):
        self.uart = SimUART()
        self.trigger = None
        self.buzzer = SimBuzzer()
        self.led = Recorder()
        self.vibration = Recorder()
        self.battery = SimBattery()
        self.wifi = SimWifi()
        self.watchdog = None
        self._id = device_id
        self.resets = 0

    def device_id(self):
        return self._id

    def reset_cause(self):
        return "power_on"

    def reset(self):
        self.resets += 1
