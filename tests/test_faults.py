"""The fault suite's short form (bench/faults.py --short): the gateway is
killed with SIGKILL while handhelds running the real firmware send scans and
while a print job runs; after restarts the records show nothing lost,
nothing duplicated, and the job reconciles with the printer's counter."""

import random

import pytest

from test_mqtt_client import MOSQUITTO

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")


def test_gateway_killed_during_ingest_loses_and_duplicates_nothing():
    from bench import faults

    r = faults.ingest_run(random.Random(7), devices=3, per_device=30, rate=8.0, kills=1)
    assert r["faults"] == 1 and r["errors"] == [] and r["undelivered"] == 0
    assert r["scans"] == 90 and r["lost"] == 0 and r["duplicated"] == 0


def test_gateway_killed_during_a_print_job_reconciles():
    from bench import faults

    r = faults.print_run(random.Random(7), labels=60, kills=1)
    assert r["state"] == "done" and r["agrees"] is True
    assert r["lost"] == 0 and r["duplicated"] == 0 and r["printed_not_in_ledger_as_printed"] == 0
    assert r["labels"] >= 60
