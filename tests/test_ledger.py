"""The serial ledger on SQLite and PostgreSQL: serials are committed before
they are handed out, never given twice (also across pools, lots, crashes
and concurrent jobs), move only along their life, and reprints follow the
policy with an audit trail."""

import threading

import pytest
from sqlalchemy import select

from gateway.printing.ledger import Ledger, LedgerError, check_params
from gateway.schema import print_audit, serials
from gateway.store import Store
from udi_codes.gs1_lint import CSET82

DI = "06901234567892"


@pytest.fixture
def ledger(db_url):
    return Ledger(Store(db_url).engine)


def all_serials(ledger):
    with ledger.engine.connect() as c:
        return [dict(r) for r in c.execute(select(serials).order_by(serials.c.id)).mappings()]


def test_sequential_serials_are_committed_and_never_repeat(ledger):
    a = ledger.allocate(DI, "L1", 3, job_id=1)
    b = ledger.allocate(DI, "L2", 2, job_id=2)  # one DI-wide pool: lots share the numbering
    assert [s for _, s in a + b] == ["00000001", "00000002", "00000003", "00000004", "00000005"]
    # a second Ledger (a restarted gateway) continues after them
    assert Ledger(ledger.engine).allocate(DI, "L1", 1)[0][1] == "00000006"
    assert {r["state"] for r in all_serials(ledger)} == {"allocated"}


def test_a_collision_moves_the_counter_past_it_never_reuses(ledger):
    from sqlalchemy import insert

    ledger.create_pool(DI, None, "sequential", {"prefix": "S", "width": 4})
    (sid, first), = ledger.allocate(DI, None, 1)
    assert first == "S0001"
    with ledger.engine.begin() as c:  # S0002, S0003 were given out outside the pool
        pid = c.execute(select(serials.c.pool_id).where(serials.c.id == sid)).scalar()
        c.execute(insert(serials), [{"pool_id": pid, "di": DI, "serial": s, "state": "printed", "updated_at": 0}
                                    for s in ("S0002", "S0003")])
    got = ledger.allocate(DI, None, 2)
    assert [s for _, s in got] == ["S0004", "S0005"]
    assert len({r["serial"] for r in all_serials(ledger)}) == len(all_serials(ledger))
    with pytest.raises(LedgerError, match="not a list"):
        ledger.import_list(DI, ["X1"])


def test_random_serials_are_cset82_and_unguessable(ledger):
    ledger.create_pool(DI, "L9", "random", {"length": 12})
    got = [s for _, s in ledger.allocate(DI, "L9", 200)]
    assert len(set(got)) == 200 and all(len(s) == 12 and set(s) <= set(CSET82) for s in got)
    # no shared prefix run as a counter would have
    assert len({s[:6] for s in got}) > 150
    with pytest.raises(LedgerError, match="CSET 82"):
        check_params("random", {"alphabet": "ABC DEF GHIJ"})
    with pytest.raises(LedgerError, match="length"):
        check_params("random", {"length": 40})


def test_list_pools_hand_out_imported_serials_once(ledger):
    codes = ["812345678901234567%02d" % i for i in range(5)]
    assert ledger.import_list("8123456", codes + [codes[0], ""]) == {"added": 5, "duplicates": 1, "invalid": 1}
    assert ledger.import_list("8123456", codes[:2]) == {"added": 0, "duplicates": 2, "invalid": 0}
    got = ledger.allocate("8123456", None, 3, job_id=7)
    assert [s for _, s in got] == codes[:3]
    with pytest.raises(LedgerError, match="2 left, 3 needed"):
        ledger.allocate("8123456", None, 3)


def test_concurrent_jobs_never_share_a_serial(ledger):
    out, errors = [], []

    def job(k):
        try:
            for _ in range(10):
                out.extend(s for _, s in ledger.allocate(DI, "L1", 5, job_id=k))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=job, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(out) == 200 and len(set(out)) == 200


def test_states_move_only_forward(ledger):
    (sid, _), = ledger.allocate(DI, "L1", 1)
    with pytest.raises(LedgerError):
        ledger.mark([sid], "printed")  # allocated -> printed skips "sent"
    ledger.mark([sid], "sent")
    ledger.mark([sid], "printed")
    ledger.mark([sid], "verified")
    ledger.void(sid, "label torn", actor="op1")
    with pytest.raises(LedgerError):
        ledger.mark([sid], "sent")  # voided is final
    with ledger.engine.connect() as c:
        assert [r["action"] for r in c.execute(select(print_audit)).mappings()] == ["void"]


def test_reprint_policy(ledger):
    (a, sa), (b, sb) = ledger.allocate(DI, "L1", 2, job_id=3)
    ledger.mark([a, b], "sent")
    ledger.mark([a, b], "failed")
    with pytest.raises(LedgerError, match="who"):
        ledger.reprint(a, destroyed=True, actor="", reason="")
    # confirmed destroyed: the same serial again
    assert ledger.reprint(a, destroyed=True, actor="qa1", reason="smeared, shredded") == (a, sa)
    # not confirmed: void it, print a new serial
    new_id, new = ledger.reprint(b, destroyed=False, actor="qa1", reason="label missing")
    assert new != sb and new_id != b
    states = {r["serial"]: r["state"] for r in all_serials(ledger)}
    assert states == {sa: "allocated", sb: "voided", new: "allocated"}
    with ledger.engine.connect() as c:
        assert [r["action"] for r in c.execute(select(print_audit).order_by(print_audit.c.id)).mappings()] == [
            "reprint_same", "void_for_reprint", "reprint_new"]
    with pytest.raises(LedgerError, match="never printed again"):
        ledger.reprint(b, destroyed=True, actor="qa1", reason="found it")
