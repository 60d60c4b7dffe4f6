"""The Exports page over HTTP on SQLite and PostgreSQL: every record set
downloads with the rows its filters select (exactly, also for 10,000+
rows, streamed), CSV in UTF-8 with BOM or GB18030 with formula cells
neutralised, JSON, the NHSA layout for traceability records; wrong filters
are named; the audit log is for admins; every download is audited."""

import csv
import datetime
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from test_panel import PW, client, csrf_of, signed_in, store  # noqa: F401

from gateway.api.app import create_app
from gateway.panel import mount_panel, users
from gateway.printing.jobs import PrintJobs
from gateway.schema import (
    aggregations,
    label_checks,
    movements,
    print_jobs,
    products,
    scans,
    serial_pools,
    serials,
)
from gateway.store import Store
from gateway.trace import export

GTIN = "06901234567892"
CST = datetime.timezone(datetime.timedelta(hours=8))
T0 = datetime.datetime(2026, 11, 22, 8, 0, tzinfo=CST).timestamp()  # 08:00 Beijing time
MANY = 10_050


@pytest.fixture
def dbclient(db_url):
    # The panel on a gateway with this database (both SQLite and PostgreSQL).
    store = Store(db_url)
    app = create_app(store, print_jobs=PrintJobs(store.engine, poll_s=0.05))
    mount_panel(app)
    for name, role in (("ada", "admin"), ("vic", "viewer")):
        users.create_user(store.engine, name, PW, role)
    with TestClient(app) as c:
        c.store = store
        yield c
    store.engine.dispose()


def scan_row(i, **kw):
    row = {"dev": "hh-a" if i % 3 else "hh-b", "boot": 1, "seq": i, "raw": "]d201%s21S%05d" % (GTIN, i), "scheme": "gs1",
           "valid": True, "verdict": "good", "mode": "receive", "location": "仓库A", "operator": "op1", "di": GTIN,
           "lot": "L%d" % (i % 2), "serial": "S%05d" % i, "received_at": T0 + i, "product": GTIN}
    row.update(kw)
    return row


def download(client, **params):
    r = client.get("/panel/exports/download", params=params)
    assert r.status_code == 200, r.text[:2000]
    return r


def csv_rows(r, encoding="utf-8"):
    body = r.content
    if encoding == "utf-8":
        assert body.startswith("\ufeff".encode())
        body = body[3:]
    return list(csv.DictReader(io.StringIO(body.decode(encoding))))


def test_ten_thousand_rows_stream_out_exactly(dbclient):
    with dbclient.store.engine.begin() as c:
        c.execute(insert(products).values(di=GTIN, primary_di=GTIN, name="一次性使用无菌注射器", source="udid", updated_at=0))
        c.execute(insert(scans), [scan_row(i) for i in range(MANY)])
        c.execute(insert(scans), [scan_row(MANY + i, verdict="bad", valid=False) for i in range(7)])
    signed_in(dbclient, "vic")
    r = download(dbclient, what="scans", format="csv")
    assert "content-length" not in r.headers  # streamed, not built whole
    assert re.fullmatch(r'attachment; filename="udi-edge-scans-\d{8}-\d{6}\.csv"', r.headers["content-disposition"])
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = csv_rows(r)
    assert len(rows) == MANY + 7 and rows[0]["scan_id"] == "1" and rows[-1]["verdict"] == "bad"
    assert rows[0]["time"] == "2026-11-22 08:00:00" and rows[0]["code"] == "01%s21S00000" % GTIN
    assert len(json.loads(download(dbclient, what="scans", format="json").content)) == MANY + 7
    # the traceability records: good scans that moved stock, under their own columns
    trace = csv_rows(download(dbclient, what="trace", format="csv"))
    assert len(trace) == MANY and list(trace[0]) == list(export.COLUMNS)
    assert trace[5]["product_name"] == "一次性使用无菌注射器"
    # filters select exactly: a device, a lot, a time range in Beijing time (until excluded)
    assert len(csv_rows(download(dbclient, what="scans", dev="hh-b"))) == len(range(0, MANY + 7, 3))
    assert len(csv_rows(download(dbclient, what="trace", dev="hh-b", lot="L0"))) == len(range(0, MANY, 6))
    ranged = csv_rows(download(dbclient, what="trace", since="2026-11-22T08:01", until="2026-11-22T08:02"))
    assert [r["scan_id"] for r in ranged] == [str(i + 1) for i in range(60, 120)]
    nhsa = json.loads(download(dbclient, what="trace", format="nhsa", until="2026-11-22 08:00:03").content)
    assert [n["drugtracinfo"][0]["drug_trac_codg"] for n in nhsa] == ["01%s21S%05d" % (GTIN, i) for i in range(3)]
    assert nhsa[0]["fixmedins_hilist_name"] == "一次性使用无菌注射器" and nhsa[0]["sel_retn_time"] == "2026-11-22 08:00:00"


def test_formula_cells_are_neutralised_in_csv_only(client, store):
    with store.engine.begin() as c:
        sid = c.execute(insert(scans).values(**scan_row(1, raw="+J123AQ3451/S4012", scheme="hibc", operator="=HYPERLINK(\"http://x\")",
                                                         lot="@SUM(A1)", location="-2+3", di="+J123AQ3451"))).inserted_primary_key[0]
        c.execute(insert(movements).values(scan_id=sid, kind="dispatch", location="-2+3", item="x", di="d", lot="l", qty=-1, at=T0))
    signed_in(client, "vic")
    row = csv_rows(download(client, what="scans"))[0]
    assert row["operator"] == "'=HYPERLINK(\"http://x\")" and row["lot"] == "'@SUM(A1)"
    assert row["location"] == "'-2+3" and row["raw"] == "'+J123AQ3451/S4012" and row["code"] == "'+J123AQ3451/S4012"
    move = csv_rows(download(client, what="movements"))[0]
    assert move["qty"] == "-1" and move["location"] == "'-2+3"  # a number stays a number
    data = json.loads(download(client, what="scans", format="json").content)[0]
    assert data["operator"] == "=HYPERLINK(\"http://x\")" and data["lot"] == "@SUM(A1)"  # JSON is for programs: as stored
    # the GB18030 file: Chinese without a BOM, and defused as well
    r = download(client, what="scans", format="csv-gb18030")
    assert r.headers["content-type"] == "text/csv; charset=gb18030" and not r.content.startswith(b"\xef\xbb\xbf")
    gb = csv_rows(r, "gb18030")[0]
    assert gb["location"] == "'-2+3" and gb["operator"].startswith("'=")


def test_gb18030_carries_chinese(client, store):
    with store.engine.begin() as c:
        c.execute(insert(scans).values(**scan_row(1, location="病区三楼")))
    signed_in(client, "vic")
    r = download(client, what="scans", format="csv-gb18030")
    assert "病区三楼".encode("gb18030") in r.content and "病区三楼".encode() not in r.content
    assert csv_rows(r, "gb18030")[0]["location"] == "病区三楼"


def test_every_record_set_exports_with_its_filters(dbclient):
    engine, now = dbclient.store.engine, T0 + 100
    with engine.begin() as c:
        sid = c.execute(insert(scans).values(**scan_row(0))).inserted_primary_key[0]  # from hh-b
        c.execute(insert(movements), [{"scan_id": sid, "kind": "receive", "location": "A", "item": "i%d" % i, "di": GTIN,
                                       "lot": "L%d" % (i % 2), "qty": 1, "at": now} for i in range(4)])
        c.execute(insert(aggregations), [{"parent": "(00)1", "child": "c%d" % i, "source": "line-1" if i < 3 else "hh-a",
                                          "created_at": now, "removed_at": now + 5 if i == 0 else None} for i in range(5)])
        pool = c.execute(insert(serial_pools).values(di=GTIN, lot="", scheme="sequential", params={}, next_value=1,
                                                     created_at=now)).inserted_primary_key[0]
        jobs = [c.execute(insert(print_jobs).values(di=GTIN, template="udi-item-dm", printer="p%d" % j, lot="L%d" % j,
                                                    quantity=3, state="done", counts={"sent": 3, "printed": 3, "voided": 0},
                                                    reconciliation={"good_labels": 3, "verified": 2, "rejected": 0,
                                                                    "printed_ledger": 3, "printer_counter": 3, "agrees": True},
                                                    created_by="olga", created_at=now, updated_at=now)).inserted_primary_key[0]
                for j in (1, 2)]
        for j, job in enumerate(jobs):
            for n in range(3):
                ser = c.execute(insert(serials).values(pool_id=pool, di=GTIN, serial="%d%03d" % (j, n), lot="L%d" % (j + 1),
                                                       state="verified", job_id=job, label_no=n + 1,
                                                       updated_at=now)).inserted_primary_key[0]
                c.execute(insert(label_checks).values(job_id=job, serial_id=ser, decoded="x", match=True, valid=True,
                                                      grade=3.5 - n, notation="3.5/10/660", passed=n < 2, at=now + n))
    signed_in(dbclient, "ada")
    assert len(csv_rows(download(dbclient, what="movements", lot="L1"))) == 2
    assert {r["device"] for r in csv_rows(download(dbclient, what="movements", dev="hh-b"))} == {"hh-b"}
    assert csv_rows(download(dbclient, what="movements", dev="hh-a")) == []
    links = csv_rows(download(dbclient, what="aggregations", dev="line-1"))
    assert [r["child"] for r in links] == ["c0", "c1", "c2"] and links[0]["unpacked"] and not links[1]["unpacked"]
    assert [r["serial"] for r in csv_rows(download(dbclient, what="serials", job=str(jobs[1])))] == ["1000", "1001", "1002"]
    assert len(csv_rows(download(dbclient, what="serials", lot="L1", di=GTIN))) == 3
    job = csv_rows(download(dbclient, what="jobs", dev="p2"))
    assert len(job) == 1 and job[0]["job"] == str(jobs[1]) and job[0]["agrees"] == "True" and job[0]["verified"] == "2"
    checks = csv_rows(download(dbclient, what="checks", job=str(jobs[0])))
    assert [(r["label_no"], r["passed"], r["printer"]) for r in checks] == [("1", "True", "p1"), ("2", "True", "p1"), ("3", "False", "p1")]
    assert len(csv_rows(download(dbclient, what="checks", lot="L2"))) == 3
    audit = csv_rows(download(dbclient, what="audit"))
    assert audit[-1]["action"] == "export" and audit[-1]["user"] == "ada"


def test_downloads_are_audited_and_the_audit_log_is_for_admins(client, store):
    signed_in(client, "vic")
    page = client.get("/panel/exports").text
    assert 'value="scans"' in page and 'value="audit"' not in page and "医保接口字段名" in page
    r = client.get("/panel/exports/download", params={"what": "audit"})
    assert r.status_code == 403 and "需要管理员权限" in r.text
    download(client, what="scans", format="json", dev="hh-a", since="2026-11-22T08:00", job="")
    assert users.recent_audit(store.engine)[0]["user"] == "vic"
    assert users.recent_audit(store.engine)[0]["action"] == "export"
    assert users.recent_audit(store.engine)[0]["detail"] == "scans json since=2026-11-22 08:00:00 dev=hh-a"
    client.post("/panel/logout", data={"csrf": csrf_of(client.get("/panel").text)})
    signed_in(client, "ada")
    assert 'value="audit"' in client.get("/panel/exports").text
    assert csv_rows(download(client, what="audit"))[-1]["detail"] == "audit csv"


def test_wrong_input_is_named_and_nothing_is_exported(client, store):
    signed_in(client, "vic")
    cases = [
        ({"what": "nothing"}, "请选择导出内容"),
        ({"what": "scans", "format": "nhsa"}, "医保字段格式只适用于追溯记录"),
        ({"what": "scans", "format": "xlsx"}, "医保字段格式只适用于追溯记录"),
        ({"what": "scans", "since": "yesterday"}, "开始时间：请按 年-月-日 时:分 填写"),
        ({"what": "scans", "since": "2026-11-22T09:00", "until": "2026-11-22T08:00"}, "结束时间必须晚于开始时间"),
        ({"what": "serials", "job": "12a"}, "打印任务号：请填写正整数"),
        ({"what": "serials", "job": "99999999999"}, "打印任务号：请填写正整数"),
        ({"what": "scans", "lot": "L\x001"}, "批号：最多 64 个字符"),
        ({"what": "aggregations", "lot": "L1", "di": GTIN}, "“装箱关联（父子关系）”不能按DI、批号筛选"),
        ({"what": "audit", "dev": "hh-a"}, "不能按设备筛选"),
    ]
    before = len(users.recent_audit(store.engine))
    for params, words in cases:
        r = client.get("/panel/exports/download", params=params)
        assert r.status_code == 422 and words in r.text, (params, r.text[-3000:])
        assert 'id="export-form"' in r.text  # the form again, with what was typed
    assert len(users.recent_audit(store.engine)) == before  # nothing was exported, nothing audited
    client.get("/panel/lang/en")
    r = client.get("/panel/exports/download", params={"what": "aggregations", "lot": "L1"})
    assert "cannot be filtered by lot" in r.text


def test_pages_need_a_session(client):
    r = client.get("/panel/exports/download?what=scans", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/panel/login")


def test_the_writers_pull_rows_as_they_go():
    pulled = []

    def rows():
        for i in range(10 * export.CHUNK_ROWS):
            pulled.append(i)
            yield {"scan_id": i, "lot": "=1+1"}

    pieces = export.csv_chunks(rows(), ("scan_id", "lot"), defused=True)
    first = next(pieces)
    assert first.startswith("scan_id,lot\r\n") and len(pulled) <= export.CHUNK_ROWS
    rest = "".join(pieces)
    assert len(pulled) == 10 * export.CHUNK_ROWS and (first + rest).count("'=1+1") == 10 * export.CHUNK_ROWS
    pulled.clear()
    pieces = export.json_chunks(rows())
    head = next(pieces) + next(pieces)
    assert head.startswith('[{"scan_id": 0') and len(pulled) <= export.CHUNK_ROWS
    assert [r["scan_id"] for r in json.loads(head + "".join(pieces))] == list(range(10 * export.CHUNK_ROWS))
