"""Import a mapping file in a real browser (Playwright + Debian chromium)
against a real server: sign in, upload a GB18030 CSV, read the dry-run
report (nothing written yet), download the full report, import, and find
the mappings in the list."""

import csv

from sqlalchemy import func, select
from test_panel_browser import browser, site  # noqa: F401 - the fixtures (they skip without playwright / chromium)

from gateway.panel import screenshots as demo
from gateway.schema import mappings

MAPPING_CSV = (
    "追溯码前缀,GTIN,医保编码,商品码,名称\n"
    "8301234,,XA02BCA211A012010100154,SP001,阿莫西林胶囊 0.25g*24粒\n"
    ",6901234567892,C0344051070500007551,SP100,一次性使用无菌注射器\n"
    "8309999,,XN01AX0900014305116,SP9,编码位数不对\n"
)


def mapping_count(store):
    with store.engine.connect() as c:
        return c.execute(select(func.count()).select_from(mappings)).scalar()


def test_import_a_mapping_file(site, browser, tmp_path):  # noqa: F811
    base, store, _ = site
    upload = tmp_path / "三码映射.csv"
    upload.write_bytes(MAPPING_CSV.encode("gb18030"))  # as Excel on Chinese Windows saves "CSV"
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    demo.sign_in(page, base)

    page.click("header nav a[href='/panel/products']")
    page.click(".prod-tabs a[href='/panel/products/mappings']")
    page.set_input_files("#map-import input[type=file]", str(upload))
    page.click("#map-import button.primary")
    page.wait_for_url("**/panel/products/mappings/check/*")

    # the dry run: what would happen, and nothing written yet
    assert "尚未写入任何数据" in page.locator(".notice.warn").inner_text()
    counts = {k: page.locator("#c-" + k).inner_text() for k in ("records", "added", "updated", "unchanged", "rejected")}
    assert counts == {"records": "3", "added": "2", "updated": "0", "unchanged": "0", "rejected": "1"}
    bad = page.locator("#rejects tbody tr")
    assert bad.count() == 1 and bad.get_attribute("data-row") == "4"
    assert "医保编码不正确" in bad.inner_text() and "23 characters" in bad.inner_text()
    assert mapping_count(store) == 0

    with page.expect_download() as d:
        page.click("#report")
    with open(d.value.path(), encoding="utf-8-sig", newline="") as f:
        report = list(csv.reader(f))
    assert [(r[0], r[1], r[3]) for r in report[1:]] == [("2", "新增", "8301234"), ("3", "新增", "06901234567892"),
                                                       ("4", "拒绝", "")]

    page.click("#apply button")
    page.wait_for_url("**/panel/products/mappings?imported=*")
    assert "新增 2，修改 0，不变 0，拒绝 1 行" in page.locator(".notice.ok").inner_text()
    rows = page.locator("#mappings tbody tr")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.key)")) == ["06901234567892", "8301234"]
    assert "C0344051070500007551" in page.locator("#mappings tr[data-key='06901234567892']").inner_text()
    assert mapping_count(store) == 2

    # the mapping shows on its product's page as what a scan of it gets
    page.click("#mappings tr[data-key='06901234567892'] a")
    assert "SP100" in page.locator("#effective").inner_text()
    assert errors == []
    ctx.close()
