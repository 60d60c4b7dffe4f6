"""The traceability routes of the API over real storage (SQLite and
PostgreSQL): aggregation trees both ways, packing all-or-nothing, 拆箱,
units with their movements, stock, and the exports."""

import csv
import io
import json
import warnings

import pytest

from gateway.api import create_app
from gateway.api.auth import create_token
from gateway.store import Store
from test_trace import GTIN, Line, pallet, sscc, unit

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def api(db_url):
    store = Store(db_url)
    client = TestClient(create_app(store), raise_server_exceptions=False)
    client.store = store
    tokens = {r: create_token(store.engine, r, r) for r in ("operator", "reader")}
    client.as_ = lambda role="reader": {"Authorization": "Bearer " + tokens[role]}
    return client


def test_pack_from_the_print_line_then_look_both_ways(api):
    body = {"parent": pallet(7, 2), "children": [unit("A1"), unit("A2")], "source": "line-1"}
    assert api.post("/api/aggregations", json=body, headers=api.as_("reader")).status_code == 403
    r = api.post("/api/aggregations", json=body, headers=api.as_("operator"))
    assert r.status_code == 200, r.text
    assert r.json()["parent"] == "(00)" + sscc(7) and r.json()["packed"] == 2
    tree = api.get("/api/aggregations/(00)%s" % sscc(7), headers=api.as_()).json()
    assert [c["item"] for c in tree["contents"]["children"]] == ["(01)%s(21)A1" % GTIN, "(01)%s(21)A2" % GTIN]
    up = api.get("/api/aggregations/(01)%s(21)A2" % GTIN, headers=api.as_()).json()
    assert up["containers"] == ["(00)" + sscc(7)]
    # the same child cannot go into a second pallet: nothing is packed, and the reason is named
    again = api.post("/api/aggregations", json={"parent": pallet(8, 1), "children": [unit("A1")]}, headers=api.as_("operator"))
    assert again.status_code == 422 and "agg_already_packed" in again.text
    assert api.get("/api/aggregations/(00)%s" % sscc(8), headers=api.as_()).status_code == 404
    # 拆箱 one child, then all
    r = api.delete("/api/aggregations/(00)%s" % sscc(7), params={"child": "(01)%s(21)A1" % GTIN}, headers=api.as_("operator"))
    assert r.json() == {"parent": "(00)" + sscc(7), "removed": 1}
    assert api.delete("/api/aggregations/(00)%s" % sscc(7), headers=api.as_("operator")).json()["removed"] == 1
    assert api.delete("/api/aggregations/(00)%s" % sscc(7), headers=api.as_("operator")).status_code == 404


def test_count_mismatch_and_bad_codes_are_422_with_reasons(api):
    r = api.post("/api/aggregations", json={"parent": pallet(9, 3), "children": [unit("B1")]}, headers=api.as_("operator"))
    assert r.status_code == 422 and "agg_count_mismatch" in r.text
    r = api.post("/api/aggregations", json={"parent": "]d2010690123456789310X", "children": [unit("B1")]}, headers=api.as_("operator"))
    assert r.status_code == 422 and "agg_parent_not_unit" in r.text
    r = api.post("/api/aggregations", json={"parent": pallet(9, 1), "children": []}, headers=api.as_("operator"))
    assert r.status_code == 422


def test_units_stock_and_exports(api):
    line = Line(api.store)
    line.scan(unit("C1"), "receive", "A")
    line.scan(unit("C2"), "receive", "A")
    line.scan(unit("C1"), "use", "A")
    item = api.get("/api/items/(01)%s(21)C1" % GTIN, headers=api.as_()).json()
    assert item["state"] == "used" and [m["kind"] for m in item["movements"]] == ["receive", "use"]
    assert api.get("/api/items/nothing", headers=api.as_()).status_code == 404
    assert api.get("/api/stock", params={"location": "A"}, headers=api.as_()).json() == [
        {"location": "A", "di": GTIN, "lot": "L1", "qty": 1}]
    r = api.get("/api/exports/traceability", params={"mode": "use"}, headers=api.as_())
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [x["trace_code"] for x in rows] == ["(01)%s(17)271231(10)L1(21)C1" % GTIN]
    nhsa = json.loads(api.get("/api/exports/traceability", params={"format": "nhsa"}, headers=api.as_()).text)
    assert len(nhsa) == 3 and all("drugtracinfo" in x for x in nhsa)
    assert api.get("/api/exports/traceability", params={"format": "xml"}, headers=api.as_()).status_code == 422
    assert api.get("/api/exports/traceability").status_code == 401
