# Inside the MicroPython VM: pre-check time and heap per scan, and free heap
# after boot with the whole firmware running (simulated board, real broker).
#   micropython -X heapsize=100K bench_firmware.py HOST PORT ROOT
# On the WebAssembly port (gateway/sim/wasm/run.mjs) the runner imports this
# module and awaits main(): that port has no asyncio.run, and its heap grows
# on demand, so what counts there is heap_after_boot_bytes.
import gc
import sys

gc.collect()
START = gc.mem_alloc()  # the VM's own allocations and the ROMFS images: not the firmware's
ASYNCIO_BEFORE = "asyncio" in sys.modules  # loaded by the runner: not in heap_after_boot_bytes
import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

RAW = "]d201069012345678921727123110LOT2024A\x1d21SN"


async def main(host, port, root):
    port = int(port)
    # As main.py boots: the updater checks for an update on trial, then
    # leaves the heap before the app is imported.
    import ota

    trial = ota.Updater(root, root + "/ota_staging", None).on_boot() == "trial"
    del sys.modules["ota"]
    ota = None
    import app
    import precheck
    from simboard import SimBoard

    out = {}
    s, _ = app.load_settings("config.json")  # as app.main() boots
    s["engine"]["kind"] = "line"
    s["mqtt"]["host"] = host
    s["mqtt"]["port"] = port
    h = app.Handheld(s, SimBoard("bench0001"), root, "bench0001", trial)
    task = asyncio.create_task(h.run(watchdog=False))
    ok = await h.mqtt.wait_connected(5)
    await asyncio.sleep(0.5)
    gc.collect()
    out["connected"] = ok
    out["free_after_boot_bytes"] = gc.mem_free()
    out["heap_after_boot_bytes"] = gc.mem_alloc() - START
    out["asyncio_before"] = ASYNCIO_BEFORE
    out["maxsize"] = sys.maxsize  # 2**31 - 1 on a 32-bit VM, as the ESP32
    import micropython

    micropython.qstr_info()  # "qstr pool: ..." line: the names interned in the heap
    # pre-check time for a typical GS1 UDI scan (new serial each time)
    # best of 5 rounds of 500: the machine's other load only ever adds time
    n = 500
    raws = [RAW + "%04d" % i for i in range(20)]
    precheck.check(raws[0])
    best = None
    for _ in range(5):
        t = time.ticks_us()
        for i in range(n):
            precheck.check(raws[i % 20])
        us = time.ticks_diff(time.ticks_us(), t) / n
        best = us if best is None or us < best else best
    out["precheck_us"] = round(best, 1)
    raws = None  # the benchmark's own strings leave the heap the handheld runs on
    # heap allocated by one whole scan (pre-check, payload, outbox append)
    total = 0
    counted = 0
    for i in range(20):
        gc.collect()
        gc.disable()  # count every byte the scan allocates, garbage included
        before = gc.mem_alloc()
        try:
            h.handle_scan((RAW + "%05d" % (90000 + i)).encode())
            total += gc.mem_alloc() - before
            counted += 1
        except MemoryError:
            # with the collector off, a small fragmented heap may not have a
            # free run of blocks that a collection would have made
            pass
        finally:
            gc.enable()
    out["heap_per_scan_bytes"] = total // counted if counted else None
    out["scans_counted"] = counted
    for _ in range(50):  # until the outbox is delivered (5 s at most)
        await asyncio.sleep(0.1)
        if not h.outbox.depth():
            break
    gc.collect()
    out["free_after_scans_bytes"] = gc.mem_free()
    out["undelivered"] = h.outbox.depth()
    out["loop_errors"] = h.loop_errors
    print(json.dumps(out))
    h.stop()
    task.cancel()


if sys.platform != "webassembly":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
