"""The serial ledger: every serial is allocated durably (committed) before
its label is sent, and never given to another item, ever — the database's
unique (DI, serial) constraint is the last guard, not the only one.

Schemes (per pool, one pool per DI or per DI + lot):
- sequential: prefix + zero-padded counter; the counter only moves forward.
- random: non-guessable, drawn with `secrets` from an alphabet inside GS1's
  CSET 82 (GS1 recommends serials that cannot be guessed from a known one).
- list: serials imported from an issuer (MA codes, 20-digit drug-code pools),
  handed out in import order.

A serial's life: available (lists) → allocated → sent → printed →
verified | failed → voided.  Reprints follow one policy (reprint()): the same
serial only when the bad label is confirmed destroyed, else void it and
allocate a new one; both leave an audit row."""

import secrets
import time

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.schema import print_audit, serial_pools, serials
from udi_codes.gs1_lint import CSET82

SCHEMES = ("sequential", "random", "list")

# state -> the states it may move to.
TRANSITIONS = {
    "available": ("allocated",),
    "allocated": ("sent", "voided"),
    "sent": ("printed", "failed", "voided"),
    "printed": ("verified", "failed", "voided"),
    "verified": ("failed", "voided"),  # a later check can still find a bad label
    "failed": ("voided", "allocated"),  # allocated again only by reprint(destroyed=True)
    "voided": (),
}

MAX_SERIAL = 20  # AI 21 is X..20
DEFAULT_RANDOM = {"length": 12, "alphabet": "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"}  # no I/O: read aloud without doubt
DEFAULT_SEQUENTIAL = {"prefix": "", "width": 8, "start": 1}


class LedgerError(ValueError):
    pass


class PoolExists(LedgerError):
    pass


def check_params(scheme, params):
    # -> the pool parameters with defaults, or LedgerError naming the problem.
    if scheme not in SCHEMES:
        raise LedgerError("scheme must be one of %s, got %r" % (", ".join(SCHEMES), scheme))
    if scheme == "list":
        return {}
    p = dict(DEFAULT_RANDOM if scheme == "random" else DEFAULT_SEQUENTIAL, **(params or {}))
    if scheme == "random":
        if not isinstance(p["length"], int) or not 6 <= p["length"] <= MAX_SERIAL:
            raise LedgerError("random serial length must be 6-%d, got %r" % (MAX_SERIAL, p["length"]))
        bad = sorted(set(p["alphabet"]) - set(CSET82))
        if bad or len(set(p["alphabet"])) < 10:
            raise LedgerError("random alphabet must be ≥ 10 characters of GS1 CSET 82; not allowed: %r" % "".join(bad))
    else:
        if not isinstance(p["width"], int) or not 1 <= p["width"] <= MAX_SERIAL:
            raise LedgerError("sequential width must be 1-%d, got %r" % (MAX_SERIAL, p["width"]))
        bad = sorted(set(p["prefix"]) - set(CSET82))
        if bad or len(p["prefix"]) + p["width"] > MAX_SERIAL:
            raise LedgerError("sequential prefix must be CSET 82 and prefix + width ≤ %d characters" % MAX_SERIAL)
        if not isinstance(p["start"], int) or p["start"] < 0:
            raise LedgerError("sequential start must be a whole number ≥ 0")
    return p


class Ledger:
    def __init__(self, engine):
        self.engine = engine

    # --- pools -------------------------------------------------------------------

    def pool(self, di, lot=None, scheme=None, params=None):
        """The pool for (di, lot) — a per-lot pool if one exists, else the
        DI's — created DI-wide (sequential by default) when there is none:
        serials are unique per DI, so lots share a numbering unless a per-lot
        pool was set up on purpose (create_pool with a lot and a prefix)."""
        for _attempt in range(2):
            with self.engine.begin() as c:
                for key in ((di, lot or ""), (di, "")):
                    row = c.execute(select(serial_pools).where(serial_pools.c.di == key[0], serial_pools.c.lot == key[1])).mappings().first()
                    if row is not None:
                        return dict(row)
            try:
                return self.create_pool(di, None, scheme or "sequential", params)
            except PoolExists:
                continue  # another job created it at the same moment: use that one
        raise LedgerError("no serial pool for DI %s" % di)

    def create_pool(self, di, lot=None, scheme="sequential", params=None):
        p = check_params(scheme, params)
        row = {"di": di, "lot": lot or "", "scheme": scheme, "params": p,
               "next_value": p.get("start", 0), "created_at": time.time()}
        try:
            with self.engine.begin() as c:
                row["id"] = c.execute(insert(serial_pools).values(**row)).inserted_primary_key[0]
        except IntegrityError:
            raise PoolExists("a serial pool for DI %s%s exists already" % (di, " lot %s" % lot if lot else ""))
        return row

    def import_list(self, di, values, lot=None):
        """Serials from an issuer into a list pool -> {"added", "duplicates", "invalid"}."""
        pool = self.pool(di, lot, "list")
        if pool["scheme"] != "list":
            raise LedgerError("the pool of DI %s is %s, not a list" % (di, pool["scheme"]))
        added = dup = bad = 0
        now = time.time()
        with self.engine.begin() as c:
            known = {r[0] for r in c.execute(select(serials.c.serial).where(serials.c.di == di))}
            fresh = []
            for v in values:
                v = v.strip()
                if not v or len(v) > 64:
                    bad += 1
                elif v in known:
                    dup += 1
                else:
                    known.add(v)
                    fresh.append({"pool_id": pool["id"], "di": di, "serial": v, "lot": lot, "state": "available", "updated_at": now})
            if fresh:
                c.execute(insert(serials), fresh)
                added = len(fresh)
        return {"added": added, "duplicates": dup, "invalid": bad}

    # --- allocation --------------------------------------------------------------

    def allocate(self, di, lot, n, job_id=None, label_no=0):
        """n new serials for (di, lot), committed before this returns ->
        [(serial id, serial)].  Never a serial that was given out before."""
        pool = self.pool(di, lot)
        if pool["scheme"] == "list":
            return self._take_from_list(pool, lot, n, job_id, label_no)
        for _attempt in range(5):
            try:
                with self.engine.begin() as c:
                    values = self._draw(c, pool, n)
                    return self._insert(c, pool, di, lot, values, job_id, label_no)
            except IntegrityError:
                if pool["scheme"] == "sequential":
                    # this DI's numbers were given out outside the pool (an
                    # imported list, another lot's pool): the rollback put the
                    # counter back, so move it past the block for good
                    with self.engine.begin() as c:
                        c.execute(update(serial_pools).where(serial_pools.c.id == pool["id"])
                                  .values(next_value=serial_pools.c.next_value + n))
                # random: a collision; draw again
        raise LedgerError("could not allocate %d new serials for DI %s after 5 attempts" % (n, di))

    def _draw(self, c, pool, n):
        p = pool["params"]
        if pool["scheme"] == "random":
            return ["".join(secrets.choice(p["alphabet"]) for _ in range(p["length"])) for _ in range(n)]
        # sequential: move the counter first (UPDATE … RETURNING), in this transaction
        end = c.execute(update(serial_pools).where(serial_pools.c.id == pool["id"])
                        .values(next_value=serial_pools.c.next_value + n).returning(serial_pools.c.next_value)).scalar_one()
        first = end - n
        if len(str(end - 1)) > p["width"]:
            raise LedgerError("the sequential pool of DI %s is exhausted (width %d)" % (pool["di"], p["width"]))
        return ["%s%0*d" % (p["prefix"], p["width"], v) for v in range(first, end)]

    def _insert(self, c, pool, di, lot, values, job_id, label_no):
        now = time.time()
        rows = [{"pool_id": pool["id"], "di": di, "serial": v, "lot": lot, "state": "allocated", "job_id": job_id,
                 "label_no": label_no + i, "updated_at": now} for i, v in enumerate(values)]
        ids = c.execute(insert(serials).returning(serials.c.id, serials.c.serial, sort_by_parameter_order=True), rows).all()
        return [(r[0], r[1]) for r in ids]

    def _take_from_list(self, pool, lot, n, job_id, label_no):
        now = time.time()
        with self.engine.begin() as c:
            # SKIP LOCKED (PostgreSQL; SQLite has one writer anyway): jobs on
            # several gateways drawing from one list each take other rows
            # instead of waiting for, then losing, the same ones
            ids = [r[0] for r in c.execute(select(serials.c.id, serials.c.serial).where(
                serials.c.pool_id == pool["id"], serials.c.state == "available").order_by(serials.c.id).limit(n)
                .with_for_update(skip_locked=True))]
            if len(ids) < n:
                raise LedgerError("the serial list of DI %s has %d left, %d needed: import more" % (pool["di"], len(ids), n))
            out = []
            for i, sid in enumerate(ids):
                # state guard: a concurrent allocation of the same row updates nothing
                r = c.execute(update(serials).where(serials.c.id == sid, serials.c.state == "available").values(
                    state="allocated", job_id=job_id, label_no=label_no + i, lot=lot, updated_at=now).returning(serials.c.serial)).first()
                if r is None:
                    raise LedgerError("serial list of DI %s changed during allocation; try again" % pool["di"])
                out.append((sid, r[0]))
            return out

    # --- life of a serial ----------------------------------------------------------

    def mark(self, ids, state, conn=None):
        """Move serials to `state`; each must be in a state that may move there."""
        if not ids:
            return 0
        allowed = [s for s, nxt in TRANSITIONS.items() if state in nxt]
        with self._conn(conn) as c:
            n = c.execute(update(serials).where(serials.c.id.in_(list(ids)), serials.c.state.in_(allowed))
                          .values(state=state, updated_at=time.time())).rowcount
            if n != len(set(ids)):
                raise LedgerError("%d of %d serials cannot move to %s from their state" % (len(set(ids)) - n, len(set(ids)), state))
        return n

    def void(self, serial_id, reason, actor=None, conn=None):
        with self._conn(conn) as c:
            self.mark([serial_id], "voided", c)
            audit(c, self._job(c, serial_id), serial_id, "void", actor, reason)

    def reprint(self, serial_id, destroyed, actor, reason):
        """A label to print again -> (serial id, serial) to use.  The same
        serial only when the bad label is confirmed destroyed; else it is
        voided and a new one allocated.  Both are audited with who and why."""
        if not actor or not reason:
            raise LedgerError("a reprint needs who (actor) and why (reason)")
        with self.engine.begin() as c:
            row = c.execute(select(serials).where(serials.c.id == serial_id)).mappings().first()
            if row is None:
                raise LedgerError("no serial with id %d" % serial_id)
            if destroyed and row["state"] in ("sent", "printed", "verified", "failed"):
                c.execute(update(serials).where(serials.c.id == serial_id).values(state="allocated", updated_at=time.time()))
                audit(c, row["job_id"], serial_id, "reprint_same", actor, "label destroyed: " + reason)
                return serial_id, row["serial"]
            if row["state"] == "voided":
                raise LedgerError("serial %s is voided; it is never printed again" % row["serial"])
            self.mark([serial_id], "voided", c)
            audit(c, row["job_id"], serial_id, "void_for_reprint", actor, reason)
        (new_id, new), = self.allocate(row["di"], row["lot"], 1, row["job_id"], row["label_no"])
        with self.engine.begin() as c:
            audit(c, row["job_id"], new_id, "reprint_new", actor, "replaces %s" % row["serial"])
        return new_id, new

    def counts(self, job_id):
        with self.engine.connect() as c:
            q = select(serials.c.state, func.count()).where(serials.c.job_id == job_id).group_by(serials.c.state)
            return {s: n for s, n in c.execute(q)}

    def _job(self, c, serial_id):
        return c.execute(select(serials.c.job_id).where(serials.c.id == serial_id)).scalar()

    def _conn(self, conn):
        if conn is not None:
            return _Borrowed(conn)
        return self.engine.begin()


class _Borrowed:
    # A caller's connection used as a context manager without ending it.
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        return False


def audit(conn, job_id, serial_id, action, actor, detail):
    conn.execute(insert(print_audit).values(job_id=job_id, serial_id=serial_id, action=action, actor=actor,
                                            detail=detail, at=time.time()))
