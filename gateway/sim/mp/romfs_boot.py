# Inside the MicroPython unix VM: load the firmware's ROMFS image (and the
# simulators' one, when given), mount them at /rom and /sim, then run the
# given script with them first on sys.path.  Imports from an image are
# zero-copy: bytecode and constants stay in the image.
#
# On the ESP32 the image is memory-mapped flash.  The unix port has no memory
# outside its GC heap, so the caller enlarges the heap by exactly the images'
# size (gateway/sim/vm.py) and each image is loaded first, as one block: what
# remains behaves like the device's heap.
#   micropython romfs_boot.py IMAGE[:SIM_IMAGE] SCRIPT [ARGS...]
# SCRIPT: a .py file (compiled into the heap), or the name of a module in the
# images (imported from ROM, as the device runs main.py).
import sys
import vfs

images, script = sys.argv[1], sys.argv[2]
sys.argv.pop(0)  # the script sees itself as argv[0]
sys.argv.pop(0)
import os

for i, image in enumerate(images.split(":")):
    rom = bytearray(os.stat(image)[6])  # one block, filled in place
    with open(image, "rb") as f:
        f.readinto(rom)
    mount = ("/rom", "/sim")[i]
    vfs.mount(vfs.VfsRom(rom), mount)
    sys.path.insert(i, mount)
rom = None
import gc

if not script.endswith(".py"):
    gc.collect()
    __import__(script)
else:
    # Compile, then drop the source text before running: on the device the
    # script is main.py in the image, and its text is not in the heap.
    with open(script) as f:
        code = compile(f.read(), script, "exec")
    gc.collect()
    exec(code, {"__name__": "__main__"})
