"""The label templates page in a real browser (Playwright + Debian chromium)
against a real server: the list, a preview at another dpi with a typed value
holding ZPL characters, the image loaded under the page's CSP with its
read-back, an admin's change saved as a new version, a bad change refused in
words, and a viewer who sees no edit controls."""

from test_panel_browser import browser, site  # noqa: F401  (skips without playwright / chromium)

from gateway.panel import screenshots as demo

IMAGE_LOADED = ("() => { const i = document.querySelector('#label');"
                " return i && i.complete && i.naturalWidth > 0; }")


def test_templates_preview_edit_and_roles_in_a_browser(site, browser):
    base, _store, _printer = site
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    errors = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    # (the refused change below answers 422 with the page that says why: expected)
    page.on("console", lambda m: m.type == "error" and "status of 422" not in m.text and errors.append(m.text))
    demo.sign_in(page, base)
    page.click("header nav a[href='/panel/templates']")
    assert page.locator("#templates tbody tr").count() == 6
    page.click("#templates tr[data-template=udi-item-dm] a")
    page.wait_for_function(IMAGE_LOADED)
    assert page.locator("#readback h2").inner_text() == "300 dpi"
    assert page.locator("dl.symbol[data-match=yes]").count() == 1
    assert page.locator("dl.symbol .aim").inner_text() == "]d2"

    # 203 dpi and a product name that is ZPL: escaped, printed as typed, read back unchanged
    page.select_option("#preview-form select[name=dpi]", "203")
    page.fill("#preview-form input[name='f.product_name']", "^XA~JA")
    page.click("#preview-form button.primary")
    page.wait_for_function(IMAGE_LOADED)
    assert page.locator("#readback h2").inner_text() == "203 dpi"
    assert "_5EXA_7EJA" in page.locator("#zpl-notes li[data-field=product_name]").inner_text()
    assert page.locator("#zpl-check.ok").is_visible()
    assert page.locator("dl.symbol[data-match=yes]").count() == 1
    width = page.evaluate("document.querySelector('#label').naturalWidth")
    assert width == 70 * 8  # 70 mm at 203 dpi (8 dots/mm)

    # an admin's change: saved as version 2, with feedback
    page.fill("#edit-form input[name='fmt.lot_line']", "批号/LOT {lot}")
    page.fill("#edit-form input[name=note]", "browser test")
    page.click("#edit-form button.primary")
    page.wait_for_selector(".notice.ok")
    assert "第 2 版" in page.locator(".notice.ok").inner_text()
    assert page.locator("#tpl-versions tbody tr").count() == 2
    page.wait_for_function(IMAGE_LOADED)

    # a bad change: refused in words, nothing saved
    page.fill("#edit-form input[name='x.barcode']", "65")
    page.click("#edit-form button.primary")
    page.wait_for_selector("#edit-problems")
    assert "超出标签" in page.locator("#edit-problems").inner_text()
    assert "未保存" in page.locator(".notice.bad").inner_text()
    assert page.locator("#tpl-versions tbody tr").count() == 2
    assert errors == []
    ctx.close()

    viewer = browser.new_page(viewport={"width": 1366, "height": 768})
    demo.sign_in(viewer, base, "watcher")
    viewer.goto(base + "/panel/templates/udi-item-dm")
    viewer.wait_for_function(IMAGE_LOADED)
    assert viewer.locator("#edit-form").count() == 0 and viewer.locator("#restore-form").count() == 0
    assert viewer.locator("dl.symbol[data-match=yes]").count() == 1
    viewer.close()
