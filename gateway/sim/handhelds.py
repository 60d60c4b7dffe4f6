"""`udi-edge sim handhelds`: N handhelds running the real firmware on the
MicroPython VM (several per VM process) against an MQTT broker."""

import json
import os
import subprocess
import tempfile

from gateway.mqtt_access import write_private
from gateway.sim import vm

HERE = os.path.dirname(os.path.abspath(__file__))


def generated_codes(n=500):
    # Site-like codes: GS1 DataMatrix UDI scans and 20-digit drug codes.
    from bench import corpus

    return [c for c in corpus.make(n, seed=5) if c.startswith("]d2") or c[:1] == "8"]


def device_ids(count, per_vm=50):
    # The ids the simulated handhelds take (mp/handhelds.py names them so).
    return ["sim%02d%04d" % (i // per_vm, i % per_vm) for i in range(count)]


def run(count=3, broker="127.0.0.1:1883", codes=None, per_device=20, rate=5.0, root=None, heap="64M", per_vm=50,
        user=None, password=None, timeout_s=600, credentials=None, config=None):
    # credentials: {device id: password} for per-device logins (the
    # gateway's embedded broker); else one user/password, or anonymous.
    # config: the handhelds' config.json (default: the firmware's own), e.g. with TLS on.
    host, _, port = broker.rpartition(":")
    root = os.path.abspath(root or tempfile.mkdtemp(prefix="udi-handhelds-"))
    os.makedirs(root, exist_ok=True)
    codes_file = codes
    if codes_file is None:
        codes_file = os.path.join(root, "codes.txt")
        with open(codes_file, "w") as f:
            for c in generated_codes():
                f.write(c.replace("\x1d", "<GS>") + "\n")
    config = os.path.abspath(config) if config else os.path.join(vm.bundle(), "config.json")
    procs = []
    for start in range(0, count, per_vm):
        n = min(per_vm, count - start)
        args = {
            "count": n, "prefix": "sim%02d" % (start // per_vm), "host": host or "127.0.0.1", "port": int(port),
            "codes": os.path.abspath(codes_file), "config": config, "per_device": per_device,
            "interval_s": 1.0 / rate if rate > 0 else 0, "root": os.path.abspath(root), "drain_timeout_s": 60,
            "user": user, "password": password,
            "credentials": {d: (credentials or {}).get(d) for d in device_ids(count, per_vm)[start:start + n]},
        }
        argf = os.path.join(root, "vm%d.json" % (start // per_vm))
        write_private(argf, json.dumps(args))  # the handhelds' passwords are in it
        procs.append(subprocess.Popen(
            vm.command(os.path.join(HERE, "mp", "handhelds.py"), heap) + [argf],
            env=vm.env((os.path.join(HERE, "mp"),)), cwd=root,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    total = {"devices": 0, "scans": 0, "undelivered": 0, "refused": 0, "duplicates_suppressed": 0, "errors": []}
    for p in procs:
        out, err = p.communicate(timeout=timeout_s)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        if p.returncode != 0 or not lines:
            total["errors"].append(err.strip().splitlines()[-1] if err.strip() else "vm exit %s" % p.returncode)
            continue
        s = json.loads(lines[-1])
        for k in ("devices", "scans", "undelivered", "refused", "duplicates_suppressed"):
            total[k] += s[k]
    total["root"] = root
    if total["errors"]:
        total["undelivered"] = max(total["undelivered"], 1)
    return total
