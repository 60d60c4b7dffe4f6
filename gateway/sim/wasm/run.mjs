// The firmware on MicroPython's WebAssembly port (32-bit, as the ESP32),
// under Node: what bench/firmware.py uses to measure the heap the firmware
// takes with 32-bit objects (the unix port is 64-bit: every pointer, and
// so nearly every object, is twice the ESP32's size).
//   node run.mjs MICROPYTHON_MJS IMAGE ROOT MODULE [ARGS...]
// IMAGE: a ROMFS image with the firmware, the sim modules and wasmnet; it is
// registered as the port's ROMFS (outside the GC heap, as the ESP32's ROM
// partition).  ROOT: a directory copied into the VM's file system as the
// handheld's flash (config.json).  MODULE: imported from the image, then its
// main(*ARGS) awaited.
import fs from "fs";
import net from "net";
import path from "path";

const [mjs, image, root, module, ...args] = process.argv.slice(2);
const { loadMicroPython } = await import(path.resolve(mjs));
const mp = await loadMicroPython({
  heapsize: 100 * 1024,
  romfs: new Uint8Array(fs.readFileSync(image)),
  stdout: (line) => process.stdout.write(line + "\n"),
  linebuffer: true,
});
mp.registerJsModule("jsnet", {
  connect(host, port, onData, onClose) {
    const s = net.connect(port, host);
    s.setNoDelay(true);
    s.on("data", (d) => onData(d.toString("hex")));
    s.on("close", () => onClose());
    s.on("error", () => {});
    const connected = new Promise((resolve, reject) => {
      s.once("connect", () => resolve(true));
      s.once("error", reject);
    });
    return { connected, write: (hex) => s.write(Buffer.from(hex, "hex")), close: () => s.destroy() };
  },
});
mp.FS.mkdir("/flash");
for (const name of fs.readdirSync(root)) {
  const p = path.join(root, name);
  if (fs.statSync(p).isFile()) mp.FS.writeFile("/flash/" + name, fs.readFileSync(p));
}
// The port's asyncio cannot wait_for from the top-level coroutine: the
// module's main() runs as a task.
await mp.runPythonAsync(`
import os, sys
os.chdir("/flash")
import ${module}
import asyncio
import wasmnet  # after the module: it stands in for asyncio.stream, part of what the firmware takes
try:
    await asyncio.create_task(${module}.main(*${JSON.stringify(args)}))
except BaseException as e:
    sys.print_exception(e)
`);
process.exit(0);
