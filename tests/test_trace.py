"""Traceability rules on real storage (SQLite and PostgreSQL): one unit one
code, dispatch only from stock, recall, expiry, aggregation sessions and
packing, movements and stock — judged in the ingest's batch transaction."""

import time

import pytest
from sqlalchemy import insert, select

import udi_codes
from conftest import TODAY
from gateway.ingest import scan_row
from gateway.schema import aggregations, alerts, blocks, items, movements, products
from gateway.store import Store
from gateway.trace import Tracer, aggregation, stock
from udi_codes.checkchars import gs1_mod10

GTIN = "06901234567892"  # a box (level 0)


def gtin(body13):
    return body13 + str(gs1_mod10(body13))


CASE = gtin("1690123456789")  # a case of boxes (indicator 1)


def sscc(n):
    body = "0" + "6901234" + "%09d" % n
    return body + str(gs1_mod10(body))


def unit(serial, lot="L1", expiry="271231", di=GTIN):
    return "]d201%s17%s10%s\x1d21%s" % (di, expiry, lot, serial)


class Line:
    # One handheld feeding scans through Store.add_scans with a Tracer, the
    # way the ingest does.
    def __init__(self, store, dev="hh1", location="A"):
        self.store, self.dev, self.location = store, dev, location
        self.tracer = Tracer(expiry_warn_days=30)
        self.seq = 0

    def row(self, raw, mode, location=None, agg=None):
        self.seq += 1
        msg = {"v": 1, "dev": self.dev, "boot": 1, "seq": self.seq, "raw": raw, "mode": mode,
               "loc": location or self.location, "agg": agg}
        return scan_row(self.dev, msg, udi_codes.parse(raw, "read", TODAY))

    def scan(self, raw, mode, location=None, agg=None):
        return self.batch([(raw, mode, location, agg)])[0]

    def batch(self, scans):
        rows = [self.row(*s) for s in scans]
        return [stored for stored, _ in self.store.add_scans(rows, self.tracer, TODAY)]


@pytest.fixture
def store(db_url):
    return Store(db_url)


def codes(stored):
    return stored["codes"]


def table(store, t, *where):
    with store.engine.connect() as c:
        return [dict(r) for r in c.execute(select(t).where(*where)).mappings()]


def add_product(store, di, primary, contains_di=None, qty=None, level=None):
    with store.engine.begin() as c:
        c.execute(insert(products).values(di=di, primary_di=primary, contains_di=contains_di, contains_qty=qty,
                                          level=level, source="sheet", updated_at=time.time()))


def test_a_unit_is_used_once(store):
    line = Line(store)
    assert line.scan(unit("S1"), "receive")["verdict"] == "good"
    assert line.scan(unit("S1"), "use")["verdict"] == "good"
    again = line.scan(unit("S1"), "use")
    assert again["verdict"] == "bad" and "used_twice" in codes(again)
    assert [a["kind"] for a in table(store, alerts)] == ["used_twice"]
    # a used unit cannot come back into stock either
    back = line.scan(unit("S1"), "receive")
    assert back["verdict"] == "bad" and "already_used" in codes(back)
    # another serial of the same product is a different unit
    assert line.scan(unit("S2"), "use")["verdict"] == "good"


def test_two_uses_in_one_batch_are_caught(store):
    line = Line(store)
    first, second = line.batch([(unit("S9"), "use", None, None), (unit("S9"), "use", None, None)])
    assert first["verdict"] == "good"
    assert second["verdict"] == "bad" and "used_twice" in codes(second)


def test_redelivery_is_not_judged_again(store):
    line = Line(store)
    row = line.row(unit("S3"), "use")
    (stored, new), = store.add_scans([dict(row)], line.tracer, TODAY)
    (again, new2), = store.add_scans([dict(row)], line.tracer, TODAY)
    assert new and not new2 and again["verdict"] == "good"
    assert table(store, alerts) == []
    assert len(table(store, movements)) == 1


def test_dispatch_only_from_where_it_was_received(store):
    line = Line(store)
    never = line.scan(unit("S4"), "dispatch", "A")
    assert never["verdict"] == "bad" and "not_received_here" in codes(never)
    line.scan(unit("S4"), "receive", "A")
    elsewhere = line.scan(unit("S4"), "dispatch", "B")
    assert elsewhere["verdict"] == "bad" and "not_received_here" in codes(elsewhere)
    assert line.scan(unit("S4"), "dispatch", "A")["verdict"] == "good"
    assert table(store, items, items.c.item == "(01)%s(21)S4" % GTIN)[0]["state"] == "dispatched"
    # a second dispatch: it is no longer in stock at A
    assert line.scan(unit("S4"), "dispatch", "A")["verdict"] == "bad"
    with store.engine.connect() as c:
        assert stock.stock(c, location="A") == []  # +1 -1


def test_stock_per_location_product_and_lot(store):
    line = Line(store)
    line.batch([(unit("S%d" % i, lot="LA"), "receive", "A", None) for i in range(5)])
    line.batch([(unit("T%d" % i, lot="LB"), "receive", "A", None) for i in range(3)])
    line.scan(unit("S0", lot="LA"), "use", "A")
    line.scan(unit("S1", lot="LA"), "dispatch", "A")
    line.scan(unit("S1", lot="LA"), "receive", "B")
    with store.engine.connect() as c:
        got = {(r["location"], r["lot"]): r["qty"] for r in stock.stock(c, di=GTIN)}
    assert got == {("A", "LA"): 3, ("A", "LB"): 3, ("B", "LA"): 1}


def test_recall_by_lot_and_serial_range(store):
    with store.engine.begin() as c:
        c.execute(insert(blocks), [
            {"di": GTIN, "lot": "BAD", "serial_from": None, "serial_to": None, "reason": "NMPA recall 2026-11", "active": True, "created_at": 0},
            {"di": GTIN, "lot": None, "serial_from": "100", "serial_to": "199", "reason": "field notice", "active": True, "created_at": 0},
            {"di": GTIN, "lot": "OLD", "serial_from": None, "serial_to": None, "reason": "lifted", "active": False, "created_at": 0},
        ])
    line = Line(store)
    assert "recalled" in codes(line.scan(unit("X1", lot="BAD"), "receive"))
    assert "recalled" in codes(line.scan(unit("150", lot="OK"), "verify"))
    assert line.scan(unit("99", lot="OK"), "receive")["verdict"] == "good"  # 99 < 100 numerically
    assert line.scan(unit("200", lot="OK"), "receive")["verdict"] == "good"
    assert line.scan(unit("X2", lot="OLD"), "receive")["verdict"] == "good"  # inactive block
    assert [a["detail"] for a in table(store, alerts, alerts.c.kind == "recalled")] == ["NMPA recall 2026-11", "field notice"]


def test_expiry(store):
    line = Line(store)
    used = line.scan(unit("E1", expiry="261001"), "use")
    assert used["verdict"] == "bad" and "expired" in codes(used)
    checked = line.scan(unit("E2", expiry="261001"), "verify")
    assert checked["verdict"] == "good" and "expired" in codes(checked)
    soon = line.scan(unit("E3", expiry="261210"), "receive")  # 18 days after TODAY
    assert soon["verdict"] == "good" and "expires_soon" in codes(soon)
    assert sorted(a["kind"] for a in table(store, alerts)) == ["expired", "expired", "expires_soon"]
    assert line.scan(unit("E4", expiry="270301"), "receive")["codes"] == ["unknown_di"]  # not in the master, not expiring


def agg(session, role, order="children_first"):
    return {"session": session, "role": role, "order": order}


def pallet(n, count, content=GTIN):
    return "]C100%s02%s37%d" % (sscc(n), content, count)


def test_children_first_session_packs_a_pallet_then_stock_follows_it(store):
    line = Line(store)
    kids = [unit("P%d" % i) for i in range(3)]
    out = line.batch([(k, "aggregate", None, agg("1-1", "child")) for k in kids])
    assert [o["verdict"] for o in out] == ["good"] * 3
    parent = line.scan(pallet(1, 3), "aggregate", None, agg("1-1", "parent"))
    assert parent["verdict"] == "good", parent["codes"]
    with store.engine.connect() as c:
        tree = aggregation.contents(c, "(00)" + sscc(1))
        assert [k["item"] for k in tree["children"]] == ["(01)%s(21)P%d" % (GTIN, i) for i in range(3)]
        assert aggregation.containers(c, "(01)%s(21)P1" % GTIN) == ["(00)" + sscc(1)]
    # receiving the pallet receives what it holds
    assert line.scan(pallet(1, 3), "receive", "W")["verdict"] == "good"
    with store.engine.connect() as c:
        assert stock.stock(c, location="W") == [{"location": "W", "di": GTIN, "lot": "L1", "qty": 3}]
    # so one unit can leave W on its own
    assert line.scan(kids[0], "dispatch", "W")["verdict"] == "good"
    # and a packed unit cannot go into another pallet
    line.scan(kids[1], "aggregate", None, agg("1-2", "child"))
    row = table(store, aggregations, aggregations.c.child == "(01)%s(21)P1" % GTIN)
    assert len(row) == 1


def test_a_child_already_packed_is_refused(store):
    line = Line(store)
    line.scan(unit("Q1"), "aggregate", None, agg("1-1", "child"))
    assert line.scan(pallet(2, 1), "aggregate", None, agg("1-1", "parent"))["verdict"] == "good"
    again = line.scan(unit("Q1"), "aggregate", None, agg("1-2", "child"))
    assert again["verdict"] == "bad" and "agg_already_packed" in codes(again)
    # 拆箱, then it may be packed again
    with store.engine.begin() as c:
        assert aggregation.unpack(c, "(00)" + sscc(2)) == 1
    assert line.scan(unit("Q1"), "aggregate", None, agg("1-3", "child"))["verdict"] == "good"


def test_wrong_count_or_product_rejects_the_pallet_and_links_nothing(store):
    line = Line(store)
    line.batch([(unit("R%d" % i), "aggregate", None, agg("1-1", "child")) for i in range(2)])
    short = line.scan(pallet(3, 3), "aggregate", None, agg("1-1", "parent"))
    assert short["verdict"] == "bad" and "agg_count_mismatch" in codes(short)
    other = gtin("0690123456790")
    line.batch([(unit("W1", di=other), "aggregate", None, agg("1-2", "child"))])
    wrong = line.scan(pallet(4, 1), "aggregate", None, agg("1-2", "parent"))
    assert wrong["verdict"] == "bad" and "agg_wrong_child" in codes(wrong)
    assert table(store, aggregations) == []


def test_a_lot_only_code_cannot_be_a_child(store):
    line = Line(store)
    got = line.scan("]d201%s10LOT1" % GTIN, "aggregate", None, agg("1-1", "child"))
    assert got["verdict"] == "bad" and "agg_child_not_serialised" in codes(got)


def test_parent_first_links_at_once_and_counts_against_the_master(store):
    add_product(store, CASE, GTIN, contains_di=GTIN, qty=2, level="箱")
    line = Line(store)
    case1 = "]d201%s21C1" % CASE
    assert line.scan(case1, "aggregate", None, agg("1-1", "parent", "parent_first"))["verdict"] == "good"
    assert line.scan(unit("K1"), "aggregate", None, agg("1-1", "child", "parent_first"))["verdict"] == "good"
    with store.engine.connect() as c:
        assert aggregation.children_of(c, "(01)%s(21)C1" % CASE) == ["(01)%s(21)K1" % GTIN]
    assert line.scan(unit("K2"), "aggregate", None, agg("1-1", "child", "parent_first"))["verdict"] == "good"
    over = line.scan(unit("K3"), "aggregate", None, agg("1-1", "child", "parent_first"))
    assert over["verdict"] == "bad" and "agg_count_over" in codes(over)
    # the next case: the first is full, no alert; then a short one
    line.scan("]d201%s21C2" % CASE, "aggregate", None, agg("1-2", "parent", "parent_first"))
    line.scan(unit("K4"), "aggregate", None, agg("1-2", "child", "parent_first"))
    nxt = line.scan("]d201%s21C3" % CASE, "aggregate", None, agg("1-3", "parent", "parent_first"))
    assert nxt["verdict"] == "good" and "agg_count_short" in codes(nxt)
    assert [a["kind"] for a in table(store, alerts)] == ["agg_count_short"]
    # a box is not a case: a child at the case's level is refused
    lvl = line.scan("]d201%s21C9" % CASE, "aggregate", None, agg("1-3", "child", "parent_first"))
    assert lvl["verdict"] == "bad" and "agg_wrong_child" in codes(lvl) and "agg_level_order" in codes(lvl)


def test_child_without_parent_in_parent_first(store):
    line = Line(store)
    got = line.scan(unit("N1"), "aggregate", None, agg("1-1", "child", "parent_first"))
    assert got["verdict"] == "bad" and "agg_no_parent" in codes(got)


def test_receiving_an_unpacked_case_moves_the_chain_quantity(store):
    box_of_10 = gtin("2690123456789")
    add_product(store, CASE, GTIN, contains_di=box_of_10, qty=4, level="箱")
    add_product(store, box_of_10, GTIN, contains_di=GTIN, qty=10, level="中盒")
    line = Line(store)
    assert line.scan("]d201%s10LC1" % CASE, "receive", "A")["verdict"] == "good"
    with store.engine.connect() as c:
        assert stock.stock(c, location="A") == [{"location": "A", "di": GTIN, "lot": "LC1", "qty": 40}]


def test_print_line_packs_in_one_call(store):
    tracer = Tracer()
    parent = udi_codes.parse(pallet(5, 2), "read", TODAY)
    kids = [udi_codes.parse(unit("Z%d" % i), "read", TODAY) for i in range(2)]
    with store.engine.begin() as c:
        batch = tracer.batch(c, TODAY)
        assert aggregation.pack(batch, parent, kids + [kids[0]], "job-1")[0][0] == "agg_duplicate_child"
    with store.engine.begin() as c:
        batch = tracer.batch(c, TODAY)
        assert aggregation.pack(batch, parent, kids, "job-1") == []
        tracer.record(c, batch, {})
    with store.engine.connect() as c:
        assert len(aggregation.children_of(c, "(00)" + sscc(5))) == 2
    assert {u["item"] for u in table(store, items)} == {"(00)" + sscc(5)} | {"(01)%s(21)Z%d" % (GTIN, i) for i in range(2)}


def test_export_maps_scans_to_nhsa_fields(store):
    import csv
    import io
    import json

    from gateway.schema import mappings
    from gateway.trace import export

    add_product(store, GTIN, GTIN)
    with store.engine.begin() as c:
        c.execute(insert(mappings).values(kind="gtin", key=GTIN, nhsa_code="XA02BCA211A012010100154",
                                          commodity_code="SKU-1", updated_at=0))
    line = Line(store)
    line.scan(unit("S1"), "receive")
    line.scan(unit("S1"), "use")
    line.scan(unit("S1"), "use")  # bad: not exported
    line.scan("]C081234567890123456789", "use")
    line.scan(unit("S2"), "verify")  # moves nothing: not exported
    with store.engine.connect() as c:
        rows = list(export.records(c, modes=("use",)))
    assert [r["trace_code"] for r in rows] == ["(01)%s(17)271231(10)L1(21)S1" % GTIN, "81234567890123456789"]
    assert rows[0]["lot"] == "L1" and rows[0]["expiry"] == "2027-12-31" and rows[0]["qty"] == 1
    # the three-code mapping reached the stored scan, and the export
    assert (rows[0]["nhsa_code"], rows[0]["commodity_code"]) == ("XA02BCA211A012010100154", "SKU-1")
    assert rows[1]["nhsa_code"] is None
    text = export.to_csv(rows)
    assert text.startswith("\ufeffscan_id,") and len(list(csv.DictReader(io.StringIO(text[1:])))) == 2
    nhsa = json.loads(export.to_nhsa(rows))
    assert nhsa[1]["drugtracinfo"] == [{"drug_trac_codg": "81234567890123456789"}]
    assert nhsa[0]["manu_lotnum"] == "L1" and nhsa[0]["expy_end"] == "2027-12-31"
    assert nhsa[0]["med_list_codg"] == "XA02BCA211A012010100154"


def test_quality_issues_are_flagged_on_the_scan(store):
    with store.engine.begin() as c:
        c.execute(insert(products).values(di=GTIN, primary_di=GTIN, pi_lot=True, pi_serial=True, pi_expiry=True,
                                          source="udid", updated_at=0))
    line = Line(store)
    no_serial = line.scan("]d201%s1727123110L1" % GTIN, "receive")
    assert no_serial["verdict"] == "good" and "pi_missing_serial" in codes(no_serial)
    assert no_serial["product"] == GTIN
    unknown = line.scan(unit("U1", di=gtin("0690123456790")), "receive")
    assert "unknown_di" in codes(unknown) and unknown["product"] is None
    assert line.scan(unit("U2"), "receive")["codes"] == []
