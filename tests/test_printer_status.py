"""Printer status parsers (gateway/printing/status.py) on replies built field by field as
the ZPL manual lays them out (shared/reference/printing.md §2), on reply shapes seen in
public code, on captures from real printers (hw_tests/fixtures/printer/*.bin, when any
were taken), and on malformed input."""

import glob
import os

import pytest

from gateway.printing import status
from gateway.printing.status import (
    PrinterState,
    StatusError,
    parse_hi,
    parse_hqes,
    parse_hs,
    parse_odometer,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ~HS string 1: aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
S1 = ["aaa", "b", "c", "dddd", "eee", "f", "g", "h", "iii", "j", "k", "l"]
S1_READY = {"aaa": "030", "b": "0", "c": "0", "dddd": "1218", "eee": "000", "f": "0", "g": "0", "h": "0",
            "iii": "000", "j": "0", "k": "0", "l": "0"}
# ~HS string 2: mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www   (n is the unused field)
S2 = ["mmm", "n", "o", "p", "q", "r", "s", "t", "uuuuuuuu", "v", "www"]
S2_READY = {"mmm": "001", "n": "0", "o": "0", "p": "0", "q": "1", "r": "2", "s": "6", "t": "0",
            "uuuuuuuu": "00000000", "v": "1", "www": "000"}


def hs(s1=None, s2=None, s3=("1234", "0")):
    """A ~HS reply: three <STX>…<ETX><CR><LF> strings, fields placed by the manual's names."""
    f1 = dict(S1_READY, **(s1 or {}))
    f2 = dict(S2_READY, **(s2 or {}))
    strings = [",".join(f1[k] for k in S1), ",".join(f2[k] for k in S2), ",".join(s3)]
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in strings)


def hqes(err_flag="0", err2="00000000", err1="00000000", warn_flag="0", warn2="00000000", warn1="00000000"):
    lines = ["PRINTER STATUS", "ERRORS:         %s %s %s" % (err_flag, err2, err1),
             "WARNINGS:       %s %s %s" % (warn_flag, warn2, warn1)]
    return b"\x02" + "\r\n".join(lines).encode() + b"\x03"


# -- ~HS -----------------------------------------------------------------------------------


def test_hs_ready_printer_all_fields():
    r = parse_hs(hs())
    assert r["paper_out"] is r["paused"] is r["buffer_full"] is r["partial_format"] is False
    assert r["head_open"] is r["ribbon_out"] is r["corrupt_ram"] is False
    assert r["under_temperature"] is r["over_temperature"] is r["comm_diag_mode"] is False
    assert r["label_length_dots"] == 1218 and r["formats_in_buffer"] == 0 and r["labels_remaining"] == 0
    assert r["thermal_transfer"] is True and r["print_mode"] == "2" and r["print_mode_name"] == "tear_off"
    assert r["print_width_mode"] == "6" and r["label_waiting"] is False and r["format_while_printing"] is True
    assert r["graphics_stored"] == 0 and r["password"] == "1234" and r["static_ram"] is False
    assert r["function_settings"] == 1 and r["function"]["print_method"] == "thermal_transfer"
    assert r["function"]["media_type"] == "die_cut"
    assert len(r["strings"]) == 3


def test_hs_comm_settings_decoded_per_manual_table():
    # 030 = 0b0_0001_1110: a4 = 1 stop bit, a3 = 8 data bits, a2a1a0 = 110 = 9600 baud
    c = parse_hs(hs())["comm"]
    assert c == {"baud": 9600, "data_bits": 8, "stop_bits": 1, "parity_enabled": False, "parity": "odd",
                 "handshake": "xon_xoff"}
    # a8 = 1 with a2a1a0 = 010 -> 1010 = 57600; a7 = DTR; a6 = even; a5 = enabled
    aaa = (1 << 8) | (1 << 7) | (1 << 6) | (1 << 5) | (1 << 4) | (1 << 3) | 0b010
    c = parse_hs(hs(s1={"aaa": "%03d" % aaa}))["comm"]
    assert c == {"baud": 57600, "data_bits": 8, "stop_bits": 1, "parity_enabled": True, "parity": "even",
                 "handshake": "dtr"}


@pytest.mark.parametrize("field,key", [("b", "paper_out"), ("c", "paused"), ("f", "buffer_full"),
                                       ("g", "comm_diag_mode"), ("h", "partial_format"), ("j", "corrupt_ram"),
                                       ("k", "under_temperature"), ("l", "over_temperature")])
def test_hs_string1_each_flag_at_its_position(field, key):
    r = parse_hs(hs(s1={field: "1"}))
    flags = {k for k in ("paper_out", "paused", "buffer_full", "comm_diag_mode", "partial_format", "corrupt_ram",
                         "under_temperature", "over_temperature", "head_open", "ribbon_out") if r[k]}
    assert flags == {key}


@pytest.mark.parametrize("field,key", [("o", "head_open"), ("p", "ribbon_out"), ("t", "label_waiting")])
def test_hs_string2_each_flag_at_its_position(field, key):
    r = parse_hs(hs(s2={field: "1"}))
    assert {k for k in ("head_open", "ribbon_out", "label_waiting", "paper_out", "paused") if r[k]} == {key}


def test_hs_string2_unused_field_n_is_counted():
    # A parser that skips n reads head-up from n, ribbon-out from o, … labels-remaining from t.
    r = parse_hs(hs(s2={"n": "1", "o": "0", "p": "1", "t": "0", "uuuuuuuu": "00000042", "v": "1"}))
    assert r["head_open"] is False and r["ribbon_out"] is True
    assert r["labels_remaining"] == 42 and r["label_waiting"] is False


def test_hs_counts():
    r = parse_hs(hs(s1={"dddd": "0305", "eee": "017"}, s2={"uuuuuuuu": "99999999", "www": "012"}))
    assert (r["label_length_dots"], r["formats_in_buffer"], r["labels_remaining"], r["graphics_stored"]) == \
        (305, 17, 99999999, 12)


@pytest.mark.parametrize("code,name", sorted(status.PRINT_MODES.items()))
def test_hs_print_modes(code, name):
    assert parse_hs(hs(s2={"r": code}))["print_mode_name"] == name


def test_hs_public_sample_replies():
    # Reply shapes found in public code (test fixtures of printer clients; not verified captures).
    a = (b"\x02030,0,0,1032,000,0,0,0,000,0,0,0\x03\r\n"
         b"\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n"
         b"\x021234,0\x03\r\n")
    r = parse_hs(a)
    assert r["label_length_dots"] == 1032 and r["thermal_transfer"] is False and r["labels_remaining"] == 0
    b = (b"\x02030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n"
         b"\x02001,0,1,0,1,2,6,0,00000002,1,000\x03\r\n\x021234,0\x03\r\n")
    r = parse_hs(b)
    assert r["head_open"] is True and r["ribbon_out"] is False and r["labels_remaining"] == 2


def test_hs_accepts_str_and_no_trailing_crlf():
    text = hs().decode().rstrip("\r\n")
    assert parse_hs(text)["label_length_dots"] == 1218


# -- ~HS malformed ---------------------------------------------------------------------------


def one_frame(reply):
    # zebra-day's simulator style: all fields in a single STX…ETX frame
    return b"\x02" + b",".join(f.strip(b"\x02\x03\r\n") for f in reply.split(b"\x03\r\n") if f) + b"\x03\r\n"


@pytest.mark.parametrize("reply,needle", [
    (b"", "empty"),
    (b"garbage", "0 STX/ETX strings"),
    (one_frame(hs()), "1 STX/ETX strings"),
    (hs()[:40], "no ETX"),
    (hs().replace(b"\x021234,0\x03\r\n", b""), "2 STX/ETX strings"),
    (hs(s1={"l": ""}).replace(b",\x03", b"\x03", 1), None),
    (b"\x02030,0,0,1218,000,0,0,0,000,0,0\x03\r\n" + hs().split(b"\r\n", 1)[1], "11 fields"),
    (hs(s2={"uuuuuuuu": "0000000X"}), "labels remaining"),
    (hs(s1={"b": "2"}), "paper out"),
    (hs(s1={"eee": ""}), "formats in buffer"),
    (hs(s2={"r": "Z"}), "print mode"),
    (hs(s3=("1234",)), "~HS string 3"),
    (hs(s1={"aaa": "03x"}), "communication settings"),
    (b"\x02\xff\xfe\x03\r\n" * 3, "non-ASCII"),
])
def test_hs_malformed_raises_status_error(reply, needle):
    with pytest.raises(StatusError) as e:
        parse_hs(reply)
    if needle:
        assert needle in str(e.value)


def test_hs_wrong_type():
    with pytest.raises(StatusError):
        parse_hs(None)
    assert issubclass(StatusError, ValueError)


# -- ~HQES -----------------------------------------------------------------------------------


def test_hqes_clean():
    r = parse_hqes(hqes())
    assert r["error_flag"] is False and r["errors"] == 0 and r["error_names"] == []
    assert r["warning_flag"] is False and r["warning_names"] == []


def test_hqes_manual_example_head_open_media_out_clean_printhead():
    # The manual's first example: "ERRORS: 1 00000000 00000005 / WARNINGS: 1 00000000 00000002"
    reply = (b"\x02       PRINTER STATUS\r\n       ERRORS:     1 00000000 00000005\r\n"
             b"       WARNINGS:    1 00000000 00000002\x03")
    r = parse_hqes(reply)
    assert r["error_names"] == ["media_out", "head_open"] and r["media_out"] and r["head_open"]
    assert not r["ribbon_out"] and r["warning_names"] == ["clean_printhead"] and r["warn_clean_printhead"]


def test_hqes_manual_example_cutter_ribbon_media():
    r = parse_hqes(hqes("1", err1="0000000B"))
    assert r["error_names"] == ["media_out", "ribbon_out", "cutter_fault"]


@pytest.mark.parametrize("bit,name", sorted(status.ERROR_BITS.items()))
def test_hqes_each_error_bit(bit, name):
    r = parse_hqes(hqes("1", err1="%08X" % bit))
    assert r["error_names"] == [name] and r[name] is True and r["unknown_errors"] == 0


@pytest.mark.parametrize("bit,name", sorted(status.WARNING_BITS.items()))
def test_hqes_each_warning_bit(bit, name):
    r = parse_hqes(hqes(warn_flag="1", warn1="%08X" % bit))
    assert r["warning_names"] == [name] and r["warn_" + name] is True


def test_hqes_public_sample_replies():
    # Shapes found in public code: leading CR LFs, indentation and trailing blanks.
    a = (b"\x02\r\n\r\nPRINTER STATUS            \r\n   ERRORS:          1 00000000 00010004  \r\n"
         b"   WARNINGS:        1 00000000 00000100   \r\n\x03")
    r = parse_hqes(a)
    assert r["error_names"] == ["head_open", "paused"] and r["warning_names"] == ["sensor_5_presenter"]
    b = ("\r\n\r\n  PRINTER STATUS                            \r\n"
         "   ERRORS:         0 00000000 00000000      \r\n   WARNINGS:       1 00000000 00002000      \r\n")
    r = parse_hqes(b)  # without STX/ETX (as a client that strips them hands it on)
    assert r["error_names"] == [] and r["warning_names"] == [] and r["unknown_warnings"] == 0x2000


def test_hqes_undocumented_bits_kept():
    r = parse_hqes(hqes("1", err2="00000001", err1="00100000"))
    assert r["error_names"] == [] and r["unknown_errors"] == (1 << 32) | 0x00100000
    assert r["errors_group2"] == 1


@pytest.mark.parametrize("reply,needle", [
    (b"\x02PRINTER STATUS\r\nERRORS:  1 00000000 00000005\x03", "no WARNINGS line"),
    (b"\x02PRINTER STATUS\r\nWARNINGS: 0 00000000 00000000\x03", "no ERRORS line"),
    (hqes("1", err1="0000000G"), "ERRORS line is not"),
    (hqes("2"), "ERRORS line is not"),
    (b"\x02PRINTER STATUS\r\nERRORS: 1 00000000", "no ETX"),
    (b"", "empty"),
])
def test_hqes_malformed(reply, needle):
    with pytest.raises(StatusError) as e:
        parse_hqes(reply)
    assert needle in str(e.value)


# -- ~HI -------------------------------------------------------------------------------------


def test_hi_manual_layout():
    r = parse_hi(b"\x02ZT410-300dpi,V75.20.01Z,12,8176KB,X\x03\r\n")
    assert r == {"model": "ZT410-300dpi", "firmware": "V75.20.01Z", "dpmm": 12, "dpi": 300, "memory_kb": 8176,
                 "options": ["X"]}


@pytest.mark.parametrize("dpmm,dpi", [(6, 152), (8, 203), (12, 300), (24, 600), (7, None)])
def test_hi_dpmm_to_dpi(dpmm, dpi):
    assert parse_hi(b"\x02M,V1.0.0,%d,512KB\x03" % dpmm)["dpi"] == dpi


def test_hi_public_samples_and_sgd_form():
    # Shapes seen in public code: several option fields; no memory; no framing (SGD
    # device.host_identification answers the same text).
    r = parse_hi(b"\x02ZTC GX430t-300dpi-ZPL,V41.16.5,12,1024KB,XML,N,0\x03")
    assert r["model"] == "ZTC GX430t-300dpi-ZPL" and r["memory_kb"] == 1024 and r["options"] == ["XML", "N", "0"]
    r = parse_hi("ZTC ZD420T-203dpi,V72.20.0,8")
    assert r["dpi"] == 203 and r["memory_kb"] is None and r["options"] == []


@pytest.mark.parametrize("reply,needle", [
    (b"\x02garbage\x03", "expected 'model"),
    (b"\x02M,V1,twelve,512KB\x03", "dots/mm"),
    (b"\x02M,V1,12,lots\x03", "memory"),
    (b"\x02,V1,12\x03", "expected 'model"),
    (b"\x02M,V1,12", "no ETX"),
])
def test_hi_malformed(reply, needle):
    with pytest.raises(StatusError) as e:
        parse_hi(reply)
    assert needle in str(e.value)


# -- ~HQOD -----------------------------------------------------------------------------------


def test_odometer_manual_examples():
    inch = b'\x02PRINT METERS\r\nTOTAL NONRESETTABLE:     8560 "\r\nUSER RESETTABLE CNTR1:     9 "\r\nUSER RESETTABLE CNTR2:    8560 "\x03'
    r = parse_odometer(inch)
    assert (r["total"], r["user1"], r["user2"], r["unit"]) == (8560, 9, 8560, "in")
    assert r["last_cleaned"] is None and r["head_life"] is None
    cm = b"\x02PRINT METERS\r\nTOTAL NONRESETTABLE:    21744 cm\r\nUSER RESETTABLE CNTR1:     24 cm\r\nUSER RESETTABLE CNTR2:   21744 cm\x03"
    r = parse_odometer(cm)
    assert (r["total"], r["user1"], r["user2"], r["unit"]) == (21744, 24, 21744, "cm")
    assert r["labels"] is None  # the manual's meters are lengths, never label counts


def test_odometer_public_sample_and_maintenance_lines():
    zt = ('\r\n\r\n  PRINT METERS                              \r\n'
          '   TOTAL NONRESETTABLE:        1330401 "    \r\n'
          '   USER RESETTABLE CNTR1:      1330401 "    \r\n'
          '   USER RESETTABLE CNTR2:      1330401 "    \r\n'
          '   LAST CLEANED:                   257 "    \r\n')
    r = parse_odometer(zt)
    assert r["total"] == 1330401 and r["last_cleaned"] == 257 and r["unit"] == "in"
    assert r["counters"]["LAST CLEANED"] == (257, "in")


@pytest.mark.parametrize("reply,needle", [
    (b"\x02TOTAL NONRESETTABLE: 5 \"\x03", "PRINT METERS"),
    (b"\x02PRINT METERS\r\nUSER RESETTABLE CNTR1: 5 \"\x03", "TOTAL NONRESETTABLE"),
    (b"\x02PRINT METERS\r\nTOTAL NONRESETTABLE: many\x03", "TOTAL NONRESETTABLE"),
])
def test_odometer_malformed(reply, needle):
    with pytest.raises(StatusError) as e:
        parse_odometer(reply)
    assert needle in str(e.value)


# -- SGD -------------------------------------------------------------------------------------


def test_sgd_values():
    assert status.parse_sgd(b'"1234"') == "1234"
    assert status.parse_sgd(b'"?"') is None
    assert status.parse_sgd(b'\x02"ok"\x03\r\n') == "ok"
    assert status.sgd_getvar_command("odometer.total_label_count") == b'! U1 getvar "odometer.total_label_count"\r\n'
    with pytest.raises(StatusError):
        status.parse_sgd(b"1234")


def test_label_count_over_sgd():
    p = FakePrinter({status.sgd_getvar_command("odometer.total_label_count"): b'"1,234"'})
    assert status.label_count(p) == 1234
    assert status.label_count(FakePrinter({})) is None
    with pytest.raises(StatusError):
        status.label_count(FakePrinter({status.sgd_getvar_command("odometer.total_label_count"): b'"n/a"'}))


# -- PrinterState / poll ---------------------------------------------------------------------


def test_state_ready():
    s = PrinterState.from_replies(hs(), hqes())
    assert s.ready is True and s.faults == [] and s.labels_remaining == 0 and s.formats_in_buffer == 0
    assert s.idle is True


def test_state_busy_is_ready_but_not_idle():
    s = PrinterState.from_replies(hs(s1={"eee": "002"}, s2={"uuuuuuuu": "00000007"}), hqes())
    assert s.ready and not s.idle and (s.formats_in_buffer, s.labels_remaining) == (2, 7)
    assert PrinterState.from_replies(hs(s1={"h": "1"}), hqes()).idle is False


@pytest.mark.parametrize("s1,s2,fault", [
    ({"b": "1"}, {}, "paper_out"), ({"c": "1"}, {}, "paused"), ({}, {"o": "1"}, "head_open"),
    ({}, {"p": "1"}, "ribbon_out"), ({"k": "1"}, {}, "temperature"), ({"l": "1"}, {}, "temperature"),
    ({"j": "1"}, {}, "corrupt_ram"),
])
def test_state_faults_from_hs(s1, s2, fault):
    s = PrinterState.from_replies(hs(s1, s2), hqes())
    assert s.faults == [fault] and s.ready is False


def test_state_buffer_full_is_not_a_stop():
    s = PrinterState.from_replies(hs(s1={"f": "1"}), hqes())
    assert s.faults == ["buffer_full"] and s.ready is True


def test_state_hs_silent_hqes_tells_why():
    s = PrinterState.from_replies(None, hqes("1", err1="00000005"))
    assert s.faults == ["paper_out", "head_open"] and not s.ready and s.labels_remaining is None
    assert s.idle is None


def test_state_hs_silent_hqes_clean():
    s = PrinterState.from_replies(None, hqes())
    assert s.faults == ["no_host_status"] and not s.ready


def test_state_unreachable():
    s = PrinterState.from_replies(None, None)
    assert s.faults == ["unreachable"] and s.ready is False


def test_state_unreadable_reply():
    s = PrinterState.from_replies(b"\x02junk\x03", hqes())
    assert s.faults == ["status_unreadable"] and not s.ready and "~HS" in s.error


def test_state_hqes_extra_faults_and_warnings():
    s = PrinterState.from_replies(hs(), hqes("1", err1="00000358", warn_flag="1", warn1="00000002"))
    assert s.faults == ["cutter_fault", "temperature", "printhead_fault", "firmware_config"]
    assert s.warnings == ["clean_printhead"]
    # both sources report the same condition once
    s = PrinterState.from_replies(hs(s1={"b": "1"}), hqes("1", err1="00000001"))
    assert s.faults == ["paper_out"]


class FakePrinter:
    uri = "fake://"
    can_query = True

    def __init__(self, replies, error=None):
        self.replies, self.error, self.sent = replies, error, []

    def query(self, cmd, timeout=2.0, frames=None):
        self.sent.append(cmd)
        if self.error:
            raise self.error
        return self.replies.get(cmd)


def test_poll_asks_hqes_then_hs():
    p = FakePrinter({b"~HS": hs(s2={"uuuuuuuu": "00000003"}), b"~HQES": hqes()})
    s = status.poll(p, timeout=0.1)
    assert p.sent == [b"~HQES", b"~HS"] and s.ready and s.labels_remaining == 3


def test_poll_timeout_is_unreachable_and_errors_too():
    from gateway.printing.transports import PrinterError

    assert status.poll(FakePrinter({}), timeout=0.1).faults == ["unreachable"]
    s = status.poll(FakePrinter({}, PrinterError("tcp://x", "connection refused")))
    assert s.faults == ["unreachable"] and "connection refused" in s.error


def test_poll_send_only_transport():
    p = FakePrinter({})
    p.can_query = False
    assert status.poll(p).faults == ["status_unsupported"] and p.sent == []


# -- captures from real printers (hw_tests --printer … writes them) --------------------------

CAPTURES = sorted(glob.glob(os.path.join(ROOT, "hw_tests", "fixtures", "printer", "*.bin")))
PARSERS = {"hs": parse_hs, "hqes": parse_hqes, "hi": parse_hi, "hqod": parse_odometer}


@pytest.mark.parametrize("path", CAPTURES, ids=[os.path.basename(p) for p in CAPTURES])
def test_captured_replies_parse(path):
    kind = os.path.basename(path).rsplit(".", 1)[0].rsplit("_", 1)[-1]
    if kind not in PARSERS:
        pytest.skip("no parser for %s" % kind)
    with open(path, "rb") as f:
        PARSERS[kind](f.read())
