# Commands from the gateway (docs/protocol.md): set_mode, sync_time,
# status, ota, reboot.  The app imports this module when a command arrives
# and drops it afterwards: a handheld gets a few a day, and their code need
# not take heap in between.

import asyncio

import protocol


async def run(h, msg):
    # One command for handheld h (app.Handheld); the result goes to
    # .../cmd/result, also before a reboot.
    cmd = msg.get("cmd")
    args = msg.get("args") or {}
    ok, detail = True, None
    if cmd == "set_mode":
        ok = h.modes.set_mode(args.get("mode"))
        detail = h.modes.mode
    elif cmd == "sync_time":
        if isinstance(args.get("unix"), int):
            h.clock.set_unix(args["unix"])
        else:
            ok = h.clock.sntp(h.s.get("ntp", {}).get("host") or h.s["mqtt"]["host"], h.s.get("ntp", {}).get("port", 123))
        detail = h.clock.now()
    elif cmd == "status":
        detail = h.health()
    elif cmd == "ota":
        ok, detail = await _ota(h, msg.get("id"), args)
        if ok:
            await h.mqtt.publish(h.topics["cmd_result"], protocol.cmd_result(msg.get("id"), True, detail), 1)
            await h.mqtt.disconnect()
            h.board.reset()
            return
    elif cmd == "reboot":
        await h.mqtt.publish(h.topics["cmd_result"], protocol.cmd_result(msg.get("id"), True, "rebooting"), 1)
        await h.mqtt.disconnect()
        h.board.reset()
        return
    else:
        ok, detail = False, "unknown_command"
    await h.mqtt.publish(h.topics["cmd_result"], protocol.cmd_result(msg.get("id"), ok, detail), 1)


async def _ota(h, cid, args):
    # Download, verify (signature, hashes, paths) and apply a signed
    # bundle; progress goes to cmd/result.  -> (ok, version or error code)
    import ota

    conf = h.s.get("ota", {})
    mv = h.board.battery.millivolts() if h.board.battery is not None else None
    battery_ok = mv is None or mv >= conf.get("min_battery_mv", 3600)

    def progress(done, total):
        asyncio.create_task(h.mqtt.publish(
            h.topics["cmd_result"], protocol.cmd_result(cid, None, {"done": done, "total": total}), 0))

    try:
        up = ota.Updater(h.root, h.root + "/ota_staging", conf.get("public_key"), ota.http_fetch,
                         progress=progress, tick=h.board.watchdog.feed if h.board.watchdog else None)
        await up.download(args.get("url"), args.get("size"), battery_ok, progress)
        up.verify()
        return True, up.apply(battery_ok)
    except ota.OtaError as e:
        return False, str(e)
    except Exception as e:  # anything else: refuse the update, keep running
        return False, "ota_failed: %s" % e
