"""The MicroPython VM (unix port) running the real firmware bundle: what the
simulators and `udi-edge sim precheck` use instead of an ESP32."""

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKES = os.path.join(ROOT, "tests", "mp_fakes")


def micropython():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    found = here if os.path.exists(here) else shutil.which("micropython")
    if not found:
        raise SystemExit("micropython (the unix port) is not installed: run scripts/setup.sh --test")
    return found


_bundle = None
BOOT_ROMFS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp", "romfs_boot.py")


def bundle():
    # Build the firmware bundle (and its ROMFS image, bundle/../firmware.romfs)
    # once per process into a temp dir.
    global _bundle
    if _bundle is None:
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        import build_firmware

        d = tempfile.mkdtemp(prefix="udi-firmware-")
        out = os.path.join(d, "firmware")
        build_firmware.build(out)
        build_firmware.build_romfs(out, romfs_image(out))
        _bundle = out
    return _bundle


def romfs_image(bundle_dir=None):
    return (bundle_dir or bundle()) + ".romfs"


SIM_MP = os.path.dirname(BOOT_ROMFS)
WASM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wasm")
_sim_image = None


def _tools():
    # The firmware build's own modules (tools/): one mpy-cross and ROMFS recipe.
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import build_firmware
    import build_mpy

    return build_firmware, build_mpy


def _compile_into(staging, sources):
    # sources: .py paths -> staging/<name>.mpy, each named by its file name in tracebacks.
    _, build_mpy = _tools()
    for src in sources:
        name = os.path.basename(src)
        subprocess.run([build_mpy.mpy_cross(), "-O2", "-s", name, "-o", os.path.join(staging, name[:-3] + ".mpy"), src],
                       check=True)


def sim_image():
    # The simulators' own VM modules (gateway/sim/mp: the simulated board,
    # the handhelds runner, the firmware benchmark) as a second ROMFS image.
    # On the device the board's modules and main.py load from ROM too: what
    # stands in for them must not take heap the firmware would have.
    global _sim_image
    if _sim_image is None:
        build_firmware, _ = _tools()
        staging = bundle() + "-sim"
        os.makedirs(staging, exist_ok=True)
        _compile_into(staging, [os.path.join(SIM_MP, n) for n in sim_modules()])
        _sim_image = build_firmware.build_romfs(staging, staging + ".romfs")
    return _sim_image


def wasm_image():
    # One image for the WebAssembly port, which mounts a single ROMFS: the
    # firmware's modules, the sim modules and wasmnet (its asyncio streams).
    build_firmware, _ = _tools()
    staging = bundle() + "-wasm"
    if os.path.isdir(staging):
        shutil.rmtree(staging)
    shutil.copytree(bundle(), staging)
    for name in build_firmware.AS_SOURCE + build_firmware.DATA:
        os.remove(os.path.join(staging, name))
    sim_image()
    for name in os.listdir(bundle() + "-sim"):
        shutil.copy(os.path.join(bundle() + "-sim", name), staging)
    _compile_into(staging, [os.path.join(WASM, "wasmnet.py")])
    return build_firmware.build_romfs(staging, staging + ".romfs")


def sim_modules():
    # romfs_boot.py mounts the images, so it runs as source.
    return sorted(n for n in os.listdir(SIM_MP) if n.endswith(".py") and n != os.path.basename(BOOT_ROMFS))


def command(script, heap="100K", romfs=True):
    # With romfs (the default, as on the device) the firmware's modules are
    # imported from the ROMFS image mapped outside the GC heap, like the
    # ESP32's memory-mapped ROM partition, and the simulators' modules from
    # a second image; a script of theirs runs from there, any other one is
    # compiled into the heap after mounting them.  The heap is enlarged by
    # the images' size (and romfs_boot.py's own), so `heap` is what the
    # firmware gets.
    if romfs:
        images = [romfs_image(), sim_image()]
        size = heap_bytes(heap) + sum(os.path.getsize(i) for i in images) + 4096
        if os.path.dirname(os.path.abspath(script)) == SIM_MP and os.path.basename(script) in sim_modules():
            script = os.path.basename(script)[:-3]  # a module name: imported from the sim image
        return [micropython(), "-X", "heapsize=%d" % size, BOOT_ROMFS, ":".join(images), script]
    return [micropython(), "-X", "heapsize=" + heap, script]


def heap_bytes(heap):
    # "100K" / "64M" / "4096" -> bytes
    units = {"K": 1024, "M": 1024 * 1024}
    if heap[-1:].upper() in units:
        return int(heap[:-1]) * units[heap[-1:].upper()]
    return int(heap)


def env(extra_paths=()):
    path = [bundle()] + list(extra_paths) + [".frozen"]  # .frozen: asyncio and the built-in libraries
    return dict(os.environ, MICROPYPATH=":".join(path))


def popen(script, heap="100K", extra_paths=(), **kw):
    return subprocess.Popen(command(script, heap), env=env(extra_paths), cwd=bundle(), **kw)
