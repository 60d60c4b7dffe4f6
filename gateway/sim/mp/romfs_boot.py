# Inside the MicroPython unix VM: load the firmware's ROMFS image, mount it
# at /rom, then run the given script with /rom first on sys.path.  Imports
# from /rom are zero-copy: bytecode and constants stay in the image.
#
# On the ESP32 the image is memory-mapped flash.  The unix port has no memory
# outside its GC heap, so the caller enlarges the heap by exactly the image's
# size (gateway/sim/vm.py) and the image is loaded first, as one block: what
# remains behaves like the device's heap.
#   micropython romfs_boot.py IMAGE SCRIPT [ARGS...]
import sys
import vfs

image, script = sys.argv[1], sys.argv[2]
sys.argv.pop(0)  # the script sees itself as argv[0]
sys.argv.pop(0)
import os

rom = bytearray(os.stat(image)[6])  # one block, filled in place
with open(image, "rb") as f:
    f.readinto(rom)
vfs.mount(vfs.VfsRom(rom), "/rom")
sys.path.insert(0, "/rom")
import gc

# Compile, then drop the source text before running: on the device the
# script is main.py in the image, and its text is not in the heap.
with open(script) as f:
    code = compile(f.read(), script, "exec")
gc.collect()
exec(code, {"__name__": "__main__"})
