"""A machine.UART stand-in backed by a TCP connection (to gateway/sim/scan_engine.py).

Non-blocking like a UART opened with timeout=0: read(n) returns what is there (at most n
bytes) or None, any() the number of bytes waiting, write(b) the number of bytes sent.
Runs on the MicroPython unix port and on CPython.  One instance per simulated engine; no
module-level state.
"""

import socket

try:
    import select
except ImportError:  # pragma: no cover
    select = None

_EAGAIN = (11, 35)  # Linux, BSD/macOS


class SocketUART:
    def __init__(self, host="127.0.0.1", port=0, connect_timeout_ms=2000):
        ai = socket.getaddrinfo(host, port)[0]
        s = socket.socket(ai[0], socket.SOCK_STREAM)
        try:
            s.settimeout(connect_timeout_ms / 1000)
        except (AttributeError, OSError):
            pass
        s.connect(ai[-1])
        try:
            s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY: small frames go out at once
        except (OSError, AttributeError):
            pass
        s.setblocking(False)
        self._s = s
        self._rx = bytearray()
        self.closed = False
        self._poll = None
        if select is not None and hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(s, select.POLLOUT)

    def _fill(self):
        if self.closed:
            return
        for _ in range(16):
            try:
                d = self._s.recv(1024)
            except OSError as e:
                if e.args and e.args[0] in _EAGAIN:
                    return
                self.closed = True
                return
            if d is None:
                return
            if not d:
                self.closed = True
                return
            self._rx.extend(d)
            if len(d) < 1024:
                return

    def any(self):
        self._fill()
        return len(self._rx)

    def read(self, n=-1):
        self._fill()
        if not self._rx:
            return None
        if n is None or n < 0 or n >= len(self._rx):
            out = bytes(self._rx)
            self._rx[0:] = b""
        else:
            out = bytes(self._rx[0:n])
            self._rx[0:n] = b""
        return out

    def readinto(self, buf, n=-1):
        data = self.read(len(buf) if n is None or n < 0 else min(n, len(buf)))
        if not data:
            return None
        buf[0 : len(data)] = data
        return len(data)

    def write(self, data):
        if self.closed:
            raise OSError(32)  # EPIPE
        mv = memoryview(data)
        sent = 0
        tries = 0
        while sent < len(data) and tries < 100:
            try:
                n = self._s.send(mv[sent:])
            except OSError as e:
                if not (e.args and e.args[0] in _EAGAIN):
                    raise
                n = 0
            if n:
                sent += n
            else:
                tries += 1
                if self._poll is not None:
                    self._poll.poll(10)
        return sent

    def close(self):
        self.closed = True
        try:
            self._s.close()
        except OSError:
            pass
