"""The gateway's storage on both databases it supports, through the same
code path: SQLite (WAL) and a real PostgreSQL server."""

import threading

import pytest

from gateway.store import Store


@pytest.fixture
def store(db_url):
    # a fresh database per test, SQLite and PostgreSQL (conftest.db_url)
    return Store(db_url)


def row(dev="hh1", boot=1, seq=1, verdict="good"):
    return {"dev": dev, "boot": boot, "seq": seq, "raw": "]d2…", "scheme": "gs1", "valid": verdict == "good",
            "verdict": verdict, "codes": [], "result": {"scheme": "gs1", "elements": [{"ai": "01", "value": "069…"}]}}


def test_a_scan_is_stored_once(store):
    rid, new = store.add_scan(row())
    assert new and rid
    existing, new = store.add_scan(row(verdict="bad"))  # redelivery
    assert not new and existing["verdict"] == "good" and existing["result"]["scheme"] == "gs1"
    store.add_scan(row(seq=2))
    store.add_scan(row(boot=2, seq=1))
    assert store.count_scans() == 3
    assert [r["seq"] for r in store.scans(dev="hh1")] == [1, 2, 1]


def test_concurrent_redeliveries_store_one_row(store):
    results = []

    def deliver():
        results.append(store.add_scan(row(dev="hh2", seq=9))[1])

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1 and store.count_scans() == 1


def test_rejects_and_devices(store):
    store.reject("udi/v1/dev/x/scan", "x", "bad_json", "Expecting value", b"\xff\xfe")
    assert [r["reason"] for r in store.rejects()] == ["bad_json"]
    store.device_seen("hh3", state="online", fw="1.0.0", boot=4)
    store.device_seen("hh3", state="offline")
    d = store.devices()
    assert len(d) == 1 and d[0]["state"] == "offline" and d[0]["fw"] == "1.0.0" and d[0]["boot"] == 4


def test_redelivery_lookup_uses_the_index_not_a_table_scan(tmp_path):
    # The batch's "stored already?" query runs for every batch: on a table of
    # millions of scans it must be index lookups (SQLite scans the whole
    # table for a row-value IN).
    from gateway.store import identity_lookup

    s = Store("sqlite:///" + str(tmp_path / "p.sqlite"))
    (q, params), = identity_lookup([("hh1", 1, 1), ("hh1", 1, 2), ("hh2", 3, 9)])
    with s.engine.connect() as c:
        sql = str(q.params(params).compile(c, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(r[-1] for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "SCAN scans" not in plan and "USING INDEX" in plan, plan
