"""A finished print job in a real browser (Playwright + Debian chromium):
reprint one label (same serial, the bad one destroyed) and void another
through the page's own forms, on the virtual printer, and read the results
and the reconciliation on the page."""

import re

from test_panel_browser import browser, site  # noqa: F401  (fixtures; skip without playwright / chromium)

from gateway.panel import screenshots as demo


def open_label_form(page, row):
    row.locator("summary").click()
    form = row.locator("form.label-form")
    form.wait_for(state="visible")
    return form


def test_reprint_and_void_on_a_finished_job(site, browser):  # noqa: F811
    base, _store, printer = site
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and "status of 422" not in m.text and errors.append(m.text))
    demo.sign_in(page, base)
    demo.run_job(page, base, 3)
    page.click("#job-form button.primary")
    page.wait_for_url("**/panel/jobs/*")
    job_url = page.url.split("?")[0]
    page.click("form[data-action=start] button")
    page.wait_for_selector("#job-state.s-done", timeout=60000)
    page.goto(job_url)  # the ended job's page: per-label actions and the reconciliation table
    assert page.locator("#recon.ok").is_visible()
    rows = page.locator("#labels tbody tr")
    assert rows.count() == 3
    serials = [rows.nth(i).get_attribute("data-serial") for i in range(3)]

    # reprint label 2 with the same serial: the bad label is destroyed
    form = open_label_form(page, rows.nth(1))
    form.locator("input[name=reason]").fill("标签污损")
    form.locator("input[name=destroyed]").check()
    form.locator("button.primary").click()
    page.wait_for_url(re.compile(r".*msg=reprinted_same.*"))
    assert "已按原序列号 %s 补打" % serials[1] in page.locator(".notice.ok").inner_text()
    assert printer.total_labels == 4 and "21" + serials[1] in printer.printed[-1]["zpl"]

    # void label 3 (the item was scrapped); its reason is required by the form
    form = open_label_form(page, page.locator("#labels tbody tr").nth(2))
    form.locator("button.danger").click()
    assert "msg=voided" not in page.url  # the browser asked for the reason first
    form.locator("input[name=reason]").fill("产品报废")
    form.locator("button.danger").click()
    page.wait_for_url(re.compile(r".*msg=voided.*"))
    assert "序列号 %s 已作废" % serials[2] in page.locator(".notice.ok").inner_text()
    row = page.locator("#labels tbody tr[data-serial='%s']" % serials[2])
    assert row.locator(".state").inner_text() == "已作废" and row.locator("summary").count() == 0

    # the reconciliation: 3 counted at the end + 1 reprint, equal on both sides; one item short
    counter = page.locator("#recon-counter td").all_inner_texts()
    ledger = page.locator("#recon-ledger td").all_inner_texts()
    assert counter == ["3", "+1", "4"] and ledger == ["3", "+1", "4"]
    assert "少 1 张" in page.locator("#recon [data-problem=short]").inner_text()
    assert page.locator("#recon [data-problem=counter_mismatch]").count() == 0
    assert errors == []
    page.close()
