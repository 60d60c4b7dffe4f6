"""The fault suite's short form (bench/faults.py --short): handhelds running
the real firmware send scans and print jobs run while the gateway is killed,
the broker killed, restarted and stalled, the handhelds' links cut, the
printer disconnected and its head opened (with a gateway SIGKILL in the same
job), PostgreSQL restarted, SQLite's disk filled.  Afterwards the records
show nothing lost, nothing duplicated, every job reconciled with the
printer's counter."""

import random

import pytest

from test_mqtt_client import MOSQUITTO
from postgres import server_bin

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")


def assert_every_scan_once(r, generated):
    assert r["errors"] == [] and r["undelivered"] == 0
    assert r["scans"] == generated and r["lost"] == 0 and r["duplicated"] == 0


def assert_job_reconciled(p, quantity):
    assert p["state"] == "done" and p["agrees"] is True
    assert p["lost"] == 0 and p["printed_twice"] == 0 and p["printed_without_record"] == 0
    assert p["ledger_rows_twice"] == 0 and p["printed_not_in_ledger_as_printed"] == 0 and p["ledger_printed_not_printed"] == 0
    assert p["labels"] >= quantity


def test_gateway_killed_broker_restarted_and_stalled_links_cut_during_ingest():
    from bench import faults

    r = faults.ingest_run(random.Random(7), devices=3, per_device=80, rate=4.0,
                          faults=("kill", "broker_restart", "broker_stall", "link_cut"), stall_s=4.0, cut_s=4.0)
    assert sorted(r["fault_names"]) == ["broker_restart", "broker_stall", "kill", "link_cut"]
    assert_every_scan_once(r, 240)


def test_printer_disconnect_and_head_open_with_a_gateway_kill_reconcile():
    from bench import faults

    p = faults.print_run(random.Random(7), labels=40, faults=("disconnect", "head_open+kill"))
    assert p["fault_names"] == ["disconnect", "head_open+kill"]
    assert_job_reconciled(p, 40)


@pytest.mark.skipif(server_bin() is None, reason="PostgreSQL server not installed (scripts/setup.sh installs it)")
def test_postgres_restart_during_ingest_and_a_print_job():
    from bench import faults

    r = faults.postgres_run(random.Random(7), devices=3, per_device=40, rate=8.0, labels=40, restarts=1)
    assert_every_scan_once(r, 120)
    assert_job_reconciled(r["job"], 40)
    # the restart was felt, and said: the job held for it (then was resumed), the admin has an alert
    assert any("database was unavailable" in h for h in r["holds"])
    assert r["storage_alerts"] >= 1


def test_sqlite_disk_full_holds_scans_says_so_and_stores_them_when_space_returns():
    from bench import faults

    r = faults.disk_full_run(random.Random(7), devices=3, per_device=50, rate=8.0, full_s=4.0)
    # a tmpfs of 16 MB filled up (root), else the gateway's RLIMIT_FSIZE lowered (bench/faults.py SmallDisk)
    assert r["method"] in ("tmpfs", "rlimit_fsize") and r["gateway_alive"] is True
    assert r["held_answers"] > 0  # handhelds were told their scans wait
    assert r["storage_alerts"] == 1  # one alert for the admin
    assert_every_scan_once(r, 150)
