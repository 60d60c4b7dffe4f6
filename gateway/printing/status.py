"""Zebra printer status: parsers for ~HS, ~HQES, ~HI, ~HQOD and SGD replies, and
`PrinterState` / `poll()` that turn them into "ready or not, and why".

Layouts follow the Zebra ZPL II Programming Guide (P1012728-011), as transcribed in
shared/reference/printing.md §2:

* ``~HS`` answers three strings, each ``<STX>…<ETX><CR><LF>``: 12, 11 and 2 comma-separated
  fields.  String 2's second field ``n`` is unused and is *counted* here (a peer library
  skips it and reads every later field one place off).  Newer manuals say the printer does
  not answer ``~HS`` at all while media out, ribbon out, head open, rewinder full or head
  over-temperature, so `poll()` treats silence as a signal, not as "no news".
* ``~HQES`` answers ``PRINTER STATUS`` / ``ERRORS: f gggggggg hhhhhhhh`` /
  ``WARNINGS: f gggggggg hhhhhhhh`` between STX and ETX, CR LF between lines; ``f`` is 1 when
  any bit is set, ``g`` is group 2 (nibbles 16-9), ``h`` is group 1 (nibbles 8-1).
* ``~HI`` answers ``model,version,dots/mm,memory,options``.
* ``~HQOD`` answers ``PRINT METERS`` / ``TOTAL NONRESETTABLE: n u`` / ``USER RESETTABLE
  CNTR1: n u`` / ``USER RESETTABLE CNTR2: n u``: *lengths* (unit ``"`` inches or ``cm``,
  set by ^MA), not label counts.  Label counts come from SGD
  ``odometer.total_label_count`` (`sgd_getvar`).

Uncertain against the manual (kept tolerant, and said so where parsed):
* ~HS ``aaa`` (communication settings) is "a three-digit decimal of an eight-bit number"
  but the manual's table uses nine bits (a8 is the high baud bit); decoded as nine bits.
* ~HS ``mmm`` function-settings bits are documented for a few models only.
* ~HS ``s`` (print width mode) has no documented values; returned as the raw text.
* ~HQES bits other than nibbles 1-3 of errors and nibble 1 of warnings are documented for the
  KR403 kiosk printer only; they are decoded with the manual's names (e.g. ``paused`` =
  0x00010000) and any undocumented bit is kept in ``unknown_errors`` / ``unknown_warnings``.
* ~HI "options" may be absent or several fields; real replies seen in public code carry
  three to seven fields.
* ~HQOD may add LAST CLEANED / CURRENT PRINTHEAD LIFE lines (early-warning maintenance on);
  every ``NAME: number unit`` line is kept in ``counters``.

Every parser raises `StatusError` (a ValueError) with a specific message on a malformed
reply; none raises IndexError or a bare ValueError from int().
"""

import re

STX = b"\x02"
ETX = b"\x03"


class StatusError(ValueError):
    """A printer reply that does not have the manual's layout."""


# -- framing ----------------------------------------------------------------------------


def _as_bytes(reply, what):
    if isinstance(reply, str):
        reply = reply.encode("latin-1")
    if not isinstance(reply, (bytes, bytearray)):
        raise StatusError("%s: expected bytes, got %s" % (what, type(reply).__name__))
    if not reply:
        raise StatusError("%s: empty reply" % what)
    return bytes(reply)


def frames(reply, what="reply"):
    """The texts between each STX and its ETX, in order.  An STX without its ETX
    (a reply cut short) is an error; bytes between frames (CR LF) are ignored."""
    reply = _as_bytes(reply, what)
    out = []
    pos = 0
    while True:
        start = reply.find(STX, pos)
        if start < 0:
            break
        end = reply.find(ETX, start + 1)
        if end < 0:
            raise StatusError("%s: frame %d has STX but no ETX (reply cut short?)" % (what, len(out) + 1))
        out.append(reply[start + 1:end])
        pos = end + 1
    return out


def _text(reply, what):
    # The text of a one-frame reply: the frame when there is one, else the whole
    # reply (SGD device.host_identification and friends come without STX/ETX).
    fr = frames(reply, what)
    raw = b"\r\n".join(fr) if fr else _as_bytes(reply, what)
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise StatusError("%s: non-ASCII byte 0x%02x at %d" % (what, raw[e.start], e.start)) from None


# -- field helpers ------------------------------------------------------------------------


def _fields(frame, n, what):
    try:
        text = frame.decode("ascii")
    except UnicodeDecodeError:
        raise StatusError("%s: non-ASCII bytes in %r" % (what, frame)) from None
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) < n:
        raise StatusError("%s: %d fields, the manual gives %d (%r)" % (what, len(parts), n, text))
    return parts


def _int(value, what):
    if not value.isdigit():
        raise StatusError("%s: %r is not a decimal number" % (what, value))
    return int(value)


def _flag(value, what):
    if value not in ("0", "1"):
        raise StatusError("%s: flag is %r, expected 0 or 1" % (what, value))
    return value == "1"


# -- ~HS ----------------------------------------------------------------------------------

# a8 a2 a1 a0 of ~HS field aaa (manual table).
_BAUDS = {0: 110, 1: 300, 2: 600, 3: 1200, 4: 2400, 5: 4800, 6: 9600, 7: 19200,
          8: 28800, 9: 38400, 10: 57600, 11: 14400}

PRINT_MODES = {"0": "rewind", "1": "peel_off", "2": "tear_off", "3": "cutter", "4": "applicator",
               "5": "delayed_cut", "6": "linerless_peel", "7": "linerless_rewind",
               "8": "partial_cutter", "9": "rfid", "K": "kiosk", "S": "kiosk_cutstream",
               "A": "kiosk_cutstream"}


def decode_comm_settings(aaa):
    """~HS string 1 field aaa: serial settings bit field (decoded as the manual's nine bits;
    the manual's "eight-bit" wording and its nine-bit table disagree)."""
    baud_code = ((aaa >> 8) & 1) << 3 | (aaa & 0b111)
    return {
        "baud": _BAUDS.get(baud_code),
        "data_bits": 8 if aaa & (1 << 3) else 7,
        "stop_bits": 1 if aaa & (1 << 4) else 2,
        "parity_enabled": bool(aaa & (1 << 5)),
        "parity": "even" if aaa & (1 << 6) else "odd",
        "handshake": "dtr" if aaa & (1 << 7) else "xon_xoff",
    }


def decode_function_settings(mmm):
    """~HS string 2 field mmm (documented for ZE500, Xi4, ZM400/600 and some others only)."""
    return {
        "media_type": "continuous" if mmm & (1 << 7) else "die_cut",
        "sensor_profile": bool(mmm & (1 << 6)),
        "comm_diagnostics": bool(mmm & (1 << 5)),
        "print_method": "thermal_transfer" if mmm & 1 else "direct_thermal",
    }


def parse_hs(reply):
    """Parse a ~HS reply (three STX…ETX CR LF strings) into a dict.

    Keys, string 1: comm_settings (int), comm (decoded dict), paper_out, paused,
    label_length_dots, formats_in_buffer, buffer_full, comm_diag_mode, partial_format,
    corrupt_ram, under_temperature, over_temperature.
    String 2: function_settings (int), function (decoded dict), head_open, ribbon_out,
    thermal_transfer, print_mode (code), print_mode_name, print_width_mode (raw text),
    label_waiting, labels_remaining, format_while_printing, graphics_stored.
    String 3: password (text), static_ram.  Plus ``strings``: the three raw strings.
    """
    fr = frames(reply, "~HS")
    if len(fr) != 3:
        raise StatusError("~HS: %d STX/ETX strings, the manual gives 3" % len(fr))
    s1 = _fields(fr[0], 12, "~HS string 1")
    s2 = _fields(fr[1], 11, "~HS string 2")
    s3 = _fields(fr[2], 2, "~HS string 3")
    aaa = _int(s1[0], "~HS aaa (communication settings)")
    mmm = _int(s2[0], "~HS mmm (function settings)")
    mode = s2[5].upper()
    if mode not in PRINT_MODES:
        raise StatusError("~HS r (print mode): %r is not a documented mode" % s2[5])
    return {
        # string 1: aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
        "comm_settings": aaa,
        "comm": decode_comm_settings(aaa),
        "paper_out": _flag(s1[1], "~HS b (paper out)"),
        "paused": _flag(s1[2], "~HS c (pause)"),
        "label_length_dots": _int(s1[3], "~HS dddd (label length)"),
        "formats_in_buffer": _int(s1[4], "~HS eee (formats in buffer)"),
        "buffer_full": _flag(s1[5], "~HS f (buffer full)"),
        "comm_diag_mode": _flag(s1[6], "~HS g (communications diagnostic mode)"),
        "partial_format": _flag(s1[7], "~HS h (partial format)"),
        # s1[8] is iii, unused ("always 000"): not checked, some firmware may differ
        "corrupt_ram": _flag(s1[9], "~HS j (corrupt RAM)"),
        "under_temperature": _flag(s1[10], "~HS k (under temperature)"),
        "over_temperature": _flag(s1[11], "~HS l (over temperature)"),
        # string 2: mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www  (n, field 2, is unused)
        "function_settings": mmm,
        "function": decode_function_settings(mmm),
        "head_open": _flag(s2[2], "~HS o (head up)"),
        "ribbon_out": _flag(s2[3], "~HS p (ribbon out)"),
        "thermal_transfer": _flag(s2[4], "~HS q (thermal transfer mode)"),
        "print_mode": mode,
        "print_mode_name": PRINT_MODES[mode],
        "print_width_mode": s2[6],
        "label_waiting": _flag(s2[7], "~HS t (label waiting)"),
        "labels_remaining": _int(s2[8], "~HS uuuuuuuu (labels remaining)"),
        "format_while_printing": _flag(s2[9], "~HS v (format while printing)"),
        "graphics_stored": _int(s2[10], "~HS www (graphics stored)"),
        # string 3: xxxx,y
        "password": s3[0],
        "static_ram": _flag(s3[1], "~HS y (static RAM)"),
        "strings": [f.decode("ascii") for f in fr],
    }


# -- ~HQES --------------------------------------------------------------------------------

# Group 1 bit -> name (manual tables 8 and 9).  Bits above 0x800 are KR403-only per the manual.
ERROR_BITS = {
    0x00000001: "media_out",
    0x00000002: "ribbon_out",
    0x00000004: "head_open",
    0x00000008: "cutter_fault",
    0x00000010: "printhead_over_temperature",
    0x00000020: "motor_over_temperature",
    0x00000040: "bad_printhead_element",
    0x00000080: "printhead_detection_error",
    0x00000100: "invalid_firmware_config",
    0x00000200: "printhead_thermistor_open",
    0x00001000: "paper_jam_during_retract",
    0x00002000: "presenter_not_running",
    0x00004000: "paper_feed_error",
    0x00008000: "clear_paper_path_failed",
    0x00010000: "paused",
    0x00020000: "retract_timed_out",
    0x00040000: "black_mark_calibrate_error",
    0x00080000: "black_mark_not_found",
}
WARNING_BITS = {
    0x00000001: "need_to_calibrate_media",
    0x00000002: "clean_printhead",
    0x00000004: "replace_printhead",
    0x00000008: "paper_near_end",
    0x00000010: "sensor_1_paper_before_head",
    0x00000020: "sensor_2_black_mark",
    0x00000040: "sensor_3_paper_after_head",
    0x00000080: "sensor_4_loop_ready",
    0x00000100: "sensor_5_presenter",
    0x00000200: "sensor_6_retract_ready",
    0x00000400: "sensor_7_in_retract",
    0x00000800: "sensor_8_at_bin",
}

_HQES_LINE = r"%s:?\s*([01])\s+([0-9A-Fa-f]{8})\s+([0-9A-Fa-f]{8})"


def _decode_bits(value, table):
    names = [name for bit, name in table.items() if value & bit]
    unknown = value & ~sum(table)
    return names, unknown


def parse_hqes(reply):
    """Parse a ~HQES reply.  Keys: error_flag, errors (group 1 int), errors_group2,
    error_names (list), unknown_errors (int), warning_flag, warnings, warnings_group2,
    warning_names, unknown_warnings, and one bool per ERROR_BITS / WARNING_BITS name
    (warnings prefixed ``warn_``)."""
    text = _text(reply, "~HQES")
    out = {}
    for kind, table in (("errors", ERROR_BITS), ("warnings", WARNING_BITS)):
        label = kind.upper()
        m = re.search(_HQES_LINE % label, text)
        if m is None:
            if label in text:
                raise StatusError("~HQES: the %s line is not 'flag 8-hex 8-hex' (%r)" % (label, text))
            raise StatusError("~HQES: no %s line in %r" % (label, text))
        flag, group2, group1 = m.group(1) == "1", int(m.group(2), 16), int(m.group(3), 16)
        names, unknown = _decode_bits(group1, table)
        single = kind[:-1]
        out[single + "_flag"] = flag
        out[kind] = group1
        out[kind + "_group2"] = group2
        out[single + "_names"] = names
        out["unknown_" + kind] = unknown | (group2 << 32)
        prefix = "" if kind == "errors" else "warn_"
        for name in table.values():
            out[prefix + name] = name in names
    return out


# -- ~HI ----------------------------------------------------------------------------------

DPMM_TO_DPI = {6: 152, 8: 203, 12: 300, 24: 600}


def parse_hi(reply):
    """Parse a ~HI reply ``model,version,dots/mm,memory,options``.  Keys: model, firmware,
    dpmm, dpi (None for an unlisted dots/mm), memory_kb (None when absent), options (list
    of the remaining fields, possibly empty)."""
    text = _text(reply, "~HI").strip()
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 3 or not parts[0]:
        raise StatusError("~HI: expected 'model,version,dots/mm,memory,options', got %r" % text)
    dpmm = _int(parts[2], "~HI dots/mm")
    memory_kb = None
    if len(parts) > 3 and parts[3]:
        m = re.fullmatch(r"(\d+)\s*KB", parts[3], re.I)
        if m is None:
            raise StatusError("~HI memory: %r is not NNNKB" % parts[3])
        memory_kb = int(m.group(1))
    return {"model": parts[0], "firmware": parts[1], "dpmm": dpmm, "dpi": DPMM_TO_DPI.get(dpmm),
            "memory_kb": memory_kb, "options": [p for p in parts[4:] if p]}


# -- ~HQOD --------------------------------------------------------------------------------

_OD_NAMES = {"TOTAL NONRESETTABLE": "total", "USER RESETTABLE CNTR1": "user1",
             "USER RESETTABLE CNTR2": "user2", "LAST CLEANED": "last_cleaned",
             "CURRENT PRINTHEAD LIFE": "head_life"}
_OD_LINE = re.compile(r"^\s*([A-Z][A-Z0-9 .#]*?)\s*:\s*([\d,]+)\s*(\"|cm|in|inches|labels)?\s*$", re.IGNORECASE)
_OD_UNITS = {'"': "in", "cm": "cm", "in": "in", "inches": "in", "labels": "labels"}


def parse_odometer(reply):
    """Parse a ~HQOD reply ("PRINT METERS").  The manual's counters are lengths in the
    ^MA unit.  Keys: total, user1, user2 (int or None), last_cleaned, head_life (int or
    None, present only with early-warning maintenance on), unit ("in", "cm" or None), and
    counters: {LINE NAME: (value, unit)} for every ``NAME: number unit`` line, and labels:
    the total as a label count if a firmware ever reports it in LABELS, else None (the
    manual's ~HQOD has no label count: use `label_count()` for that)."""
    text = _text(reply, "~HQOD")
    if "PRINT METERS" not in text.upper():
        raise StatusError("~HQOD: no 'PRINT METERS' heading in %r" % text)
    counters = {}
    for line in text.splitlines():
        m = _OD_LINE.match(line)
        if m:
            unit = _OD_UNITS.get((m.group(3) or "").lower())
            counters[m.group(1).upper()] = (int(m.group(2).replace(",", "")), unit)
    if "TOTAL NONRESETTABLE" not in counters:
        raise StatusError("~HQOD: no 'TOTAL NONRESETTABLE: n' line in %r" % text)
    out = {key: counters[name][0] if name in counters else None for name, key in _OD_NAMES.items()}
    out["unit"] = counters["TOTAL NONRESETTABLE"][1]
    out["labels"] = out["total"] if out["unit"] == "labels" else None
    out["counters"] = counters
    return out


# -- SGD ----------------------------------------------------------------------------------


def sgd_getvar_command(name):
    return b'! U1 getvar "' + name.encode("ascii") + b'"\r\n'


def parse_sgd(reply):
    """The value of an SGD getvar reply ``"value"`` (optionally inside STX/ETX).  An unknown
    variable answers ``"?"``, returned as None."""
    text = _as_bytes(reply, "SGD").strip(b"\x02\x03\r\n ")
    m = re.fullmatch(rb'"(.*)"', text, re.S)
    if m is None:
        raise StatusError("SGD: reply is not a quoted string: %r" % text)
    value = m.group(1).decode("latin-1")
    return None if value == "?" else value


def sgd_getvar(printer, name, timeout=2.0):
    """Ask an SGD variable (e.g. "odometer.total_label_count").  None when the printer did
    not answer, does not know the name, or the transport cannot read."""
    reply = printer.query(sgd_getvar_command(name), timeout=timeout)
    return None if reply is None else parse_sgd(reply)


def label_count(printer, timeout=2.0):
    """The printer's non-resettable label counter (SGD odometer.total_label_count: labels
    printed, without form feeds and calibration), or None when it does not answer.  This,
    not ~HQOD (a length), is the counter to reconcile ^PQ quantities against."""
    value = sgd_getvar(printer, "odometer.total_label_count", timeout)
    if value is None:
        return None
    m = re.match(r"\s*(\d+)", value.replace(",", ""))
    if m is None:
        raise StatusError("odometer.total_label_count: %r is not a number" % value)
    return int(m.group(1))


# -- PrinterState / poll ------------------------------------------------------------------

# Faults that hold a job (the printer prints nothing until they are cleared).
HOLDING_FAULTS = ("paper_out", "ribbon_out", "head_open", "paused", "temperature", "cutter_fault",
                  "printhead_fault", "firmware_config", "corrupt_ram", "unreachable",
                  "status_unsupported", "status_unreadable", "no_host_status")

_HQES_FAULTS = {
    "media_out": "paper_out", "ribbon_out": "ribbon_out", "head_open": "head_open",
    "cutter_fault": "cutter_fault", "printhead_over_temperature": "temperature",
    "motor_over_temperature": "temperature", "bad_printhead_element": "printhead_fault",
    "printhead_detection_error": "printhead_fault", "printhead_thermistor_open": "printhead_fault",
    "invalid_firmware_config": "firmware_config", "paused": "paused",
}


def _add(faults, fault):
    if fault not in faults:
        faults.append(fault)


def _hs_faults(hs):
    faults = []
    for key in ("paper_out", "ribbon_out", "head_open", "paused", "buffer_full", "corrupt_ram"):
        if hs[key]:
            _add(faults, key)
    if hs["under_temperature"] or hs["over_temperature"]:
        _add(faults, "temperature")
    return faults


def _hqes_faults(hqes):
    faults = []
    for name in hqes["error_names"]:
        _add(faults, _HQES_FAULTS.get(name, name))
    if hqes["unknown_errors"]:
        _add(faults, "unknown_error")
    return faults


class PrinterState:
    """What a gateway needs from one status poll.

    ready: True only when the printer answered and reports no fault (buffer_full alone is
        not "not ready": the printer is busy, it will take data again).
    faults: stable ids, in this order of sources: ~HS flags, then ~HQES errors, then
        transport conditions.  Ids: paper_out, ribbon_out, head_open, paused, buffer_full,
        temperature, corrupt_ram, cutter_fault, printhead_fault, firmware_config,
        unknown_error, unreachable (neither ~HS nor ~HQES answered, or the connection
        failed), no_host_status (~HQES answered clean but ~HS did not), status_unreadable
        (a reply not in the manual's layout), status_unsupported (a send-only transport).
    warnings: ~HQES warning names (clean_printhead, …); never block printing.
    labels_remaining, formats_in_buffer, partial_format, label_waiting: from ~HS, or None.
    hs, hqes: the parsed replies (or None).  error: the transport / parse error text.
    """

    def __init__(self, hs=None, hqes=None, faults=None, error=None):
        self.hs = hs
        self.hqes = hqes
        self.error = error
        self.faults = list(faults or [])
        if hs is not None:
            for f in _hs_faults(hs):
                _add(self.faults, f)
        if hqes is not None:
            for f in _hqes_faults(hqes):
                _add(self.faults, f)
        self.warnings = list(hqes["warning_names"]) if hqes else []
        self.labels_remaining = hs["labels_remaining"] if hs else None
        self.formats_in_buffer = hs["formats_in_buffer"] if hs else None
        self.partial_format = hs["partial_format"] if hs else None
        self.label_waiting = hs["label_waiting"] if hs else None
        blocking = [f for f in self.faults if f != "buffer_full"]
        self.ready = (hs is not None or hqes is not None) and not blocking

    @classmethod
    def from_replies(cls, hs_reply=None, hqes_reply=None):
        """Build from raw replies (None = no answer), as `poll` does."""
        faults, errors, hs, hqes = [], [], None, None
        if hqes_reply is not None:
            try:
                hqes = parse_hqes(hqes_reply)
            except StatusError as e:
                errors.append(str(e))
        if hs_reply is not None:
            try:
                hs = parse_hs(hs_reply)
            except StatusError as e:
                errors.append(str(e))
        if errors:
            faults.append("status_unreadable")
        if hs_reply is None and hqes_reply is None:
            faults.append("unreachable")
        elif hs_reply is None and hqes is not None and not hqes["error_names"]:
            # Clean ~HQES but a silent ~HS: something the error bits do not show.
            faults.append("no_host_status")
        return cls(hs, hqes, faults, "; ".join(errors) or None)

    @property
    def idle(self):
        """Everything sent has been printed: no format queued or half-received, no label of
        a batch left (printing.md §2.6 step 4).  None when ~HS did not answer."""
        if self.hs is None:
            return None
        return self.formats_in_buffer == 0 and self.labels_remaining == 0 and not self.partial_format

    def as_dict(self):
        return {"ready": self.ready, "faults": self.faults, "warnings": self.warnings,
                "labels_remaining": self.labels_remaining, "formats_in_buffer": self.formats_in_buffer,
                "partial_format": self.partial_format, "label_waiting": self.label_waiting,
                "idle": self.idle, "error": self.error}

    def __repr__(self):
        return "PrinterState(%r)" % self.as_dict()


def poll(printer, timeout=2.0):
    """Ask ~HQES then ~HS over `printer` (a transports.Printer) and return a PrinterState.

    ~HQES goes first because it is answered in error states where ~HS may stay silent; a
    late ~HS answer then cannot be mistaken for the ~HQES one.  A timeout is not an
    exception: no answer at all is the fault "unreachable", and so is a connection error
    (PrinterError).  A send-only transport (CUPS) gives "status_unsupported"."""
    if not getattr(printer, "can_query", True):
        return PrinterState(faults=["status_unsupported"], error="%s: transport cannot read replies" % printer.uri)
    from gateway.printing.transports import PrinterError

    try:
        hqes_reply = printer.query(b"~HQES", timeout=timeout)
        hs_reply = printer.query(b"~HS", timeout=timeout)
    except PrinterError as e:
        return PrinterState(faults=["unreachable"], error=str(e))
    return PrinterState.from_replies(hs_reply, hqes_reply)
