# `udi-edge sim handhelds` inside the MicroPython VM: N handhelds running the
# real firmware (app.Handheld) in one asyncio loop, each on a simulated board
# whose scan engine "reads" codes from a file, publishing to a real broker.
# Prints one JSON summary line at the end.
#
#   micropython handhelds.py ARGS.json
import asyncio
import json
import os
import sys

import app
import settings as S
from simboard import SimBoard


def mkdirs(path):
    cur = "/" if path.startswith("/") else ""
    for p in path.split("/"):
        if not p:
            continue
        cur = cur + p if cur in ("", "/") else cur + "/" + p
        try:
            os.mkdir(cur)
        except OSError:
            pass


async def feed(h, codes, per_device, interval_s, start):
    # Write each scan into the simulated UART as the engine would send it.
    n = 0
    i = start
    while n < per_device:
        h.board.uart.inject(codes[i % len(codes)].encode() + b"\r\n")
        n += 1
        i += 7
        await asyncio.sleep(interval_s)


async def main(args):
    with open(args["codes"]) as f:
        codes = [line.rstrip("\n").replace("<GS>", "\x1d") for line in f if line.strip()]
    base, _ = S.load(args["config"])
    devices = []
    for k in range(args["count"]):
        dev = "%s%04d" % (args["prefix"], k)
        root = args["root"] + "/" + dev
        mkdirs(root)
        s = json.loads(json.dumps(base))
        s["engine"]["kind"] = "line"
        s["mqtt"]["host"] = args["host"]
        s["mqtt"]["port"] = args["port"]
        creds = args.get("credentials") or {}
        if creds.get(dev):
            s["mqtt"]["user"] = dev  # per-device login: the broker's ACL keys on it
            s["mqtt"]["password"] = creds[dev]
        elif args.get("user"):
            s["mqtt"]["user"] = args["user"]
            s["mqtt"]["password"] = args.get("password")
        h = app.Handheld(s, SimBoard(dev), root, dev)
        devices.append(h)
    tasks = [asyncio.create_task(h.run(watchdog=False)) for h in devices]
    feeders = [asyncio.create_task(feed(h, codes, args["per_device"], args["interval_s"], k)) for k, h in enumerate(devices)]
    for t in feeders:
        await t
    # wait until every outbox is drained (or the deadline passes)
    waited = 0.0
    while waited < args["drain_timeout_s"] and any(h.outbox.depth() for h in devices):
        await asyncio.sleep(0.2)
        waited += 0.2
    for h in devices:
        h.stop()
    summary = {
        "devices": len(devices),
        "scans": sum(h.seq for h in devices),
        "undelivered": sum(h.outbox.depth() for h in devices),
        "refused": sum(h.refused for h in devices),
        "duplicates_suppressed": sum(h.feedback.played.count("duplicate") for h in devices),
        "boots": [h.boot for h in devices][:3],
    }
    print(json.dumps(summary))
    await asyncio.sleep(0.1)
    for t in tasks:
        t.cancel()


with open(sys.argv[1]) as f:
    ARGS = json.load(f)
asyncio.run(main(ARGS))
