"""The panel's label templates page over HTTP (TestClient): the list, one
template's fields and its preview decoded back with zxing-cpp at a printer's
dpi, ZPL characters in field values, and admin edits saved as new versions
(audited, refused when the label would not render and read back, never
changing what an existing job prints)."""

import html
import io
import re

import pytest
from sqlalchemy import select, update
from test_panel import GTIN, audit_actions, client, signed_in, store, vprinter  # noqa: F401

from gateway.api.auth import create_token
from gateway.panel import users
from gateway.panel.pages.label_templates import sample_values
from gateway.printing import template_versions as TV
from gateway.printing import templates as T
from gateway.schema import label_templates, products

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")

NAMES = ("case-sscc", "drug-20", "hibc", "ma-qr", "udi-item-128", "udi-item-dm")


def decoded_on(page_html):
    """The read-back data the page shows, per symbol, with <GS> turned back into GS."""
    return [html.unescape(m).replace("<GS>", "\x1d") for m in re.findall(r'class="code decoded">([^<]*)<', page_html)]


def read_png(png):
    # The test's own decode of the preview image, independent of the page.
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), text_mode=zxingcpp.TextMode.Plain)
    return [b.symbology_identifier + b.bytes.decode("utf-8") for b in found]


def versions(store, name):
    with store.engine.connect() as c:
        return [r[0] for r in c.execute(select(label_templates.c.version).where(label_templates.c.name == name)
                                         .order_by(label_templates.c.version))]


def new_job_option(client, name):
    # The template's entry in the new-job form's template list, as the operator reads it (English).
    client.cookies.set("panel_lang", "en")
    page_html = client.get("/panel/jobs/new").text
    option = re.search(r'<option value="%s"[^>]*>([^<]*)</option>' % re.escape(name), page_html)
    return html.unescape(option.group(1)).strip()


def edit_form(page_html):
    """Every input of the admin's edit form with its current value."""
    form = page_html.split('id="edit-form"', 1)[1].split("</form>", 1)[0]
    out = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            continue
        out[html.unescape(name)] = html.unescape(value.group(1)) if value else ""
    return out


def test_the_list_shows_every_template_with_size_symbology_fields_dpi_and_jobs(client, store):
    signed_in(client, "vic")
    client.app.state.print_jobs.add_printer("line-203", "tcp://127.0.0.1:1", 203, 6)
    page = client.get("/panel/templates")
    assert page.status_code == 200
    rows = dict(re.findall(r'<tr data-template="([^"]+)">(.*?)</tr>', page.text, re.DOTALL))
    assert sorted(rows) == sorted(NAMES) == sorted(t.name for t in T.list_templates())
    dm = rows["udi-item-dm"]
    assert "70 × 40" in dm and "Data Matrix" in dm and "gs1-datamatrix" in dm and "]d2" in dm
    assert "gtin*" in dm and "serial" in dm and "reg_no*" in dm
    assert "line-203 (203) ✓" in dm and "v1" in dm
    assert "100 × 70" in rows["case-sscc"] and "Code 128" in rows["case-sscc"]
    assert "QR Code" in rows["ma-qr"] and "]Q1" in rows["ma-qr"]
    assert re.search(r'class="jobs">0<', dm)
    # each shipped file is now recorded as version 1 (what a job made now would record)
    for n in NAMES:
        assert versions(store, n) == [1]


@pytest.mark.parametrize("name", NAMES)
def test_the_preview_decodes_back_exactly_the_data_the_template_was_given(client, store, name):
    signed_in(client, "vic")
    tpl = TV.current(store.engine, name)
    expected = tpl.encoded_data(sample_values(tpl))
    for dpi in (203, 300):
        check_preview(client, tpl, dpi, expected)


def check_preview(client, tpl, dpi, expected):
    name = tpl.name
    page = client.get("/panel/templates/%s?dpi=%d" % (name, dpi))
    assert page.status_code == 200
    assert "<h2>%d dpi</h2>" % dpi in page.text
    assert decoded_on(page.text) == [expected]
    assert page.text.count('data-match="yes"') == 1 and 'data-match="no"' not in page.text
    assert "与模板给出的数据逐字节一致" in page.text
    engine_cell = page.text.split('class="engine">')[1].split("</dd>")[0]
    assert "有效（%s）" % tpl.scheme in engine_cell
    assert re.search(r'class="letter l-[A-F]">[A-F]</span> \d\.\d/\d\d/660', page.text)
    # the image itself, decoded by the test: the same bytes, at this dpi's size in dots
    src = html.unescape(re.search(r'id="label" class="label-img" src="([^"]+)"', page.text).group(1))
    png = client.get(src)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert read_png(png.content) == [expected]
    assert Image.open(io.BytesIO(png.content)).size == (tpl.dots(tpl.width_mm, dpi), tpl.dots(tpl.height_mm, dpi))


def test_the_preview_follows_a_printer_and_the_values_typed(client, store):
    signed_in(client, "vic")
    client.app.state.print_jobs.add_printer("zt-203", "tcp://127.0.0.1:1", 203, 6)
    page = client.get("/panel/templates/udi-item-dm", params={"printer": "zt-203", "f.lot": "ABC123", "f.serial": "",
                                                              "f.production_date": ""})
    assert "<h2>203 dpi · zt-203</h2>" in page.text
    assert decoded_on(page.text) == ["]d201069012345678921728123110ABC123"]
    # a value the engine refuses: said in words, no image
    page = client.get("/panel/templates/udi-item-dm", params={"f.gtin": "06901234567893"})
    problems = page.text.split('id="tpl-problems"')[1].split("</div>")[0]
    assert "gtin" in problems and "校验位" in problems
    assert 'id="label"' not in page.text


def test_zpl_characters_in_a_value_are_escaped_or_refused_never_a_command(client, store):
    signed_in(client, "vic")
    evil = "^XA~JA^XZ"
    page = client.get("/panel/templates/udi-item-dm", params={"dpi": "300", "f.product_name": evil})
    notes = page.text.split('id="zpl-notes"')[1].split("</ul>")[0]
    assert 'class="ok" data-field="product_name"' in notes and "_5EXA_7EJA_5EXZ" in notes
    zpl = html.unescape(page.text.split('<pre class="code zpl">')[1].split("</pre>")[0])
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1 and "~" not in zpl and "^FH^FD_5EXA_7EJA_5EXZ^FS" in zpl
    assert "只有一个标签格式" in page.text.split('id="zpl-check"')[1]
    tpl = TV.current(store.engine, "udi-item-dm")
    assert decoded_on(page.text) == [tpl.encoded_data(sample_values(tpl))]
    # in coded data the same characters are refused, with the rule in words
    page = client.get("/panel/templates/udi-item-dm", params={"f.lot": "^XA"})
    note = page.text.split('id="zpl-notes"')[1].split("</ul>")[0]
    assert 'class="bad" data-field="lot"' in note and "被拒绝" in note and "含不允许的字符" in note
    assert 'data-rule="field_charset"' in page.text and 'id="label"' not in page.text


def test_a_viewer_or_operator_cannot_edit_and_sees_no_edit_controls(client, store):
    for user in ("vic", "olga"):
        csrf = signed_in(client, user)
        page = client.get("/panel/templates/udi-item-dm")
        assert page.status_code == 200 and 'id="edit-form"' not in page.text and "/restore" not in page.text
        r = client.post("/panel/templates/udi-item-dm", data={"csrf": csrf, "base_version": "1",
                                                              "fmt.lot_line": "LOT {lot}"})
        assert r.status_code == 403 and "需要管理员权限" in r.text
        r = client.post("/panel/templates/udi-item-dm/restore", data={"csrf": csrf, "base_version": "1"})
        assert r.status_code == 403
        client.post("/panel/logout", data={"csrf": csrf})
    assert versions(store, "udi-item-dm") == [1]
    assert not [a for a in audit_actions(store) if a[1].startswith("template_")]


def test_an_admin_edit_is_checked_saved_as_a_new_version_and_audited(client, store):
    csrf = signed_in(client, "ada")
    page = client.get("/panel/templates/udi-item-dm")
    form = edit_form(page.text)
    assert form["base_version"] == "1" and form["fmt.lot_line"] == "批号 LOT {lot}" and form["x.text:lot_line"] == "18"
    form.update({"csrf": csrf, "fmt.lot_line": "批号/LOT {lot}", "y.text:serial_line": "22", "h.text:serial_line": "3",
                 "desc.lot": "批号（生产批次）", "sample.lot": "L2026X", "maxlen.product_name": "16",
                 "new.text": "灭菌方式：环氧乙烷", "new.x": "40", "new.y": "35", "new.h": "2.5", "note": "new layout"})
    r = client.post("/panel/templates/udi-item-dm", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("msg=saved&v=2")
    page = client.get(r.headers["location"])
    assert "已保存为第 2 版" in page.text and "udi-item-dm · v2" in page.text
    assert versions(store, "udi-item-dm") == [1, 2]
    v2 = TV.current(store.engine, "udi-item-dm")
    assert v2.version == 2 and v2.source == "panel" and v2.fields["product_name"]["max_length"] == 16
    assert v2.meta["samples"]["lot"] == "L2026X" and v2.fields["lot"]["description"] == "批号（生产批次）"
    zpl = v2.render(sample_values(v2), 300).decode()
    assert "^FO216,264^A@N,36,36,E:ANMDS.TTF^FH^FD序列号 SN 000123^FS" in zpl  # y 22 mm, 3 mm characters at 300 dpi
    assert "^FH^FD批号/LOT L2026X^FS" in zpl and "^FH^FD灭菌方式：环氧乙烷^FS" in zpl
    assert decoded_on(page.text) == [v2.encoded_data(sample_values(v2))]  # the new sample, read back
    # the shipped file is untouched; version 1 is still there as it was
    assert "批号 LOT {lot}" in str(T.load("udi-item-dm").meta["text"]["lot_line"])
    assert TV.load_version(store.engine, "udi-item-dm", 1).sha256 == TV.content_hash(T.load("udi-item-dm").meta,
                                                                                       T.load("udi-item-dm").zpl)
    audit = [r for r in users.recent_audit(store.engine) if r["action"] == "template_edit"]
    assert len(audit) == 1 and audit[0]["user"] == "ada"
    assert "udi-item-dm v1 → v2" in audit[0]["detail"] and "'批号 LOT {lot}' → '批号/LOT {lot}'" in audit[0]["detail"]
    assert "new layout" in audit[0]["detail"]
    versions_table = page.text.split('id="tpl-versions"')[1]
    assert 'data-version="2"' in versions_table and "面板中修改" in versions_table
    # the static text added can be removed again, and the shipped file restored
    form = edit_form(page.text)
    form.update({"csrf": csrf, "remove.note_1": "1"})
    r = client.post("/panel/templates/udi-item-dm", data=form, follow_redirects=False)
    assert r.headers["location"].endswith("v=3")
    assert "环氧乙烷" not in TV.current(store.engine, "udi-item-dm").zpl + str(TV.current(store.engine, "udi-item-dm").meta)
    r = client.post("/panel/templates/udi-item-dm/restore", data={"csrf": csrf, "base_version": "3"},
                    follow_redirects=False)
    assert r.headers["location"].endswith("msg=restored&v=4")
    v4 = TV.current(store.engine, "udi-item-dm")
    assert v4.source == "file" and v4.sha256 == TV.load_version(store.engine, "udi-item-dm", 1).sha256
    assert ("ada", "template_restore") in audit_actions(store)


BAD_EDITS = [
    ({"x.barcode": "65"}, "条码（含静区）超出标签"),  # the symbol leaves the 70 mm label
    ({"x.text:lot_line": "3", "y.text:lot_line": "12"}, "lot_line 的起点落在条码或其静区内"),
    ({"fmt.lot_line": "批号 {lot_no}"}, "names unknown field 'lot_no'"),
    ({"sample.gtin": "06901234567893"}, "校验位"),  # a sample that does not print
    ({"h.text:serial_line": "40"}, "请输入 1 到 20 之间的数字"),
    ({"fmt.expiry_line": "EXP\n{expiry}"}, "不能有换行"),
]


def test_a_bad_edit_is_refused_with_the_reason_and_changes_nothing(client, store):
    csrf = signed_in(client, "ada")
    blank = edit_form(client.get("/panel/templates/udi-item-dm").text)
    for change, words in BAD_EDITS:
        form = dict(blank, csrf=csrf, **change)
        r = client.post("/panel/templates/udi-item-dm", data=form, follow_redirects=False)
        assert r.status_code == 422, change
        assert "未保存：修改未通过校验" in r.text
        problems = r.text.split('id="edit-problems"')[1].split("</ul>")[0]
        assert words in html.unescape(problems), (change, problems)
        # what the admin typed is still in the form, to fix
        key, value = next(iter(change.items()))
        assert edit_form(r.text)[key] == value
    assert versions(store, "udi-item-dm") == [1]
    refused = [r for r in users.recent_audit(store.engine) if r["action"] == "template_edit_refused"]
    assert len(refused) == len(BAD_EDITS) and all(r["user"] == "ada" for r in refused)
    assert "条码（含静区）超出标签" in refused[-1]["detail"]


def test_an_edit_from_an_old_page_is_refused(client, store):
    csrf = signed_in(client, "ada")
    form = edit_form(client.get("/panel/templates/drug-20").text)
    first = dict(form, csrf=csrf, **{"desc.product_name": "药品名称"})
    assert client.post("/panel/templates/drug-20", data=first, follow_redirects=False).status_code == 303
    second = dict(form, csrf=csrf, **{"desc.product_name": "品名"})  # still says base_version 1
    r = client.post("/panel/templates/drug-20", data=second)
    assert r.status_code == 409 and "您基于第 1 版，当前为第 2 版" in r.text
    assert versions(store, "drug-20") == [1, 2]
    assert TV.current(store.engine, "drug-20").fields["product_name"]["description"] == "药品名称"


def test_a_static_text_with_zpl_commands_is_printed_as_text(client, store):
    csrf = signed_in(client, "ada")
    form = edit_form(client.get("/panel/templates/drug-20").text)
    form.update(csrf=csrf, **{"new.text": "^XA^PQ999~JA", "new.x": "6", "new.y": "26", "new.h": "2"})
    assert client.post("/panel/templates/drug-20", data=form, follow_redirects=False).status_code == 303
    tpl = TV.current(store.engine, "drug-20")
    zpl = tpl.render(sample_values(tpl), 203).decode()
    assert zpl.count("^XA") == 1 and "~" not in zpl and "^PQ" not in zpl and "^FH^FD_5EXA_5EPQ999_7EJA^FS" in zpl


def test_a_job_created_after_an_edit_uses_it_and_an_older_job_keeps_its_version(client, store, vprinter):
    jobs = client.app.state.print_jobs
    jobs.add_printer("line-1", vprinter.uri, 300, 14)
    with store.engine.begin() as c:  # the item label prints the 注册证编号 from the master record
        c.execute(update(products).where(products.c.di == GTIN).values(reg_no="国械注准20173151234"))
    csrf = signed_in(client, "ada")
    spec = {"csrf": csrf, "di": GTIN, "template": "udi-item-dm", "printer": "line-1", "quantity": "1",
            "lot": "20260A", "expiry": "2028-10-31"}
    r = client.post("/panel/jobs", data=spec, follow_redirects=False)
    assert r.status_code == 303, r.text
    old_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    assert new_job_option(client, "udi-item-dm").endswith("· v1")  # the version the job just recorded
    form = edit_form(client.get("/panel/templates/udi-item-dm").text)
    form.update(csrf=csrf, **{"fmt.lot_line": "LOT NO. {lot}"})
    assert client.post("/panel/templates/udi-item-dm", data=form, follow_redirects=False).status_code == 303
    # the new-job form says which version a job made now records, and that it was edited in the panel
    assert new_job_option(client, "udi-item-dm").endswith("· v2 (changed in the panel)")
    assert new_job_option(client, "drug-20").endswith("· v1")
    r = client.post("/panel/jobs", data=spec, follow_redirects=False)
    new_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    assert jobs.get(old_id)["template_version"] == 1 and jobs.get(new_id)["template_version"] == 2
    assert "udi-item-dm · v1" in client.get("/panel/jobs/%d" % old_id).text
    assert "udi-item-dm · v2" in client.get("/panel/jobs/%d" % new_id).text
    reader = {"Authorization": "Bearer " + create_token(store.engine, "reader", "reader")}
    assert client.get("/api/print-jobs/%d" % old_id, headers=reader).json()["template_version"] == 1
    listed = {t["name"]: t for t in client.get("/api/templates", headers=reader).json()}
    assert listed["udi-item-dm"]["version"] == 2 and listed["drug-20"]["version"] == 1
    # the older job, started only now, still prints what it was created with
    for job_id in (old_id, new_id):
        jobs.start(job_id, actor="ada")
        assert jobs.wait(job_id, 30)["state"] == "done"
    old_zpl, new_zpl = vprinter.printed[0]["zpl"], vprinter.printed[1]["zpl"]
    assert "^FH^FD批号 LOT 20260A^FS" in old_zpl and "LOT NO." not in old_zpl
    assert "^FH^FDLOT NO. 20260A^FS" in new_zpl
    # the versions table counts the jobs of each version
    table = client.get("/panel/templates/udi-item-dm").text.split('id="tpl-versions"')[1]
    for v in ("1", "2"):
        row = table.split('data-version="%s"' % v)[1].split("</tr>")[0]
        assert re.search(r'class="jobs">1<', row)
    # the old version stays viewable, read only, with its own preview
    old = client.get("/panel/templates/udi-item-dm?version=1")
    assert 'id="tpl-old"' in old.text and 'id="edit-form"' not in old.text
    assert "^FH^FD批号 LOT 20260115^FS" in html.unescape(old.text)


def test_unknown_template_or_version_is_a_404_in_words(client):
    signed_in(client, "vic")
    assert client.get("/panel/templates/nope").status_code == 404
    assert "找不到" in client.get("/panel/templates/udi-item-dm?version=99").text
    assert client.get("/panel/templates/nope/label.png").status_code == 404


def test_versions_are_kept_per_template_on_sqlite_and_postgresql(db_url, tmp_path, monkeypatch):
    import copy
    import shutil

    from gateway.store import Store

    shutil.copytree(T.DEFAULT_DIR, tmp_path / "tpl")
    monkeypatch.setattr(T, "DEFAULT_DIR", str(tmp_path / "tpl"))
    engine = Store(db_url).engine
    v1 = TV.current(engine, "hibc")
    assert (v1.version, v1.source) == (1, "file") and TV.current(engine, "hibc").version == 1
    assert [h["version"] for h in TV.history(engine, "hibc")] == [1]
    # a software update changes the shipped file: recorded as the next version by itself
    zpl_file = tmp_path / "tpl" / "hibc.zpl"
    zpl_file.write_text(zpl_file.read_text().replace("{{mm:20}},{{mm:2}}", "{{mm:21}},{{mm:2}}"))
    v2 = TV.current(engine, "hibc")
    assert (v2.version, v2.source) == (2, "file") and "{{mm:21}},{{mm:2}}" in v2.zpl and not v2.file_changed
    # a panel change; then another update of the file does not replace it, it is reported
    meta = copy.deepcopy(v2.meta)
    meta["fields"]["product_name"]["description"] = "品名"
    v3 = TV.save(engine, "hibc", meta, v2.zpl, "ada", "description", 2)
    with pytest.raises(TV.VersionConflict):
        TV.save(engine, "hibc", meta, v2.zpl, "bob", "from an old page", 2)
    with pytest.raises(T.TemplateError, match="barcode"):
        TV.save(engine, "hibc", meta, v2.zpl.replace("{{barcode}}", ""), "ada", "no symbol", 3)
    zpl_file.write_text(zpl_file.read_text().replace("{{mm:21}},{{mm:2}}", "{{mm:22}},{{mm:2}}"))
    now = TV.current(engine, "hibc")
    assert now.version == v3.version == 3 and now.source == "panel" and now.file_changed
    # every job renders from the version it recorded, whatever came later
    assert TV.for_job(engine, {"template": "hibc", "template_version": 1}).sha256 == v1.sha256
    assert "{{mm:21}}" in TV.for_job(engine, {"template": "hibc", "template_version": 2}).zpl
    assert "{{mm:22}}" in TV.for_job(engine, {"template": "hibc", "template_version": None}).zpl  # before versions
    with pytest.raises(T.TemplateError, match="not stored"):
        TV.for_job(engine, {"template": "hibc", "template_version": 9})
    back = TV.restore_shipped(engine, "hibc", "ada", 3)
    assert back.version == 4 and "{{mm:22}}" in back.zpl and TV.current(engine, "hibc").version == 4


def test_every_shipped_template_passes_the_checks_an_edit_must_pass():
    # an admin can change any of them: at every dpi its sample label renders and reads back
    from gateway.panel.pages.label_templates import check_candidate

    for name in NAMES:
        shipped = T.load(name)
        tpl, problems = check_candidate(name, shipped.meta, shipped.zpl, "en")
        assert problems == [], (name, problems)
        assert tpl.dpis == (203, 300, 600)
