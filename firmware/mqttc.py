# mqttc.py - the handheld's own small, resilient MQTT 3.1.1 client (asyncio).
#
# Written from the MQTT 3.1.1 specification for this project.  Runs unmodified
# on MicroPython (ESP32, unix port) and on CPython >= 3.10.
#
#   c = MQTTClient("hh0a1b2c3d4e5f", "192.168.4.1", keepalive=30,
#                  will=("udi/v1/dev/hh../status", b'{"v":1,"state":"offline"}', 1, True),
#                  on_message=cb, on_connect=online_cb)
#   c.start()                                  # supervisor task: connect, keep connected
#   await c.wait_connected(5)
#   ok = await c.publish(topic, payload, qos=1)        # True once PUBACK arrived
#   d = await c.publish_start(topic, payload, qos=1)   # several in flight
#   ok = await d.wait(10)
#   await c.subscribe("udi/v1/dev/hh../config", 1)      # kept, renewed on every reconnect
#   await c.disconnect()
#
# Failure model (every one of them is visible in `state` / `last_error`):
# - connect: timeout, refused socket, TLS error, CONNACK refused (rc 1-5) or missing;
# - a live connection: peer close, socket error, write timeout, half-open link
#   (nothing received for `dead_s` although PINGREQs were sent), a PUBACK that does
#   not come after `max_retries` DUP retransmits, a SUBACK/UNSUBACK timeout, a
#   packet that stalls half-way (`io_timeout`), malformed or unexpected packets.
# Each of these closes the socket, fails what waits on it and reconnects after a
# capped exponential backoff with jitter.  No exception escapes the client's tasks.
#
# QoS 1 publishes: with clean=True (the default, recommended with the flash outbox)
# a publish whose PUBACK did not arrive before the connection was lost fails with
# error "connection_lost" and the caller resends it.  With clean=False the client
# keeps them and resends them with their packet ids and DUP=1 after reconnecting
# when the broker still has the session (Session Present = 1, MQTT-4.4.0-1); when
# the broker lost the session (Session Present = 0) they fail with "session_lost".
#
# Notes: DNS (getaddrinfo) blocks on MicroPython; use an IP address for the broker
# or resolve it beforehand.  On MicroPython with TLS, TCP_NODELAY cannot be set
# (the raw socket is hidden); every packet is still written with one write().

import asyncio
import struct

try:
    from time import ticks_ms, ticks_diff
except ImportError:  # CPython
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)  # type: ignore[attr-defined]  # CPython only: the stubs are MicroPython's

    def ticks_diff(a, b):  # type: ignore[no-redef]  # the CPython stand-in for time.ticks_diff
        return a - b


# Packet types (first byte, fixed flags included where they are fixed).
CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
SUBSCRIBE = 0x82
SUBACK = 0x90
UNSUBSCRIBE = 0xA2
UNSUBACK = 0xB0
PINGREQ = 0xC0
PINGRESP = 0xD0
DISCONNECT = 0xE0

# Client states.
NEW = "new"
CONNECTING = "connecting"
CONNECTED = "connected"
BACKOFF = "backoff"
NO_NETWORK = "no_network"
DISCONNECTING = "disconnecting"
STOPPED = "stopped"

# CONNACK return codes 1-5 (MQTT 3.1.1 table 3.1).
_REFUSED = (
    None,
    "refused_protocol_version",
    "refused_identifier",
    "refused_server_unavailable",
    "refused_bad_credentials",
    "refused_not_authorized",
)

_MAX_REMAINING = 268435455


def _varlen(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return out


def _put_bin(buf, data):
    buf.extend(struct.pack("!H", len(data)))
    buf.extend(data)


def _to_bytes(x):
    if isinstance(x, str):
        return x.encode()
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    raise TypeError("bytes or str expected")


def _packet(first, body):
    pkt = bytearray((first,))
    pkt.extend(_varlen(len(body)))
    pkt.extend(body)
    return pkt


def _exc_text(e):
    s = " ".join(str(e).split())  # mbedTLS messages carry newlines
    n = type(e).__name__
    return n + ": " + s if s else n


def _check_topic(topic):
    t = _to_bytes(topic)
    if not t or len(t) > 65535:
        raise ValueError("topic length")
    if b"+" in t or b"#" in t or b"\x00" in t:
        raise ValueError("wildcard or NUL in topic name")
    return t


def _check_filter(flt):
    f = _to_bytes(flt)
    if not f or len(f) > 65535 or b"\x00" in f:
        raise ValueError("topic filter length")
    levels = f.split(b"/")
    last = len(levels) - 1
    for i, lv in enumerate(levels):
        if b"#" in lv and (lv != b"#" or i != last):
            raise ValueError("'#' must be the whole last level")
        if b"+" in lv and lv != b"+":
            raise ValueError("'+' must be a whole level")
    return f


def _rand16():
    try:
        import os

        b = os.urandom(2)
        return (b[0] << 8) | b[1]
    except Exception:
        return (ticks_ms() * 7919) & 0xFFFF  # type: ignore[operator]  # a tick value as a seed, not as time


def backoff_ms(base, cap, failures):
    """Capped exponential backoff with jitter: base doubled per failure up to
    cap, then a random point in its upper half (devices that lost the same
    broker do not all come back in the same millisecond)."""
    n = failures
    while n > 0 and base < cap:
        base *= 2
        n -= 1
    if base > cap:
        base = cap
    half = base // 2
    return half + (half * _rand16()) // 65536


class Delivery:
    """One publish.  state: inflight -> acked | failed (QoS 0: sent | failed)."""

    def __init__(self, pid, pkt, order, timeout_s):
        self.pid = pid
        self.pkt = pkt  # kept until done (retransmits, resend after reconnect)
        self.order = order
        self.state = "inflight"
        self.error = None
        self.sent_at = 0
        self.retries = 0
        self._timeout_s = timeout_s
        self._evt = None  # created by the first wait(): most deliveries are never awaited while in flight

    def done(self):
        return self.state != "inflight"

    @property
    def ok(self):
        return self.state == "acked" or self.state == "sent"

    def _finish(self, state, error=None):
        if self.state == "inflight":
            self.state = state
            self.error = error
            self.pkt = None
            if self._evt is not None:
                self._evt.set()

    async def wait(self, timeout=None):
        """True once acknowledged (QoS 1) or written (QoS 0); False when failed or
        on timeout (default: the client's publish_timeout_s).  A timeout leaves the
        delivery in flight; look at .state / .error."""
        if self.state == "inflight":
            if self._evt is None:
                self._evt = asyncio.Event()
            try:
                await asyncio.wait_for(self._evt.wait(), self._timeout_s if timeout is None else timeout)
            except asyncio.TimeoutError:
                return False
        return self.ok


class _Waiter:
    def __init__(self, kind):
        self.kind = kind
        self.evt = asyncio.Event()
        self.result = None
        self.error = None

    def finish(self, result=None, error=None):
        if not self.evt.is_set():
            self.result = result
            self.error = error
            self.evt.set()


class _Conn:
    """State of one network connection; stale tasks keep a reference to their own."""

    def __init__(self, r, w):
        self.r = r
        self.w = w
        self.down = asyncio.Event()  # set on CONNACK and on failure
        self.reason = None
        self.connack = None  # (session_present, rc)
        self.accepted = False
        self.rbuf = b""
        self.partial_at = 0
        now = ticks_ms()
        self.last_recv = now
        self.last_sent = now
        self.last_ping = now
        self.tasks = []
        self.wlock = asyncio.Lock()  # one writer at a time (MicroPython Stream.drain)


class MQTTClient:
    def __init__(
        self,
        client_id,
        server,
        port=None,
        user=None,
        password=None,
        keepalive=60,
        clean=True,
        will=None,
        ssl=None,
        connect_timeout_s=5,
        io_timeout_s=5,
        retry_s=10,
        max_retries=2,
        max_inflight=8,
        max_packet=8192,
        read_chunk=512,
        publish_timeout_s=30,
        backoff_min_s=1,
        backoff_max_s=60,
        ping_s=None,
        dead_s=None,
        on_message=None,
        on_connect=None,
        on_disconnect=None,
        on_status=None,
        link_ok=None,
    ):
        cid = _to_bytes(client_id)
        if not cid and not clean:
            raise ValueError("an empty client id needs clean=True")
        if password is not None and user is None:
            raise ValueError("a password needs a user name")
        if not 0 <= keepalive <= 65535:
            raise ValueError("keepalive")
        self.client_id = cid
        self.server = server
        self.port = port or (8883 if ssl else 1883)
        self.user = user
        self.password = password
        self.keepalive = int(keepalive)
        self.clean = bool(clean)
        self.will = None
        if will:
            self.set_will(*will)
        self.ssl = ssl
        self._ssl_ctx = None
        self.connect_timeout_s = connect_timeout_s
        self.io_timeout_s = io_timeout_s
        self.retry_s = retry_s
        self.max_retries = max_retries
        self.max_inflight = max_inflight
        self.max_packet = max_packet
        self.read_chunk = read_chunk  # bytes asked of the socket per read: a block that big each time
        self.publish_timeout_s = publish_timeout_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        ka_ms = self.keepalive * 1000
        self._ping_ms = int(ping_s * 1000) if ping_s else ka_ms * 6 // 10
        self._dead_ms = int(dead_s * 1000) if dead_s else ka_ms * 12 // 10
        tick = self._ping_ms // 4 if self._ping_ms else 1000
        self._tick_ms = 100 if tick < 100 else (1000 if tick > 1000 else tick)
        self.on_message = on_message  # (topic: str, payload: bytes, retained: bool)
        self.on_connect = on_connect  # (session_present: bool)
        self.on_disconnect = on_disconnect  # (reason: str)
        self.on_status = on_status  # (state: str, last_error: str | None)
        self.link_ok = link_ok  # () -> bool, e.g. the WLAN's isconnected

        # Public status.
        self.state = NEW
        self.last_error = None  # "code" or "code: detail"
        self.error_code = None  # "code" only
        self.last_callback_error = None
        self.session_present = False
        self.next_retry_ms = 0
        self.attempts = 0
        self.connects = 0
        self.disconnects = 0
        self.tx_packets = 0
        self.rx_packets = 0
        self.retransmits = 0
        self.acked = 0
        self.failed = 0

        self._subs = {}  # filter (bytes) -> qos
        self._inflight = {}  # pid -> Delivery
        self._waiters = {}  # pid -> _Waiter (SUBACK / UNSUBACK)
        self._pid = 0
        self._order = 0
        self._conn = None
        self._task = None
        self._stopping = False
        self._up = asyncio.Event()
        self._slot = asyncio.Event()
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ API

    def set_will(self, topic, payload, qos=1, retain=True):
        """Last will for the next CONNECT (None topic clears it)."""
        if topic is None:
            self.will = None
            return
        if qos not in (0, 1, 2):
            raise ValueError("will qos")
        self.will = (_check_topic(topic), _to_bytes(payload), qos, bool(retain))

    def start(self):
        """Start the supervisor task (connect and stay connected); returns it."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run())
        return self._task

    def is_connected(self):
        return self.state == CONNECTED

    async def wait_connected(self, timeout_s):
        if self.state == CONNECTED:
            return True
        try:
            await asyncio.wait_for(self._up.wait(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return self.state == CONNECTED

    def reconnect_now(self):
        """Skip the current backoff wait (e.g. Wi-Fi just came back)."""
        self._wake.set()

    async def publish(self, topic, payload, qos=0, retain=False, timeout_s=None):
        """QoS 0: True once written.  QoS 1: True once PUBACK arrived.  False on
        any failure (not connected, connection lost, timeout); see last_error."""
        d = await self.publish_start(topic, payload, qos, retain, timeout_s)
        return await d.wait(timeout_s)

    async def publish_start(self, topic, payload, qos=1, retain=False, timeout_s=None):
        """Write one PUBLISH and return its Delivery (await d.wait()).  Waits for
        a free in-flight slot for at most timeout_s.  Never raises for network
        problems: the Delivery is then failed with an error code."""
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        t = _check_topic(topic)
        p = _to_bytes(payload)
        body = bytearray()
        _put_bin(body, t)
        at = len(body)
        if qos:
            body.extend(b"\x00\x00")
        body.extend(p)
        if len(body) > _MAX_REMAINING:
            raise ValueError("payload too large")
        pkt = _packet(PUBLISH | (qos << 1) | (1 if retain else 0), body)
        at += len(pkt) - len(body)
        del body  # not kept across the awaits below
        if timeout_s is None:
            timeout_s = self.publish_timeout_s
        self._order += 1
        c = self._conn
        if qos == 0:
            d = Delivery(0, None, self._order, timeout_s)
            if self.state != CONNECTED or c is None:
                d._finish("failed", "not_connected")
            elif await self._send(c, pkt):
                d._finish("sent")
            else:
                d._finish("failed", "connection_lost")
            return d
        d = Delivery(0, pkt, self._order, timeout_s)
        if self.state != CONNECTED:
            return self._fail_delivery(d, "not_connected")
        if len(self._inflight) >= self.max_inflight:
            t0 = ticks_ms()
            while len(self._inflight) >= self.max_inflight:
                left = timeout_s * 1000 - ticks_diff(ticks_ms(), t0)
                if left <= 0:
                    return self._fail_delivery(d, "inflight_full")
                self._slot.clear()
                try:
                    await asyncio.wait_for(self._slot.wait(), left / 1000)
                except asyncio.TimeoutError:
                    pass
            c = self._conn
            if self.state != CONNECTED:
                return self._fail_delivery(d, "not_connected")
        d.pid = pid = self._next_pid()
        pkt[at] = pid >> 8
        pkt[at + 1] = pid & 0xFF
        self._inflight[pid] = d
        d.sent_at = ticks_ms()  # type: ignore[assignment]  # ticks are ints on the VM; the stubs make them opaque
        await self._send(c, pkt)  # a failure drops the connection, which settles d
        return d

    async def subscribe(self, topic_filter, qos=1, timeout_s=None):
        """Subscribe now (True when granted) and after every reconnect.  While
        offline: False, but the subscription is kept for the next connect."""
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        f = _check_filter(topic_filter)
        self._subs[f] = qos
        c = self._conn
        if self.state != CONNECTED or c is None:
            return False
        return await self._subscribe(c, ((f, qos),), timeout_s)

    async def unsubscribe(self, topic_filter, timeout_s=None):
        f = _check_filter(topic_filter)
        self._subs.pop(f, None)
        c = self._conn
        if self.state != CONNECTED or c is None:
            return False
        body = bytearray(2)
        _put_bin(body, f)
        w = await self._request(c, UNSUBSCRIBE, body, "unsuback", timeout_s)
        return w is not None and w.error is None

    async def disconnect(self, timeout_s=None):
        """Clean shutdown: DISCONNECT (the broker then drops the will), close, stop
        reconnecting.  Publishing 'offline' first is the application's job."""
        self._stopping = True
        c = self._conn
        if c is not None and self.state == CONNECTED:
            self._set_state(DISCONNECTING)
            await self._send(c, bytes((DISCONNECT, 0)))
        if c is not None:
            self._drop(c, "disconnected")
        self._wake.set()
        task = self._task
        if task is not None and task is not asyncio.current_task():
            try:
                await asyncio.wait_for(task, timeout_s or self.connect_timeout_s + 1)
            except asyncio.TimeoutError:
                pass  # wait_for cancelled it
            except Exception:
                pass
        self._task = None
        self._set_state(STOPPED)

    # ------------------------------------------------------------ supervisor

    async def _run(self):
        failures = 0
        try:
            while not self._stopping:
                try:
                    if self.link_ok is not None and not self.link_ok():
                        self._error("no_network")
                        self._set_state(NO_NETWORK)
                        await self._pause(1000)
                        continue
                    accepted = await self._session()
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # a bug must not kill the supervisor
                    self._error("internal", _exc_text(e))
                    accepted = False
                    c = self._conn
                    if c is not None:
                        self._drop(c, "internal")
                if self._stopping:
                    break
                failures = 0 if accepted else failures + 1
                delay = self._backoff_ms(failures)
                self.next_retry_ms = delay
                self._set_state(BACKOFF, True)
                await self._pause(delay)
        finally:
            c = self._conn
            if c is not None:
                self._drop(c, "stopped")
            self._conn = None
            self._up.clear()
            self._set_state(STOPPED)

    def _backoff_ms(self, failures):
        return backoff_ms(int(self.backoff_min_s * 1000), int(self.backoff_max_s * 1000), failures)

    async def _pause(self, ms):
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), ms / 1000)
        except asyncio.TimeoutError:
            pass

    async def _session(self):
        """One connection: connect, serve until it fails.  True if CONNACK accepted."""
        self._set_state(CONNECTING)
        self.attempts += 1
        try:
            if self.ssl:
                ctx = self._ssl_context()
                sni = self.ssl.get("server_hostname") if isinstance(self.ssl, dict) else None
                opener = asyncio.open_connection(self.server, self.port, ssl=ctx, server_hostname=sni or self.server)
            else:
                opener = asyncio.open_connection(self.server, self.port)
            r, w = await asyncio.wait_for(opener, self.connect_timeout_s)
        except asyncio.TimeoutError:
            self._error("connect_timeout")
            return False
        except Exception as e:
            self._error("connect_failed", _exc_text(e))
            return False
        c = _Conn(r, w)
        self._conn = c
        _set_nodelay(w)
        if self._stopping:
            self._drop(c, "stopped")
            return False
        c.tasks.append(asyncio.create_task(self._reader(c)))
        await self._send(c, self._connect_packet())
        if c.reason is None:
            try:
                await asyncio.wait_for(c.down.wait(), self.connect_timeout_s)
            except asyncio.TimeoutError:
                self._drop(c, "connack_timeout")
        if c.reason is not None:
            # Failed before/at CONNACK: e.g. refused socket, empty/short CONNACK.
            r = c.reason
            if c.connack is None and (r == "closed_by_peer" or r.startswith("socket_error")):
                self._error("connect_failed", "before CONNACK: " + r)
            return False
        sp, rc = c.connack  # type: ignore[misc]  # set whenever c.down fired without a reason
        if rc != 0:
            self._drop(c, _REFUSED[rc] if rc < len(_REFUSED) else "refused_rc_" + str(rc))
            return False
        c.accepted = True
        c.down = asyncio.Event()
        self.session_present = bool(sp)
        c.tasks.append(asyncio.create_task(self._watchdog(c)))
        # Session state (MQTT 3.1.1 sec. 3.2.2.2, 4.4).
        if self._inflight:
            if self.clean or not sp:
                self._fail_inflight("session_lost")
            else:
                for d in sorted(self._inflight.values(), key=_order_key):
                    d.pkt[0] |= 0x08
                    d.retries = 0
                    d.sent_at = ticks_ms()
                    self.retransmits += 1
                    if not await self._send(c, d.pkt):
                        break
        sent = {}  # also catches subscribe() calls made while this runs
        while c.reason is None:
            todo = [(f, q) for f, q in self._subs.items() if sent.get(f) != q]
            if not todo:
                break
            for f, q in todo:
                sent[f] = q
            await self._subscribe(c, todo, None)
        if c.reason is not None:
            return True  # it was accepted; the caller backs off from the minimum
        self.connects += 1
        self.error_code = None
        self._set_state(CONNECTED)
        self._up.set()
        self._call(self.on_connect, bool(sp))
        await c.down.wait()  # bounded: the watchdog drops a silent connection
        return True

    def _ssl_context(self):
        if self._ssl_ctx is not None:
            return self._ssl_ctx
        cfg = self.ssl
        if hasattr(cfg, "wrap_socket"):
            ctx = cfg
        else:
            import ssl as _ssl

            if not isinstance(cfg, dict):
                cfg = {}
            ca = cfg.get("ca")
            verify = cfg.get("verify", bool(ca))
            ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
            if not verify or not cfg.get("check_hostname", True):
                try:
                    ctx.check_hostname = False  # type: ignore[attr-defined]  # CPython only (hence the try)
                except Exception:
                    pass
            # verify_mode: MicroPython's SSLContext has it (>= 1.23); the stubs lack it
            ctx.verify_mode = _ssl.CERT_REQUIRED if verify else _ssl.CERT_NONE  # type: ignore[attr-defined]
            mp = _is_micropython()
            if ca:
                if mp:  # MicroPython's ssl takes DER only
                    ctx.load_verify_locations(cadata=_der(ca))
                else:
                    ctx.load_verify_locations(cafile=ca)
            if cfg.get("cert"):
                if mp:
                    ctx.load_cert_chain(_der(cfg["cert"]), _der(cfg["key"]))
                else:
                    ctx.load_cert_chain(cfg["cert"], cfg.get("key"))
        self._ssl_ctx = ctx
        return ctx

    def _connect_packet(self):
        flags = 0x02 if self.clean else 0
        body = bytearray(b"\x00\x04MQTT\x04\x00")
        body.extend(struct.pack("!H", self.keepalive))
        _put_bin(body, self.client_id)
        if self.will:
            wt, wp, wq, wr = self.will
            flags |= 0x04 | (wq << 3) | (0x20 if wr else 0)
            _put_bin(body, wt)
            _put_bin(body, wp)
        if self.user is not None:
            flags |= 0x80
            _put_bin(body, _to_bytes(self.user))
        if self.password is not None:
            flags |= 0x40
            _put_bin(body, _to_bytes(self.password))
        body[7] = flags
        return _packet(CONNECT, body)

    # ------------------------------------------------------- connection tasks

    def _drop(self, c, reason):
        """Close connection c for `reason` (first reason wins); settle waiters.
        Synchronous and idempotent."""
        if c.reason is not None:
            return
        if self._stopping and reason != "stopped":
            reason = "disconnected"  # e.g. the broker's close right after our DISCONNECT
        c.reason = reason
        if reason != "disconnected" and reason != "stopped":
            self._error(reason)
        c.down.set()
        me = asyncio.current_task()
        for t in c.tasks:
            if t is not me:
                t.cancel()
        _hard_close(c.w)
        for w in self._waiters.values():
            w.finish(None, "connection_lost")
        self._waiters = {}
        if self.clean or self._stopping:
            self._fail_inflight("connection_lost" if not self._stopping else "stopped")
        else:
            for d in self._inflight.values():
                d.retries = 0
        if self._conn is c:
            self._conn = None
        self._up.clear()
        if c.accepted:
            self.disconnects += 1
            if self.state != DISCONNECTING and self.state != STOPPED:
                self.state = BACKOFF  # announced by the supervisor with its retry delay
            self._call(self.on_disconnect, reason)

    async def _send(self, c, pkt):
        """Write one whole packet with one write(); False (and the connection
        dropped) on failure."""
        if c.reason is not None:
            return False
        try:
            async with c.wlock:
                if c.reason is not None:
                    return False
                c.w.write(pkt)
                await asyncio.wait_for(c.w.drain(), self.io_timeout_s)
        except asyncio.TimeoutError:
            self._drop(c, "write_timeout")
            return False
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._drop(c, "socket_error: " + _exc_text(e))
            return False
        c.last_sent = ticks_ms()
        self.tx_packets += 1
        return True

    async def _reader(self, c):
        try:
            while c.reason is None:
                data = await c.r.read(self.read_chunk)
                if not data:
                    self._drop(c, "closed_by_peer")
                    return
                c.last_recv = ticks_ms()
                buf = c.rbuf + data if c.rbuf else data
                n = len(buf)
                i = 0
                while n - i >= 2:
                    # Remaining length: 1-4 bytes, 7 bits each (sec. 2.2.3).
                    rl = 0
                    mult = 1
                    j = i + 1
                    while True:
                        if j >= n:
                            rl = -1
                            break
                        b = buf[j]
                        j += 1
                        rl += (b & 0x7F) * mult
                        if not b & 0x80:
                            break
                        if j - i > 4:
                            self._drop(c, "malformed: remaining length longer than 4 bytes")
                            return
                        mult *= 128
                    if rl < 0:
                        break
                    if rl > self.max_packet:
                        self._drop(c, "packet_too_large: %d bytes" % rl)
                        return
                    end = j + rl
                    if end > n:
                        break
                    self.rx_packets += 1
                    await self._handle(c, buf[i], buf[j:end])
                    if c.reason is not None:
                        return
                    i = end
                c.rbuf = buf[i:] if i < n else b""
                if c.rbuf:
                    if not c.partial_at:
                        c.partial_at = c.last_recv or 1
                else:
                    c.partial_at = 0
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._drop(c, "socket_error: " + _exc_text(e))

    async def _handle(self, c, first, body):
        kind = first & 0xF0
        flags = first & 0x0F
        n = len(body)
        if c.connack is None:
            if first != CONNACK:
                self._drop(c, "protocol: first packet is not CONNACK (0x%02x)" % first)
            elif n != 2 or body[0] & 0xFE or (body[1] and body[0]):
                self._drop(c, "malformed: CONNACK")
            else:
                c.connack = (body[0] & 1, body[1])
                c.down.set()
            return
        if kind == PUBLISH:
            await self._on_publish(c, flags, body)
            return
        if kind != 0 and flags:
            self._drop(c, "malformed: reserved flags 0x%02x" % first)
        elif first == PUBACK:
            if n != 2:
                self._drop(c, "malformed: PUBACK")
                return
            d = self._inflight.pop((body[0] << 8) | body[1], None)
            if d is not None:
                self.acked += 1
                d._finish("acked")
                self._slot.set()
        elif first == PINGRESP:
            if n:
                self._drop(c, "malformed: PINGRESP")
        elif first == SUBACK or first == UNSUBACK:
            if n < 2 or (first == SUBACK and n < 3) or (first == UNSUBACK and n != 2):
                self._drop(c, "malformed: SUBACK/UNSUBACK")
                return
            w = self._waiters.pop((body[0] << 8) | body[1], None)
            if w is not None:
                if (first == SUBACK) != (w.kind == "suback"):
                    self._drop(c, "protocol: SUBACK/UNSUBACK mismatch")
                    return
                w.finish(body[2:])
        else:
            self._drop(c, "protocol: unexpected packet 0x%02x" % first)

    async def _on_publish(self, c, flags, body):
        qos = (flags >> 1) & 3
        if qos == 3:
            self._drop(c, "malformed: PUBLISH qos 3")
            return
        if qos == 2:
            self._drop(c, "protocol: PUBLISH qos 2 not supported")
            return
        n = len(body)
        if n < 2:
            self._drop(c, "malformed: PUBLISH")
            return
        pos = 2 + ((body[0] << 8) | body[1])
        if pos == 2 or pos + (2 if qos else 0) > n:
            self._drop(c, "malformed: PUBLISH topic")
            return
        try:
            topic = body[2:pos].decode()
        except Exception:
            self._drop(c, "malformed: PUBLISH topic not UTF-8")
            return
        pid = 0
        if qos:
            pid = (body[pos] << 8) | body[pos + 1]
            pos += 2
            if not pid:
                self._drop(c, "malformed: PUBLISH packet id 0")
                return
        self._call(self.on_message, topic, body[pos:], bool(flags & 1))
        if qos:
            await self._send(c, bytes((PUBACK, 2, pid >> 8, pid & 0xFF)))

    async def _watchdog(self, c):
        try:
            while c.reason is None:
                await asyncio.sleep(self._tick_ms / 1000)
                if c.reason is not None:
                    return
                now = ticks_ms()
                if c.partial_at and ticks_diff(now, c.partial_at) > self.io_timeout_s * 1000:
                    self._drop(c, "read_timeout: packet incomplete")
                    return
                if self._ping_ms:
                    idle_rx = ticks_diff(now, c.last_recv)
                    if idle_rx >= self._dead_ms:
                        self._drop(c, "keepalive_timeout")
                        return
                    if ticks_diff(now, c.last_sent) >= self._ping_ms or (
                        idle_rx >= self._ping_ms and ticks_diff(now, c.last_ping) >= self._ping_ms
                    ):
                        c.last_ping = now
                        if not await self._send(c, bytes((PINGREQ, 0))):
                            return
                if self._inflight:
                    retry_ms = int(self.retry_s * 1000)
                    for d in list(self._inflight.values()):
                        if d.pkt is None or ticks_diff(now, d.sent_at) < retry_ms:
                            continue
                        if d.retries >= self.max_retries:
                            self._drop(c, "puback_timeout")
                            return
                        d.retries += 1
                        d.pkt[0] |= 0x08  # DUP
                        d.sent_at = now
                        self.retransmits += 1
                        if not await self._send(c, d.pkt):
                            return
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._drop(c, "internal: " + _exc_text(e))

    async def _subscribe(self, c, items, timeout_s):
        body = bytearray(2)
        for f, q in items:
            _put_bin(body, f)
            body.append(q)
        w = await self._request(c, SUBSCRIBE, body, "suback", timeout_s)
        if w is None or w.error is not None:
            return False
        codes = w.result
        if len(codes) != len(items):
            self._drop(c, "protocol: SUBACK count")
            return False
        ok = True
        for k in range(len(items)):
            rc = codes[k]
            if rc == 0x80:
                ok = False
                self._subs.pop(items[k][0], None)
                self._error("subscribe_refused", items[k][0].decode())
            elif rc > 2:
                self._drop(c, "malformed: SUBACK code 0x%02x" % rc)
                return False
        return ok

    async def _request(self, c, first, body, kind, timeout_s):
        pid = self._next_pid()
        body[0] = pid >> 8
        body[1] = pid & 0xFF
        w = _Waiter(kind)
        self._waiters[pid] = w
        if not await self._send(c, _packet(first, body)):
            self._waiters.pop(pid, None)
            return None
        try:
            await asyncio.wait_for(w.evt.wait(), timeout_s or self.io_timeout_s)
        except asyncio.TimeoutError:
            self._waiters.pop(pid, None)
            self._drop(c, kind + "_timeout")
            return None
        return w

    # --------------------------------------------------------------- helpers

    def _next_pid(self):
        while True:
            self._pid = self._pid % 65535 + 1
            if self._pid not in self._inflight and self._pid not in self._waiters:
                return self._pid

    def _fail_delivery(self, d, error):
        self.failed += 1
        d._finish("failed", error)
        return d

    def _fail_inflight(self, error):
        if not self._inflight:
            return
        ds = self._inflight
        self._inflight = {}
        for d in ds.values():
            self._fail_delivery(d, error)
        self._slot.set()

    def _error(self, code, detail=None):
        self.error_code = code.split(":")[0]
        self.last_error = code + ": " + detail if detail else code

    def _set_state(self, state, always=False):
        if always or state != self.state:
            self.state = state
            self._call(self.on_status, state, self.last_error)

    def _call(self, cb, *args):
        if cb is None:
            return
        try:
            r = cb(*args)
            if r is not None and hasattr(r, "send"):
                asyncio.create_task(self._guard(r))
        except Exception as e:
            self.last_callback_error = _exc_text(e)

    async def _guard(self, coro):
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.last_callback_error = _exc_text(e)


def _is_micropython():
    import sys

    return sys.implementation.name == "micropython"


def _der(path):
    """File contents as DER: the first PEM block decoded, or the bytes as they are."""
    import binascii

    with open(path, "rb") as f:
        data = f.read()
    start = data.find(b"-----BEGIN")
    if start < 0:
        return data
    start = data.find(b"\n", start) + 1
    end = data.find(b"-----END", start)
    if start <= 0 or end < 0:
        raise ValueError("bad PEM file " + path)
    return binascii.a2b_base64(data[start:end].replace(b"\n", b"").replace(b"\r", b""))


def _order_key(d):
    return d.order


def _set_nodelay(w):
    s = None
    try:
        s = w.get_extra_info("socket")  # CPython
    except Exception:
        pass
    if s is None:
        s = getattr(w, "s", None)  # MicroPython Stream
    if s is None:
        return
    try:
        s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
    except Exception:
        pass


def _hard_close(w):
    try:
        t = getattr(w, "transport", None)
        if t is not None:
            t.abort()  # CPython: do not wait to flush to a dead peer
        else:
            w.s.close()  # MicroPython: Stream.close() is a no-op
    except Exception:
        pass
    try:
        w.close()
    except Exception:
        pass
