"""The handheld's own logic (run on CPython here; the same modules run on the
MicroPython VM in test_sim_handhelds and the firmware benchmark): modes and
double-scan suppression, aggregation sessions, settings from the gateway,
feedback patterns, and the scan pipeline into the outbox."""

import json
import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "firmware"))
sys.path.insert(0, os.path.join(ROOT, "gateway", "sim", "mp"))

import feedback  # noqa: E402
import modes  # noqa: E402
import settings as S  # noqa: E402

SCAN = b"]d201069012345678921727123110LOT2024A\x1d21SN0001"


def base_settings():
    s, problems = S.load(os.path.join(ROOT, "firmware", "config.json"))
    assert problems == []
    return s


def test_double_scan_within_the_window_is_suppressed():
    s = base_settings()
    s["dup_window_ms"] = 2000
    m = modes.Modes(s, boot=1)
    assert not m.duplicate(SCAN, 1000)
    assert m.duplicate(SCAN, 2500)  # 1.5 s later: the same item read twice
    assert not m.duplicate(SCAN, 6000)  # later: a deliberate second scan
    assert not m.duplicate(b"81234567890123456789", 6100)


def test_long_press_cycles_through_the_operators_modes():
    s = base_settings()
    s["modes"] = ["receive", "use"]
    m = modes.Modes(s, boot=1)
    assert [m.next_mode(), m.next_mode(), m.next_mode()] == ["use", "receive", "use"]
    assert not m.set_mode("teleport") and m.mode == "use"


def test_aggregation_children_first_closes_on_the_parent():
    s = base_settings()
    s["mode"], s["aggregate_order"] = "aggregate", "children_first"
    m = modes.Modes(s, boot=4)
    roles = [m.aggregation(p) for p in (False, False, True, False, True)]
    assert [r["role"] for r in roles] == ["child", "child", "parent", "child", "parent"]
    assert [r["session"] for r in roles] == ["4-1", "4-1", "4-1", "4-2", "4-2"]


def test_aggregation_parent_first_and_what_counts_as_a_parent():
    s = base_settings()
    s["mode"], s["aggregate_order"] = "aggregate", "parent_first"
    m = modes.Modes(s, boot=2)
    roles = [m.aggregation(p) for p in (True, False, False, True, False)]
    assert [r["role"] for r in roles] == ["parent", "child", "child", "parent", "child"]
    assert [r["session"] for r in roles] == ["2-1", "2-1", "2-1", "2-2", "2-2"]
    import udi_codes

    sscc = udi_codes.parse("]d2003690123400000000170206901234567892\x1d3710")
    case = udi_codes.parse("]d201169012345678991727123110LOT")
    item = udi_codes.parse(SCAN.decode())
    assert modes.is_parent(sscc) and modes.is_parent(case) and not modes.is_parent(item)
    assert modes.Modes(dict(s, mode="receive"), 1).aggregation(True) is None


def test_gateway_config_changes_only_remote_keys_and_keeps_valid_values():
    s = base_settings()
    pins = dict(s["pins"])
    refused = S.apply_remote(s, {"v": 1, "rev": 3, "mode": "dispatch", "pins": {"trigger": 5}, "dup_window_ms": -1})
    assert s["mode"] == "dispatch" and s["pins"] == pins and s["dup_window_ms"] == 2000
    assert sorted(refused) == ["dup_window_ms", "pins"]
    assert S.apply_remote(s, ["not", "a", "dict"]) == ["not_an_object"]


def test_a_pushed_volume_is_validated_like_the_other_settings():
    s = base_settings()
    assert S.apply_remote(s, {"v": 1, "rev": 4, "feedback": {"volume": 20}}) == [] and s["feedback"] == {"volume": 20}
    for bad in ({"volume": 101}, {"volume": -1}, {"volume": "loud"}, {"volume": True}, "loud", None):
        assert S.apply_remote(s, {"v": 1, "feedback": bad}) == ["feedback"]
        assert s["feedback"] == {"volume": 20}  # the last good volume stays
    # a refused key does not take the others down with it
    assert S.apply_remote(s, {"v": 1, "feedback": {"volume": 500}, "mode": "use"}) == ["feedback"] and s["mode"] == "use"


def test_feedback_patterns_are_distinct_and_play_to_the_end():
    names = [line.split()[0] for line in feedback.PATTERNS.strip().splitlines()]
    assert {"good", "bad", "unknown", "duplicate", "queue_full", "gateway_bad", "gateway_good", "mode"} <= set(names)
    sigs = {name: feedback.steps(name) for name in names}
    assert len(set(sigs.values())) == len(sigs) == len(names)
    assert sigs["bad"] == ((600, feedback.RED, True, 250), (0, feedback.OFF, False, 80), (600, feedback.RED, True, 250))
    assert feedback.steps("no_such_pattern") == sigs["unknown"]
    from simboard import SimBoard

    b = SimBoard("x")
    f = feedback.Feedback(b)
    f.play("bad", 0)
    assert b.buzzer.last == 600 and b.led.last == feedback.RED and b.vibration.last is True
    for t in range(0, 2000, 10):
        f.poll(t)
    assert b.buzzer.last == 0 and b.led.last == feedback.OFF and not f.steps


@pytest.fixture
def handheld(tmp_path, monkeypatch):
    import app
    from simboard import SimBoard

    s = base_settings()
    s["engine"]["kind"] = "line"
    s["outbox"]["max_bytes"] = 4096
    s["outbox"]["segment_bytes"] = 1024
    h = app.Handheld(s, SimBoard("hhtest"), str(tmp_path), "hhtest")
    yield h
    h.outbox.close()


def test_scan_pipeline_into_the_outbox(handheld):
    h = handheld
    assert h.handle_scan(SCAN, 100) == 1
    assert h.handle_scan(SCAN, 200) is None  # duplicate within the window
    assert h.handle_scan(b"]d221SN0001", 5000) == 2
    assert h.handle_scan(b"\xff\xfe\x1d01", 9000) == 3  # not UTF-8: sent as raw_b64, verdict unknown
    records = [json.loads(d) for _, d in h.outbox.pending(10)]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["pre"] == {"verdict": "good", "code": None, "scheme": "gs1"}
    assert records[1]["pre"]["verdict"] == "bad" and records[1]["pre"]["code"] == "ai_required"
    assert "raw_b64" in records[2] and records[2]["pre"]["verdict"] == "unknown"
    assert h.feedback.played[:4] == ["good", "duplicate", "bad", "unknown"]


def test_a_full_outbox_refuses_the_scan_with_a_signal(handheld):
    h = handheld
    n = 0
    while h.handle_scan(SCAN + str(n).encode(), 10000 * n) is not None:
        n += 1
        assert n < 100
    assert h.refused == 1 and h.feedback.played[-1] == "queue_full"
    assert h.seq == n  # the refused scan took no sequence number
    h.outbox.ack(h.outbox.last_id())
    assert h.handle_scan(SCAN + b"again", 10000 * (n + 2)) == n + 1


def test_answer_that_differs_gives_a_second_signal(handheld):
    h = handheld
    h.handle_scan(SCAN, 100)
    h._on_answer({"v": 1, "boot": h.boot, "seq": 1, "verdict": "bad", "codes": ["used_twice"]})
    assert h.feedback.played[-1] == "gateway_bad"
    h.handle_scan(b"MF12345", 5000)  # AHM: unknown on the handheld
    h._on_answer({"v": 1, "boot": h.boot, "seq": 2, "verdict": "good", "codes": []})
    assert h.feedback.played[-1] == "gateway_good"
    before = list(h.feedback.played)
    h._on_answer({"v": 1, "boot": h.boot + 1, "seq": 2, "verdict": "bad"})  # another boot's scan
    assert h.feedback.played == before
    # "held" (the gateway could not store it yet) is not the final verdict: the
    # comparison waits for the answer that comes once it is stored.
    h.handle_scan(SCAN.replace(b"SN0001", b"SN0002"), 9000)
    h._on_answer({"v": 1, "boot": h.boot, "seq": 3, "verdict": "held"})
    assert h.feedback.played[-1] != "gateway_bad"
    h._on_answer({"v": 1, "boot": h.boot, "seq": 3, "verdict": "bad", "codes": ["used_twice"]})
    assert h.feedback.played[-1] == "gateway_bad"


def test_the_volume_from_config_json_and_from_a_push_reach_the_buzzer(handheld):
    h = handheld
    assert h.board.buzzer.volume == 50  # config.json
    topic = h.topics["config"]
    h._on_message(topic, json.dumps({"v": 1, "rev": 1, "feedback": {"volume": 15}}).encode(), True)
    assert h.board.buzzer.volume == 15 and h.s["feedback"] == {"volume": 15}
    h._on_message(topic, json.dumps({"v": 1, "rev": 2, "feedback": {"volume": 900}}).encode(), True)
    assert h.board.buzzer.volume == 15  # refused: the buzzer keeps the last good one


def test_a_scan_that_raises_is_refused_and_the_io_loop_goes_on(handheld, monkeypatch):
    h = handheld

    def heap_full(data):
        raise MemoryError("memory allocation failed")

    monkeypatch.setattr(h.outbox, "append", heap_full)
    h._take_scan(SCAN, 100)
    assert h.seq == 0 and h.refused == 1 and h.loop_errors == 1
    assert h.feedback.played[-1] == "queue_full"  # "not taken": the operator scans again
    monkeypatch.undo()
    h._take_scan(SCAN + b"2", 5000)
    assert h.seq == 1 and h.feedback.played[-1] == "good"


def test_the_delivery_loop_survives_a_full_heap(handheld, monkeypatch):
    import asyncio

    h = handheld
    h.handle_scan(SCAN, 100)
    published = []

    class Acked:
        async def wait(self):
            return True

    class Broker:  # the MQTT client as _drain uses it: connected, every publish acknowledged and answered
        connects = 1

        def is_connected(self):
            return True

        async def publish_start(self, topic, data, qos):
            published.append((topic, data))
            scan = json.loads(data)
            h._on_answer({"v": 1, "boot": scan["boot"], "seq": scan["seq"], "verdict": "good"})
            return Acked()

    h.mqtt = Broker()
    pending = h.outbox.pending
    calls = []

    def heap_full_once(limit, after=0):
        calls.append(limit)
        if len(calls) == 1:
            raise MemoryError("memory allocation failed")
        return pending(limit, after)

    monkeypatch.setattr(h.outbox, "pending", heap_full_once)

    async def run():
        h.running = True
        task = asyncio.create_task(h._drain())
        for _ in range(100):
            await asyncio.sleep(0.05)
            if not h.outbox.depth():
                break
        h.running = False
        await task

    asyncio.run(run())
    assert h.loop_errors == 1 and len(calls) >= 2
    assert h.outbox.depth() == 0 and [t for t, _ in published] == [h.topics["scan"]]


class Broker:
    """The MQTT client as the delivery loop uses it: connected, every publish
    PUBACKed at once, nobody answering (a broker whose shared subscription
    is gone after a restart)."""

    def __init__(self):
        self.connects = 1
        self.published = []

    def is_connected(self):
        return True

    async def publish_start(self, topic, data, qos):
        self.published.append(json.loads(data)["seq"])
        return PubAcked()


class PubAcked:
    async def wait(self):
        return True


def deliver_all(h):
    # one delivery pass: rounds until nothing more goes out now
    import asyncio

    async def run():
        while await h._deliver():
            pass
        h._settle()

    asyncio.run(run())


def answer(h, seq, verdict="good", boot=None):
    h._on_answer({"v": 1, "boot": h.boot if boot is None else boot, "seq": seq, "verdict": verdict, "codes": []})
    h._settle()


def test_a_scan_the_broker_acknowledged_stays_until_its_answer_and_goes_again(handheld):
    from outbox import Outbox

    h = handheld
    h.mqtt = b = Broker()
    for n in range(3):
        h.handle_scan(SCAN + str(n).encode(), 10000 * n)
    deliver_all(h)
    assert b.published == [1, 2, 3] and h.outbox.depth() == 3  # PUBACKed, unanswered: kept
    deliver_all(h)
    assert b.published == [1, 2, 3]  # not again before the answer timeout
    h._resend_at = app_ticks() - 1  # the answer timeout has passed
    deliver_all(h)
    assert b.published == [1, 2, 3, 1, 2, 3] and h.resends == 1  # all again, in order
    answer(h, 2)
    answer(h, 1, "held")  # the gateway has it but cannot store it yet: not an answer that frees it
    assert h.outbox.depth() == 3  # 2 is answered, 1 is not: the marker is "acked up to"
    answer(h, 1)
    assert h.outbox.depth() == 1 and h.resends == 0
    h._resend_at = app_ticks() - 1
    deliver_all(h)
    assert b.published[6:] == [3]  # answered ones do not go again
    b.connects += 1  # a new connection: the unanswered go again at once
    deliver_all(h)
    assert b.published[7:] == [3]
    h.outbox.close()
    assert Outbox(h.outbox.path, 1024, 4096).depth() == 1  # what survives a power cut now: scan 3
    answer(h, 3)
    assert h.outbox.depth() == 0 and h._resend_at is None and h.waiting == []


def test_scans_of_an_earlier_boot_leave_when_their_answers_arrive(tmp_path):
    import app
    from simboard import SimBoard

    s = base_settings()
    s["engine"]["kind"] = "line"
    first = app.Handheld(s, SimBoard("hhboot"), str(tmp_path), "hhboot")
    first.handle_scan(SCAN, 100)
    first.handle_scan(b'raw with "seq": 99, "boot": 7', 5000)  # a key image in the scan data is escaped in JSON
    first.outbox.close()
    h = app.Handheld(s, SimBoard("hhboot"), str(tmp_path), "hhboot")  # rebooted: boot + 1
    h.mqtt = b = Broker()
    deliver_all(h)
    assert b.published == [1, 2] and h.outbox.depth() == 2
    answer(h, 2, boot=h.boot)  # this boot's seq 2 is another scan
    answer(h, 1, boot=first.boot)
    assert h.outbox.depth() == 1
    answer(h, 2, boot=first.boot)
    assert h.outbox.depth() == 0
    h.outbox.close()


def test_the_window_of_unanswered_scans_is_bounded(handheld):
    import app

    h = handheld
    h.mqtt = b = Broker()
    for n in range(app.ANSWER_WINDOW + 3):
        h.handle_scan(b"]d221SN%04d" % n, 10000 * n)
    deliver_all(h)
    assert b.published == list(range(1, app.ANSWER_WINDOW + 1))  # the rest wait for answers
    answer(h, 1)
    deliver_all(h)
    assert b.published[-1] == app.ANSWER_WINDOW + 1 and len(h.waiting) == app.ANSWER_WINDOW


def app_ticks():
    from timebase import ticks_ms

    return ticks_ms()


class BrokerShortOfHeap(Broker):
    # publish_start raises MemoryError once, on its second call (a full heap
    # while the packet is built).
    def __init__(self):
        super().__init__()
        self.calls = 0

    async def publish_start(self, topic, data, qos):
        self.calls += 1
        if self.calls == 2:
            raise MemoryError("memory allocation failed")
        return await super().publish_start(topic, data, qos)


def test_a_scan_whose_publish_ran_out_of_heap_goes_on_the_next_pass(handheld):
    # Not after the answer timeout: the scans behind it would wait that long too.
    import asyncio

    h = handheld
    h.mqtt = b = BrokerShortOfHeap()
    for n in range(3):
        h.handle_scan(SCAN + str(n).encode(), 10000 * n)
    with pytest.raises(MemoryError):
        asyncio.run(h._deliver())
    assert b.published == [1]
    deliver_all(h)
    assert b.published == [1, 2, 3] and h.resends == 0
    for seq in (1, 2, 3):
        answer(h, seq)
    assert h.outbox.depth() == 0


def test_short_of_heap_the_engine_forgets_its_caches_and_loaded_schemes(monkeypatch):
    import types

    import precheck
    import udi_codes
    from udi_codes import gs1

    assert precheck.check("]d201069012345678921727123110LOT2024A\x1d21SN1")[0] == "good"
    precheck.check("MA.156.M0.100001.0AB12345678.V01.S1.P202612.L2024A")
    assert gs1._verdicts and "ma" in udi_codes._modules
    precheck.release()
    assert not gs1._verdicts and not gs1._stems
    assert "ma" in udi_codes._modules  # a gateway (CPython) keeps its scheme modules
    assert precheck.check("]d201069012345678921727123110LOT2024A\x1d21SN2")[0] == "good"  # reads the same
    # A handheld (a small heap, _ROOM set) drops the ones it loaded on demand.
    monkeypatch.setattr(udi_codes, "_ROOM", 64 * 1024)
    monkeypatch.setattr(udi_codes, "_modules", {"zz_scheme": types.ModuleType("udi_codes.zz_scheme")})
    monkeypatch.setitem(sys.modules, "udi_codes.zz_scheme", udi_codes._modules["zz_scheme"])
    precheck.release()
    assert not udi_codes._modules and "udi_codes.zz_scheme" not in sys.modules


def test_the_updater_is_imported_only_for_an_update_on_trial_and_leaves_again(tmp_path):
    import app
    from simboard import SimBoard

    s = base_settings()
    s["engine"]["kind"] = "line"
    sys.modules.pop("ota", None)
    pending = tmp_path / "ota_pending.json"
    pending.write_text(json.dumps({"state": "pending", "version": "9.9.9", "boots": 1}))
    # main.py found no update on trial (trial=False): the updater is not run
    h = app.Handheld(s, SimBoard("hhota"), str(tmp_path), "hhota")
    h.handle_scan(SCAN, 100)
    answer(h, 1)
    assert pending.exists() and "ota" not in sys.modules
    h.outbox.close()
    # An update on trial: the first answer commits it, and the updater leaves.
    h = app.Handheld(s, SimBoard("hhota"), str(tmp_path), "hhota", trial=True)
    h.handle_scan(SCAN + b"2", 100)
    answer(h, 1)
    assert not pending.exists() and not h.trial
    assert json.loads((tmp_path / "ota_result.json").read_text())["result"] == "ok"
    assert "ota" not in sys.modules
    h.outbox.close()
