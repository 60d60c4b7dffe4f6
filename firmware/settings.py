# The one config file on flash (config.json): pin map and every setting.
# Defaults come from the file shipped with the firmware; the gateway's
# retained config topic may override the keys listed in REMOTE.  Errors are
# collected and reported, never raised at boot: a handheld with a bad setting
# still starts with the default for that key.

import json

MODES = ("receive", "dispatch", "use", "aggregate", "verify")
ENGINES = ("gm65", "ssi", "line")
# Keys the gateway may change over MQTT (config topic); pins and Wi-Fi stay local.
REMOTE = ("mode", "operator", "location", "dup_window_ms", "heartbeat_s", "aggregate_order", "feedback")
# Whole-number settings and their least value (a heartbeat of 0 s would spin
# the heartbeat loop; a watchdog under a second would reset a busy handheld).
MINIMUM = {"dup_window_ms": 0, "heartbeat_s": 1, "watchdog_ms": 1000, "long_press_ms": 100}


def load(path="config.json", defaults=None):
    # -> (settings dict, list of problems)
    problems = []
    base = defaults if defaults is not None else _read(path, problems)
    if base is None:
        base = {}
    problems.extend(validate(base))
    return base, problems


def _read(path, problems):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        problems.append("config_missing")
    except ValueError:
        problems.append("config_not_json")
    return None


def validate(s):
    problems = []
    if s.get("mode") not in MODES:
        problems.append("bad_mode")
        s["mode"] = "receive"
    eng = s.get("engine") or {}
    if eng.get("kind") not in ENGINES:
        problems.append("bad_engine_kind")
    for key in MINIMUM:
        v = s.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < MINIMUM[key]:
            problems.append("bad_" + key)
    if s.get("aggregate_order") not in ("children_first", "parent_first"):
        problems.append("bad_aggregate_order")
        s["aggregate_order"] = "children_first"
    if "feedback" in s:
        fb = s["feedback"]
        v = fb.get("volume", 50) if isinstance(fb, dict) else None
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 100:
            problems.append("bad_feedback")  # the beep volume is 0-100 %
            s["feedback"] = {"volume": 50}
    return problems


def apply_remote(s, update):
    # Merge a config message from the gateway; -> list of keys refused.
    refused = []
    if not isinstance(update, dict):
        return ["not_an_object"]
    for key in update:
        if key in ("v", "rev"):
            continue
        if key not in REMOTE:
            refused.append(key)
            continue
        old = s.get(key)
        s[key] = update[key]
        if "bad_" + key in validate(s):
            # a value that does not validate keeps the old one
            s[key] = old
            refused.append(key)
    return refused


def save(s, path="config.json"):
    # Atomic on LittleFS: write a temp file, then rename over the old one.
    import os

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(s, f)
    os.rename(tmp, path)
