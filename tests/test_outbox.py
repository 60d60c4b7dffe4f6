"""firmware/outbox.py: the handheld's offline outbox on flash.

Functional tests run on the real MicroPython VM (from source on a 100 KB
heap, from .mpy as shipped on a 48 KB heap) and on CPython.  The power-cut
tests kill the VM with SIGKILL at random moments while it appends and acks,
or cut the last segment at a random byte (power loss mid-write), then reopen
the outbox in a fresh VM and compare with what the killed VM reported:
every append that returned and was not acked is still pending, byte for
byte and in order; nothing acked by a completed ack comes back; no corrupt
record is returned; ids never go back.  UDI_FULL_FAULTS=1 runs 10x more.

The segment format is checked here with an independent parser: magic 0xF9,
u16 length, u32 id, u32 CRC32 over bytes 1..6 and the payload (LE).
"""

import binascii
import importlib.util
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time

import pytest
from micropython_vm import ROOT, binary, run

FIRMWARE = os.path.join(ROOT, "firmware")
FULL = os.environ.get("UDI_FULL_FAULTS") == "1"
HDR = struct.Struct("<BHII")

pytestmark = pytest.mark.skipif(binary() is None, reason="MicroPython VM not installed")

PRELUDE = """
import json, os
from outbox import Outbox, OutboxFull

def payload(k):
    return ('{"k":%d,"pad":"' % k + 'x' * (k * 7 % 41) + '"}').encode()

def dump(ob, limit=100000):
    return [[i, d.decode()] for i, d in ob.pending(limit)]

def out(r):
    # one line per key: small allocations on a 48 KB heap
    for key in r:
        print(json.dumps([key, r[key]]))
"""


def payload(k):
    return ('{"k":%d,"pad":"' % k + "x" * (k * 7 % 41) + '"}').encode()


@pytest.fixture(scope="session")
def mpy_dir(tmp_path_factory):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import build_mpy

    d = str(tmp_path_factory.mktemp("outbox-mpy"))
    subprocess.run(
        [build_mpy.mpy_cross(), "-march=xtensawin", "-O2", "-s", "outbox.py", "-o", os.path.join(d, "outbox.mpy"),
         os.path.join(FIRMWARE, "outbox.py")],
        check=True,
    )
    return d


def load_outbox():
    # firmware/ is not put on sys.path: its module names (settings, clock...)
    # must not shadow anything else in this process
    spec = importlib.util.spec_from_file_location("fw_outbox", os.path.join(FIRMWARE, "outbox.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RUNTIMES = ["mp-100K-src", "mp-48K-mpy", "cpython"]


def run_script(runtime, body, cwd, mpy_dir):
    script = os.path.join(cwd, "_script.py")
    with open(script, "w") as f:
        f.write(PRELUDE + body)
    if runtime == "cpython":
        env = dict(os.environ, PYTHONPATH=FIRMWARE)
        proc = subprocess.run([sys.executable, script], check=False, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    elif runtime == "mp-48K-mpy":
        proc = run(script, heap="48K", path=(mpy_dir,), cwd=cwd)
    else:
        proc = run(script, heap="100K", path=(FIRMWARE,), cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(line) for line in proc.stdout.splitlines() if line.startswith("["))


# -- an independent reader of the on-flash format ----------------------------


def seg_names(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".seg"))


def parse_segment(path):
    """(records, valid_end, size); records as (offset, id, payload, end)."""
    with open(path, "rb") as f:
        data = f.read()
    recs, pos = [], 0
    while pos + HDR.size <= len(data):
        magic, n, rid, crc = HDR.unpack_from(data, pos)
        end = pos + HDR.size + n
        if magic != 0xF9 or end > len(data):
            break
        if binascii.crc32(data[pos + 1 : pos + 7] + data[pos + HDR.size : end]) != crc:
            break
        recs.append((pos, rid, data[pos + HDR.size : end], end))
        pos = end
    return recs, pos, len(data)


def read_marker(d):
    with open(os.path.join(d, "ack"), "rb") as f:
        b = f.read()
    assert len(b) == 9 and b[0:1] == b"A"
    value, crc = struct.unpack_from("<II", b, 1)
    assert binascii.crc32(b[:5]) == crc
    return value


def assert_clean(d, stats=None):
    """Every segment parses to its end, ids increase, the byte count is right."""
    ids, total = [], 0
    for name in seg_names(d):
        recs, end, size = parse_segment(os.path.join(d, name))
        assert end == size, (name, end, size)
        assert recs and recs[0][1] == int(name[:-4]), name
        ids += [r[1] for r in recs]
        total += size
    assert ids == sorted(set(ids))
    if stats is not None:
        assert stats["bytes"] == total
    return ids


# -- functional ---------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_append_pending_ack_round_trip(runtime, tmp_path, mpy_dir):
    r = run_script(
        runtime,
        """
ob = Outbox("ob", segment_bytes=4096, max_bytes=16384)
r = {"ids": [ob.append(payload(k)) for k in range(5)]}
r["first3"] = dump(ob, 3)
r["all"] = dump(ob)
r["again"] = dump(ob, 2)
ob.ack(2)
r["after2"] = dump(ob)
r["depth2"] = ob.depth()
ob.ack(1)
try:
    ob.ack(99)
    r["ack99"] = "accepted"
except ValueError:
    r["ack99"] = "ValueError"
try:
    ob.append(b"y" * 5000)
    r["big"] = "accepted"
except ValueError:
    r["big"] = "ValueError"
ob.ack(5)
r["depth5"] = ob.depth()
r["used5"] = ob.bytes_used()
r["files"] = sorted(os.listdir("ob"))
r["id6"] = ob.append(payload(6))
r["pending6"] = dump(ob)
r["stats"] = ob.stats()
out(r)
""",
        str(tmp_path),
        mpy_dir,
    )
    rec = lambda k, i=None: [k + 1 if i is None else i, payload(k).decode()]
    assert r["ids"] == [1, 2, 3, 4, 5]
    assert r["first3"] == [rec(k) for k in range(3)]
    assert r["all"] == [rec(k) for k in range(5)]
    assert r["again"] == r["all"][:2]
    assert r["after2"] == [rec(k) for k in range(2, 5)]
    assert r["depth2"] == 3
    assert r["ack99"] == "ValueError" and r["big"] == "ValueError"
    assert r["depth5"] == 0 and r["used5"] == 0 and r["files"] == ["ack"]
    assert r["id6"] == 6 and r["pending6"] == [rec(6, 6)]
    assert r["stats"]["corrupt"] == 0 and r["stats"]["torn"] == 0
    assert read_marker(str(tmp_path / "ob")) == 5
    assert assert_clean(str(tmp_path / "ob"), r["stats"]) == [6]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rotation_and_deletion_of_acked_segments(runtime, tmp_path, mpy_dir):
    r = run_script(
        runtime,
        """
ob = Outbox("ob", segment_bytes=160, max_bytes=8192)
r = {"ids": [ob.append(payload(k)) for k in range(30)]}
r["files"] = sorted(os.listdir("ob"))
r["all"] = dump(ob)
r["used"] = ob.bytes_used()
ob.ack(12)
r["after"] = dump(ob)
r["depth"] = ob.depth()
r["stats"] = ob.stats()
out(r)
""",
        str(tmp_path),
        mpy_dir,
    )
    d = str(tmp_path / "ob")
    assert r["ids"] == list(range(1, 31))
    assert r["all"] == [[k + 1, payload(k).decode()] for k in range(30)]
    assert len([n for n in r["files"] if n.endswith(".seg")]) >= 8
    assert r["after"] == r["all"][12:] and r["depth"] == 18
    # only segments holding an unacked record are left, none over the limit
    for name in seg_names(d):
        recs, _, size = parse_segment(os.path.join(d, name))
        assert recs[-1][1] > 12 and size <= 160
    assert assert_clean(d, r["stats"])[-1] == 30
    assert r["stats"]["bytes"] < r["used"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_full_raises_then_ack_frees_space(runtime, tmp_path, mpy_dir):
    r = run_script(
        runtime,
        """
ob = Outbox("ob", segment_bytes=256, max_bytes=1024)
ids = []
k = 0
while True:
    try:
        ids.append(ob.append(payload(k)))
    except OutboxFull:
        break
    k += 1
r = {"ids": ids, "used": ob.bytes_used(), "full_k": k}
try:
    ob.append(payload(k))
    r["again"] = "accepted"
except OutboxFull:
    r["again"] = "OutboxFull"
r["all"] = dump(ob)
acked = 0
while True:
    acked += 1
    ob.ack(ids[acked - 1])
    try:
        r["new"] = ob.append(payload(k))
        break
    except OutboxFull:
        pass
r["acked"] = acked
r["after"] = dump(ob)
ob.ack(r["new"])
r["stats"] = ob.stats()
out(r)
""",
        str(tmp_path),
        mpy_dir,
    )
    n = len(r["ids"])
    assert n >= 15 and r["ids"] == list(range(1, n + 1))
    assert r["used"] <= 1024 and r["used"] + 11 + len(payload(r["full_k"])) > 1024
    assert r["again"] == "OutboxFull"
    assert r["all"] == [[k + 1, payload(k).decode()] for k in range(n)]  # nothing dropped
    assert 1 <= r["acked"] <= 256 // 11
    assert r["new"] == n + 1
    assert r["after"] == r["all"][r["acked"] :] + [[n + 1, payload(r["full_k"]).decode()]]
    assert r["stats"]["bytes"] == 0 and r["stats"]["depth"] == 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_restart_keeps_unacked_records_and_ids(runtime, tmp_path, mpy_dir):
    cwd = str(tmp_path)
    run_script(
        runtime,
        """
ob = Outbox("ob", segment_bytes=200, max_bytes=8192)
for k in range(10):
    ob.append(payload(k))
ob.ack(4)
out({})
""",
        cwd,
        mpy_dir,
    )
    r = run_script(
        runtime,
        """
ob = Outbox("ob", segment_bytes=200, max_bytes=8192)
r = {"pending": dump(ob), "stats": ob.stats(), "new": ob.append(payload(10))}
ob.ack(r["new"])
out(r)
""",
        cwd,
        mpy_dir,
    )
    assert r["pending"] == [[k + 1, payload(k).decode()] for k in range(4, 10)]
    assert r["stats"]["depth"] == 6 and r["stats"]["acked"] == 4 and r["stats"]["last_id"] == 10
    assert r["new"] == 11
    r = run_script(
        runtime,
        """
ob = Outbox("ob", segment_bytes=200, max_bytes=8192)
r = {"stats": ob.stats(), "files": sorted(os.listdir("ob")), "new": ob.append(b"z")}
out(r)
""",
        cwd,
        mpy_dir,
    )
    assert r["files"] == ["ack"] and r["stats"]["depth"] == 0
    assert r["new"] == 12  # ids continue after every segment was deleted


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("cut", ["header", "payload"])
def test_torn_tail_is_cut_and_nothing_before_it_is_lost(runtime, cut, tmp_path, mpy_dir):
    cwd = str(tmp_path)
    d = str(tmp_path / "ob")
    open_body = 'ob = Outbox("ob", segment_bytes=4096, max_bytes=16384)\n'
    run_script(runtime, open_body + "for k in range(8):\n    ob.append(payload(k))\nout({})\n", cwd, mpy_dir)
    last = os.path.join(d, seg_names(d)[-1])
    body = payload(99)
    head = HDR.pack(0xF9, len(body), 9, binascii.crc32(struct.pack("<HI", len(body), 9) + body))
    with open(last, "ab") as f:
        f.write(head[:5] if cut == "header" else head + body[:10])
    r = run_script(
        runtime,
        open_body + 'r = {"pending": dump(ob), "stats": ob.stats(), "new": ob.append(payload(8))}\nout(r)\n',
        cwd,
        mpy_dir,
    )
    assert r["pending"] == [[k + 1, payload(k).decode()] for k in range(8)]
    assert r["stats"]["torn"] == 1 and r["stats"]["corrupt"] == 0 and r["stats"]["depth"] == 8
    assert r["new"] == 9
    r = run_script(runtime, open_body + 'out({"pending": dump(ob), "stats": ob.stats()})\n', cwd, mpy_dir)
    assert r["pending"] == [[k + 1, payload(k).decode()] for k in range(9)]
    assert r["stats"]["torn"] == 0
    assert assert_clean(d, r["stats"]) == list(range(1, 10))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_corrupt_records_in_the_middle_are_skipped_and_counted(runtime, tmp_path, mpy_dir):
    cwd = str(tmp_path)
    d = str(tmp_path / "ob")
    open_body = 'ob = Outbox("ob", segment_bytes=300, max_bytes=8192)\n'
    run_script(runtime, open_body + "for k in range(40):\n    ob.append(payload(k))\nout({})\n", cwd, mpy_dir)
    names = seg_names(d)
    assert len(names) >= 6
    damaged = []
    layout = [parse_segment(os.path.join(d, name))[0] for name in names]

    def damage(seg, index, offset_in_record, value=None):
        path = os.path.join(d, names[seg])
        recs = layout[seg]
        pos, rid = recs[index][0], recs[index][1]
        with open(path, "r+b") as f:
            f.seek(pos + offset_in_record)
            old = f.read(1)[0]
            f.seek(pos + offset_in_record)
            f.write(bytes([old ^ 0x5A if value is None else value]))
        damaged.append(rid)

    damage(0, 1, 20)  # a payload byte
    damage(0, -1, 15)  # the last record of a segment that is not the last
    damage(1, 0, 0)  # the magic byte
    damage(2, 1, 2, 0xFF)  # the length: far beyond the file
    damage(3, 1, 1)  # the length: plausible but wrong
    damage(4, 0, 8)  # the CRC
    r = run_script(
        runtime,
        open_body + 'r = {"pending": dump(ob), "stats": ob.stats(), "first": dump(ob, 3)}\nout(r)\n',
        cwd,
        mpy_dir,
    )
    expect = [[k + 1, payload(k).decode()] for k in range(40) if k + 1 not in damaged]
    assert r["pending"] == expect
    assert r["first"] == expect[:3]
    assert r["stats"]["corrupt"] == len(damaged) and r["stats"]["torn"] == 0
    assert r["stats"]["depth"] == len(expect)
    # acking everything deletes the damaged segments too
    r = run_script(
        runtime,
        open_body + 'ob.ack(ob.last_id())\nout({"stats": ob.stats(), "files": os.listdir("ob")})\n',
        cwd,
        mpy_dir,
    )
    assert r["files"] == ["ack"] and r["stats"]["bytes"] == 0 and r["stats"]["depth"] == 0


def test_lost_ack_marker_redelivers_rather_than_drops(tmp_path, mpy_dir):
    cwd = str(tmp_path)
    open_body = 'ob = Outbox("ob", segment_bytes=200, max_bytes=8192)\n'
    run_script("mp-100K-src", open_body + "for k in range(12):\n    ob.append(payload(k))\nob.ack(7)\nout({})\n", cwd, mpy_dir)
    os.remove(str(tmp_path / "ob" / "ack"))
    r = run_script("mp-100K-src", open_body + 'out({"p": dump(ob), "s": ob.stats(), "new": ob.append(b"z")})\n', cwd, mpy_dir)
    ids = [i for i, _ in r["p"]]
    assert r["s"]["marker_lost"] and ids[-5:] == [8, 9, 10, 11, 12] and ids == sorted(ids)
    assert r["new"] == 13


@pytest.mark.parametrize("errno", [28, 5])
def test_failed_write_leaves_no_partial_record(errno, tmp_path, monkeypatch):
    # A write that fails half-way (flash full, I/O error): the partial record
    # is cut at once, ENOSPC is reported as OutboxFull, nothing else changes.
    outbox = load_outbox()

    d = str(tmp_path / "ob")
    ob = outbox.Outbox(d, segment_bytes=4096, max_bytes=16384)
    for k in range(5):
        ob.append(payload(k))
    ob.close()

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def write(self, b):
            self.f.write(bytes(b)[:7])
            self.f.flush()
            raise OSError(errno, "injected")

        def flush(self):
            self.f.flush()

        def close(self):
            self.f.close()

    def fake_open(name, mode="r"):
        f = open(name, mode)
        return HalfWriter(f) if mode == "ab" else f

    monkeypatch.setattr(outbox, "open", fake_open, raising=False)
    with pytest.raises(outbox.OutboxFull if errno == 28 else OSError):
        ob.append(payload(5))
    monkeypatch.undo()
    assert ob.stats()["torn"] == 1 and ob.depth() == 5
    assert ob.append(payload(6)) == 6
    again = outbox.Outbox(d, segment_bytes=4096, max_bytes=16384)
    assert again.pending(100) == [(k + 1, payload(k)) for k in range(5)] + [(6, payload(6))]
    assert again.stats()["torn"] == 0 and again.stats()["corrupt"] == 0
    assert assert_clean(d, again.stats()) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("runtime", ["mp-100K-src", "mp-48K-mpy"])
def test_open_is_linear_and_streams(runtime, tmp_path, mpy_dir):
    cwd = str(tmp_path)
    open_body = 'ob = Outbox("ob", segment_bytes=16384, max_bytes=262144)\n'
    run_script(runtime, open_body + "for k in range(1200):\n    ob.append(payload(k))\nob.ack(100)\nout({})\n", cwd, mpy_dir)
    r = run_script(
        runtime,
        """
import gc, time
gc.collect()
m0 = gc.mem_alloc()
t0 = time.ticks_ms()
ob = Outbox("ob", segment_bytes=16384, max_bytes=262144)
t1 = time.ticks_ms()
gc.collect()
r = {"ms": time.ticks_diff(t1, t0), "heap": gc.mem_alloc() - m0, "depth": ob.depth(), "first": dump(ob, 2)}
t0 = time.ticks_ms()
for i in range(20):
    p = ob.pending(16)
    ob.ack(p[-1][0])
r["drain_ms"] = time.ticks_diff(time.ticks_ms(), t0)
r["depth2"] = ob.depth()
out(r)
""",
        cwd,
        mpy_dir,
    )
    assert r["depth"] == 1100 and r["first"][0] == [101, payload(100).decode()]
    assert r["depth2"] == 1100 - 320
    assert r["heap"] < 4096, r  # segment table + small buffers, no payloads
    assert r["ms"] < 1500 and r["drain_ms"] < 1500, r


# -- power cuts -----------------------------------------------------------------

LOOP = """
import random
random.seed(%(seed)d)
ob = Outbox("ob", segment_bytes=256, max_bytes=2048)
print("O", ob.last_id(), ob.acked_id())
k = %(k)d
bias = 8 + random.getrandbits(3)  # some runs fill the budget, some drain it
while True:
    if random.getrandbits(4) < bias:
        print("a", k)
        try:
            i = ob.append(payload(k))
        except OutboxFull:
            print("F", k)
        else:
            print("A", i, k)
        k += 1
    else:
        p = ob.pending(random.getrandbits(3) + 1)
        if p:
            u = p[random.getrandbits(8) %% len(p)][0]
            print("k", u)
            ob.ack(u)
            print("K", u)
"""

CHECK = """
ob = Outbox("ob", segment_bytes=256, max_bytes=2048)
out({"p": dump(ob), "s": ob.stats()})
"""


class Model:
    """What the killed VM promised: records whose append returned and that no
    completed ack covered, plus at most one operation in flight."""

    def __init__(self):
        self.recs = []  # (id, k) in order
        self.high = 0  # highest id ever returned or seen pending
        self.acked = 0  # highest completed ack
        self.next_k = 0

    def replay(self, log):
        in_append = in_ack = None
        lines = log.split("\n")[:-1]  # a line without its newline was never printed
        for line in lines:
            w = line.split()
            if w[0] == "O":
                last, acked = int(w[1]), int(w[2])
                assert last >= self.high, "ids went back after a restart"
                assert acked >= self.acked, "a completed ack was forgotten"
            elif w[0] == "a":
                in_append = int(w[1])
                self.next_k = in_append + 1
            elif w[0] == "A":
                i, k = int(w[1]), int(w[2])
                assert k == in_append and i > self.high, line
                self.recs.append((i, k))
                self.high = i
                in_append = None
            elif w[0] == "F":
                in_append = None
            elif w[0] == "k":
                in_ack = int(w[1])
            elif w[0] == "K":
                u = int(w[1])
                self.recs = [r for r in self.recs if r[0] > u]
                self.acked = max(self.acked, u)
                in_ack = None
        return in_append, in_ack

    def reconcile(self, pending, in_append, in_ack):
        got = [(i, d) for i, d in pending]
        for a in [None] if in_ack is None else [None, in_ack]:
            base = [r for r in self.recs if a is None or r[0] > a]
            want = [(i, payload(k).decode()) for i, k in base]
            if got == want:
                self.recs = base
                return
            if (
                in_append is not None
                and got[:-1] == want
                and len(got) == len(want) + 1
                and got[-1][1] == payload(in_append).decode()
                and got[-1][0] > self.high
            ):
                self.recs = base + [(got[-1][0], in_append)]
                self.high = got[-1][0]
                return
        raise AssertionError(
            "pending after the cut does not match: got %r, promised %r (in flight: append k=%r, ack %r)"
            % ([i for i, _ in got], [i for i, _ in self.recs], in_append, in_ack)
        )


def check_state(cwd, model, in_append, in_ack):
    r = run_script("mp-100K-src", CHECK, cwd, None)
    s = r["s"]
    assert s["corrupt"] == 0, s
    assert s["depth"] == len(r["p"]), s
    ids = [i for i, _ in r["p"]]
    assert ids == sorted(set(ids))
    model.reconcile([tuple(x) for x in r["p"]], in_append, in_ack)
    assert_clean(os.path.join(cwd, "ob"), s)
    return s


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    cwd = str(tmp_path)
    rnd = random.Random(20261122)
    model = Model()
    runs = 300 if FULL else 30
    env = dict(os.environ, MICROPYPATH=FIRMWARE)
    script = os.path.join(cwd, "_loop.py")
    for n in range(runs):
        with open(script, "w") as f:
            f.write(PRELUDE + LOOP % {"seed": rnd.randrange(1 << 30), "k": model.next_k})
        out_path = os.path.join(cwd, "_loop.out")
        with open(out_path, "w") as out, open(os.path.join(cwd, "_loop.err"), "w") as err:
            proc = subprocess.Popen([binary(), "-X", "heapsize=100K", script], stdout=out, stderr=err, env=env, cwd=cwd)
            time.sleep(rnd.uniform(0.002, 0.06))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        with open(os.path.join(cwd, "_loop.err")) as f:
            assert proc.returncode == -signal.SIGKILL, f.read()[-2000:]
        with open(out_path) as f:
            in_append, in_ack = model.replay(f.read())
        check_state(cwd, model, in_append, in_ack)
    assert model.high > 100  # the loop really ran


TRUNC_OPS = """
import random
random.seed(%(seed)d)
ob = Outbox("ob", segment_bytes=256, max_bytes=2048)
r = {"p0": dump(ob), "s0": ob.stats(), "log": []}
k = %(k)d
for n in range(%(ops)d):
    if random.getrandbits(2):
        try:
            r["log"].append(["A", ob.append(payload(k)), k])
        except OutboxFull:
            r["log"].append(["F", 0, k])
        k += 1
    else:
        p = ob.pending(random.getrandbits(3) + 1)
        if p:
            u = p[random.getrandbits(8) %% len(p)][0]
            ob.ack(u)
            r["log"].append(["K", u, 0])
r["p1"] = dump(ob)
r["s1"] = ob.stats()
out(r)
"""


def test_segment_cut_at_random_byte_recovers(tmp_path):
    cwd = str(tmp_path)
    d = os.path.join(cwd, "ob")
    rnd = random.Random(77)
    recs = []  # (id, k) expected pending
    next_k = 0
    expect_torn = 0
    expect_next = 1
    trials = 150 if FULL else 15
    for n in range(trials):
        r = run_script(
            "mp-100K-src", TRUNC_OPS % {"seed": rnd.randrange(1 << 30), "k": next_k, "ops": rnd.randrange(5, 40)}, cwd, None
        )
        # recovery after the cut: the survivors, byte for byte, in order
        assert r["p0"] == [[i, payload(k).decode()] for i, k in recs]
        assert r["s0"]["torn"] == expect_torn and r["s0"]["corrupt"] == 0
        assert r["s0"]["last_id"] + 1 == expect_next
        for op, i, k in r["log"]:
            if op == "A":
                assert i == expect_next
                recs.append((i, k))
                expect_next = i + 1
            elif op == "K":
                recs = [x for x in recs if x[0] > i]
            next_k = max(next_k, k + 1)
        assert r["p1"] == [[i, payload(k).decode()] for i, k in recs]
        assert_clean(d, r["s1"])
        # power loss mid-write: the last segment ends at a random byte
        names = seg_names(d)
        expect_torn = 0
        if not names:
            continue
        path = os.path.join(d, names[-1])
        seg, _, size = parse_segment(path)
        cut = rnd.randrange(size)
        os.truncate(path, cut)
        lost = {rid for _, rid, _, end in seg if end > cut}
        expect_torn = 0 if cut in {0} | {end for *_, end in seg} else 1
        recs = [x for x in recs if x[0] not in lost]
        surviving = [rid for name in names[:-1] for _, rid, _, _ in parse_segment(os.path.join(d, name))[0]]
        surviving += [rid for _, rid, _, end in seg if end <= cut]
        expect_next = max(surviving + [read_marker(d)]) + 1
