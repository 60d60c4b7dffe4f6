"""The beep volume the gateway pushes (DeviceRegistry.push_config, retained
config topic) changes the buzzer at once: the real firmware (ROMFS bundle) on
the MicroPython VM, with the real hw/buzzer.py driving a recording stand-in
for machine.PWM, against a real mosquitto."""

import json
import os
import subprocess

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import insert

from gateway import devices as D
from gateway.broker import EmbeddedBroker, find_mosquitto
from gateway.schema import devices
from gateway.sim import vm
from gateway.store import Store
from micropython_vm import binary

pytestmark = pytest.mark.skipif(binary() is None or find_mosquitto() is None,
                                reason="needs the MicroPython VM and mosquitto")

# Not the handheld's 100 KB: this test's own script and stand-ins are compiled
# from source into the heap, and at 100 KB the firmware's boot leaves too
# little room for them (docs/performance.md, the firmware's boot heap).
HEAP = "128K"

# machine.PWM / machine.Pin as far as hw/buzzer.py uses them: every duty set is recorded.
FAKE_MACHINE = """
class Pin:
    OUT = 1

    def __init__(self, n, *args, **kw):
        self.n = n


class PWM:
    duties = []

    def __init__(self, pin, freq=0, duty_u16=0):
        self.f = freq

    def freq(self, hz):
        self.f = hz

    def duty_u16(self, d):
        PWM.duties.append(d)
"""

# One handheld: a beep before the push, waits for the pushed volume, a beep after.
HANDHELD = """
import asyncio, json, sys
import app, machine
from hw.buzzer import Buzzer
from simboard import SimBoard

HOST, PORT, ROOT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CODE = "]d201069012345678921727123110LOT2024A\\x1d21SN%d"


def beep_duty(h, serial, now):
    # the duty of the first step of the scan's beep (the pattern's tone)
    machine.PWM.duties.clear()
    h.handle_scan((CODE % serial).encode(), now)
    return [d for d in machine.PWM.duties if d][0]


async def main():
    s, _ = app.load_settings("config.json")
    s["engine"]["kind"] = "line"
    s["mqtt"]["host"], s["mqtt"]["port"] = HOST, PORT
    board = SimBoard("hhvol1")
    board.buzzer = Buzzer(25, s["feedback"]["volume"])
    h = app.Handheld(s, board, ROOT, "hhvol1")
    task = asyncio.create_task(h.run(watchdog=False))
    ok = await h.mqtt.wait_connected(5)
    await asyncio.sleep(0.5)  # the subscriptions are in place
    before = beep_duty(h, 1, 1000)
    print(json.dumps({"ready": ok}))
    t = 0
    while board.buzzer.duty == before and t < 100:
        await asyncio.sleep(0.1)
        t += 1
    after = beep_duty(h, 2, 9000)
    print(json.dumps({"before": before, "after": after, "volume": s["feedback"]["volume"]}))
    h.stop()
    task.cancel()


asyncio.run(main())
"""


@pytest.fixture
def site(tmp_path):
    broker = EmbeddedBroker(str(tmp_path), 0).start()
    store = Store("sqlite:///" + str(tmp_path / "gw.sqlite"))
    with store.engine.begin() as c:
        c.execute(insert(devices).values(dev="hhvol1", state="online"))
    gw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="udi-edge-gateway")
    gw.connect("127.0.0.1", broker.port)
    gw.loop_start()
    yield broker, D.DeviceRegistry(store.engine, gw.publish)
    gw.disconnect()
    gw.loop_stop()
    broker.stop()


def test_a_pushed_volume_changes_the_next_beep(site, tmp_path):
    broker, registry = site
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    (fakes / "machine.py").write_text(FAKE_MACHINE)
    script = tmp_path / "handheld.py"
    script.write_text(HANDHELD)
    root = tmp_path / "flash"
    root.mkdir()
    p = subprocess.Popen(
        vm.command(str(script), HEAP) + ["127.0.0.1", str(broker.port), str(root)],
        env=vm.env((str(fakes), os.path.join(vm.ROOT, "gateway", "sim", "mp"))), cwd=vm.bundle(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        ready = json.loads(p.stdout.readline() or "{}")
        assert ready == {"ready": True}, p.stderr.read() if p.poll() is not None else ready
        pushed = registry.push_config("hhvol1", {"feedback": {"volume": 20}})
        assert pushed["delivery"] == "sent"
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    # config.json ships volume 50 (duty 50 % of the loudest); the push makes it 20 %
    assert result == {"before": 32768 * 50 // 100, "after": 32768 * 20 // 100, "volume": 20}


def test_the_gateway_refuses_a_volume_the_firmware_would_refuse():
    with pytest.raises(D.SettingError) as e:
        D.validate_settings({"feedback": {"volume": 150}})
    assert e.value.key == "feedback" and "bad_feedback" in str(e.value)
    assert D.validate_settings({"feedback": {"volume": 0}}) == {"feedback": {"volume": 0}}
