"""A small TCP proxy that injects network faults between an MQTT client and
the broker (CPython, one background thread, selectors).

Modes, switchable at any time from the test with ``set_mode``:

- ``pass``:   forward both ways.
- ``freeze``: half-open link.  Nothing is forwarded any more in either
  direction, but every socket stays open, so neither side sees a FIN or RST.
  Connections that were frozen stay dead after the mode changes (like a real
  link that lost its state); connections accepted while frozen are kept open
  and never connected upstream.
- ``reset``:  abort every connection on both sides (RST) now, and RST every new
  connection while the mode lasts.
- ``refuse``: close the listening socket, so new connections are refused
  (ECONNREFUSED); existing connections are left alone.  Leaving ``refuse``
  listens again on the same port.

    with FaultProxy(broker_port) as px:
        client connects to ("127.0.0.1", px.port)
        px.set_mode("freeze"); ...; px.set_mode("pass")
"""

import selectors
import socket
import struct
import threading

MODES = ("pass", "freeze", "reset", "refuse")


def _rst_close(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


class _Pair:
    def __init__(self, down, up):
        self.down = down  # client side
        self.up = up  # broker side (None while frozen from the start)
        self.frozen = False
        self.out = {}  # socket -> bytes pending to write to it


class FaultProxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1", port=0):
        self.upstream = (upstream_host, upstream_port)
        self.mode = "pass"
        self.accepted = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self._lock = threading.Lock()
        self._sel = selectors.DefaultSelector()
        self._pairs = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._listener = None
        self.port = port
        self._listen()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="fault-proxy", daemon=True)
        self._thread.start()

    # -- control (any thread) -------------------------------------------

    def set_mode(self, mode):
        if mode not in MODES:
            raise ValueError(mode)
        with self._lock:
            self._pending_mode = mode
        self._wake_w.send(b"m")
        # Wait until the proxy thread applied it, so the test's timing holds.
        for _ in range(200):
            if self.mode == mode:
                return
            threading.Event().wait(0.01)
        raise RuntimeError("fault proxy did not switch to " + mode)

    def connections(self):
        return len(self._pairs)

    def close(self):
        self._stop = True
        self._wake_w.send(b"x")
        self._thread.join(5)
        for p in list(self._pairs):
            self._drop(p, rst=False)
        if self._listener is not None:
            self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._sel.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    # -- proxy thread ----------------------------------------------------

    def _listen(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(16)
        ls.setblocking(False)
        self.port = ls.getsockname()[1]
        self._listener = ls
        self._sel.register(ls, selectors.EVENT_READ, ("listen", None))

    def _unlisten(self):
        if self._listener is not None:
            self._sel.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _apply(self, mode):
        old = self.mode
        if mode == "refuse":
            self._unlisten()
        elif self._listener is None:
            self._listen()
        if mode == "freeze":
            for p in self._pairs:
                self._freeze(p)
        if mode == "reset":
            for p in list(self._pairs):
                self._drop(p, rst=True)
        self.mode = mode
        return old

    def _freeze(self, p):
        p.frozen = True
        p.out = {}
        for s in (p.down, p.up):
            if s is not None:
                try:
                    self._sel.unregister(s)
                except (KeyError, ValueError):
                    pass

    def _drop(self, p, rst):
        if p in self._pairs:
            self._pairs.remove(p)
        for s in (p.down, p.up):
            if s is None:
                continue
            try:
                self._sel.unregister(s)
            except (KeyError, ValueError):
                pass
            if rst:
                _rst_close(s)
            else:
                try:
                    s.close()
                except OSError:
                    pass

    def _interest(self, p, s):
        if p.frozen or s is None:
            return
        ev = selectors.EVENT_READ
        if p.out.get(s):
            ev |= selectors.EVENT_WRITE
        try:
            self._sel.modify(s, ev, ("conn", p))
        except KeyError:
            self._sel.register(s, ev, ("conn", p))

    def _accept(self):
        try:
            down, _ = self._listener.accept()
        except OSError:
            return
        self.accepted += 1
        if self.mode == "reset":
            _rst_close(down)
            return
        down.setblocking(False)
        if self.mode == "freeze":
            p = _Pair(down, None)
            p.frozen = True
            self._pairs.append(p)
            return
        try:
            up = socket.create_connection(self.upstream, timeout=2)
        except OSError:
            down.close()  # broker down: like a connection the broker closed
            return
        up.setblocking(False)
        for s in (down, up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        p = _Pair(down, up)
        self._pairs.append(p)
        self._interest(p, down)
        self._interest(p, up)

    def _on_conn(self, p, s, ev):
        if p.frozen or p not in self._pairs:
            return
        other = p.up if s is p.down else p.down
        if ev & selectors.EVENT_WRITE:
            data = p.out.get(s, b"")
            try:
                n = s.send(data)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self._drop(p, rst=True)
                return
            p.out[s] = data[n:]
            self._interest(p, s)
        if ev & selectors.EVENT_READ:
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop(p, rst=True)
                return
            if not data:
                # Orderly close on one side: close the other side too.
                pending = p.out.get(other)
                if pending:
                    try:
                        other.setblocking(True)
                        other.settimeout(1)
                        other.sendall(pending)
                    except OSError:
                        pass
                self._drop(p, rst=False)
                return
            if s is p.down:
                self.bytes_up += len(data)
            else:
                self.bytes_down += len(data)
            p.out[other] = p.out.get(other, b"") + data
            self._interest(p, other)

    def _loop(self):
        while not self._stop:
            for key, ev in self._sel.select(0.5):
                kind, p = key.data
                if kind == "wake":
                    try:
                        self._wake_r.recv(64)
                    except OSError:
                        pass
                    with self._lock:
                        mode = getattr(self, "_pending_mode", None)
                        self._pending_mode = None
                    if mode is not None:
                        self._apply(mode)
                elif kind == "listen":
                    if self._listener is not None:
                        self._accept()
                else:
                    self._on_conn(p, key.fileobj, ev)
