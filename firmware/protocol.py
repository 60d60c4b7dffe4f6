# Topic names and payloads of docs/protocol.md (version 1).

import json

VERSION = 1


def topics(prefix, dev):
    base = prefix + "/dev/" + dev + "/"
    return {
        "scan": base + "scan",
        "answer": base + "answer",
        "status": base + "status",
        "heartbeat": base + "heartbeat",
        "config": base + "config",
        "cmd": base + "cmd",
        "cmd_result": base + "cmd/result",
    }


def raw_field(raw_bytes):
    # ("raw", text) when the scan is UTF-8, else ("raw_b64", base64 text).
    try:
        return "raw", raw_bytes.decode("utf-8")
    except UnicodeError:
        import binascii

        return "raw_b64", binascii.b2a_base64(raw_bytes).decode().strip()


def scan(dev, boot, seq, raw_bytes, mode, op, loc, ts, up_ms, pre, agg=None):
    key, value = raw_field(raw_bytes)
    msg = {
        "v": VERSION,
        "dev": dev,
        "boot": boot,
        "seq": seq,
        key: value,
        "mode": mode,
        "op": op,
        "loc": loc,
        "ts": ts,
        "up_ms": up_ms,
        "pre": {"verdict": pre[0], "code": pre[1], "scheme": pre[2]},
        "agg": agg,
    }
    return json.dumps(msg)


def status(state, boot, fw):
    return json.dumps({"v": VERSION, "state": state, "boot": boot, "fw": fw})


def cmd_result(cid, ok, detail=None):
    return json.dumps({"v": VERSION, "id": cid, "ok": ok, "detail": detail})


def parse(payload):
    # -> dict, or None for anything that is not a version-1 JSON object.
    try:
        msg = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(msg, dict) or msg.get("v") != VERSION:
        return None
    return msg
