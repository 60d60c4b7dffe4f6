"""Scan-engine driver base and the generic UART line driver.

Every engine driver has the same synchronous, non-blocking interface; the app
calls ``poll(now_ms)`` every few ms from an asyncio task:

    eng = LineEngine(uart, cfg)   # uart: read(n)->bytes|None, write(b)->int, any()->int
    eng.begin(now_ms)             # start the boot configuration (completion is seen in poll)
    eng.trigger(pressed, now_ms)  # host trigger on button press / release
    events = eng.poll(now_ms)     # ("scan", raw_bytes) | ("error", code, detail)
    eng.state                     # "starting" | "ok" | "silent" | "error"

``poll`` reads only what the UART already holds and never raises: an
unexpected exception becomes ("error", "internal", text).  It returns a list,
or the shared empty tuple when there is nothing to report.

Error codes shared by all drivers (detail in brackets):
  frame_too_long (bytes seen)    a frame/message over cfg max_len; dropped up to the next terminator
  frame_timeout  (bytes dropped) a partial frame saw no new byte for cfg frame_ms; dropped
  noise          (bytes dropped) bytes that belong to no frame; skipped to resync
  no_aim         (raw bytes)     a complete scan without the "]cm" AIM prefix while require_aim is on
  silent         (what)          no reply to a command after cfg retries; state -> "silent",
                                 begin() is retried every cfg retry_ms (and at once when the
                                 engine is heard again); the state stays "silent" during the
                                 retries and one event is sent per outage
  not_ready      (state)         trigger() while the engine is not "ok"
  uart           (text)          the UART read/write raised OSError
  internal       (text)          a bug; poll() never lets an exception escape
Driver specific codes are listed in gm65.py and ssi.py.

Raw scan bytes are kept as bytes: GS (0x1D), other control characters and
non-UTF-8 bytes are passed through untouched.
"""

try:
    from time import ticks_diff
except ImportError:  # CPython: plain millisecond counters, same wrap rule as MicroPython

    def ticks_diff(a, b):  # type: ignore[no-redef]  # the CPython stand-in for time.ticks_diff
        return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000


_NONE = ()
_CRLF = (13, 10)


def _get(cfg, key, default):
    v = cfg.get(key) if cfg else None
    return default if v is None else v


class EngineBase:
    """Shared machinery: event list, UART I/O, command/reply timing, silent
    detection and the periodic re-begin.  Subclasses provide ``_parse(now)``,
    ``_begin_steps()``, ``_step_frame(name)`` and ``_trigger_frame(pressed)``."""

    kind = "base"

    def __init__(self, uart, cfg=None):
        cfg = cfg or {}
        self.uart = uart
        self.cfg = cfg
        self.state = "starting"
        self.max_len = int(_get(cfg, "max_len", 1024))
        self.frame_ms = int(_get(cfg, "frame_ms", 200))
        self.reply_ms = int(_get(cfg, "reply_ms", 300))
        self.retries = int(_get(cfg, "retries", 2))
        self.retry_ms = int(_get(cfg, "retry_ms", 5000))
        self.require_aim = bool(_get(cfg, "require_aim", True))
        self.read_chunk = int(_get(cfg, "read_chunk", 256))
        self._buf = bytearray()
        self._ev = []
        self._t_rx = 0  # ticks of the last received byte
        self._began = False
        # the command in flight: name, frame (for resends), send time, tries
        self._pending = None
        self._frame = b""
        self._t_sent = 0
        self._tries = 0
        self._steps = ()
        self._step = -1  # index into _steps while the boot configuration runs
        self._t_retry = 0  # re-begin when ticks_diff(now, _t_retry) >= _retry_wait
        self._retry_wait = 0
        self._silent_told = False  # one "silent" event per outage
        self._want_trigger = None  # trigger state queued behind a command in flight
        self.counts = {"scans": 0, "errors": 0, "rx": 0, "tx": 0}

    # -- public interface ------------------------------------------------

    def begin(self, now_ms):
        try:
            self._begin(now_ms)
        except Exception as e:  # noqa: BLE001 - never let a bug take the caller down
            self._error("internal", "begin: " + repr(e))

    def trigger(self, pressed, now_ms):
        try:
            if self.state != "ok":
                self._error("not_ready", self.state)
                return
            if self._pending is not None:
                self._want_trigger = bool(pressed)
                return
            self._send_trigger(bool(pressed), now_ms)
        except Exception as e:  # noqa: BLE001
            self._error("internal", "trigger: " + repr(e))

    def poll(self, now_ms):
        try:
            self._read(now_ms)
            if self._buf:
                self._parse(now_ms)
            self._timers(now_ms)
        except Exception as e:  # noqa: BLE001
            self._buf[0:] = b""  # resync: the bytes that tripped the bug are dropped
            self._error("internal", "poll: " + repr(e))
        ev = self._ev
        if not ev:
            return _NONE
        self._ev = []
        return ev

    # -- events ----------------------------------------------------------

    def _error(self, code, detail=None):
        self.counts["errors"] += 1
        if len(self._ev) >= 32:  # nobody polls: keep memory bounded (scans are never dropped)
            self.counts["errors_dropped"] = self.counts.get("errors_dropped", 0) + 1
            return
        self._ev.append(("error", code, detail))

    def _scan(self, raw, strip=True):
        """A complete decoded message; applies the AIM rule (strip: bytes before
        the first "]" are line noise rather than part of the scan)."""
        if self.require_aim and raw[:1] != b"]":
            j = raw.find(b"]") if strip else -1
            if j < 0:
                self._error("no_aim", raw)
                return
            self._error("noise", j)
            raw = raw[j:]
        self.counts["scans"] += 1
        self._ev.append(("scan", raw))

    # -- UART ------------------------------------------------------------

    def _read(self, now):
        uart = self.uart
        for _ in range(4):  # bounded: a chattering line cannot pin the loop
            try:
                n = uart.any()
                if not n:
                    return
                data = uart.read(min(n, self.read_chunk))
            except OSError as e:
                self._error("uart", "read: " + repr(e))
                return
            if not data:
                return
            self._buf.extend(data)
            self._t_rx = now
            self.counts["rx"] += len(data)

    def _write(self, data):
        try:
            n = self.uart.write(data)
            if n is not None and n < len(data):
                # a short write: try once more with the rest, then report
                n2 = self.uart.write(data[n:])
                if n2 is None or n + n2 < len(data):
                    self._error("uart", "short write")
                    return False
        except OSError as e:
            self._error("uart", "write: " + repr(e))
            return False
        self.counts["tx"] += len(data)
        return True

    # -- commands and replies -------------------------------------------

    def _begin(self, now):
        self._buf[0:] = b""
        self._pending = None
        self._want_trigger = None
        self._began = True
        if self.state not in ("silent", "error"):
            self.state = "starting"  # a retry keeps "silent"/"error" until it succeeds
        self._steps = self._begin_steps()
        self._step = 0
        self._on_begin(now)
        if self._steps:
            self._start_step(now)
        else:
            self._step = -1
            self.state = "ok"
            self._silent_told = False

    def _start_step(self, now):
        name = self._steps[self._step]
        self._command(name, self._step_frame(name), now)

    def _command(self, name, frame, now):
        self._pending = name
        self._frame = frame
        self._tries = 0
        self._t_sent = now
        self._write(frame)

    def _resend(self, now):
        self._tries += 1
        self._t_sent = now
        self._write(self._resend_frame(self._frame))

    def _resend_frame(self, frame):
        return frame

    def _done(self, now):
        """The command in flight got its positive reply."""
        self._pending = None
        if self._step >= 0:
            self._step += 1
            if self._step < len(self._steps):
                self._start_step(now)
                return
            self._step = -1
            self.state = "ok"
            self._silent_told = False
        if self._want_trigger is not None and self.state == "ok":
            want = self._want_trigger
            self._want_trigger = None
            self._send_trigger(want, now)

    def _failed(self, now, code, detail):
        """The command in flight was refused: begin -> state "error" (retried
        later), a trigger -> an error event only."""
        name = self._pending
        self._pending = None
        self._error(code, detail)
        if self._step >= 0:
            self._step = -1
            self.state = "error"
            self._retry_at(now, self.retry_ms)
        elif name is not None and self._want_trigger is not None:
            want = self._want_trigger
            self._want_trigger = None
            self._send_trigger(want, now)

    def _heard(self, now):
        """A valid frame arrived: a silent engine is back, re-begin at once."""
        if self.state == "silent" and self._pending is None:
            self._retry_at(now, 0)

    def _retry_at(self, now, wait):
        self._t_retry = now
        self._retry_wait = wait

    def _timers(self, now):
        if self._pending is not None and ticks_diff(now, self._t_sent) >= self.reply_ms:
            if self._tries < self.retries:
                self._resend(now)
            else:
                what = self._pending
                self._pending = None
                self._step = -1
                self._want_trigger = None
                if not self._silent_told:
                    self._silent_told = True
                    self._error("silent", what)
                self.state = "silent"
                self._retry_at(now, self.retry_ms)
        if (
            self._began
            and self._pending is None
            and self.state in ("silent", "error")
            and ticks_diff(now, self._t_retry) >= self._retry_wait
        ):
            self._begin(now)
        self._frame_timers(now)

    # -- hooks -------------------------------------------------------------

    def _on_begin(self, now):
        pass

    def _begin_steps(self):
        return ()

    def _step_frame(self, name):
        return b""

    def _send_trigger(self, pressed, now):
        pass

    def _parse(self, now):
        pass

    def _frame_timers(self, now):
        pass


class LineEngine(EngineBase):
    """Engines that send each decode as bytes ending in a terminator
    (Honeywell/Newland/GM65 in plain output mode, ...).

    cfg keys (defaults):
      terminator  b"\\r"   bytes ending a scan; leading CR/LF of a line are dropped, so an
                          engine sending CR LF also works with b"\\r"
      max_len     1024    longest scan; longer -> frame_too_long, skipped to the next terminator
      frame_ms    200     a partial line older than this is dropped (frame_timeout)
      require_aim False   True: a line must start with "]" (bytes before it are noise)
      init        b""     bytes written at begin() (engine setup commands), optional
      probe       None    bytes written at begin(); any reply byte within reply_ms means "ok",
                          none after cfg retries means "silent".  None: "ok" at once.
      trigger_on  None    bytes written on trigger press   (e.g. b"\\x16T\\r" Honeywell)
      trigger_off None    bytes written on trigger release (e.g. b"\\x16U\\r")
    """

    kind = "line"

    def __init__(self, uart, cfg=None):
        cfg = cfg or {}
        if cfg.get("require_aim") is None:
            cfg = dict(cfg)
            cfg["require_aim"] = self._default_require_aim()
        EngineBase.__init__(self, uart, cfg)
        term = _get(cfg, "terminator", b"\r")
        if isinstance(term, str):
            term = term.encode()
        if not term:
            raise ValueError("terminator must not be empty")
        self.terminator = bytes(term)
        self._skip = False  # discarding an over-long line up to its terminator
        self._skipped = 0

    def _default_require_aim(self):
        return False

    # -- begin / trigger ---------------------------------------------------

    def _begin_steps(self):
        return ("probe",) if self.cfg.get("probe") else ()

    def _on_begin(self, now):
        self._skip = False
        init = self.cfg.get("init")
        if init:
            self._write(init)

    def _step_frame(self, name):
        return self.cfg.get("probe")

    def _send_trigger(self, pressed, now):
        data = self.cfg.get("trigger_on" if pressed else "trigger_off")
        if data:
            self._write(data)

    # -- parsing -------------------------------------------------------------

    def _frame_at_start(self, now):
        """Hook for engines that mix binary reply frames into the line stream:
        None = no frame here (line rules apply), 0 = wait for more bytes,
        n > 0 = n bytes consumed."""

    def _parse(self, now):
        buf = self._buf
        if self._pending == "probe":  # any answer to the probe means the engine is there
            buf[0:] = b""
            self._done(now)
            return
        term = self.terminator
        tl = len(term)
        while buf:
            if self._skip:
                i = buf.find(term)
                if i < 0:
                    k = len(buf) - (tl - 1)  # a terminator may be split across reads
                    if k > 0:
                        self._skipped += k
                        buf[0:k] = b""
                    return
                buf[0 : i + tl] = b""
                self._skip = False
                continue
            n = 0
            while n < len(buf) and buf[n] in _CRLF:
                n += 1
            if n:
                buf[0:n] = b""
                continue
            r = self._frame_at_start(now)
            if r is not None:
                if r == 0:
                    return
                continue
            i = buf.find(term)
            if i < 0:
                if len(buf) > self.max_len:
                    self._error("frame_too_long", len(buf))
                    self._skipped = len(buf)
                    self._skip = True
                    buf[0:] = b""
                return
            if i > self.max_len:
                self._error("frame_too_long", i)
                buf[0 : i + tl] = b""
                continue
            line = bytes(buf[0:i])
            buf[0 : i + tl] = b""
            self._heard(now)
            self._scan(line)

    def _frame_timers(self, now):
        if (self._buf or self._skip) and ticks_diff(now, self._t_rx) > self.frame_ms:
            if self._buf and not self._skip:
                self._error("frame_timeout", len(self._buf))
            self._buf[0:] = b""
            self._skip = False
