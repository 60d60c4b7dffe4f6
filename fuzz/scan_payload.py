"""Target: the ingest's MQTT message handler (gateway.ingest) on any topic
and payload: arbitrary bytes, any JSON shape, scans with every field
mutated, status, heartbeat and command results.

What must hold for every message: the handler never raises and never
records an internal_error; a scan payload is either stored and answered
(verdict, the engine's codes, a message for the operator in Chinese) or
recorded in `rejects` with a known reason; a scan whose identity (boot,
seq) is readable but cannot be used is answered with that reason too; a
redelivered scan is answered "already received" with its first verdict.

The handler runs as the gateway runs it (a real Store, the traceability
rules, the device registry); only the MQTT client is a recorder, so the
answers can be read back (tests/test_fuzz_scan_payload.py also sends a
sample through a real mosquitto).

atheris: python -m fuzz.scan_payload [libFuzzer options] [corpus dirs]"""

import json
import logging
import types

import orjson
from sqlalchemy import select

from fuzz import harness
from fuzz.budget import count
from gateway.devices import DeviceRegistry
from gateway.ingest import INT_MAX, Ingest
from gateway.schema import rejects, scans
from gateway.store import Store
from gateway.trace import Tracer

TARGET = "scan_payload"
PREFIX = "udi/v1"
DEV = "hhfuzz0001"
GOOD_RAW = "]d201069012345678921727123110LOT2024A\x1d21SN0001"
# Reasons a payload may be refused for (gateway/ingest.py, docs/protocol.md).
SCAN_REJECTS = {"too_large", "bad_json", "not_an_object", "bad_version", "dev_mismatch", "bad_dev", "bad_boot",
                "bad_seq", "bad_raw_b64", "no_raw"}
OTHER_REJECTS = {"bad_status", "bad_heartbeat", "bad_dev"}


class Recorder:
    """Stands in for the paho client: keeps what the ingest publishes."""

    def __init__(self):
        self.sent = []

    def publish(self, topic, payload, qos=0, retain=False):
        self.sent.append((topic, payload, qos, retain))


class Failures(logging.Handler):
    """Errors the gateway logged with a traceback: a handler that caught an
    exception it should never have had (the input did not crash the loop,
    but it hit a bug)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        if record.exc_info:
            self.records.append("%s: %s" % (record.getMessage(), record.exc_info[1]))


class Rig:
    """A gateway's ingest over a real database, without a broker."""

    def __init__(self, db_url):
        self.failures = Failures()
        logging.getLogger("udi_edge").addHandler(self.failures)
        self.store = Store(db_url)
        self.ingest = Ingest(self.store, "127.0.0.1", 1, PREFIX, tracer=Tracer())
        self.ingest.client = self.sent = Recorder()
        self.ingest.registry = DeviceRegistry(self.store.engine, self.ingest.publish, PREFIX)
        self.seen = {}  # (dev, boot, seq) -> first verdict
        self.last_reject = 0

    def new_rejects(self):
        with self.store.engine.connect() as c:
            rows = [dict(r) for r in c.execute(select(rejects).where(rejects.c.id > self.last_reject)
                                                .order_by(rejects.c.id)).mappings()]
        if rows:
            self.last_reject = rows[-1]["id"]
        return rows

    def stored(self, dev, boot, seq):
        with self.store.engine.connect() as c:
            return c.execute(select(scans).where(scans.c.dev == dev, scans.c.boot == boot, scans.c.seq == seq)).mappings().first()

    def close(self):
        logging.getLogger("udi_edge").removeHandler(self.failures)
        self.store.engine.dispose()


def _identity(dev, payload):
    # (boot, seq) when the payload is a JSON object of this device with
    # readable ones, else None.
    try:
        msg = orjson.loads(payload)
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    if not isinstance(msg, dict) or msg.get("v") != 1 or msg.get("dev") != dev:
        return None
    boot, seq = msg.get("boot"), msg.get("seq")
    if all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= INT_MAX for x in (boot, seq)):
        return boot, seq
    return None


def check(rig, topic, payload):
    """Hand one MQTT message to the ingest and assert what must follow."""
    count(TARGET)
    ingest = rig.ingest
    sent_before = len(rig.sent.sent)
    parts = topic.split("/")
    kind = "/".join(parts[4:]) if len(parts) >= 5 else None
    dev = parts[3] if len(parts) >= 5 else None
    if kind == "scan":
        # The worker's own call: anything it raises would lose the batch.
        ingest.on_scans([(dev, payload)])
    else:
        ingest._on_message(None, None, types.SimpleNamespace(topic=topic, payload=payload, qos=0, mid=0))
    new_rejects = rig.new_rejects()
    logged, rig.failures.records = rig.failures.records, []
    assert not logged, logged
    answers = [orjson.loads(p) for t, p, _, _ in rig.sent.sent[sent_before:] if t.endswith("/answer")]
    assert not [r for r in new_rejects if r["reason"] == "internal_error"], new_rejects
    for a in answers:
        assert a["v"] == 1 and a["verdict"] in ("good", "bad") and isinstance(a["codes"], list), a
    if kind == "scan":
        ident = _identity(dev, payload)
        if new_rejects:
            (r,) = new_rejects
            assert r["reason"] in SCAN_REJECTS and r["detail"], r
            if ident is not None and r["reason"] in ("no_raw", "bad_raw_b64"):
                # Readable identity: the handheld hears why.
                (a,) = answers
                assert (a["boot"], a["seq"]) == ident and a["verdict"] == "bad" and a["codes"] == [r["reason"]], a
                assert a["message"], a
            else:
                assert answers == [] or ident is not None, answers
        else:
            assert ident is not None, payload
            (a,) = answers
            assert (a["boot"], a["seq"]) == ident, a
            key = (dev,) + ident
            if key in rig.seen:
                assert a["message"] == "already received" and a["verdict"] == rig.seen[key], (a, rig.seen[key])
            else:
                rig.seen[key] = a["verdict"]
                row = rig.stored(*key)
                assert row is not None and row["verdict"] == a["verdict"], (key, row)
                if a["verdict"] == "bad":
                    assert a["codes"] and a["message"], a
                    if row["result"]["errors"]:
                        assert a["codes"][0] == row["result"]["errors"][0]["code"], (a, row["result"]["errors"])
    else:
        for r in new_rejects:
            assert r["reason"] in OTHER_REJECTS and r["detail"], r
        assert answers == [], answers


# ---- inputs from fuzz bytes (atheris) -----------------------------------------------

KINDS = ["scan", "scan", "scan", "status", "heartbeat", "cmd/result", "answer", "", "scan/x"]


def from_bytes(data):
    """One fuzz input -> (topic, payload).  The first byte picks the topic
    kind and how the rest is used: as the payload itself, or as values
    spliced into a well-formed scan (so mutations reach past the JSON parser)."""
    if not data:
        return "%s/dev/%s/scan" % (PREFIX, DEV), b""
    head, body = data[0], data[1:]
    topic = "%s/dev/%s/%s" % (PREFIX, DEV, KINDS[head % len(KINDS)])
    if head & 0x80 or not topic.endswith("/scan"):
        return topic, bytes(body)
    text = body.decode("utf-8", "replace")
    fields = text.split("\x00", 6) + [None] * 6
    msg = {"v": 1, "dev": DEV, "boot": _num(fields[1], 1), "seq": _num(fields[2], 0), "mode": fields[3], "op": fields[4]}
    if head & 0x40:
        msg["raw_b64"] = fields[0]
    else:
        msg["raw"] = fields[0] or GOOD_RAW
    if fields[5] is not None:
        try:
            msg["pre"] = json.loads(fields[5])
        except ValueError:
            msg["loc"] = fields[5]
    return topic, json.dumps(msg).encode()


def _num(text, default):
    if text is None:
        return default
    try:
        return int(text[:24]) if text[:1].isdigit() or text[:1] == "-" else text
    except ValueError:
        return text


_RIG = None


def one_input(data):
    global _RIG
    if _RIG is None:
        import tempfile

        _RIG = Rig("sqlite:///" + tempfile.mkdtemp(prefix="udi-fuzz-") + "/ingest.sqlite")
    topic, payload = from_bytes(data)
    check(_RIG, topic, payload)


def seeds():
    good = {"v": 1, "dev": DEV, "boot": 1, "seq": 1, "raw": GOOD_RAW, "mode": "receive"}
    return [b"\x00" + GOOD_RAW.encode() + b"\x001\x007\x00receive\x00op1",
            b"\x80" + json.dumps(good).encode(),
            b"\x83" + b'{"v":1,"state":"online","fw":"1.0.0","boot":3}',
            b"\x84" + b'{"v":1,"fw":"1.0.0","battery_mv":3900,"queue":0}',
            b"\x85" + b'{"v":1,"id":"c1","ok":true,"detail":"done"}']


def main(argv=None):
    logging.getLogger("udi_edge").propagate = False  # ignored payloads are logged: thousands a second
    harness.fuzz(one_input, argv)


if __name__ == "__main__":
    main()
