"""The printing routes of the API over real storage and the virtual
printer: printers and their live status, templates and previews (decoded
with zxing-cpp), jobs refused with the field and rule, a job printed to the
end, its labels, the reprint policy, serial pools and issuer lists."""

import io
import time
import warnings

import pytest
from sqlalchemy import insert

from gateway.api import create_app
from gateway.api.auth import create_token
from gateway.printing.jobs import PrintJobs
from gateway.schema import products
from gateway.sim.printer import VirtualPrinter
from gateway.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

GTIN = "06901234567892"


@pytest.fixture
def printer():
    p = VirtualPrinter(port=0, dpi=300, ips=14.0, label_length_in=0.5).start()
    yield p
    p.stop()


@pytest.fixture
def api(db_url):
    store = Store(db_url)
    with store.engine.begin() as c:
        c.execute(insert(products).values(di=GTIN, primary_di=GTIN, name="一次性使用无菌注射器", reg_no="国械注准20173151234",
                                          pi_lot=True, pi_serial=True, pi_mfg=False, pi_expiry=True, source="udid", updated_at=0))
    jobs = PrintJobs(store.engine, poll_s=0.05, today="2026-11-22")
    client = TestClient(create_app(store, print_jobs=jobs), raise_server_exceptions=False)
    tokens = {r: create_token(store.engine, r, r) for r in ("admin", "operator", "reader")}
    client.as_ = lambda role="reader": {"Authorization": "Bearer " + tokens[role]}
    return client


def job_body(**kw):
    body = {"di": GTIN, "template": "udi-item-dm", "printer": "line1", "quantity": 5, "lot": "L1", "expiry": "2028-10-31"}
    body.update(kw)
    return body


def test_printers_templates_and_previews(api, printer):
    r = api.put("/api/printers/line1", json={"uri": printer.uri, "dpi": 300, "ips": 14}, headers=api.as_("operator"))
    assert r.status_code == 403
    assert api.put("/api/printers/line1", json={"uri": printer.uri, "dpi": 300, "ips": 14}, headers=api.as_("admin")).status_code == 200
    assert api.put("/api/printers/bad", json={"uri": "ftp://x", "dpi": 300, "ips": 6}, headers=api.as_("admin")).status_code == 422
    st = api.get("/api/printers/line1/status", headers=api.as_()).json()
    assert st["ready"] is True and st["faults"] == []
    printer.inject("head_open")
    assert "head_open" in api.get("/api/printers/line1/status", headers=api.as_()).json()["faults"]
    names = {t["name"] for t in api.get("/api/templates", headers=api.as_()).json()}
    assert {"udi-item-dm", "udi-item-128", "case-sscc", "ma-qr", "drug-20", "hibc"} <= names
    fields = {"gtin": GTIN, "lot": "L1", "expiry": "2028-10-31", "serial": "S1", "product_name": "注射器", "reg_no": "国械注准20173151234"}
    r = api.post("/api/templates/udi-item-dm/preview", json={"fields": fields, "dpi": 300}, headers=api.as_())
    if r.status_code == 422 and "renderer" in r.text:
        pytest.skip("no preview font installed (scripts/setup.sh installs fonts-arphic-gbsn00lp)")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(r.content)))
    assert any(c.symbology_identifier == "]d2" for c in codes)
    bad = api.post("/api/templates/udi-item-dm/preview", json={"fields": dict(fields, expiry="2028-10-00"), "dpi": 300}, headers=api.as_())
    assert bad.status_code == 422 and "expiry" in bad.text


def test_a_job_through_the_api(api, printer):
    api.put("/api/printers/line1", json={"uri": printer.uri, "dpi": 300, "ips": 14}, headers=api.as_("admin"))
    refused = api.post("/api/print-jobs", json=job_body(expiry="2028-10-00"), headers=api.as_("operator"))
    assert refused.status_code == 422 and "expiry" in refused.text
    assert api.post("/api/print-jobs", json=job_body(), headers=api.as_("reader")).status_code == 403
    job = api.post("/api/print-jobs", json=job_body(), headers=api.as_("operator")).json()
    assert job["state"] == "created"
    assert api.post("/api/print-jobs/%d/start" % job["id"], headers=api.as_("operator")).json()["state"] == "running"
    deadline = time.monotonic() + 30
    while api.get("/api/print-jobs/%d" % job["id"], headers=api.as_()).json()["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    done = api.get("/api/print-jobs/%d" % job["id"], headers=api.as_()).json()
    assert done["reconciliation"]["agrees"] is True and done["serials"] == {"printed": 5}
    labels = api.get("/api/print-jobs/%d/labels" % job["id"], headers=api.as_()).json()
    assert [l["state"] for l in labels] == ["printed"] * 5
    # a smeared label: not confirmed destroyed -> voided, a new serial to print
    r = api.post("/api/serials/%d/reprint" % labels[0]["id"], json={"destroyed": False, "reason": "smeared"}, headers=api.as_("operator"))
    assert r.status_code == 200 and r.json()["serial"] != labels[0]["serial"] and r.json()["state"] == "allocated"
    again = api.post("/api/serials/%d/reprint" % labels[0]["id"], json={"destroyed": True, "reason": "found it"}, headers=api.as_("operator"))
    assert again.status_code == 422 and "never printed again" in again.text
    assert api.post("/api/print-jobs/%d/start" % job["id"], headers=api.as_("operator")).status_code == 422  # done is done
    assert api.get("/api/print-jobs/999", headers=api.as_()).status_code == 404


def test_serial_pools_and_issuer_lists(api):
    r = api.post("/api/serial-pools", json={"di": GTIN, "scheme": "random", "params": {"length": 10}}, headers=api.as_("admin"))
    assert r.status_code == 201 and r.json()["scheme"] == "random"
    assert api.post("/api/serial-pools", json={"di": GTIN, "scheme": "random"}, headers=api.as_("admin")).status_code == 422
    bad = api.post("/api/serial-pools", json={"di": "x", "scheme": "random", "params": {"alphabet": "a b"}}, headers=api.as_("admin"))
    assert bad.status_code == 422 and "CSET 82" in bad.text
    codes = ["812345678901234567%02d" % i for i in range(3)]
    r = api.post("/api/serial-pools/8123456/list", json={"serials": codes + codes[:1]}, headers=api.as_("admin"))
    assert r.json() == {"added": 3, "duplicates": 1, "invalid": 0}
