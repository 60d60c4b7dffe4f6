"""A virtual Zebra ZPL printer on raw TCP: formats in, labels "printed" at a simulated
speed, status answered in the ZPL manual's layouts, faults injected on command.

    vp = VirtualPrinter(port=0, dpi=300, ips=6.0, png_dir="labels").start()
    # ... open_printer("tcp://127.0.0.1:%d" % vp.port), send ZPL, poll ~HS ...
    vp.inject("paper_out", after_labels=500); vp.clear("paper_out"); vp.stop()

CLI: ``udi-edge sim printer --port 9100 --dpi 300 --ips 6 [--png-dir DIR] [--control-port N]
[--paper-out-after N]`` or ``python -m gateway.sim.printer …`` (docs/printers.md).

What it does, and what it leaves out
------------------------------------
Input is split as a printer's receive side does: tilde commands are acted on as soon as
they arrive, also between or inside formats (~HS, ~HQES, ~HQOD, ~HQSN, ~HI, ~JA cancel all,
~PP pause, ~PS resume, ~RO1/~RO2 reset user counters; others are read and ignored);
``^XA…^XZ`` formats go into a bounded receive buffer (``buffer_formats``; when it is full
the connection is not read any further until there is room, as flow control would do, and
~HS shows buffer-full to other connections); SGD ``! U1 getvar "name"`` lines outside
formats are answered for a few names (odometer.*, zpl.system_status, head.latch, …).

A format prints ``^PQ`` q labels (default 1), each taking label length / ips seconds; the
label length is ``^LL`` at ``dpi`` (a ^LL stays in force for later formats, as on a
printer), else ``label_length_in``, else 2 inches.  ``^DF`` formats are stored, not printed;
``^XF`` recalls them for the PNG.  A format with no drawing command at all (``^XA^XZ``,
settings only) prints nothing (uncertain: seen on a ZT230 for ^XA^XZ, not documented).
``^PP`` in a format pauses after that format's labels.

Faults: paper_out, ribbon_out and head_open stop printing at once; a label being printed
then is not counted and stays in the batch, the buffer is kept, and printing resumes when
the fault is cleared.  pause (= ~PP, or the panel) lets the current label finish; ~PS or
clear("pause") resumes.  disconnect drops every TCP connection and refuses new ones until
cleared (printing goes on).  ``inject(fault, after_labels=N)`` arms a fault to fire when N
more labels have been printed.  ~JA finishes the label being printed, then drops every
format in the buffer and the rest of the batch, and the sender's half-received format.

Not modelled: ^SN/^SF serial increments (every copy renders the same), ^PQ pause/cut
counts, ^CC/^CT prefix changes, binary ~DY payloads containing ^ or ~, head temperature,
peel mode (label waiting), the ~HS-over-SGD variant.

Control port (JSON lines on 127.0.0.1, one reply line per request):
    {"inject": "paper_out", "after_labels": 500}  -> {"ok": true}
    {"clear": "paper_out"}                        -> {"ok": true}
    {"state": true}                               -> {"ok": true, "state": {...}}
    {"printed": true, "since": 0}                 -> {"ok": true, "printed": [records from index since]}
    {"wait_printed": 10, "timeout": 30}           -> {"ok": true|false, "labels_printed": n}
    anything else                                 -> {"ok": false, "error": "..."}
"""

import argparse
import collections
import io
import json
import os
import random
import re
import select
import signal
import socket
import sys
import threading
import time

FAULTS = ("paper_out", "ribbon_out", "head_open", "pause", "disconnect")
STOP_FAULTS = frozenset(("paper_out", "ribbon_out", "head_open"))
DPMM = {152: 6, 203: 8, 300: 12, 600: 24}
DEGRADE_KEYS = ("darkness", "smear", "missing_dots", "blur", "seed")

STX, ETX, CRLF = b"\x02", b"\x03", b"\r\n"

# -- input stream -------------------------------------------------------------------------

# Tilde commands with fixed-size parameters (bytes after the two-letter name).  Others read
# their parameters up to the next ^, ~, CR or LF (that covers ~DG hex data and the like).
_FIXED_TILDE = {"HS": 0, "HI": 0, "HM": 0, "HD": 0, "HB": 0, "HU": 0, "JA": 0, "PS": 0, "PP": 0,
                "JR": 0, "WC": 0, "JX": 0, "JD": 0, "JE": 0, "PR": 0, "HQ": 2, "RO": 1, "SD": 2}
_ARG_END = re.compile(rb"[\^~\r\n]")
_NEXT_PREFIX = re.compile(rb"[\^~]")


def _tilde(buf, i):
    """(event, used) for the tilde at buf[i]; used 0 = need more bytes; event None with
    used 1 = not a command (a literal ~, e.g. an old ^BX escape character in data)."""
    if len(buf) - i < 2:
        return None, 0
    if not buf[i + 1:i + 2].isalpha():
        return None, 1
    if len(buf) - i < 3:
        return None, 0
    if not buf[i + 2:i + 3].isalpha():
        return None, 1
    name = buf[i + 1:i + 3].decode("ascii").upper()
    size = _FIXED_TILDE.get(name)
    if size is not None:
        if len(buf) - i < 3 + size:
            return None, 0
        return ("tilde", name, buf[i + 3:i + 3 + size].decode("latin-1").upper()), 3 + size
    m = _ARG_END.search(buf, i + 3)
    if m is None:
        return None, 0
    return ("tilde", name, buf[i + 3:m.start()].decode("latin-1")), m.start() - i


class ZplStream:
    """One connection's bytes -> events: ("tilde", NAME, arg), ("format", b"^XA…^XZ") with
    the tilde commands taken out, ("sgd", line).  Bytes outside formats that are none of
    these are ignored, as a printer does."""

    def __init__(self):
        self._buf = b""
        self._fmt = None  # bytearray while between ^XA and ^XZ

    @property
    def in_format(self):
        return self._fmt is not None

    def feed(self, data):
        buf = self._buf + data
        events, i, n = [], 0, len(buf)
        while i < n:
            c = buf[i:i + 1]
            if c == b"~":
                ev, used = _tilde(buf, i)
                if used == 0:
                    break
                if ev is None:
                    if self._fmt is not None:
                        self._fmt += c
                    i += 1
                    continue
                if ev[1] == "JA":
                    self._fmt = None  # ~JA drops the data received before it
                events.append(ev)
                i += used
            elif self._fmt is None:
                if c == b"^":
                    if n - i < 3:
                        break
                    if buf[i + 1:i + 3].upper() == b"XA":
                        self._fmt = bytearray(b"^XA")
                        i += 3
                    else:
                        i += 1
                elif c == b"!":
                    end = buf.find(b"\n", i)
                    if end < 0:
                        break
                    events.append(("sgd", buf[i:end].strip().decode("latin-1")))
                    i = end + 1
                else:
                    i += 1
            elif c == b"^":
                if n - i < 3:
                    break
                if buf[i + 1:i + 3].upper() == b"XZ":
                    self._fmt += b"^XZ"
                    events.append(("format", bytes(self._fmt)))
                    self._fmt = None
                    i += 3
                else:
                    self._fmt += c
                    i += 1
            else:
                m = _NEXT_PREFIX.search(buf, i)
                end = m.start() if m else n
                self._fmt += buf[i:end]
                i = end
        self._buf = buf[i:]
        return events


# -- formats ------------------------------------------------------------------------------

_DRAWING = re.compile(rb"\^(FD|FV|SN|SF|GB|GC|GD|GE|GF|GS|XF|IM|IL)", re.I)


def _last_int(pattern, text):
    found = re.findall(pattern, text, re.I)
    return int(found[-1]) if found and found[-1] else None


class _Job:
    """One received format and its batch."""

    def __init__(self, seq, raw, quantity, label_dots, width_dots, dpi, stored_prefix, pause_after):
        self.seq, self.raw = seq, raw
        self.zpl = raw.decode("utf-8", errors="replace")
        self.quantity = self.remaining = quantity
        self.label_dots, self.width_dots = label_dots, width_dots
        self.length_in = label_dots / float(dpi)
        self.stored_prefix = stored_prefix  # ^DF formats that this one recalls (for rendering)
        self.pause_after = pause_after
        self.png = None
        self.render_error = None
        self.queued_at = time.monotonic()


# -- PNG rendering ------------------------------------------------------------------------


def render_png(zpl, dpi, height=None, width=None, prefix=b""):
    # The label as this printer prints it (gateway.printing.render keeps the
    # one renderer: fonts, commands it does not draw) -> (png, skipped commands).
    from gateway.printing.render import printed_png

    return printed_png(zpl, dpi, width_dots=width, height_dots=height, stored=prefix)


def check_degrade(spec):
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValueError("degrade must be a dict like {'darkness': 0.5, 'smear': 1, 'missing_dots': 0.02}")
    unknown = set(spec) - set(DEGRADE_KEYS)
    if unknown:
        raise ValueError("degrade: unknown key(s) %s; expected %s" % (", ".join(sorted(unknown)), ", ".join(DEGRADE_KEYS)))
    d = float(spec.get("darkness", 1.0))
    f = float(spec.get("missing_dots", 0.0))
    if not 0.0 <= d <= 1.0 or not 0.0 <= f <= 1.0:
        raise ValueError("degrade: darkness and missing_dots are fractions 0..1")
    if int(spec.get("smear", 0)) < 0 or float(spec.get("blur", 0)) < 0:
        raise ValueError("degrade: smear and blur are >= 0")
    return dict(spec)


def degrade_png(png, spec):
    """Print defects on a rendered label (Pillow), in the order they happen on a printer:
    smear = dots spread n pixels along the feed direction (downwards); blur = Gaussian sigma
    in pixels; darkness = ink level 0..1 (1 = full black, 0.5 = mid grey); missing_dots =
    fraction of print-head elements that are dead, i.e. whole pixel columns left white (the
    same columns on every label for one seed)."""
    from PIL import Image, ImageChops, ImageFilter

    im = Image.open(io.BytesIO(png)).convert("L")
    w, h = im.size
    for k in range(1, int(spec.get("smear", 0)) + 1):
        shifted = Image.new("L", (w, h), 255)
        shifted.paste(im.crop((0, 0, w, h - k)), (0, k))
        im = ImageChops.darker(im, shifted)
    if float(spec.get("blur", 0)) > 0:
        im = im.filter(ImageFilter.GaussianBlur(float(spec["blur"])))
    d = float(spec.get("darkness", 1.0))
    if d < 1.0:
        im = im.point(lambda v: int(round(255 - (255 - v) * d)))
    dead = int(round(float(spec.get("missing_dots", 0.0)) * w))
    if dead:
        rng = random.Random(spec.get("seed", 0))
        for x in rng.sample(range(w), dead):
            im.paste(255, (x, 0, x + 1, h))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


# -- connections --------------------------------------------------------------------------


class _Conn:
    """A client: a TCP socket or the master side of a pty."""

    def __init__(self, sock=None, fd=None, kind="tcp", slave=None):
        self.sock, self.fd, self.kind = sock, fd, kind
        self.slave = slave  # a pty's slave side, kept open so the pty outlives its clients
        self.closed = False
        self._wlock = threading.Lock()

    def fileno(self):
        return self.sock.fileno() if self.sock is not None else self.fd

    def recv(self, timeout):
        # None on timeout, b"" at end of stream.
        ready, _, _ = select.select([self.fileno()], [], [], timeout)
        if not ready:
            return None
        if self.sock is not None:
            return self.sock.recv(65536)
        try:
            return os.read(self.fd, 65536)
        except OSError:
            return None  # pty with no writer (EIO): wait for the next opener

    def send(self, data):
        with self._wlock:
            if self.closed:
                return
            try:
                if self.sock is not None:
                    self.sock.sendall(data)
                else:
                    os.write(self.fd, data)
            except OSError:
                pass  # the client went away; its reader notices

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


def _close_listener(s):
    # shutdown first: on Linux it stops the LISTEN state at once, even while the accept
    # thread still holds the socket in select(); close alone waits for that select.
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def _listen(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    return s


# -- the printer --------------------------------------------------------------------------


class VirtualPrinter:
    """See the module docstring.  Attributes after start(): port, control_port, printed
    (list of {"index", "time", "zpl", "png", "job", "copy", "quantity",
    "label_length_dots", "render_error"}), labels_printed (since start, i.e. power-on),
    total_labels (odometer: odometer_start + labels_printed), print_length_in,
    formats_received, formats_discarded, formats_cancelled, labels_cancelled, labels_aborted.
    `printed` keeps every record in memory (with its ZPL text): fine for tests and demo runs
    of some 100,000 labels, not for a simulator left running for weeks."""

    def __init__(self, host="127.0.0.1", port=9100, dpi=300, ips=6.0, label_length_in=None, png_dir=None,
                 degrade=None, answer_hs_when_faulted=True, control_port=None, buffer_formats=64,
                 thermal_transfer=True, model=None, firmware="V0.1.0-SIM", serial_number="SIM0000001",
                 memory_kb=8192, odometer_start=0):
        if dpi not in DPMM:
            raise ValueError("dpi must be one of %s (print heads have 6, 8, 12 or 24 dots/mm)" % sorted(DPMM))
        if ips <= 0:
            raise ValueError("ips must be > 0")
        if label_length_in is not None and label_length_in <= 0:
            raise ValueError("label_length_in must be > 0")
        if buffer_formats < 1:
            raise ValueError("buffer_formats must be >= 1")
        self.host, self.port, self.control_port = host, port, control_port
        self.dpi, self.dpmm, self.ips = dpi, DPMM[dpi], float(ips)
        self.label_length_in = label_length_in
        self.png_dir, self.degrade = png_dir, check_degrade(degrade)
        # Labels (1-based print count) that get the defects; None = every label.
        # A line test injects a defect on a few labels and expects exactly those rejected.
        self.degrade_labels = None
        if png_dir is not None:
            import zplkit  # noqa: F401  (fail at construction, not on the first label)
        if self.degrade is not None:
            import PIL  # noqa: F401
        self.answer_hs_when_faulted = answer_hs_when_faulted
        self.buffer_formats = buffer_formats
        self.thermal_transfer = thermal_transfer
        self.model = model or "UDI-EDGE-SIM-%ddpi" % dpi
        self.firmware, self.serial_number, self.memory_kb = firmware, serial_number, memory_kb
        self.odometer_start = odometer_start

        self._cond = threading.Condition()
        self._queue = collections.deque()
        self._current = None       # the _Job whose batch is being printed
        self._printing = None      # the _Job of the label under the head right now
        self._faults = set()
        self._pending = {}         # fault -> labels_printed value at which it fires
        self._paused = False
        self._cancel_after_label = False
        self._label_dots = None    # the ^LL in force
        self._stored = {}          # ^DF name -> format bytes
        self._streams = set()
        self._conns = set()
        self._listener = None
        self._control = None
        self._threads = []
        self._started = False
        self._stopping = False
        self._seq = 0

        self.printed = []
        self._feed_end = None  # when the last label left the head (continuous feed)
        self.labels_printed = 0
        self.print_length_in = 0.0
        self.user_labels = [0, 0]
        self.user_length_in = [0.0, 0.0]
        self.formats_received = 0
        self.formats_discarded = 0
        self.formats_cancelled = 0
        self.labels_cancelled = 0
        self.labels_aborted = 0

    # -- life cycle ---------------------------------------------------------------------
    def start(self):
        """Bind (port 0 = any free port; .port is set after), start the threads.  Starting a
        started printer does nothing (so `with VirtualPrinter(...).start() as vp` works)."""
        if self._started:
            return self
        self._started = True
        self._listener = _listen(self.host, self.port)
        self.port = self._listener.getsockname()[1]
        if self.control_port is not None:
            self._control = _listen("127.0.0.1", self.control_port)
            self.control_port = self._control.getsockname()[1]
        if self.png_dir:
            os.makedirs(self.png_dir, exist_ok=True)
        for target in (self._accept_loop, self._engine):
            t = threading.Thread(target=target, daemon=True, name="vprinter-" + target.__name__)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            for s in (self._listener, self._control):
                if s is not None:
                    _close_listener(s)
            self._listener = self._control = None
            for c in list(self._conns):
                c.close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def uri(self):
        return "tcp://%s:%d" % (self.host if ":" not in self.host else "[%s]" % self.host, self.port)

    def attach_pty(self):
        """Serve the same printer on a pseudo-terminal too (for the serial transport);
        returns the device path to open, e.g. open_printer("serial:" + path)."""
        import pty
        import tty

        master, slave = pty.openpty()
        tty.setraw(slave)
        path = os.ttyname(slave)
        self._spawn_client(_Conn(fd=master, kind="pty", slave=slave))
        return path

    # -- faults -------------------------------------------------------------------------
    def inject(self, fault, after_labels=None):
        """Set a fault now, or when `after_labels` more labels have been printed."""
        if fault not in FAULTS:
            raise ValueError("unknown fault %r; expected one of %s" % (fault, ", ".join(FAULTS)))
        if after_labels is not None and (not isinstance(after_labels, int) or after_labels < 0):
            raise ValueError("after_labels must be an integer >= 0")
        with self._cond:
            if after_labels:
                self._pending[fault] = self.labels_printed + after_labels
            else:
                self._pending.pop(fault, None)
                self._activate(fault)
            self._cond.notify_all()

    def clear(self, fault):
        """Clear a fault (and forget an armed one); printing resumes when none is left."""
        if fault not in FAULTS:
            raise ValueError("unknown fault %r; expected one of %s" % (fault, ", ".join(FAULTS)))
        with self._cond:
            self._pending.pop(fault, None)
            if fault == "pause":
                self._paused = False
            elif fault in self._faults:
                self._faults.discard(fault)
                if fault == "disconnect" and not self._stopping:
                    self._listener = _listen(self.host, self.port)
            self._cond.notify_all()

    def _activate(self, fault):
        if fault == "pause":
            self._paused = True  # the label under the head finishes first
            return
        self._faults.add(fault)
        if fault == "disconnect":
            if self._listener is not None:
                _close_listener(self._listener)
                self._listener = None
            for c in list(self._conns):
                if c.kind == "tcp":
                    c.close()

    @property
    def faults(self):
        with self._cond:
            return set(self._faults) | ({"pause"} if self._paused else set())

    @property
    def total_labels(self):
        return self.odometer_start + self.labels_printed

    # -- state --------------------------------------------------------------------------
    def _labels_remaining(self):
        return self._current.remaining if self._current is not None else 0

    def _label_dots_now(self):
        if self._label_dots is not None:
            return self._label_dots
        return int(round((self.label_length_in or 2.0) * self.dpi))

    def state(self):
        """A JSON-able snapshot (also the control port's {"state": true})."""
        with self._cond:
            return {
                "uri": self.uri, "port": self.port, "control_port": self.control_port,
                "dpi": self.dpi, "ips": self.ips, "model": self.model,
                "labels_printed": self.labels_printed, "total_labels": self.total_labels,
                "user_labels": list(self.user_labels), "print_length_in": round(self.print_length_in, 3),
                "formats_received": self.formats_received, "formats_discarded": self.formats_discarded,
                "formats_in_buffer": len(self._queue), "labels_remaining": self._labels_remaining(),
                "printing": self._printing is not None, "faults": sorted(self._faults), "paused": self._paused,
                "pending": {f: max(0, n - self.labels_printed) for f, n in self._pending.items()},
                "buffer_full": len(self._queue) >= self.buffer_formats,
                "partial_format": any(s.in_format for s in self._streams),
                "label_length_dots": self._label_dots_now(),
                "formats_cancelled": self.formats_cancelled, "labels_cancelled": self.labels_cancelled,
                "labels_aborted": self.labels_aborted,
                "stored_formats": sorted(n.decode("latin-1") for n in self._stored),
                "connections": sum(1 for c in self._conns if not c.closed),
            }

    def wait_printed(self, n, timeout=10.0):
        """Block until at least n labels have been printed; True if so within timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.labels_printed < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_idle(self, timeout=10.0):
        """Block until nothing is queued, printing or half-received; True if so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._current is not None or any(s.in_format for s in self._streams):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    # -- replies in the manual's layouts ------------------------------------------------
    def hs_reply(self):
        """~HS: three <STX>…<ETX><CR><LF> strings of 12, 11 and 2 fields (printing.md §2.2)."""
        with self._cond:
            f = self._faults
            s1 = "030,%d,%d,%04d,%03d,%d,0,%d,000,0,0,0" % (
                "paper_out" in f, self._paused, self._label_dots_now(), len(self._queue),
                len(self._queue) >= self.buffer_formats, any(s.in_format for s in self._streams))
            s2 = "%03d,0,%d,%d,%d,2,6,0,%08d,1,000" % (
                1 if self.thermal_transfer else 0, "head_open" in f, "ribbon_out" in f,
                self.thermal_transfer, self._labels_remaining())
            s3 = "1234,0"
        return b"".join(STX + s.encode("ascii") + ETX + CRLF for s in (s1, s2, s3))

    def _error_bits(self):
        f = self._faults
        return ("paper_out" in f) * 0x1 | ("ribbon_out" in f) * 0x2 | ("head_open" in f) * 0x4

    def hqes_reply(self):
        """~HQES: STX, three lines joined by CR LF, ETX.  (Pause is not in the error bits:
        the manual lists that bit for the KR403 only; ~HS carries it.)"""
        with self._cond:
            err = self._error_bits()
        lines = ["PRINTER STATUS",
                 "ERRORS:         %d 00000000 %08X" % (1 if err else 0, err),
                 "WARNINGS:       0 00000000 00000000"]
        return STX + CRLF.join(l.encode("ascii") for l in lines) + ETX

    def hi_text(self):
        return "%s,%s,%d,%dKB" % (self.model, self.firmware, self.dpmm, self.memory_kb)

    def hi_reply(self):
        """~HI: model,version,dots/mm,memory (no options field: none are fitted)."""
        return STX + self.hi_text().encode("ascii") + ETX + CRLF

    def hqod_reply(self):
        """~HQOD: PRINT METERS with lengths in inches (") as the manual's example."""
        with self._cond:
            total = int(self.print_length_in)
            u1, u2 = (int(x) for x in self.user_length_in)
        lines = ["PRINT METERS", "TOTAL NONRESETTABLE:     %d \"" % total,
                 "USER RESETTABLE CNTR1:     %d \"" % u1, "USER RESETTABLE CNTR2:     %d \"" % u2]
        return STX + CRLF.join(l.encode("ascii") for l in lines) + ETX

    def sgd_value(self, name):
        """Value of an SGD getvar, or None for a name the simulator does not know."""
        with self._cond:
            err = self._error_bits()
            values = {
                "odometer.total_label_count": str(self.total_labels),
                "odometer.user_label_count": str(self.user_labels[0]),
                "odometer.user_label_count1": str(self.user_labels[0]),
                "odometer.user_label_count2": str(self.user_labels[1]),
                "odometer.total_print_length": "%d INCHES, %d CENTIMETERS" % (
                    int(self.print_length_in), int(self.print_length_in * 2.54)),
                "zpl.system_status": "%d,00000000,%08X,0,00000000,00000000" % (1 if err else 0, err),
                "zpl.system_error": "%d,00000000,%08X" % (1 if err else 0, err),
                "head.latch": "open" if "head_open" in self._faults else "ok",
                "device.pause": "1" if self._paused else "0",
                "device.host_identification": self.hi_text(),
                "device.unique_id": self.serial_number,
                "head.resolution.in_dpi": str(self.dpi),
            }
        return values.get(name)

    # -- input handling -----------------------------------------------------------------
    def _handle(self, conn, stream, ev):
        kind = ev[0]
        if kind == "format":
            self._receive_format(conn, ev[1])
        elif kind == "sgd":
            m = re.match(r'!\s*U1\s+getvar\s+"([^"]+)"', ev[1], re.I)
            if m:
                value = self.sgd_value(m.group(1).lower())
                conn.send(b'"' + ("?" if value is None else value).encode("latin-1") + b'"')
        else:
            self._tilde(conn, ev[1], ev[2])

    def _tilde(self, conn, name, arg):
        if name == "HS":
            with self._cond:
                silent = not self.answer_hs_when_faulted and self._faults & STOP_FAULTS
            if not silent:
                conn.send(self.hs_reply())
        elif name == "HI":
            conn.send(self.hi_reply())
        elif name == "HQ":
            reply = {"ES": self.hqes_reply, "OD": self.hqod_reply,
                     "SN": lambda: STX + b"SERIAL NUMBER" + CRLF + self.serial_number.encode("ascii") + ETX}.get(arg)
            if reply is not None:  # the manual: other query types are ignored
                conn.send(reply())
        elif name == "JA":
            self.cancel_all()
        elif name == "PP":
            with self._cond:
                self._paused = True
                self._cond.notify_all()
        elif name == "PS":
            self.clear("pause")
        elif name == "RO" and arg in ("1", "2"):
            with self._cond:
                self.user_labels[int(arg) - 1] = 0
                self.user_length_in[int(arg) - 1] = 0.0

    def cancel_all(self):
        """~JA: the label under the head finishes; the buffer and the batch are dropped."""
        with self._cond:
            if self._printing is not None:
                self._cancel_after_label = True
            else:
                self._drop_all()
            self._cond.notify_all()

    def _drop_all(self):
        jobs = list(self._queue) + ([self._current] if self._current is not None else [])
        self.formats_cancelled += len(jobs)
        self.labels_cancelled += sum(j.remaining for j in jobs)
        self._queue.clear()
        self._current = None
        self._cancel_after_label = False

    def _receive_format(self, conn, raw):
        with self._cond:
            ll = _last_int(rb"\^LL(\d+)", raw)
            if ll:
                self._label_dots = ll  # ^LL stays in force, as on a printer
            df = re.search(rb"\^DF([^\^~]+)", raw, re.I)
            if df:
                self._stored[df.group(1).strip().upper()] = raw
                self.formats_received += 1
                return
            if not _DRAWING.search(raw):
                self.formats_discarded += 1
                self.formats_received += 1
                return
            # Flow control: a full receive buffer stops reading this connection.
            while len(self._queue) >= self.buffer_formats and not self._stopping and not conn.closed:
                self._cond.wait(0.2)
            if self._stopping or conn.closed:
                return
            prefix = b""
            for name in re.findall(rb"\^XF([^\^~]+)", raw, re.I):
                prefix += self._stored.get(name.strip().upper(), b"")
            self._seq += 1
            self.formats_received += 1
            quantity = max(1, _last_int(rb"\^PQ(\d+)", raw) or 1)
            self._queue.append(_Job(self._seq, raw, quantity, self._label_dots_now(),
                                    _last_int(rb"\^PW(\d+)", raw), self.dpi, prefix,
                                    bool(re.search(rb"\^PP", raw, re.I))))
            self._cond.notify_all()

    # -- threads ------------------------------------------------------------------------
    def _spawn_client(self, conn):
        with self._cond:
            self._conns.add(conn)
        t = threading.Thread(target=self._serve, args=(conn,), daemon=True, name="vprinter-client")
        t.start()
        # keep only live threads: a long-running simulator sees many short connections
        self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _serve(self, conn):
        stream = ZplStream()
        with self._cond:
            self._streams.add(stream)
        try:
            while not self._stopping and not conn.closed:
                data = conn.recv(0.2)
                if data is None:
                    continue
                if not data:
                    break
                for ev in stream.feed(data):
                    self._handle(conn, stream, ev)
        except (OSError, ValueError):
            pass  # connection reset, or closed under us by "disconnect"/stop
        finally:
            with self._cond:
                self._streams.discard(stream)  # a half-received format dies with its connection
                self._conns.discard(conn)
                self._cond.notify_all()
            conn.close()
            if conn.fd is not None:
                os.close(conn.fd)
                os.close(conn.slave)

    def _accept_loop(self):
        while not self._stopping:
            with self._cond:
                socks = [s for s in (self._listener, self._control) if s is not None]
            try:
                ready, _, _ = select.select(socks, [], [], 0.1) if socks else ([], [], [])
                if not socks:
                    time.sleep(0.1)
                for s in ready:
                    sock, _ = s.accept()
                    if s is self._control:
                        threading.Thread(target=self._control_client, args=(sock,), daemon=True).start()
                    else:
                        self._spawn_client(_Conn(sock=sock))
            except (OSError, ValueError):
                continue  # a listener closed by disconnect/stop between select and accept

    def _engine(self):
        with self._cond:
            while not self._stopping:
                job = self._next_job()
                if job is None:
                    self._cond.wait(0.5)
                    continue
                self._print_one(job)

    def _next_job(self):
        if self._faults & STOP_FAULTS or self._paused:
            return None
        if self._current is None:
            if not self._queue:
                return None
            self._current = self._queue.popleft()
            self._cond.notify_all()  # room in the receive buffer
        return self._current

    def _print_one(self, job):
        # Called with the lock held; releases it while rendering and while the label moves.
        self._printing = job
        # The media moves mechanically: a label queued before the previous one
        # finished starts the moment it did (continuous feed), whatever the
        # host CPU's scheduling; an idle printer starts now.
        now = time.monotonic()
        start = self._feed_end if (self._feed_end is not None and job.queued_at <= self._feed_end and now - self._feed_end < 0.05) else now
        deadline = start + job.length_in / self.ips
        if self.png_dir and job.png is None and job.render_error is None:
            self._cond.release()
            try:
                job.png, job.render_error = self._render(job)
            finally:
                self._cond.acquire()
        aborted = False
        while not self._stopping:
            if self._faults & STOP_FAULTS:
                aborted = True  # media/ribbon ran out or head opened mid-label: not printed
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._cond.wait(left)
        self._printing = None
        if self._stopping:
            return
        self._feed_end = None if aborted else deadline
        if aborted:
            self.labels_aborted += 1
            if self._cancel_after_label:
                self._drop_all()
            self._cond.notify_all()
            return
        self._complete(job)

    def _render(self, job):
        try:
            png, _ = render_png(job.raw, self.dpi, height=job.label_dots, width=job.width_dots, prefix=job.stored_prefix)
            if self.degrade and (self.degrade_labels is None or self.labels_printed + 1 in self.degrade_labels):
                png = degrade_png(png, self.degrade)
            return png, None
        except Exception as e:  # a label the renderer cannot draw must not stop the printer
            return None, "%s: %s" % (type(e).__name__, e)

    def _complete(self, job):
        self.labels_printed += 1
        self.print_length_in += job.length_in
        for i in (0, 1):
            self.user_labels[i] += 1
            self.user_length_in[i] += job.length_in
        job.remaining -= 1
        png_path = None
        if job.png is not None:
            png_path = os.path.join(self.png_dir, "label_%06d.png" % self.labels_printed)
            with open(png_path, "wb") as f:
                f.write(job.png)
        self.printed.append({
            "index": self.labels_printed, "time": time.time(), "zpl": job.zpl, "png": png_path,
            "job": job.seq, "copy": job.quantity - job.remaining, "quantity": job.quantity,
            "label_length_dots": job.label_dots, "render_error": job.render_error,
        })
        if job.remaining == 0:
            self._current = None
            if job.pause_after:
                self._paused = True
        for fault, at in list(self._pending.items()):
            if self.labels_printed >= at:
                del self._pending[fault]
                self._activate(fault)
        if self._cancel_after_label:
            self._drop_all()
        self._cond.notify_all()

    # -- control port -------------------------------------------------------------------
    def control(self, msg):
        """One control request (a dict) -> its reply dict; the control port's protocol."""
        try:
            if not isinstance(msg, dict):
                raise ValueError("a request is a JSON object")
            if "inject" in msg:
                self.inject(msg["inject"], msg.get("after_labels"))
                return {"ok": True}
            if "clear" in msg:
                self.clear(msg["clear"])
                return {"ok": True}
            if msg.get("state"):
                return {"ok": True, "state": self.state()}
            if "printed" in msg:
                since = int(msg.get("since", 0))
                with self._cond:
                    return {"ok": True, "printed": [dict(r) for r in self.printed[since:]]}
            if "wait_printed" in msg:
                done = self.wait_printed(int(msg["wait_printed"]), float(msg.get("timeout", 10)))
                return {"ok": done, "labels_printed": self.labels_printed}
            raise ValueError("unknown request; expected inject, clear, state, printed or wait_printed")
        except (ValueError, TypeError) as e:
            return {"ok": False, "error": str(e)}

    def _control_client(self, sock):
        f = sock.makefile("rwb")
        try:
            for line in f:
                if not line.strip():
                    continue
                try:
                    reply = self.control(json.loads(line))
                except json.JSONDecodeError as e:
                    reply = {"ok": False, "error": "bad JSON: %s" % e}
                f.write(json.dumps(reply).encode() + b"\n")
                f.flush()
        except OSError:
            pass
        finally:
            f.close()
            sock.close()


def control_request(port, msg, host="127.0.0.1", timeout=10.0):
    """Send one control request to a virtual printer's control port; the reply dict."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(json.dumps(msg).encode() + b"\n")
        f = s.makefile("rb")
        line = f.readline()
    if not line:
        raise ConnectionError("control port closed without a reply")
    return json.loads(line)


# -- CLI ----------------------------------------------------------------------------------


def _add_arguments(p):
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9100, help="raw ZPL port (0 = any free port)")
    p.add_argument("--dpi", type=int, default=300, choices=sorted(DPMM), help="print head resolution")
    p.add_argument("--ips", type=float, default=6.0, help="print speed, inches per second")
    p.add_argument("--label-length-in", type=float, help="label length when a format has no ^LL (default 2)")
    p.add_argument("--png-dir", help="render every printed label to PNG here (zplkit)")
    p.add_argument("--degrade", help='print defects on the PNGs, JSON, e.g. \'{"darkness": 0.5, "missing_dots": 0.02}\'')
    p.add_argument("--control-port", type=int, help="JSON-lines control port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--paper-out-after", type=int, help="run out of paper after this many labels")
    p.add_argument("--buffer", type=int, default=64, help="receive buffer size in formats")
    p.add_argument("--silent-when-faulted", action="store_true",
                   help="do not answer ~HS while paper out / ribbon out / head open (as some printers do)")
    p.add_argument("--seconds", type=float, help="stop after this many seconds (default: until Ctrl-C)")


def run_cli(args):
    try:
        vp = VirtualPrinter(
            host=args.host, port=args.port, dpi=args.dpi, ips=args.ips, label_length_in=args.label_length_in,
            png_dir=args.png_dir, degrade=json.loads(args.degrade) if args.degrade else None,
            answer_hs_when_faulted=not args.silent_when_faulted, control_port=args.control_port,
            buffer_formats=args.buffer).start()
    except (ValueError, OSError, ImportError) as e:
        print("udi-edge sim printer: %s" % e, file=sys.stderr)
        return 2
    if args.paper_out_after is not None:
        vp.inject("paper_out", after_labels=args.paper_out_after)
    print(json.dumps({"printer": vp.uri, "port": vp.port, "control_port": vp.control_port}), flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)
    try:
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        vp.stop()
    state = vp.state()
    print(json.dumps({k: state[k] for k in ("labels_printed", "formats_received", "formats_in_buffer",
                                           "labels_remaining", "faults")}), flush=True)
    return 0


def add_cli(simsub):
    """Register `printer` on an argparse subparsers object (udi-edge sim printer)."""
    sp = simsub.add_parser("printer", help="a virtual Zebra ZPL printer on raw TCP (status, speed, faults, PNGs)")
    _add_arguments(sp)
    sp.set_defaults(func=run_cli)
    return sp


def main(argv=None):
    p = argparse.ArgumentParser(prog="udi-edge sim printer", description=__doc__.split("\n\n")[0])
    _add_arguments(p)
    return run_cli(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
