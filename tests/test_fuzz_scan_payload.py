"""Fuzzing the ingest's MQTT handler (fuzz/scan_payload.py has the oracle)
on SQLite and PostgreSQL: arbitrary bytes, any JSON shape, scans with every
field mutated, status, heartbeat and command results never crash it; a
scan is stored and answered, or refused with its reason (and answered when
its identity is readable).  A smaller sample goes through a real mosquitto.
Then one regression test per crash the fuzzing found."""

import base64
import json
import time

import pytest
from hypothesis import Phase, given
from hypothesis import strategies as st

from fuzz import scan_payload as P
from fuzz.budget import fuzz_settings

INTS = st.integers() | st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64 - 1])
JSON = st.recursive(st.none() | st.booleans() | INTS | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=6)
TEXT = st.text(max_size=40) | st.sampled_from(["", "\x00", "a\x00b", "x" * 70, P.GOOD_RAW, "]d2" + "0" * 30])
RAW = TEXT | st.sampled_from([P.GOOD_RAW, "]d201069012345678931727123110LOT2024A", "]Q1MA.156.M0.100350.01004YA10017",
                              "+A123BJC5D6E71/$$32812311234Z", "81234567890123456789", "(01)06901234567892"])


def scan_message(dev):
    return st.fixed_dictionaries(
        {"v": st.just(1) | JSON, "dev": st.just(dev) | TEXT, "boot": st.integers(0, 3) | INTS | JSON,
         "seq": st.integers(0, 40) | INTS | JSON},
        optional={"raw": RAW | JSON, "raw_b64": st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()) | TEXT,
                  "mode": st.sampled_from(["receive", "dispatch", "use", "aggregate", "verify"]) | JSON,
                  "op": TEXT | JSON, "loc": TEXT | JSON, "ts": INTS | JSON, "up_ms": INTS | JSON,
                  "pre": st.fixed_dictionaries({"verdict": TEXT | JSON}) | JSON,
                  "agg": st.fixed_dictionaries({"session": TEXT | JSON, "role": st.sampled_from(["parent", "child"]) | JSON,
                                                "order": TEXT}) | JSON})


def other_message(kind):
    if kind == "status":
        fields = {"v": st.just(1), "state": st.sampled_from(["online", "offline"]) | JSON}
        optional = {"fw": TEXT | JSON, "boot": INTS | JSON}
    elif kind == "heartbeat":
        fields = {"v": st.just(1)}
        optional = {"fw": TEXT | JSON, "battery_mv": INTS | JSON, "queue": INTS | JSON, "up_s": INTS, "engine": JSON}
    else:  # cmd/result
        fields = {"v": st.just(1) | JSON, "id": st.text("0123456789abcdef", max_size=16) | TEXT | JSON}
        optional = {"ok": st.booleans() | JSON, "detail": JSON}
    return st.fixed_dictionaries(fields, optional=optional)


def encoded(msg):
    return st.sampled_from([json.dumps(msg).encode(), json.dumps(msg, ensure_ascii=False).encode("utf-8", "surrogatepass")])


@st.composite
def messages(draw, dev=P.DEV, kinds=("scan", "status", "heartbeat", "cmd/result"), other_devices=True):
    kind = draw(st.sampled_from(kinds))
    topic_dev = dev
    if other_devices:  # topics of ids no handheld has (no broker ACL in front of the gateway)
        topic_dev = draw(st.just(dev) | st.text(st.characters(exclude_characters="/+#\x00"), min_size=1, max_size=70))
    topic = "udi/v1/dev/%s/%s" % (topic_dev, kind)
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return topic, draw(st.binary(max_size=60))
    if shape == 1:
        return topic, draw(encoded(draw(JSON)))
    msg = draw(scan_message(topic_dev) if kind == "scan" else other_message(kind))
    return topic, draw(encoded(msg))


@pytest.fixture
def rig(db_url):
    r = P.Rig(db_url)
    yield r
    r.close()


@fuzz_settings(150)
@given(msgs=st.lists(messages(), min_size=1, max_size=4))
def test_any_message(rig, msgs):
    for topic, payload in msgs:
        P.check(rig, topic, payload)


@fuzz_settings(60)
@given(data=st.binary(max_size=120))
def test_the_harness_input_mapping(rig, data):
    P.check(rig, *P.from_bytes(data))


# ---- through a real broker --------------------------------------------------------

from test_gateway import Device, gateway  # noqa: E402,F401  (the gateway with its embedded mosquitto)
from test_mqtt_client import MOSQUITTO  # noqa: E402


@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")
@fuzz_settings(2, phases=[Phase.explicit, Phase.generate])  # no shrinking: each example is seconds of broker traffic
@given(msgs=st.lists(messages(dev="hhfuzzbroker", kinds=("scan", "scan", "status", "heartbeat", "cmd/result"),
                              other_devices=False), min_size=20, max_size=20))
def test_a_sample_through_mosquitto(gateway, msgs):  # noqa: F811
    d = Device(gateway, dev="hhfuzzbroker")
    try:
        before = len(gateway.store.rejects())
        answers_before = len(d.answers)
        for topic, payload in msgs:
            d.send(payload, topic=topic)
        sentinel = 10**6 + len(d.answers)
        d.send({"v": 1, "dev": d.dev, "boot": 9, "seq": sentinel, "raw": P.GOOD_RAW})
        deadline = time.time() + 20
        while not any(a["seq"] == sentinel for a in d.answers) and time.time() < deadline:
            time.sleep(0.05)
        assert any(a["seq"] == sentinel for a in d.answers), "the ingest stopped answering"
    finally:
        d.close()
    rejects = gateway.store.rejects()[before:]
    assert not [r for r in rejects if r["reason"] == "internal_error"], rejects
    assert {r["reason"] for r in rejects} <= P.SCAN_REJECTS | P.OTHER_REJECTS
    scans_sent = sum(1 for t, _ in msgs if t.endswith("/scan"))
    scan_rejects = sum(1 for r in rejects if r["topic"].endswith("/scan"))
    # every scan payload was answered (stored, redelivered or refused with a readable identity) or refused
    assert len(d.answers) - answers_before >= scans_sent - scan_rejects + 1
    assert gateway.ingest.worker.is_alive()


# ---- regressions: what the fuzzing found --------------------------------------------

def scan(**kw):
    msg = {"v": 1, "dev": P.DEV, "boot": 1, "seq": 1, "raw": P.GOOD_RAW}
    msg.update(kw)
    return json.dumps(msg).encode()


def topic(kind, dev=P.DEV):
    return "udi/v1/dev/%s/%s" % (dev, kind)


def reasons(rig):
    return [r["reason"] for r in rig.store.rejects()]


def test_boot_and_seq_beyond_the_columns_are_refused(rig):
    # Found: seq 2**31 broke the batch on PostgreSQL (32-bit columns), 2**63 on SQLite.
    for i, (boot, seq) in enumerate([(1, 2**31), (2**31, 1), (1, 2**63), (2**64 - 1, 1)]):
        P.check(rig, topic("scan"), scan(boot=boot, seq=seq))
    assert reasons(rig) == ["bad_seq", "bad_boot", "bad_seq", "bad_boot"]
    P.check(rig, topic("scan"), scan(seq=2**31 - 1))  # the largest one is stored
    assert rig.stored(P.DEV, 1, 2**31 - 1)["verdict"] == "good"


def test_long_uptime_is_kept_and_odd_fields_are_stored_without_them(rig):
    # Found: up_ms past 2**31 (25 days of uptime), NUL in op/loc/mode and a
    # long pre.verdict broke the batch on PostgreSQL.
    P.check(rig, topic("scan"), scan(seq=5, up_ms=2**31 + 5, ts=2**40, op="a\x00b", loc="\x00", mode="use\x00",
                                     pre={"verdict": "x" * 40}))
    row = rig.stored(P.DEV, 1, 5)
    assert row["up_ms"] == 2**31 + 5 and row["device_ts"] == 2**40  # 64-bit columns since migration 0009
    assert row["operator"] == "a\ufffdb" and row["location"] == "\ufffd" and row["pre_verdict"] == "x" * 8
    P.check(rig, topic("scan"), scan(seq=6, up_ms=2**63, ts=-(2**64)))
    row = rig.stored(P.DEV, 1, 6)
    assert row["up_ms"] is None and row["device_ts"] is None  # past 64 bits: stored without them


def test_nul_in_raw_is_judged_and_kept_in_the_result(rig):
    # Found: NUL in raw broke the batch on PostgreSQL.
    P.check(rig, topic("scan"), scan(seq=6, raw="]d2010690123\x00"))
    row = rig.stored(P.DEV, 1, 6)
    assert row["verdict"] == "bad" and row["raw"] == "]d2010690123\ufffd"
    assert row["result"]["raw"] == "]d2010690123\x00"  # exactly as scanned


def test_a_payload_with_nul_bytes_is_recorded(rig):
    # Found: recording a non-JSON payload holding NUL failed on PostgreSQL,
    # and the worker's own error path failed the same way.
    P.check(rig, topic("scan"), b"\x00\xff not json")
    P.check(rig, topic("status"), b"\x00")
    assert reasons(rig) == ["bad_json", "bad_status"]
    assert rig.store.rejects()[0]["payload"].startswith("\ufffd")


def test_huge_heartbeat_numbers_and_long_firmware_names(rig):
    # Found: battery_mv 2**63 (SQLite) / 2**31 (PostgreSQL) and fw of 33-64 characters.
    P.check(rig, topic("heartbeat"), json.dumps({"v": 1, "battery_mv": 2**63, "queue": 2**31, "fw": "f" * 60}).encode())
    P.check(rig, topic("status"), json.dumps({"v": 1, "state": "online", "boot": 2**40, "fw": "\x00"}).encode())
    (dev,) = rig.store.devices()
    assert dev["battery_mv"] is None and dev["queue"] is None and dev["boot"] is None and dev["fw"] == "\ufffd"


def test_a_topic_no_handheld_can_have(rig):
    # Found: a device id longer than the column (no broker ACL in front) broke status and heartbeat on PostgreSQL.
    long_dev = "h" * 70
    P.check(rig, topic("status", long_dev), b'{"v":1,"state":"online"}')
    P.check(rig, topic("heartbeat", "a b"), b'{"v":1}')
    P.check(rig, topic("scan", long_dev), scan(dev=long_dev))
    assert reasons(rig) == ["bad_dev", "bad_dev", "bad_dev"]
    assert rig.store.devices() == []


def test_a_command_result_with_an_id_no_command_has(rig):
    # Found: id "\x00" reached the database (PostgreSQL refused it; logged with a traceback).
    P.check(rig, topic("cmd/result"), b'{"v":1,"id":"\\u0000","ok":true}')
    P.check(rig, topic("cmd/result"), b'{"v":1,"id":"ZZ","ok":null,"detail":"x"}')
    assert rig.failures.records == []


def test_a_scan_without_data_is_answered_with_the_reason(rig):
    # docs/protocol.md: a payload the gateway cannot use is answered with an error.
    P.check(rig, topic("scan"), json.dumps({"v": 1, "dev": P.DEV, "boot": 3, "seq": 4}).encode())
    P.check(rig, topic("scan"), json.dumps({"v": 1, "dev": P.DEV, "boot": 3, "seq": 5, "raw_b64": "!!"}).encode())
    answers = [json.loads(p) for t, p, _, _ in rig.sent.sent if t.endswith("/answer")]
    assert [(a["seq"], a["verdict"], a["codes"]) for a in answers] == [(4, "bad", ["no_raw"]), (5, "bad", ["bad_raw_b64"])]
    assert "扫描数据缺失" in answers[0]["message"] and "Base64" in answers[1]["message"]


def test_lone_surrogates_in_status_heartbeat_and_results(rig):
    # Found (long run): JSON "\ud800" passed json.loads in status / heartbeat /
    # cmd/result and then could not be stored (no UTF-8 for it): internal_error.
    P.check(rig, topic("status"), b'{"v":1,"state":"online","fw":"\\ud800"}')
    P.check(rig, topic("heartbeat"), b'{"v":1,"note":["\\udfff"]}')
    P.check(rig, topic("cmd/result"), b'{"v":1,"id":"abc","ok":true,"detail":"\\ud800"}')
    assert reasons(rig) == ["bad_status", "bad_heartbeat"]
    # and a topic of such an id (a broker would refuse it; a direct call need not crash)
    P.check(rig, "udi/v1/dev/\ud800/scan", b"")
    assert rig.store.rejects()[-1]["dev"] == "\ufffd"
