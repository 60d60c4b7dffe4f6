"""Storage: one SQLAlchemy code path for SQLite (WAL) and PostgreSQL.
Scans are unique by (device, boot, seq): a redelivered scan is recognised,
never stored twice."""

import json
import time

import orjson

from sqlalchemy import and_, bindparam, create_engine, event, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from gateway import migrate
from gateway.schema import alerts, devices, rejects, scans


class Store:
    def __init__(self, url):
        # orjson: every scan stores its engine result as JSON; the standard
        # encoder was a tenth of the ingest's time.
        # pool_pre_ping: after a PostgreSQL restart the pooled connections are
        # dead; each is tested (SELECT 1) when taken, not found dead mid-write.
        self.engine = create_engine(url, future=True, json_serializer=_json_dumps, json_deserializer=orjson.loads,
                                    pool_pre_ping=url.startswith("postgresql"))
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        migrate.upgrade(self.engine)

    def add_scan(self, row):
        # -> (stored row id, True) or (existing row, False) for a redelivery.
        row = dict(row, received_at=time.time())
        with self.engine.begin() as c:
            try:
                rid = c.execute(insert(scans).values(**row)).inserted_primary_key[0]
                return rid, True
            except IntegrityError:
                pass
        return self.scan(row["dev"], row["boot"], row["seq"]), False

    def add_scans(self, rows, tracer=None, today=None):
        # Many scans in one transaction: -> [(row, True)] for stored ones and
        # [(existing row, False)] for redeliveries (also twice in one batch).
        # With a tracer, fresh scans are judged by the traceability rules
        # before they are stored, and what they change is written in the
        # same transaction (a crash leaves all of it or none).
        now = time.time()
        keys = [(r["dev"], r["boot"], r["seq"]) for r in rows]
        out = [None] * len(rows)
        with self.engine.begin() as c:
            if tracer is not None and c.dialect.name == "postgresql":
                # Gateways of one site judge scans against the same units and
                # sessions: one batch at a time, so none judges a unit another
                # is changing (a lost update, or the same new unit inserted twice).
                c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": TRACE_LOCK})
            existing = {}
            for q, params in identity_lookup(keys):
                for r in c.execute(q, params).mappings():
                    existing[(r["dev"], r["boot"], r["seq"])] = dict(r)
            fresh = []
            for i, (key, row) in enumerate(zip(keys, rows)):
                if key in existing:
                    out[i] = (existing[key], False)
                else:
                    existing[key] = dict(row, received_at=now)
                    fresh.append(existing[key])
                    out[i] = (existing[key], True)
            if fresh and tracer is not None:
                batch = tracer.judge(c, fresh, today)
                ins = self._insert_ignore().returning(scans.c.id, scans.c.dev, scans.c.boot, scans.c.seq)
                ids = {(r[1], r[2], r[3]): r[0] for r in c.execute(ins, fresh)}
                tracer.record(c, batch, ids)
            elif fresh:
                c.execute(self._insert_ignore(), fresh)
        return out

    def _insert_ignore(self):
        # A row another gateway stored meanwhile is kept, not duplicated.
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        return dialect_insert(scans).on_conflict_do_nothing(index_elements=["dev", "boot", "seq"])

    def scan(self, dev, boot, seq):
        with self.engine.connect() as c:
            r = c.execute(select(scans).where(scans.c.dev == dev, scans.c.boot == boot, scans.c.seq == seq)).mappings().first()
            return dict(r) if r else None

    def scans(self, dev=None, limit=100):
        q = select(scans).order_by(scans.c.id.desc()).limit(limit)
        if dev:
            q = q.where(scans.c.dev == dev)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    def count_scans(self):
        with self.engine.connect() as c:
            return c.execute(select(func.count()).select_from(scans)).scalar()

    def reject(self, topic, dev, reason, detail, payload):
        # Whatever was refused is kept as far as the columns can hold it.
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
        with self.engine.begin() as c:
            c.execute(insert(rejects).values(topic=db_text(topic, 256), dev=db_text(dev, 64), reason=reason,
                                             detail=db_text(detail), payload=db_text(text, 4096),
                                             received_at=time.time()))

    def rejects(self):
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(select(rejects).order_by(rejects.c.id)).mappings()]

    def device_seen(self, dev, **fields):
        fields["last_seen"] = time.time()
        with self.engine.begin() as c:
            if c.execute(update(devices).where(devices.c.dev == dev).values(**fields)).rowcount == 0:
                c.execute(insert(devices).values(dev=dev, **fields))

    def devices(self):
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(select(devices).order_by(devices.c.dev)).mappings()]

    def system_alert(self, kind, detail, alert_id=None):
        # An alert about the gateway itself (no scan behind it) -> its id;
        # with alert_id, that alert's detail is brought up to date instead.
        with self.engine.begin() as c:
            if alert_id is not None and c.execute(update(alerts).where(alerts.c.id == alert_id).values(detail=detail)).rowcount:
                return alert_id
            return c.execute(insert(alerts).values(kind=kind, detail=detail, created_at=time.time(),
                                                   acknowledged=False)).inserted_primary_key[0]


def storage_outage(e):
    """Whether `e` means the database cannot take writes for a while (server
    restarting or unreachable, disk full, locked), not a bug or bad data: the
    same write is worth trying again."""
    return isinstance(e, (OperationalError, InterfaceError)) or (isinstance(e, DBAPIError) and e.connection_invalidated)


# NUL (PostgreSQL refuses it in text) and lone surrogates (no UTF-8 for them) -> U+FFFD
_NOT_STORABLE = dict.fromkeys([0, *range(0xD800, 0xE000)], 0xFFFD)


def db_text(value, length=None):
    """Text as a column can hold it on SQLite and PostgreSQL alike: cut to
    `length`, what no text column can hold as U+FFFD; None for anything
    that is not text."""
    return value[:length].translate(_NOT_STORABLE) if isinstance(value, str) else None


IDENTITY_CHUNK = 64
TRACE_LOCK = 0x7564_6902  # pg_advisory lock key of the judged part of the ingest


def _identity_query(n):
    # SELECT … WHERE (dev, boot, seq) = key_0 OR … key_n-1, written as OR
    # terms so that SQLite uses the unique index for each (a row-value IN
    # scans the whole table), with a fixed shape per n so that it is
    # compiled once.
    terms = [and_(scans.c.dev == bindparam("d%d" % i), scans.c.boot == bindparam("b%d" % i),
                  scans.c.seq == bindparam("s%d" % i)) for i in range(n)]
    return select(scans).where(or_(*terms))


_IDENTITY_QUERIES = {}


def identity_lookup(keys):
    # -> [(query, params)] finding the stored scans among `keys`; chunks are
    # padded with their last key to one of two fixed sizes.
    out = []
    for i in range(0, len(keys), IDENTITY_CHUNK):
        chunk = list(keys[i:i + IDENTITY_CHUNK])
        n = 8 if len(chunk) <= 8 else IDENTITY_CHUNK
        chunk += [chunk[-1]] * (n - len(chunk))
        if n not in _IDENTITY_QUERIES:
            _IDENTITY_QUERIES[n] = _identity_query(n)
        params = {}
        for j, (dev, boot, seq) in enumerate(chunk):
            params["d%d" % j], params["b%d" % j], params["s%d" % j] = dev, boot, seq
        out.append((_IDENTITY_QUERIES[n], params))
    return out


def _json_dumps(value):
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # what orjson does not take (integers beyond 64 bits): the standard encoder
        return json.dumps(value, ensure_ascii=False)


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()

