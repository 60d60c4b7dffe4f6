"""Printer transports: one `Printer` interface over raw TCP, serial, USB and a CUPS queue.

    with open_printer("tcp://10.0.0.7:9100") as p:
        p.send(zpl_bytes)
        reply = p.query(b"~HS")          # bytes, or None when the printer stays silent

URIs (see docs/printers.md):

* ``tcp://HOST[:PORT]`` - raw TCP, port 9100 by default (IPv6 as ``tcp://[::1]:9100``).
* ``serial:/dev/ttyUSB0[?baud=9600&flow=none|xonxoff|rtscts|dsrdtr]`` - pyserial, 8N1.
* ``usb`` or ``usb:SERIALNUMBER`` - pyusb (libusb): the first / the named Zebra printer
  (vendor 0x0A5F), printer-class interface, bulk OUT and IN endpoints.
* ``cups:QUEUE`` - the `zebra` package (``lpr -P QUEUE -o raw``): send only; `query`
  returns None and `can_query` is False, because a print queue never hands back replies.

Failure modes, all raised as `PrinterError(uri, cause)`: unknown scheme, connection
refused / timed out / unknown host, no such device, permission denied, the connection lost
during send or query, a missing optional package (pyserial, pyusb, zebra) or libusb
backend.  A query timeout is *not* an error: it returns None (printers stay silent on ~HS
while head-open or media-out, so silence is information for the caller).

A TCP printer whose connection was lost reconnects on the next send/query (raising
PrinterError if that fails too); nothing is ever re-sent automatically, because a resent
format would print twice.

pyserial, pyusb and zebra are imported only when their transport is used.
"""

import select
import socket
import time
import urllib.parse

ZEBRA_VENDOR_ID = 0x0A5F
USB_PRINTER_CLASS = 7


class PrinterError(Exception):
    """A transport failure; ``uri`` and ``cause`` say which printer and why."""

    def __init__(self, uri, cause):
        super().__init__("%s: %s" % (uri, cause))
        self.uri = uri
        self.cause = cause


# -- reply completeness -------------------------------------------------------------------


def expected_frames(cmd):
    """How many STX/ETX frames answer `cmd`: 3 for ~HS, 0 for SGD (quote-terminated), else 1."""
    c = cmd.strip().upper()
    if c.startswith(b"~HS"):
        return 3
    if c.startswith(b"!"):
        return 0
    return 1


def reply_complete(buf, frames):
    """True when `buf` holds `frames` whole STX…ETX frames, or for frames == 0 (SGD) a
    closing double quote after an opening one."""
    if frames == 0:
        return buf.count(b'"') >= 2
    return _count_frames(buf) >= frames


def _count_frames(buf):
    n, pos = 0, 0
    while True:
        start = buf.find(b"\x02", pos)
        if start < 0:
            return n
        end = buf.find(b"\x03", start + 1)
        if end < 0:
            return n
        n, pos = n + 1, end + 1


# -- the interface ------------------------------------------------------------------------


class Printer:
    """Base class: subclasses implement _write, _read, _close (and may set can_query)."""

    can_query = True

    def __init__(self, uri):
        self.uri = uri
        self.closed = False

    # subclass hooks ---------------------------------------------------------------
    def _write(self, data):
        raise NotImplementedError

    def _read(self, timeout):
        # Bytes available within `timeout` seconds, b"" if none.
        raise NotImplementedError

    def _close(self):
        pass

    # public API -------------------------------------------------------------------
    def send(self, data):
        """Send raw bytes (ZPL, SGD).  Raises PrinterError; returns when the transport took
        them (not when the label is printed: see status.poll)."""
        if isinstance(data, str):
            raise TypeError("send() takes bytes; encode the ZPL first (UTF-8 with ^CI28)")
        self._check_open()
        self._write(bytes(data))

    def query(self, cmd, timeout=2.0, frames=None):
        """Send `cmd` and collect its reply: `frames` STX/ETX frames (default: 3 for ~HS, 1
        for other ~H… queries, a quoted string for SGD ``! U1 getvar``).  Returns the bytes
        read, or None when the whole reply did not arrive within `timeout` seconds (a part
        reply is dropped: it cannot be parsed safely)."""
        self._check_open()
        if frames is None:
            frames = expected_frames(cmd)
        self._drain()  # a late answer to an earlier query must not pass for this one
        self._write(bytes(cmd))
        buf = b""
        deadline = time.monotonic() + timeout
        while not reply_complete(buf, frames):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            buf += self._read(min(left, 0.25))
        return buf

    def _drain(self):
        while self._read(0):
            pass

    def close(self):
        if not self.closed:
            self.closed = True
            self._close()

    def _check_open(self):
        if self.closed:
            raise PrinterError(self.uri, "printer is closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.uri)


# -- TCP ----------------------------------------------------------------------------------


class TcpPrinter(Printer):
    def __init__(self, uri, host, port=9100, connect_timeout=5.0, send_timeout=30.0):
        super().__init__(uri)
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        # A printer whose buffer is full stops reading: a send may wait that long for room.
        self.send_timeout = send_timeout
        self._sock = None
        self._connect()

    def _connect(self):
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except ConnectionRefusedError:
            raise PrinterError(self.uri, "connection refused (printer off, wrong port, or raw port disabled)") from None
        except socket.gaierror as e:
            raise PrinterError(self.uri, "unknown host %r (%s)" % (self.host, e.strerror)) from None
        except TimeoutError:
            raise PrinterError(self.uri, "connect timed out after %.1f s" % self.connect_timeout) from None
        except OSError as e:
            raise PrinterError(self.uri, "cannot connect: %s" % (e.strerror or e)) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def _lost(self, why):
        # Forget the socket; the next call reconnects.
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        raise PrinterError(self.uri, "connection lost: %s" % why)

    def _ensure(self):
        if self._sock is None:
            self._connect()
        return self._sock

    def _write(self, data):
        sock = self._ensure()
        try:
            sock.settimeout(self.send_timeout)
            sock.sendall(data)
        except TimeoutError:
            self._lost("send timed out (printer buffer full and not draining?)")
        except OSError as e:
            self._lost(e.strerror or str(e))

    def _read(self, timeout):
        sock = self._ensure()
        try:
            ready, _, _ = select.select([sock], [], [], max(timeout, 0))
            if not ready:
                return b""
            data = sock.recv(65536)
        except OSError as e:
            self._lost(e.strerror or str(e))
        if not data:
            self._lost("closed by the printer")
        return data

    def _close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None


# -- serial -------------------------------------------------------------------------------


class SerialPrinter(Printer):
    def __init__(self, uri, device, baud=9600, flow="none"):
        super().__init__(uri)
        try:
            import serial
        except ImportError:
            raise PrinterError(uri, "pyserial is not installed (pip install pyserial)") from None
        if flow not in ("none", "xonxoff", "rtscts", "dsrdtr"):
            raise PrinterError(uri, "flow=%r: expected none, xonxoff, rtscts or dsrdtr" % flow)
        try:
            self._port = serial.Serial(device, baudrate=baud, bytesize=8, parity="N", stopbits=1,
                                       timeout=0, write_timeout=30, xonxoff=flow == "xonxoff",
                                       rtscts=flow == "rtscts", dsrdtr=flow == "dsrdtr")
        except serial.SerialException as e:
            raise PrinterError(uri, _serial_cause(device, e)) from None
        except ValueError as e:
            raise PrinterError(uri, "bad serial setting: %s" % e) from None
        self._serial = serial

    def _write(self, data):
        try:
            self._port.write(data)
            self._port.flush()
        except self._serial.SerialTimeoutException:
            raise PrinterError(self.uri, "write timed out (flow control holding? printer buffer full?)") from None
        except (self._serial.SerialException, OSError) as e:
            raise PrinterError(self.uri, "serial write failed: %s" % e) from None

    def _read(self, timeout):
        try:
            fd = self._port.fileno()
            ready, _, _ = select.select([fd], [], [], max(timeout, 0))
            if not ready:
                return b""
            return self._port.read(self._port.in_waiting or 1)
        except (self._serial.SerialException, OSError) as e:
            raise PrinterError(self.uri, "serial read failed: %s" % e) from None

    def _close(self):
        self._port.close()


def _serial_cause(device, e):
    errno = getattr(e, "errno", None)
    text = str(e)
    if errno == 2 or "No such file" in text or "[Errno 2]" in text:
        return "no such device %s" % device
    if errno == 13 or "Permission denied" in text or "[Errno 13]" in text:
        return "permission denied on %s (add the user to the dialout group)" % device
    if errno == 16 or "[Errno 16]" in text:
        return "%s is busy (another program has it open)" % device
    return "cannot open %s: %s" % (device, text)


# -- USB ----------------------------------------------------------------------------------


def _usb_core(uri):
    try:
        import usb.core
        import usb.util
    except ImportError:
        raise PrinterError(uri, "pyusb is not installed (pip install pyusb)") from None
    return usb.core, usb.util


def _usb_find(uri, core):
    try:
        return list(core.find(find_all=True, idVendor=ZEBRA_VENDOR_ID))
    except core.NoBackendError:
        raise PrinterError(uri, "no libusb backend (apt-get install libusb-1.0-0)") from None
    except core.USBError as e:
        raise PrinterError(uri, "USB enumeration failed: %s" % e) from None


def _usb_string(dev, attr):
    # String descriptors need the device opened; without permission they raise.
    try:
        return getattr(dev, attr)
    except Exception:  # USBError (permission), ValueError ("no langid"), NotImplementedError
        return None


def _printer_interface(dev, util):
    """The printer-class interface of the active configuration with its bulk endpoints."""
    try:
        cfg = dev.get_active_configuration()
    except Exception:
        dev.set_configuration()
        cfg = dev.get_active_configuration()
    for intf in cfg:
        if intf.bInterfaceClass != USB_PRINTER_CLASS:
            continue
        ep_out = ep_in = None
        for ep in intf:
            if util.endpoint_type(ep.bmAttributes) != util.ENDPOINT_TYPE_BULK:
                continue
            if util.endpoint_direction(ep.bEndpointAddress) == util.ENDPOINT_OUT:
                ep_out = ep_out or ep
            else:
                ep_in = ep_in or ep
        if ep_out is not None:
            return intf, ep_out, ep_in
    return None, None, None


class UsbPrinter(Printer):
    def __init__(self, uri, serial_number=None, timeout_ms=30000):
        super().__init__(uri)
        core, util = _usb_core(uri)
        self._core, self._util, self.timeout_ms = core, util, timeout_ms
        devices = _usb_find(uri, core)
        if serial_number:
            devices = [d for d in devices if _usb_string(d, "serial_number") == serial_number]
        if not devices:
            what = "with serial number %s" % serial_number if serial_number else "(vendor id 0x0A5F)"
            raise PrinterError(uri, "no such device: no Zebra USB printer %s" % what)
        self._dev = devices[0]
        self._detached = False
        try:
            intf, self._out, self._in = _printer_interface(self._dev, util)
            if intf is None:
                raise PrinterError(uri, "no printer-class interface with a bulk OUT endpoint")
            self._intf = intf.bInterfaceNumber
            if self._kernel_driver_active():
                # usblp holds the interface; take it for the duration of the session.
                self._dev.detach_kernel_driver(self._intf)
                self._detached = True
            util.claim_interface(self._dev, self._intf)
        except core.USBError as e:
            raise PrinterError(uri, _usb_cause(e)) from None
        if self._in is None:
            self.can_query = False  # some printers expose OUT only: send works, replies cannot

    def _kernel_driver_active(self):
        try:
            return self._dev.is_kernel_driver_active(self._intf)
        except (NotImplementedError, self._core.USBError):
            return False

    def _write(self, data):
        try:
            self._out.write(data, timeout=self.timeout_ms)
        except self._core.USBError as e:
            raise PrinterError(self.uri, "USB write failed: %s" % _usb_cause(e)) from None

    def _read(self, timeout):
        if self._in is None:
            return b""
        try:
            # libusb treats a timeout of 0 as "wait forever": ask for at least 1 ms.
            return bytes(self._in.read(self._in.wMaxPacketSize * 64, timeout=max(1, int(timeout * 1000))))
        except self._core.USBTimeoutError:
            return b""
        except self._core.USBError as e:
            if getattr(e, "errno", None) == 110 or "timed out" in str(e).lower():
                return b""
            raise PrinterError(self.uri, "USB read failed: %s" % _usb_cause(e)) from None

    def query(self, cmd, timeout=2.0, frames=None):
        if self._in is None:
            return None
        return super().query(cmd, timeout, frames)

    def _close(self):
        try:
            self._util.release_interface(self._dev, self._intf)
            if self._detached:
                self._dev.attach_kernel_driver(self._intf)
        except Exception:
            pass  # closing a device that went away: nothing left to release
        self._util.dispose_resources(self._dev)


def _usb_cause(e):
    errno = getattr(e, "errno", None)
    if errno == 13 or "Access denied" in str(e) or "insufficient permissions" in str(e):
        return "permission denied (add a udev rule for vendor 0a5f, or run as root): %s" % e
    if errno == 19 or "No such device" in str(e):
        return "no such device (unplugged?): %s" % e
    if errno == 16 or "Resource busy" in str(e):
        return "device busy (another program claimed it): %s" % e
    return str(e)


def discover_usb():
    """Zebra printers on USB: [{"uri", "serial", "product", "manufacturer", "bus", "address"}].
    Serial numbers need permission to open the device; without it "serial" is None and the
    URI is plain "usb".  Raises PrinterError when pyusb or libusb is missing."""
    core, _ = _usb_core("usb")
    found = []
    for dev in _usb_find("usb", core):
        serial = _usb_string(dev, "serial_number")
        found.append({"uri": "usb:%s" % serial if serial else "usb", "serial": serial,
                      "product": _usb_string(dev, "product"), "manufacturer": _usb_string(dev, "manufacturer"),
                      "bus": dev.bus, "address": dev.address})
    return found


# -- CUPS ---------------------------------------------------------------------------------


class CupsPrinter(Printer):
    """Send-only: the `zebra` package pipes the data to ``lpr -P QUEUE -o raw``.  The zebra
    package does not check lpr's exit status, so a send that CUPS rejects is not seen here;
    the queue's existence is checked once at open (``lpstat -p``)."""

    can_query = False

    def __init__(self, uri, queue, check_queue=True):
        super().__init__(uri)
        try:
            import zebra
        except ImportError:
            raise PrinterError(uri, "the zebra package is not installed (pip install zebra)") from None
        if not queue:
            raise PrinterError(uri, "no queue name (cups:QUEUE)")
        self.queue = queue
        self._zebra = zebra.Zebra(queue)
        if check_queue:
            import shutil

            if shutil.which("lpr") is None:
                raise PrinterError(uri, "lpr not found (apt-get install cups-client)")
            if shutil.which("lpstat") is not None and queue not in self._zebra.getqueues():
                raise PrinterError(uri, "no such CUPS queue %r (lpstat -p lists the queues)" % queue)

    def _write(self, data):
        try:
            self._zebra.output(data)
        except OSError as e:
            raise PrinterError(self.uri, "lpr failed: %s" % e) from None

    def query(self, cmd, timeout=2.0, frames=None):
        # A print queue is one-way: status is unsupported on this transport (None).
        self._check_open()

    def _read(self, timeout):
        return b""


# -- opening and discovery ----------------------------------------------------------------


def open_printer(uri, timeout=5.0):
    """Open a printer by URI (module docstring).  `timeout` bounds the TCP connect."""
    if not isinstance(uri, str) or not uri:
        raise PrinterError(repr(uri), "empty printer URI")
    scheme, _, rest = uri.partition(":")
    scheme = scheme.lower()
    if scheme == "tcp":
        parts = urllib.parse.urlsplit(uri)
        try:
            host, port = parts.hostname, parts.port or 9100
        except ValueError as e:
            raise PrinterError(uri, "bad port: %s" % e) from None
        if not host:
            raise PrinterError(uri, "no host (tcp://HOST[:PORT])")
        return TcpPrinter(uri, host, port, connect_timeout=timeout)
    if scheme == "serial":
        path, _, query = rest.partition("?")
        path = path.removeprefix("//")
        if not path:
            raise PrinterError(uri, "no device (serial:/dev/ttyUSB0)")
        opts = dict(urllib.parse.parse_qsl(query))
        unknown = set(opts) - {"baud", "flow"}
        if unknown:
            raise PrinterError(uri, "unknown serial option(s) %s (baud, flow)" % ", ".join(sorted(unknown)))
        try:
            baud = int(opts.get("baud", 9600))
        except ValueError:
            raise PrinterError(uri, "baud=%r is not a number" % opts["baud"]) from None
        return SerialPrinter(uri, path, baud, opts.get("flow", "none"))
    if scheme == "usb":
        return UsbPrinter(uri, rest or None)
    if scheme == "cups":
        return CupsPrinter(uri, rest)
    raise PrinterError(uri, "unknown printer URI scheme %r (tcp://HOST[:PORT], serial:/dev/…, usb[:SERIAL], cups:QUEUE)" % scheme)


def probe_tcp(host, port=9100, timeout=1.0):
    """Ask one host for ~HI; the parsed reply (status.parse_hi) with "uri", or None."""
    from gateway.printing.status import StatusError, parse_hi

    uri = "tcp://%s:%d" % (host if ":" not in host else "[%s]" % host, port)
    try:
        with open_printer(uri, timeout=timeout) as p:
            reply = p.query(b"~HI", timeout=timeout)
    except PrinterError:
        return None
    if reply is None:
        return None
    try:
        info = parse_hi(reply)
    except StatusError:
        return None
    info["uri"] = uri
    return info


def discover(hosts=(), port=9100, timeout=1.0, usb=True):
    """Printers this gateway can reach: Zebra USB devices (when pyusb and libusb are there)
    and, for TCP, only the `hosts` given (probed with ~HI; no network scan is made).  Serial
    ports are not probed: a wrong baud rate would send garbage to whatever is attached.
    Returns a list of dicts, each with "uri"."""
    found = []
    if usb:
        try:
            found.extend(discover_usb())
        except PrinterError:
            pass  # no pyusb / libusb: USB discovery is simply unavailable
    for host in hosts:
        info = probe_tcp(host, port, timeout)
        if info is not None:
            found.append(info)
    return found


__all__ = ["PrinterError", "Printer", "TcpPrinter", "SerialPrinter", "UsbPrinter", "CupsPrinter",
           "open_printer", "discover", "discover_usb", "probe_tcp", "expected_frames", "reply_complete",
           "ZEBRA_VENDOR_ID"]
