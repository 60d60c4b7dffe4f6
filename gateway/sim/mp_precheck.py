# Runs inside the MicroPython VM: JSON lines {"raw": ...} on stdin -> one
# {"verdict", "code", "scheme"} per line (`udi-edge sim precheck --jsonl`).
import json
import sys

import precheck

today = None
for arg in sys.argv[1:]:
    if arg.startswith("--today="):
        today = arg[8:]

while True:
    line = sys.stdin.readline()
    if not line:
        break
    line = line.strip()
    if not line:
        continue
    try:
        req = json.loads(line)
        raw = req["raw"]
        if not isinstance(raw, str):
            raise ValueError("raw must be a string")
    except Exception as e:
        print(json.dumps({"verdict": "unknown", "code": "bad_input_line", "scheme": None, "detail": str(e)}))
        continue
    v, code, scheme = precheck.check(raw, req.get("today") or today)
    print(json.dumps({"verdict": v, "code": code, "scheme": scheme}))
