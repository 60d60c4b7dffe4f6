"""Backups and restores as docs/deployment.md tells an operator to make them
(`udi-edge db backup FILE`, `udi-edge db restore FILE`), on a real
PostgreSQL and on SQLite, taken while scans are being written: the restored
database has what the backup saw, passes its checks, and its serial pools go
on without giving a serial twice."""

import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, insert, select

import udi_codes
from conftest import TODAY
from gateway import backup
from gateway.ingest import scan_row
from gateway.printing.ledger import Ledger
from gateway.schema import items, print_audit, products, scans, serial_pools, serials
from gateway.store import Store
from gateway.trace import Tracer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GTIN = "06901234567892"


def cli(tmp_path, url, *args):
    conf = tmp_path / ("c%d.toml" % abs(hash(url)))
    conf.write_text('data_dir = "%s"\ndatabase_url = "%s"\n' % (tmp_path / "data", url))
    return subprocess.run([sys.executable, "-m", "gateway.cli", "db", "--config", str(conf), *args], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=120)


def add_scans(store, dev, first, n):
    rows = []
    for seq in range(first, first + n):
        raw = "]d201%s17301231" "10B1\x1d21S%05d" % (GTIN, seq)
        msg = {"dev": dev, "boot": 1, "seq": seq, "mode": "receive", "loc": "store-1"}
        rows.append(scan_row(dev, msg, udi_codes.parse(raw, "read", TODAY)))
    store.add_scans(rows, Tracer(), TODAY)


def populated(url):
    store = Store(url)
    with store.engine.begin() as c:
        c.execute(insert(products).values(di=GTIN, primary_di=GTIN, name="注射器", pi_lot=True, pi_serial=True,
                                          source="sheet", updated_at=0))
    add_scans(store, "hh1", 1, 200)
    given = [s for _, s in Ledger(store.engine).allocate(GTIN, "B1", 50)]
    return store, given


def counts(engine):
    with engine.connect() as c:
        return {t.name: c.execute(select(func.count()).select_from(t)).scalar() for t in (scans, items, serials, serial_pools)}


def backup_while_writing(store, tmp_path, url, dest):
    # Scans keep coming while the backup runs (the gateway is not stopped for it).
    stop = threading.Event()

    def write():
        seq = 1000
        while not stop.is_set():
            add_scans(store, "hh2", seq, 20)
            seq += 20

    writer = threading.Thread(target=write)
    before = counts(store.engine)
    writer.start()
    try:
        r = cli(tmp_path, url, "backup", str(dest))
    finally:
        stop.set()
        writer.join()
    assert r.returncode == 0, r.stderr
    assert dest.stat().st_size > 0 and not os.path.exists(str(dest) + ".part")
    return before, counts(store.engine)


def check_restored(tmp_path, url2, dest, given, before, after, advance=0):
    r = cli(tmp_path, url2, "restore", str(dest), *(["--advance-serials", str(advance)] if advance else []))
    assert r.returncode == 0, r.stderr
    restored = Store(url2)
    got = counts(restored.engine)
    assert got["serials"] == before["serials"] == 50 and got["serial_pools"] == 1
    assert before["scans"] <= got["scans"] <= after["scans"]  # one consistent moment of the running database
    with restored.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(scans).where(scans.c.dev == "hh1")).scalar() == 200
        # every unit a restored scan received is there too (scans and their effects are one transaction)
        assert c.execute(select(func.count()).select_from(items)).scalar() == got["scans"]
    more = [s for _, s in Ledger(restored.engine).allocate(GTIN, "B1", 10)]
    assert not set(more) & set(given)  # no serial of the backup's is given again
    assert sorted(int(s) for s in more) == list(range(51 + advance, 61 + advance))
    with restored.engine.connect() as c:  # the jump is on record
        assert c.execute(select(func.count()).select_from(print_audit).where(print_audit.c.action == "restore_advance")).scalar() \
            == (1 if advance else 0)
    add_scans(restored, "hh3", 1, 5)  # new rows take new ids after the restored ones
    assert counts(restored.engine)["scans"] == got["scans"] + 5
    with pytest.raises(backup.BackupError, match="restore only into an empty one"):  # never over data
        backup.restore(url2, str(dest))


def test_postgres_backup_while_running_and_restore_into_a_fresh_database(pg_cluster, tmp_path):
    url = pg_cluster.database()
    store, given = populated(url)
    dest = tmp_path / "backups" / "site.dump"
    before, after = backup_while_writing(store, tmp_path, url, dest)
    # labels printed after the backup keep their numbers: the pool moves 1,000 on
    check_restored(tmp_path, pg_cluster.database(), dest, given, before, after, advance=1000)


def test_sqlite_online_backup_and_restore(tmp_path):
    url = "sqlite:///" + str(tmp_path / "live.sqlite")
    store, given = populated(url)
    dest = tmp_path / "backups" / "gateway.sqlite"
    before, after = backup_while_writing(store, tmp_path, url, dest)
    check_restored(tmp_path, "sqlite:///" + str(tmp_path / "restored.sqlite"), dest, given, before, after)


def test_a_damaged_backup_is_refused_and_nothing_is_written(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    target = tmp_path / "target.sqlite"
    with pytest.raises(backup.BackupError, match="not a SQLite backup|integrity check"):
        backup.restore("sqlite:///" + str(target), str(bad))
    assert not target.exists() or target.stat().st_size == 0
    with pytest.raises(backup.BackupError, match="no backup file at"):
        backup.restore("sqlite:///" + str(target), str(tmp_path / "nope.dump"))
