"""Traceability on top of scans: one unit one code (一物一码), recall / block
list, expiry, package cascade (装箱), three-code mapping (三码映射), movements
and stock.

Tracer.judge() runs inside the ingest's batch transaction, before the scans
are inserted, so the answer to the handheld already carries every rule's
verdict; Tracer.record() writes what the scans changed once their ids exist.
Rules run in arrival order, so two uses of one unit in one batch are caught
like two uses an hour apart."""

import datetime
import time

from sqlalchemy import bindparam, insert, select, update

from gateway.master.mapping import MappingIndex
from gateway.master.quality import quality_issues
from gateway.schema import agg_sessions, aggregations, alerts, blocks, items, movements, products
from gateway.trace import aggregation, rules, stock
from gateway.trace.identity import item_key
from gateway.trace.messages import describe

__all__ = ["Tracer", "item_key", "describe"]


class Batch:
    # What the rules of one batch see: master rows, blocks, unit states and
    # sessions, loaded once per batch and updated as scans are judged.
    def __init__(self, tracer, conn, today):
        self.conn = conn
        self.today = today
        self.expiry_warn_days = tracer.expiry_warn_days
        self.products = {}
        self.above = {}
        self.blocks = {}
        self.units = {}  # item key -> state dict (None: never seen)
        self.dirty = set()
        self.stored = set()  # units that have a row already (update, not insert)
        self.packed = {}  # links made in this batch: child -> parent
        self.kids = {}  # parent -> live children (loaded, plus links made in this batch)
        self.sessions = {}
        self.new_sessions = set()
        self.alerts = []
        self.moves = []

    def load(self, dis, keys):
        dis = sorted(d for d in dis if d and d not in self.products)
        for d in dis:
            self.products[d] = None  # not in the master: asked once per batch
        for i in range(0, len(dis), 300):
            for r in self.conn.execute(select(products).where(products.c.di.in_(dis[i:i + 300]))).mappings():
                self.products[r["di"]] = dict(r)
            for r in self.conn.execute(select(blocks).where(blocks.c.di.in_(dis[i:i + 300]), blocks.c.active.is_(True))).mappings():
                self.blocks.setdefault(r["di"], []).append(dict(r))
        self.load_units(keys)
        self.load_children(keys)

    def load_children(self, parents):
        # Live children of these keys, one query per 300 (a case scanned in
        # receive moves what it holds).
        parents = sorted(p for p in parents if p and p not in self.kids)
        for p in parents:
            self.kids[p] = []
        for i in range(0, len(parents), 300):
            q = select(aggregations.c.parent, aggregations.c.child).where(
                aggregations.c.parent.in_(parents[i:i + 300]), aggregations.c.removed_at.is_(None))
            for parent, child in self.conn.execute(q.order_by(aggregations.c.id)):
                self.kids[parent].append(child)

    def children(self, parent):
        if parent not in self.kids:
            self.load_children([parent])
        return self.kids[parent]

    def load_units(self, keys):
        keys = sorted(k for k in keys if k and k not in self.units)
        for k in keys:
            self.units[k] = None
        for i in range(0, len(keys), 300):
            for r in self.conn.execute(select(items).where(items.c.item.in_(keys[i:i + 300]))).mappings():
                self.units[r["item"]] = dict(r)
                self.stored.add(r["item"])

    def product(self, di):
        if di and di not in self.products:
            r = self.conn.execute(select(products).where(products.c.di == di)).mappings().first()
            self.products[di] = dict(r) if r else None
        return self.products.get(di)

    def parents(self, di):
        # Package levels whose next-lower level is `di` (quality checks).
        if di not in self.above:
            self.above[di] = [dict(r) for r in self.conn.execute(select(products).where(products.c.contains_di == di)).mappings()]
        return self.above[di]

    def unit(self, key):
        if key not in self.units:
            self.load_units([key])
        return self.units[key]

    def remember_unit(self, entry):
        # Make sure a unit seen in aggregation has a row (its DI and lot are
        # what stock counts when its case moves).
        key = entry["item"]
        state = self.unit(key)
        if state is None:
            self.units[key] = {"item": key, "di": entry.get("di"), "lot": entry.get("lot"), "serial": entry.get("serial"),
                               "expiry": entry.get("expiry"), "state": None, "location": None}
            self.dirty.add(key)

    def set_state(self, key, di, lot, state, location, scan_key):
        unit = self.unit(key) or {"item": key, "di": di, "lot": lot, "serial": None, "expiry": None}
        unit.update(state=state, location=location if state == "received" else unit.get("location") if state == "used" else None)
        if state == "used":
            unit["used_scan"] = scan_key
        self.units[key] = unit
        self.dirty.add(key)

    def holder(self, child):
        if child in self.packed:
            return self.packed[child]
        row = self.conn.execute(select(aggregations.c.parent).where(
            aggregations.c.child == child, aggregations.c.removed_at.is_(None))).first()
        return row[0] if row else None

    def session(self, dev, sid, order):
        key = (dev, sid)
        if key not in self.sessions:
            r = self.conn.execute(select(agg_sessions).where(agg_sessions.c.dev == dev, agg_sessions.c.session == sid)).mappings().first()
            if r is None:
                self.sessions[key] = {"dev": dev, "session": sid, "order": order, "parent": None, "children": [],
                                      "state": "open", "problems": None}
                self.new_sessions.add(key)
            else:
                self.sessions[key] = _session(r)
        return self.sessions[key]

    def open_session(self, dev, exclude):
        # The device's other open parent-first session, if any.
        for (d, sid), s in self.sessions.items():
            if d == dev and sid != exclude and s["state"] == "open" and s.get("parent"):
                return s
        r = self.conn.execute(select(agg_sessions).where(
            agg_sessions.c.dev == dev, agg_sessions.c.session != exclude, agg_sessions.c.state == "open",
            agg_sessions.c.order == "parent_first").order_by(agg_sessions.c.id.desc())).mappings().first()
        if r is None or not r["parent"]:
            return None
        return self.sessions.setdefault((dev, r["session"]), _session(r))


def _session(row):
    # A stored session as the aggregation rules use it: parent = its info dict.
    s = dict(row)
    s["parent"] = s.pop("parent_info")
    return s


class Tracer:
    def __init__(self, expiry_warn_days=30):
        self.expiry_warn_days = expiry_warn_days
        self.mappings = MappingIndex()

    def batch(self, conn, today=None):
        # The rules' view of the database for one transaction.
        today = today or datetime.date.today()
        if isinstance(today, str):
            today = datetime.date.fromisoformat(today)
        return Batch(self, conn, today)

    def judge(self, conn, rows, today=None):
        """Apply the rules to fresh scan rows (dicts as gateway.ingest.scan_row
        builds them): sets item, product, nhsa/commodity codes, and turns the
        verdict bad when a rule says so.  -> the Batch, for record()."""
        batch = self.batch(conn, today)
        self.mappings.refresh(conn, time.monotonic())
        for row in rows:
            row["item"] = item_key(row["result"])
        batch.load({r["result"].get("di") for r in rows}, {r["item"] for r in rows})
        for row in rows:
            self._judge_one(batch, row)
        return batch

    def _judge_one(self, batch, row):
        res = row["result"]
        trace = []
        if not res.get("valid"):
            return
        # The stored result carries the findings; the engine's dict is not
        # touched (it may be shared by its caches).
        row["result"] = dict(res, trace=trace)
        prod = batch.product(res.get("di"))
        row["product"] = prod["di"] if prod else None
        self._master(batch, row, res, prod)
        scan = {"mode": row.get("mode"), "location": row.get("location"), "dev": row["dev"], "res": res,
                "item": row["item"], "state": batch.unit(row["item"]) if row["item"] else None, "product": prod,
                "agg": row.get("agg")}
        findings = []
        for rule in rules.RULES:
            findings += rule(batch, scan)
        if scan["mode"] == "aggregate" and not any(f[1] for f in findings):
            findings += aggregation.on_scan(batch, scan)
        key = (row["dev"], row["boot"], row["seq"])
        for code, bad, alert, detail in findings:
            row["codes"] = list(row["codes"]) + [code]
            trace.append({"code": code, "bad": bad, "detail": detail})
            if bad:
                row["verdict"] = "bad"
            if alert:
                batch.alerts.append({"kind": code, "scan": key, "dev": row["dev"], "item": row["item"],
                                     "di": res.get("di"), "detail": detail})
        if row["verdict"] == "good" and scan["mode"] in stock.SIGN:
            for unit, di, lot, qty in stock.moves(batch, scan):
                batch.moves.append({"scan": key, "kind": scan["mode"], "location": row.get("location"), "item": unit,
                                    "di": di, "lot": lot, "qty": stock.SIGN[scan["mode"]] * qty})
                if unit is not None:
                    batch.set_state(unit, di, lot, stock.STATE[scan["mode"]], row.get("location"), key)
        elif row["item"] and row["verdict"] == "good" and batch.unit(row["item"]) is None:
            pi = res.get("pi") or {}
            batch.remember_unit({"item": row["item"], "di": res.get("di"), "lot": pi.get("lot"),
                                 "serial": pi.get("serial"), "expiry": pi.get("expiry")})

    def _master(self, batch, row, res, prod):
        # 三码映射 and the data-quality checks (编码准确性、数据填报质量).
        mapped = self.mappings.lookup(res, batch.product)
        if mapped:
            row["nhsa_code"], row["commodity_code"] = mapped
        issues = quality_issues(batch, res)
        if issues:
            row["codes"] = list(row["codes"]) + [i["code"] for i in issues]
            row["result"] = dict(row["result"], quality=issues)

    def record(self, conn, batch, ids):
        """Write what the judged scans changed.  `ids` maps (dev, boot, seq)
        to the stored scan id."""
        now = time.time()
        # a scan another gateway stored first (insert-or-ignore) is not ours to record
        moves = [m for m in batch.moves if m["scan"] in ids]
        if moves:
            conn.execute(insert(movements), [
                {"scan_id": ids[m["scan"]], "kind": m["kind"], "location": m["location"], "item": m["item"],
                 "di": m["di"], "lot": m["lot"], "qty": m["qty"], "at": now} for m in moves])
        if batch.alerts:
            conn.execute(insert(alerts), [
                {"kind": a["kind"], "scan_id": ids.get(a["scan"]), "dev": a["dev"], "item": a["item"], "di": a["di"],
                 "detail": a["detail"], "created_at": now, "acknowledged": False} for a in batch.alerts])
        new, changed = [], []
        for key in sorted(batch.dirty):
            u = batch.units[key]
            used = u.get("used_scan")
            fields = {"item": key, "di": u.get("di"), "lot": u.get("lot"), "serial": u.get("serial"),
                      "expiry": u.get("expiry"), "state": u.get("state"), "location": u.get("location"),
                      "updated_at": now, "used_scan": ids.get(used) if isinstance(used, tuple) else used}
            (changed if key in batch.stored else new).append(fields)
        if new:
            conn.execute(insert(items), new)
        if changed:
            conn.execute(update(items).where(items.c.item == bindparam("key")).values(
                {c: bindparam(c) for c in changed[0] if c != "item"}), [dict(f, key=f["item"]) for f in changed])
        for key, s in batch.sessions.items():
            parent = s.get("parent")
            fields = {"order": s.get("order"), "parent": parent["item"] if parent else None, "parent_info": parent,
                      "children": s["children"], "state": s["state"], "problems": s.get("problems"), "updated_at": now}
            if key in batch.new_sessions:
                conn.execute(insert(agg_sessions).values(dev=key[0], session=key[1], **fields))
            else:
                conn.execute(update(agg_sessions).where(agg_sessions.c.dev == key[0], agg_sessions.c.session == key[1]).values(**fields))

