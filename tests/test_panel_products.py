"""The panel's products, three-code mapping and aggregation pages over HTTP
(TestClient) on SQLite and PostgreSQL: the product master list and a
product's page, the mapping import as a dry run that writes nothing and
then the import of exactly that file, who may import, what a bad upload
or token gets, and aggregation trees both ways built by the real tracer."""

import csv
import html
import io
import os
import re
import time

import pytest
from conftest import TODAY
from sqlalchemy import func, insert, select
from test_panel import client, signed_in  # noqa: F401
from test_trace import CASE, GTIN, Line, add_product, agg, sscc, unit

import udi_codes
from gateway.master import import_mappings, import_udid
from gateway.panel.pages import mappings as mapping_page
from gateway.panel.pages import products as product_page
from gateway.schema import mappings, panel_audit, scans
from gateway.store import Store
from gateway.trace import Tracer, aggregation

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "master")
PRIMARY, BOX, BIG_CASE = "06942221705071", "16942221705078", "26942221705075"  # udid_v1.xml: 箱 > 盒 > 最小销售单元

# Three good rows (one of them the same key twice: added, then changed), one row the table has already
# (unchanged), and two rejected rows, each with its reason.
MAPPING_CSV = (
    "追溯码前缀,GTIN,医保编码,商品码,名称\n"
    "8301234,,XA02BCA211A012010100154,SP001,阿莫西林胶囊 0.25g*24粒\n"
    ",6942221705071,C0344051070500007551,SP100,注射器\n"
    "8305555,,XA02BCA211A012010100155,SP005,旧编码\n"
    "8309999,,XN01AX0900014305116,SP9,坏编码\n"
    "8301234,,XA02BCA211A012010100154,SP002,阿莫西林胶囊 新商品码\n"
    "8309998,,,,没有编码\n"
)


@pytest.fixture
def store(request, tmp_path):
    # test_panel's client runs on this store: SQLite, and PostgreSQL too for the tests that ask for db_url
    if "db_url" in request.fixturenames:
        return Store(request.getfixturevalue("db_url"))
    return Store("sqlite:///" + str(tmp_path / "panel.sqlite"))


@pytest.fixture
def uploads(client, tmp_path):  # noqa: F811
    client.app.state.upload_dir = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def text_of(page_html):
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page_html)))


def count(store, table):
    with store.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar()


def table_rows(store):
    with store.engine.connect() as c:
        return {(r["kind"], r["key"]): (r["nhsa_code"], r["commodity_code"]) for r in c.execute(select(mappings)).mappings()}


def audit_of(store, action):
    with store.engine.connect() as c:
        return [r["detail"] for r in c.execute(select(panel_audit).where(panel_audit.c.action == action)).mappings()]


def upload(client, csrf, name, data, content_type="text/csv"):  # noqa: F811
    return client.post("/panel/products/mappings/check", data={"csrf": csrf}, files={"file": (name, data, content_type)},
                       follow_redirects=False)


def checked(client, csrf, name, data, content_type="text/csv"):  # noqa: F811
    # -> (token, the check page)
    r = upload(client, csrf, name, data, content_type)
    assert r.status_code == 303, r.text
    token = r.headers["location"].rsplit("/", 1)[1]
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    return token, page.text


def report_csv(client, token):  # noqa: F811
    r = client.get("/panel/products/mappings/check/%s/report.csv" % token)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def seed_unchanged_row(store):
    # What the file's third row says already: the check must call it unchanged.
    with store.engine.begin() as c:
        c.execute(insert(mappings).values(kind="trace_prefix", key="8305555", nhsa_code="XA02BCA211A012010100155",
                                          commodity_code="SP005", name="旧编码", source="映射表.csv", updated_at=1.0))


# --- the product master --------------------------------------------------------------------------


def test_product_list_searches_pages_and_shows_the_package_levels(db_url, client, store, monkeypatch):  # noqa: F811
    import_udid(store.engine, os.path.join(FIXTURES, "udid_v1.xml"))
    signed_in(client, "vic")  # a viewer sees the master
    page = client.get("/panel/products?q=苏械注准20152140001").text
    dis = re.findall(r'<tr data-di="([^"]+)"', page)
    assert set(dis) >= {PRIMARY, BOX, BIG_CASE}
    box_row = page[page.index('data-di="%s"' % BOX):].split("</tr>")[0]
    assert "内含 10 ×" in text_of(box_row) and PRIMARY in box_row and "UDID 数据库" in text_of(box_row)
    assert "C0344051070500007551" in box_row  # 医保编码
    assert client.get("/panel/products?q=no-such-product").text.count("<tr data-di") == 0

    monkeypatch.setattr(product_page, "PAGE_ROWS", 2)
    first = client.get("/panel/products").text
    nxt = re.search(r'id="next" href="([^"]+)"', first).group(1)
    second = client.get(html.unescape(nxt)).text
    seen = re.findall(r'<tr data-di="([^"]+)"', first) + re.findall(r'<tr data-di="([^"]+)"', second)
    assert len(seen) == 4 and len(set(seen)) == 4 and seen == sorted(seen)
    # a cursor that is not ours is the first page, not an error
    assert re.findall(r'<tr data-di="([^"]+)"', client.get("/panel/products?cursor=bogus").text) == seen[:2]


def test_product_page_has_its_hierarchy_mappings_and_quality_flags(client, store):  # noqa: F811
    import_udid(store.engine, os.path.join(FIXTURES, "udid_v1.xml"))
    signed_in(client, "vic")
    page = client.get("/panel/products/di/%s" % BOX).text
    chain = re.findall(r'<tr data-di="([^"]+)"', page[page.index('id="chain"'):])
    assert chain == [BIG_CASE, BOX, PRIMARY]  # largest first, this level in the middle
    assert "本级" in page and "没有发现问题" in page
    assert "来自产品主数据" in text_of(page)  # no mapping row yet: the master's 医保编码

    # a mapping row for the box's GTIN takes over; a package level whose inner level is missing is flagged
    with store.engine.begin() as c:
        c.execute(insert(mappings).values(kind="gtin", key=BOX, nhsa_code="C0344051070500007551", commodity_code="SP7",
                                          source="m.csv", updated_at=time.time()))
    add_product(store, "36942221705072", "36942221705072", contains_di="99999999999994", level="托盘")
    page = client.get("/panel/products/di/%s" % BOX).text
    assert "SP7" in page and "来自三码映射" in text_of(page)
    flags = text_of(client.get("/panel/products/di/36942221705072").text)
    assert "99999999999994 不在产品主数据中" in flags and "没有内含数量" in flags and "没有产品名称" in flags
    assert "扫到该产品时得不到医保编码" in flags
    assert client.get("/panel/products/di/00000000000000").status_code == 404


# --- three-code mapping import -------------------------------------------------------------------


def test_the_check_writes_nothing_and_the_import_applies_exactly_its_rows(db_url, client, store, uploads):  # noqa: F811
    seed_unchanged_row(store)
    csrf = signed_in(client, "olga")
    before = table_rows(store)
    token, page = checked(client, csrf, "映射表.csv", MAPPING_CSV.encode("gb18030"))
    assert table_rows(store) == before and count(store, mappings) == 1  # the dry run wrote nothing

    counts = {k: int(re.search(r'id="c-%s">(\d+)<' % k, page).group(1)) for k in ("records", "added", "updated", "unchanged", "rejected")}
    assert counts == {"records": 6, "added": 2, "updated": 1, "unchanged": 1, "rejected": 2}
    rejects = {int(n): text_of(rest) for n, rest in re.findall(r'<tr data-row="(\d+)">(.*?)</tr>', page)}
    assert set(rejects) == {5, 7}
    assert "医保编码 医保编码不正确" in rejects[5] and "23 characters" in rejects[5]
    assert "缺少必填内容" in rejects[7] and "医保编码 or a 商品码" in rejects[7]
    assert 'action="/panel/products/mappings/apply/%s"' % token in page

    # the full report: every row with its outcome, in the uploader's language
    report = report_csv(client, token)
    assert report[0][:4] == ["行号", "结果", "类型", "键"]
    outcomes = [(row[0], row[1], row[3], row[5]) for row in report[1:]]
    assert outcomes == [("2", "新增", "8301234", "SP001"), ("3", "新增", "06942221705071", "SP100"),
                        ("4", "不变", "8305555", "SP005"), ("5", "拒绝", "", ""), ("6", "修改", "8301234", "SP002"),
                        ("7", "拒绝", "", "")]
    assert table_rows(store) == before

    r = client.post("/panel/products/mappings/apply/%s" % token, data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    done = client.get(r.headers["location"]).text
    assert "新增 2，修改 1，不变 1，拒绝 2 行" in text_of(done)
    # exactly the rows the check listed, with the values of their last row
    assert table_rows(store) == {("trace_prefix", "8301234"): ("XA02BCA211A012010100154", "SP002"),
                                 ("gtin", "06942221705071"): ("C0344051070500007551", "SP100"),
                                 ("trace_prefix", "8305555"): ("XA02BCA211A012010100155", "SP005")}
    listed = re.findall(r'<tr data-key="([^"]+)"', done)
    assert set(listed) == {"8301234", "06942221705071", "8305555"}
    with store.engine.connect() as c:
        assert c.execute(select(mappings.c.source).where(mappings.c.key == "8301234")).scalar() == "映射表.csv"
    assert len(audit_of(store, "mapping_check")) == 1 and "dry run" in audit_of(store, "mapping_check")[0]
    assert "added 2, changed 1, unchanged 1, rejected 2" in audit_of(store, "mapping_import")[0]
    # the kept file is gone; the same token cannot import again
    assert sorted(os.listdir(uploads / token)) == ["meta.json", "report.csv"]  # the file itself is gone
    again = client.post("/panel/products/mappings/apply/%s" % token, data={"csrf": csrf}, follow_redirects=False)
    assert again.status_code == 404 and "重新上传" in again.text


def test_a_dry_run_counts_every_row_as_the_import_then_does(db_url, store, tmp_path):
    # batches of 2: the key of row 2 comes again in row 6, two batches later
    seed_unchanged_row(store)
    f = tmp_path / "映射表.csv"
    f.write_bytes(MAPPING_CSV.encode("gb18030"))
    runs = {}
    for dry in (True, False):
        before = table_rows(store)
        rows = []
        report = import_mappings(store.engine, str(f), batch_size=2, dry_run=dry,
                                 on_row=lambda n, outcome, _rows, _problems, rows=rows: rows.append((n, outcome)))
        assert (table_rows(store) == before) is dry
        runs[dry] = (rows, {k: v for k, v in report.as_dict().items() if k != "file"})
    assert runs[True] == runs[False]
    assert runs[True][0] == [(2, "added"), (3, "added"), (4, "unchanged"), (5, "rejected"), (6, "updated"), (7, "rejected")]


def test_an_xlsx_file_is_checked_and_imported_the_same_way(client, store, uploads):  # noqa: F811
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["kind", "key", "nhsa_code", "commodity_code", "name"])
    ws.append(["gtin", "6942221705071", "C0344051070500007551", "SP100", "注射器"])
    ws.append(["trace_prefix", 8.301234567890123e19, "XA02BCA211A012010100154", "SP001", "数字格式的追溯码"])  # as Excel keeps it
    ws.append(["di", "MA.156.M0.100350.01004YA10017", "C15011121200000107660000016", "SP200", "口罩"])
    buf = io.BytesIO()
    wb.save(buf)
    csrf = signed_in(client, "olga")
    token, page = checked(client, csrf, "map.xlsx", buf.getvalue(),
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert count(store, mappings) == 0
    assert re.search(r'id="c-added">2<', page), text_of(page)
    assert re.search(r'id="c-rejected">1<', page)
    assert "16 位以上的数字已丢失精度" in text_of(page)  # the 20-digit code typed as a number in Excel
    assert client.post("/panel/products/mappings/apply/%s" % token, data={"csrf": csrf},
                       follow_redirects=False).status_code == 303
    assert set(table_rows(store)) == {("gtin", "06942221705071"), ("di", "MA.156.M0.100350.01004YA10017")}


def test_a_file_the_importer_cannot_use_gets_no_import_button(client, store, uploads):  # noqa: F811
    csrf = signed_in(client, "olga")
    token, page = checked(client, csrf, "wrong.csv", "名称,规格\n纱布,10cm\n".encode())
    assert 'id="file-errors"' in page and "表头缺少必需的列" in text_of(page)
    assert "/apply/" not in page
    r = client.post("/panel/products/mappings/apply/%s" % token, data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 404 and count(store, mappings) == 0
    # everything already in the table: nothing to import
    same = "GTIN,医保编码\n6942221705071,C0344051070500007551\n06901234567892,C0344051070500007552\n".encode()
    (uploads.parent / "same.csv").write_bytes(same)
    assert import_mappings(store.engine, str(uploads.parent / "same.csv")).added == 2
    token, page = checked(client, csrf, "same.csv", same)
    assert 'id="nothing"' in page and "/apply/" not in page
    assert re.search(r'id="c-unchanged">2<', page)


def test_a_viewer_cannot_check_or_import(client, store, uploads):  # noqa: F811
    csrf = signed_in(client, "olga")
    token, _ = checked(client, csrf, "m.csv", MAPPING_CSV.encode("utf-8"))
    client.cookies.clear()
    csrf = signed_in(client, "vic")
    assert "map-import" not in client.get("/panel/products/mappings").text  # no upload form
    r = upload(client, csrf, "m.csv", MAPPING_CSV.encode("utf-8"))
    assert r.status_code == 403 and "需要操作员权限" in r.text
    assert os.listdir(uploads) == [token]  # olga's only
    r = client.post("/panel/products/mappings/apply/%s" % token, data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/panel/products/mappings/check/%s" % token).status_code == 403
    assert count(store, mappings) == 0 and audit_of(store, "mapping_import") == []


def test_unknown_tampered_or_expired_tokens_are_refused(client, store, uploads, monkeypatch):  # noqa: F811
    csrf = signed_in(client, "olga")
    token, _ = checked(client, csrf, "m.csv", MAPPING_CSV.encode("utf-8"))
    for bad in ("A" * 43, token[:-1], token + "x", token.replace(token[5], "%2E"), ".upload"):
        r = client.post("/panel/products/mappings/apply/%s" % bad, data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 404 and "找不到这次上传" in r.text, bad
    for path_like in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%2E%2E%2F" + token):
        r = client.post("/panel/products/mappings/apply/%s" % path_like, data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 404, path_like
    assert client.get("/panel/products/mappings/check/%s" % ("B" * 43)).status_code == 404
    assert client.get("/panel/products/mappings/check/%s/report.csv" % ("B" * 43)).status_code == 404
    # another operator's upload is not yours to import
    client.cookies.clear()
    ada = signed_in(client, "ada")
    assert client.post("/panel/products/mappings/apply/%s" % token, data={"csrf": ada}, follow_redirects=False).status_code == 404
    client.cookies.clear()
    csrf = signed_in(client, "olga")
    # the kept file changed on the gateway after the check: refused and removed
    with open(uploads / token / "upload.csv", "ab") as f:
        f.write("8307777,,XA02BCA211A012010100154,X,塞进来的\n".encode())
    r = client.post("/panel/products/mappings/apply/%s" % token, data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 409 and "与检查时不一致" in r.text
    assert count(store, mappings) == 0 and not os.listdir(uploads)
    # an upload past its time
    token, _ = checked(client, csrf, "m.csv", MAPPING_CSV.encode("utf-8"))
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + mapping_page.UPLOAD_TTL_S + 1)
    r = client.post("/panel/products/mappings/apply/%s" % token, data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 404 and count(store, mappings) == 0
    assert not os.listdir(uploads)  # swept


def test_too_big_empty_or_missing_uploads_are_refused_in_words(client, store, uploads, monkeypatch):  # noqa: F811
    csrf = signed_in(client, "olga")
    monkeypatch.setattr(mapping_page, "MAX_UPLOAD", 1000)
    monkeypatch.setattr(mapping_page, "FORM_SLACK", 2000)
    big = MAPPING_CSV.encode() * 40  # ~ 10 KB: refused on Content-Length, before the body is read
    r = upload(client, csrf, "big.csv", big)
    assert r.status_code == 413 and "文件太大" in r.text
    r = upload(client, csrf, "big.csv", MAPPING_CSV.encode() * 4)  # under the envelope, over the file limit
    assert r.status_code == 413 and "文件太大" in r.text
    r = upload(client, csrf, "empty.csv", b"")
    assert r.status_code == 422 and "文件是空的" in r.text
    r = client.post("/panel/products/mappings/check", data={"csrf": csrf}, files={"other": ("x", b"y")},
                    follow_redirects=False)
    assert r.status_code == 422 and "请选择要上传" in r.text
    assert not os.listdir(uploads) and count(store, mappings) == 0


def test_mapping_list_search_and_unmapped_scans(db_url, client, store, monkeypatch):  # noqa: F811
    now = time.time()
    with store.engine.begin() as c:
        c.execute(insert(mappings), [
            {"kind": "trace_prefix", "key": "83%05d" % i, "nhsa_code": "XA02BCA211A0120101001%02d" % i,
             "commodity_code": "SP%d" % i, "name": "药品 %d" % i, "source": "m.csv", "updated_at": now} for i in range(5)])
        c.execute(insert(scans), [
            {"dev": "hh1", "boot": 1, "seq": i, "raw": "x", "di": di, "scheme": "gs1", "received_at": now - i,
             "verdict": "good"} for i, di in enumerate([GTIN, GTIN, CASE])])
    signed_in(client, "vic")
    page = client.get("/panel/products/mappings?q=药品 3").text
    assert re.findall(r'<tr data-key="([^"]+)"', page) == ["8300003"]
    page = client.get("/panel/products/mappings?q=XA02BCA211A012010100104").text
    assert re.findall(r'<tr data-key="([^"]+)"', page) == ["8300004"]
    assert client.get("/panel/products/mappings?kind=gtin").text.count("<tr data-key") == 0
    assert unmapped_rows(client.get("/panel/products/mappings").text) == [(GTIN, "注射器", "2"), (CASE, "–", "1")]

    monkeypatch.setattr(mapping_page, "PAGE_ROWS", 1)
    keys, url = [], "/panel/products/mappings"
    for _ in range(3):
        page = client.get(url).text
        keys += re.findall(r'<tr data-key="([^"]+)"', page)
        url = "/panel/products/mappings?before=" + re.search(r'before=(\d+)', page).group(1)
    assert keys == ["8300004", "8300003", "8300002"]  # newest first, one a page, no gap
    first = client.get("/panel/products/mappings").text
    assert [r[0] for r in unmapped_rows(first)] == [GTIN]
    ucur = html.unescape(re.search(r'ucursor=([^"&#]+)', first).group(1))
    assert [r[0] for r in unmapped_rows(client.get("/panel/products/mappings", params={"ucursor": ucur}).text)] == [CASE]
    assert [r[0] for r in unmapped_rows(client.get("/panel/products/mappings?ucursor=bogus").text)] == [GTIN]


def unmapped_rows(page):
    # (DI, product name, scans) of the unmapped list
    section = page[page.index('id="unmapped"'):]
    return [(di, text_of(cells[2]).strip(), text_of(cells[3]).strip())
            for di, row in re.findall(r'<tr data-di="([^"]+)">(.*?)</tr>', section, re.DOTALL)
            for cells in [re.findall(r"<td>(.*?)</td>", row.replace('<td class="code">', "<td>"), re.DOTALL)]]


# --- aggregation browser -------------------------------------------------------------------------


def packed_pallet(store):
    """A pallet (SSCC) of two cases: case C1 packed on a handheld (parent
    first), case C2 by the print line, then the pallet by the print line."""
    add_product(store, CASE, GTIN, contains_di=GTIN, qty=2, level="箱")
    line = Line(store)
    assert line.scan("]d201%s21C1" % CASE, "aggregate", None, agg("s1", "parent", "parent_first"))["verdict"] == "good"
    for k in ("K1", "K2"):
        assert line.scan(unit(k), "aggregate", None, agg("s1", "child", "parent_first"))["verdict"] == "good"
    tracer = Tracer()

    def pack(parent, children, source):
        with store.engine.begin() as c:
            batch = tracer.batch(c, TODAY)
            found = aggregation.pack(batch, udi_codes.parse(parent, "read", TODAY),
                                     [udi_codes.parse(k, "read", TODAY) for k in children], source)
            assert not any(f[1] for f in found), found
            tracer.record(c, batch, {})

    pack("]d201%s21C2" % CASE, [unit("K3"), unit("K4")], "line-1")
    pack("]C100%s02%s37%d" % (sscc(42), CASE, 2), ["]d201%s21C1" % CASE, "]d201%s21C2" % CASE], "line-1")
    return "(00)" + sscc(42), "(01)%s(21)C1" % CASE, "(01)%s(21)K1" % GTIN


def test_aggregation_tree_down_from_a_pallet_and_up_from_an_item(db_url, client, store):  # noqa: F811
    pal, case1, k1 = packed_pallet(store)
    signed_in(client, "vic")
    page = client.get("/panel/products/aggregation", params={"code": sscc(42)}).text  # a bare SSCC
    down = page[page.index('id="agg-down"'):]
    nodes = re.findall(r'data-item="([^"]+)"', down)
    assert nodes == [pal, case1, k1, "(01)%s(21)K2" % GTIN, "(01)%s(21)C2" % CASE,
                     "(01)%s(21)K3" % GTIN, "(01)%s(21)K4" % GTIN]
    assert "直接装有 2 件，共 4 个最小单元" in text_of(down)
    assert "不在任何箱中" in page
    assert 'href="/panel/scans?code=%s"' % k1.replace("(", "%28").replace(")", "%29") in down

    # up from the unit, typed as its whole code: K1 is in C1, which is on the pallet
    page = client.get("/panel/products/aggregation", params={"code": "(01)%s(17)271231(10)L1(21)K1" % GTIN}).text
    up = page[page.index('id="agg-up"'):page.index('id="agg-history"')]
    assert re.findall(r'data-item="([^"]+)"', up) == [pal, case1, k1]
    assert "已装箱" in up
    assert 'id="agg-empty"' in page  # a unit holds nothing

    # 拆箱: K1 leaves its case; the case shows it in its history, the unit is in nothing now
    with store.engine.begin() as c:
        assert aggregation.unpack(c, case1, k1) == 1
    page = client.get("/panel/products/aggregation", params={"code": case1}).text
    assert k1 not in page[page.index('id="agg-down"'):]
    history = text_of(page[page.index('id="agg-history"'):page.index('id="agg-down"')])
    assert "已拆箱" in history and "曾装有 %s" % k1 in history
    page = client.get("/panel/products/aggregation", params={"code": k1}).text
    assert "不在任何箱中" in page and "曾装在 %s" % case1 in text_of(page)

    r = client.get("/panel/products/aggregation", params={"code": "(00)" + sscc(99)})
    assert r.status_code == 404 and "没有装箱记录" in r.text


def test_every_new_page_answers_in_both_languages(client, store):  # noqa: F811
    import_udid(store.engine, os.path.join(FIXTURES, "udid_v1.xml"))
    signed_in(client, "olga")
    for path in ("/panel/products", "/panel/products/di/%s" % BOX, "/panel/products/mappings", "/panel/products/aggregation"):
        zh = client.get(path)
        assert zh.status_code == 200 and "产品主数据" in zh.text and "三码映射" in zh.text
        assert not re.search(r"\b(prod|map|agg)\.[a-z_]", text_of(zh.text)), path  # no word key shows itself
    client.cookies.set("panel_lang", "en")
    en = client.get("/panel/products/mappings").text
    assert "Three-code mapping" in en and "Check the file" in en
