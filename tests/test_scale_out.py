"""A site of three gateways (`udi-edge run` processes) against one real
PostgreSQL and one real mosquitto, with real concurrency:

- print jobs of the same DI and lot on the three lines at once, each started
  through another gateway than the one that owns its printer: every serial
  given once, in one numbering, each job run by its printer's gateway;
- the serial ledger hammered from three processes at once (sequential,
  random and issuer-list pools);
- handhelds (the firmware's MQTT client, one connection each) scanning
  through the shared subscription: every scan stored once and answered, by
  all three gateways; the same units used at the same moment on two
  handhelds: exactly one use each, the other flagged used twice;
- a gateway killed while a handheld roams (a new connection): every scan
  still answered once the gateway is back;
- a job cancelled on one gateway is ended by the one that runs it;
- the panel of any gateway shows every gateway and who runs which printer;
- a gateway upgraded in place takes in the scans queued for the old fixed
  client id and ends that session; a retired gateway leaves nothing behind;
  a printer is given to another gateway only while none of its jobs runs."""

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from bench.load import GTIN, Handheld, SiteGateway, firmware_mqtt, prepare_database, start_all, stop_all, wait_alive
from gateway.broker import EmbeddedBroker
from gateway.schema import items, print_jobs, rejects, scans, serials
from test_mqtt_client import MOSQUITTO

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINES = {"gw1": "line1", "gw2": "line2", "gw3": "line3"}


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("site"))
    broker = EmbeddedBroker(tmp, 0).start()
    db_url = pg_cluster.database()
    gws = {gid: SiteGateway(os.path.join(tmp, gid), broker.port, db_url, gid, printer=line) for gid, line in LINES.items()}
    store = prepare_database(db_url, [g.tmp for g in gws.values()])
    try:
        start_all(list(gws.values()))  # together: they migrate the fresh database at the same moment
        wait_alive(store.engine, list(gws))
        yield {"gws": gws, "store": store, "broker": broker, "db_url": db_url}
    finally:
        stop_all(list(gws.values()))
        broker.stop()


def wait_for(check, timeout=60, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    return check()


def numbers(engine, job_id):
    with engine.connect() as c:
        return sorted(int(s) for s, in c.execute(select(serials.c.serial).where(serials.c.job_id == job_id)))


def test_jobs_on_three_lines_at_once_give_every_serial_once(site):
    gws, engine = site["gws"], site["store"].engine
    ids = {}
    for gid, line in LINES.items():
        other = gws["gw%d" % (int(gid[2]) % 3 + 1)]  # created through another gateway's API
        ids[gid] = other.call("POST", "/print-jobs", {"di": GTIN, "template": "udi-item-dm", "printer": line, "quantity": 30,
                                                      "lot": "SITE1", "expiry": "2030-12-31"})["id"]
    # started at the same moment, each through the third gateway
    threads = [threading.Thread(target=gws["gw%d" % ((int(gid[2]) + 1) % 3 + 1)].call,
                                args=("POST", "/print-jobs/%d/start" % ids[gid])) for gid in LINES]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = wait_for(lambda: all(gws["gw1"].call("GET", "/print-jobs/%d" % i)["state"] == "done" for i in ids.values()))
    assert done, {g: gws["gw1"].call("GET", "/print-jobs/%d" % i) for g, i in ids.items()}
    with engine.connect() as c:
        ran_by = dict(c.execute(select(print_jobs.c.id, print_jobs.c.gateway).where(print_jobs.c.id.in_(ids.values()))).all())
        rows, distinct = c.execute(select(func.count(), func.count(func.distinct(serials.c.serial))).where(serials.c.di == GTIN)).one()
        states = dict(c.execute(select(serials.c.state, func.count()).where(serials.c.di == GTIN).group_by(serials.c.state)).all())
    assert ran_by == {i: gid for gid, i in ids.items()}  # each by the gateway that owns its printer
    for i in ids.values():
        assert gws["gw2"].call("GET", "/print-jobs/%d" % i)["reconciliation"]["agrees"] is True
    assert rows == distinct == 90 and states == {"printed": 90}
    per_job = [numbers(engine, i) for i in ids.values()]
    assert sorted(n for job in per_job for n in job) == list(range(1, 91))  # one numbering, no gap, nothing twice
    # the three jobs drew from the pool in turns (they really ran at once)
    assert any(job[-1] - job[0] + 1 > len(job) for job in per_job)


def test_a_job_cancelled_on_another_gateway_is_ended_by_its_own(site):
    gws, engine = site["gws"], site["store"].engine
    job = gws["gw2"].call("POST", "/print-jobs", {"di": GTIN, "template": "udi-item-dm", "printer": "line1", "quantity": 1000,
                                                 "lot": "SITE2", "expiry": "2030-12-31"})
    gws["gw3"].call("POST", "/print-jobs/%d/start" % job["id"])
    assert wait_for(lambda: gws["gw3"].call("GET", "/print-jobs/%d" % job["id"])["serials"].get("printed", 0) >= 5)
    gws["gw3"].call("POST", "/print-jobs/%d/cancel" % job["id"])
    assert wait_for(lambda: gws["gw2"].call("GET", "/print-jobs/%d" % job["id"])["state"] == "cancelled")
    end = gws["gw2"].call("GET", "/print-jobs/%d" % job["id"])
    assert set(end["serials"]) <= {"printed", "voided"} and end["serials"]["printed"] < 1000  # nothing left allocated or sent
    with engine.connect() as c:
        assert c.execute(select(print_jobs.c.gateway).where(print_jobs.c.id == job["id"])).scalar() == "gw1"


LEDGER_WORKER = r"""
import json, sys
from sqlalchemy import create_engine
from gateway.printing.ledger import Ledger
ledger = Ledger(create_engine(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
out = {"seq": [], "rnd": [], "list": [], "errors": []}
for i in range(40):
    for kind, di, lot, n in (("seq", "06901234560001", "L1", 1 + i % 4), ("rnd", "06901234560002", None, 2),
                             ("list", "06901234560003", None, 1 + i % 3)):
        try:
            out[kind] += [s for _, s in ledger.allocate(di, lot, n)]
        except Exception as e:
            out["errors"].append("%s: %r" % (kind, e))
print(json.dumps(out))
"""


def test_the_ledger_from_three_processes_at_once(site):
    from gateway.printing.ledger import Ledger

    engine = site["store"].engine
    ledger = Ledger(engine)
    ledger.create_pool("06901234560002", scheme="random", params={"length": 6, "alphabet": "0123456789"})
    issued = ["MA%08d" % i for i in range(300)]
    assert ledger.import_list("06901234560003", issued)["added"] == 300
    procs = [subprocess.Popen([sys.executable, "-c", LEDGER_WORKER, site["db_url"]], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:  # all at once
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert [r["errors"] for r in results] == [[], [], []]
    seq = [int(s) for r in results for s in r["seq"]]
    assert sorted(seq) == list(range(1, len(seq) + 1))  # one counter, moved by all three: no gap, nothing twice
    rnd = [s for r in results for s in r["rnd"]]
    assert len(rnd) == len(set(rnd)) == 240
    taken = [s for r in results for s in r["list"]]
    assert len(taken) == len(set(taken)) == 3 * sum(1 + i % 3 for i in range(40)) and set(taken) <= set(issued)
    assert taken and all(len(r["list"]) > 0 for r in results)  # every process got its share of the list


def scan_of(serial, lot="SITE"):
    return "]d201%s17301231" "10%s\x1d21%s" % (GTIN, lot, serial)


def test_scans_through_three_gateways_stored_once_and_one_use_per_unit(site):
    engine = site["store"].engine
    port = site["broker"].port

    async def scenario():
        mq = firmware_mqtt()
        hh = [Handheld(mq, "site%02d" % i, "127.0.0.1", port) for i in range(12)]
        await asyncio.gather(*(h.connect() for h in hh))
        # every handheld sends 15 scans back to back
        await asyncio.gather(*(h.scan(scan_of("R%02d%03d" % (i, k))) for i, h in enumerate(hh) for k in range(15)))
        # 20 units, each used on two handhelds at the same moment
        for u in range(20):
            await asyncio.gather(hh[u % 12].scan(scan_of("U%04d" % u), "use"), hh[(u + 5) % 12].scan(scan_of("U%04d" % u), "use"))
        left = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (left := sum(len(h.unanswered()) for h in hh)):
            await asyncio.sleep(0.1)
        await asyncio.gather(*(h.close() for h in hh))
        return hh, left

    hh, left = asyncio.run(scenario())
    assert left == 0
    answers = [a for h in hh for a in h.answers.values()]
    assert len(answers) == 12 * 15 + 40 and sum(h.duplicates for h in hh) == 0
    assert {a["gw"] for a in answers} == {"gw1", "gw2", "gw3"}  # the site shares the scans
    with engine.connect() as c:
        stored, distinct = c.execute(select(func.count(), func.count(func.distinct(func.concat(scans.c.dev, ":", scans.c.seq))))
                                     .where(scans.c.dev.like("site%"))).one()
        assert c.execute(select(func.count()).select_from(rejects)).scalar() == 0
        units = c.execute(select(items.c.item, items.c.state).where(items.c.item.like("%(21)U%"))).all()
    assert stored == distinct == 12 * 15 + 40
    assert len(units) == 20 and {s for _, s in units} == {"used"}
    by_unit = {}
    for h in hh:
        for seq, a in h.answers.items():
            if h.raw[seq].endswith(tuple("21U%04d" % u for u in range(20))):
                by_unit.setdefault(h.raw[seq][-5:], []).append("used_twice" in a["codes"])
    assert len(by_unit) == 20
    assert all(sorted(flags) == [False, True] for flags in by_unit.values()), by_unit  # one use each, the other refused


def test_a_roaming_handheld_is_answered_while_a_gateway_is_down(site):
    gws, engine = site["gws"], site["store"].engine
    port = site["broker"].port
    gws["gw1"].kill()  # SIGKILL: its share of the scans waits for it in its session at the broker

    async def roam():
        h = Handheld(firmware_mqtt(), "roamer", "127.0.0.1", port)
        await h.connect()
        for k in range(10):
            await h.scan(scan_of("RM%03d" % k))
        await h.client.disconnect()  # out of reach of this access point ...
        await h.connect()  # ... and in reach of another: a new connection
        for k in range(10, 20):
            await h.scan(scan_of("RM%03d" % k))
        return h

    async def answered(h, timeout):
        deadline = time.monotonic() + timeout
        while h.unanswered() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return h.unanswered()

    async def scenario():
        h = await roam()
        await answered(h, 3)
        waiting = len(h.unanswered())
        gws["gw1"].start()  # back: it takes in what its session kept
        left = await answered(h, 30)
        await h.close()
        return h, waiting, left

    h, waiting, left = asyncio.run(scenario())
    assert left == []
    assert 0 < waiting < 20  # the others answered theirs at once; the killed gateway's share waited for it
    assert {a["gw"] for a in h.answers.values()} == {"gw1", "gw2", "gw3"}
    with engine.connect() as c:
        stored, distinct = c.execute(select(func.count(), func.count(func.distinct(scans.c.seq))).where(scans.c.dev == "roamer")).one()
    assert stored == distinct == 20
    wait_alive(engine, ["gw1"])


def test_an_upgraded_gateway_takes_in_the_scans_queued_for_the_old_client_id(tmp_path):
    from gateway.ingest import LEGACY_CLIENT_ID, Ingest
    from gateway.store import Store

    broker = EmbeddedBroker(str(tmp_path), 0).start()
    try:
        # the gateway of the earlier version: one fixed client id, a persistent session, then stopped for the upgrade
        old = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=LEGACY_CLIENT_ID, clean_session=False)
        old.connect("127.0.0.1", broker.port)
        old.loop_start()
        assert old.subscribe("udi/v1/dev/+/scan", 1)[0] == mqtt.MQTT_ERR_SUCCESS
        time.sleep(0.3)
        old.loop_stop()
        old.disconnect()
        hh = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hh-upgrade")
        hh.connect("127.0.0.1", broker.port)
        hh.loop_start()
        for seq in range(1, 11):  # sent while the gateway is being upgraded
            hh.publish("udi/v1/dev/hh-upgrade/scan", json.dumps({"v": 1, "dev": "hh-upgrade", "boot": 1, "seq": seq,
                                                                  "raw": scan_of("UP%03d" % seq)}), qos=1).wait_for_publish(5)
        hh.loop_stop()
        hh.disconnect()
        store = Store("sqlite:///" + str(tmp_path / "up.sqlite"))
        ingest = Ingest(store, "127.0.0.1", broker.port, gateway_id="line9").start()
        try:
            assert wait_for(lambda: store.count_scans() == 10, timeout=30)
            # the old session is gone: the broker no longer keeps scans for it
            ingest.legacy.join(30)
            assert not ingest.legacy.is_alive()
            present = []
            probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=LEGACY_CLIENT_ID, clean_session=False)
            probe.on_connect = lambda c, u, flags, rc, p: present.append(flags.session_present)
            probe.connect("127.0.0.1", broker.port)
            while not present:
                probe.loop(0.1)
            probe.disconnect()
            assert present == [False]
        finally:
            ingest.stop()
    finally:
        broker.stop()



def test_the_panel_of_any_gateway_shows_the_whole_site(site):
    import httpx

    from gateway.panel import users
    from test_panel import PW, sign_in

    gws = site["gws"]
    users.create_user(site["store"].engine, "site-viewer", PW, "viewer")
    with httpx.Client(base_url=gws["gw2"].api.rsplit("/api", 1)[0]) as panel:
        assert sign_in(panel, "site-viewer").status_code == 303
        dash = panel.get("/panel").text
        printers = panel.get("/panel/printers").text
    for gid, line in LINES.items():
        # every gateway of the site, running; every printer with the gateway that runs it
        assert re.search(r'data-gateway="%s"><td><strong>%s</strong></td>\s*<td><span class="state s-done">' % (gid, gid), dash)
        assert re.search(r'data-printer="%s">\s*<td><strong>%s</strong>.*?由网关 %s 运行' % (line, line, gid), printers, re.S)


def test_a_retired_gateway_leaves_nothing_behind(tmp_path):
    # Stopped, a gateway's session still takes its turn at the scans; retired, its
    # share is stored and the others get every scan from then on.
    from gateway.ingest import Ingest
    from gateway.store import Store

    broker = EmbeddedBroker(str(tmp_path), 0).start()
    store = Store("sqlite:///" + str(tmp_path / "site.sqlite"))
    stays = Ingest(store, "127.0.0.1", broker.port, gateway_id="stays", shared=True).start()
    leaves = Ingest(store, "127.0.0.1", broker.port, gateway_id="leaves", shared=True).start()
    hh = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hh-retire")
    try:
        assert stays.connected.wait(10) and leaves.connected.wait(10)
        time.sleep(0.3)
        leaves.stop()  # stopped: the broker keeps its turns for it
        hh.connect("127.0.0.1", broker.port)
        hh.loop_start()

        def send(first):
            for seq in range(first, first + 10):
                hh.publish("udi/v1/dev/hh-retire/scan", json.dumps({"v": 1, "dev": "hh-retire", "boot": 1, "seq": seq,
                                                                     "raw": scan_of("RT%03d" % seq)}), qos=1).wait_for_publish(5)

        send(1)
        assert wait_for(lambda: store.count_scans() >= 5) and store.count_scans() < 10  # half waits for the stopped one
        assert Ingest(store, "127.0.0.1", broker.port, gateway_id="leaves", shared=True).retire() is True
        assert store.count_scans() == 10
        send(11)
        assert wait_for(lambda: store.count_scans() == 20, timeout=20)  # all of them to the gateway that stays
    finally:
        hh.loop_stop()
        hh.disconnect()
        stays.stop()
        broker.stop()


def test_a_printer_is_given_to_another_gateway_only_while_none_of_its_jobs_runs(tmp_path):
    from gateway.printing.jobs import JobError, PrintJobs
    from gateway.store import Store

    engine = Store("sqlite:///" + str(tmp_path / "give.sqlite")).engine
    line1, line2 = PrintJobs(engine, gateway="line1"), PrintJobs(engine, gateway="line2")
    line1.add_printer("p1", "tcp://127.0.0.1:9", 300, 6)
    assert line1.runs_here(line1.printer("p1")) and not line2.runs_here(line2.printer("p1"))
    with engine.begin() as c:
        job_id = c.execute(print_jobs.insert().values(di=GTIN, template="udi-item-dm", printer="p1", quantity=5, state="running",
                                                      created_at=0, updated_at=0)).inserted_primary_key[0]
    with pytest.raises(JobError, match="job %d is running on p1" % job_id):
        line1.give_printer("p1", "line2")
    line1._set(job_id, state="held")
    assert line1.give_printer("p1", "line2")["gateway"] == "line2"
    assert line2.runs_here(line2.printer("p1")) and not line1.runs_here(line1.printer("p1"))
    with pytest.raises(LookupError):
        line1.give_printer("nope", "line2")
