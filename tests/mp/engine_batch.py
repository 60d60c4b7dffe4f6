# Runs inside the MicroPython VM: JSON lines {"raw", "today"} on stdin ->
# one compact verdict per line on stdout (what the firmware pre-check uses).
import json
import sys

import udi_codes

while True:
    line = sys.stdin.readline()
    if not line:
        break
    req = json.loads(line)
    res = udi_codes.parse(req["raw"], req.get("profile", "read"), req.get("today"))
    out = {
        "scheme": res["scheme"],
        "valid": res["valid"],
        "errors": sorted([e["code"] if e["code"] != "internal_error" else e["message"] for e in res["errors"]]),
        "warnings": sorted([w["code"] for w in res["warnings"]]),
        "di": res["di"],
        "pi": res["pi"],
        "hri": res["hri"],
    }
    print(json.dumps(out))
