# Time on the handheld: a boot counter persisted on flash (part of every
# scan's identity), uptime, and wall-clock time from SNTP against the
# gateway.  Without time a scan still carries boot + uptime.

import struct

from timebase import ticks_diff, ticks_ms

NTP_TO_UNIX = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def next_boot(path="boot.count"):
    # Read, increment and persist the boot counter (temp file + rename).
    import os

    n = 0
    try:
        with open(path) as f:
            n = int(f.read().strip() or "0")
    except (OSError, ValueError):
        n = 0
    n += 1
    with open(path + ".tmp", "w") as f:
        f.write(str(n))
    os.rename(path + ".tmp", path)
    return n


class Clock:
    def __init__(self, boot):
        self.boot = boot
        self.t0 = ticks_ms()
        self.offset = None  # unix seconds at t0, once synchronised

    def uptime_ms(self):
        return ticks_diff(ticks_ms(), self.t0)

    def now(self):
        if self.offset is None:
            return None
        return self.offset + self.uptime_ms() // 1000

    def set_unix(self, unix_s):
        self.offset = int(unix_s) - self.uptime_ms() // 1000

    def sntp(self, host, port=123, timeout_s=1.0):
        # One SNTP request (RFC 4330, client mode 3); True when the clock was set.
        import socket

        if not host:
            return False
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout_s)
            addr = socket.getaddrinfo(host, port)[0][-1]
            pkt = bytearray(48)
            pkt[0] = 0x1B  # LI 0, version 3, mode 3
            s.sendto(pkt, addr)
            data = s.recv(48)
            if len(data) < 48:
                return False
            secs = struct.unpack("!I", data[40:44])[0]
            if secs == 0:
                return False
            self.set_unix(secs - NTP_TO_UNIX)
            return True
        except OSError:
            return False
        finally:
            s.close()
