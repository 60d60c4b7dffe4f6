# asyncio.open_connection for MicroPython's WebAssembly port under Node
# (gateway/sim/wasm/run.mjs): that port has no sockets and no asyncio
# streams, so a TCP stream goes over Node's net.Socket, which the runner
# registers as the JS module "jsnet".  Bytes cross as hex text.  It stands in
# for asyncio.stream (what the ESP32 has) with the same read/write/drain/close.
import asyncio
import binascii

import jsnet


class Stream:
    def __init__(self):
        self.buf = bytearray()
        self.eof = False
        self.evt = asyncio.Event()
        self.s = self  # mqttc's hard close calls w.s.close(), as with a MicroPython Stream
        self.sock = None

    def _data(self, hex_text):
        self.buf.extend(binascii.unhexlify(hex_text))
        self.evt.set()

    def _closed(self):
        self.eof = True
        self.evt.set()

    async def read(self, n):
        while not self.buf and not self.eof:
            self.evt.clear()
            await self.evt.wait()
        out = bytes(self.buf[:n])
        self.buf = self.buf[n:]
        return out

    def write(self, data):
        self.sock.write(binascii.hexlify(data).decode())

    async def drain(self):
        pass  # Node buffers the writes

    def close(self):
        self.sock.close()


async def open_connection(host, port):
    st = Stream()
    st.sock = jsnet.connect(host, port, st._data, st._closed)
    await st.sock.connected  # a JS promise: rejected when the connection fails
    return st, st


asyncio.open_connection = open_connection
