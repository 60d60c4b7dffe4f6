"""The panel in a real browser (Playwright + Debian chromium) against a real
server: sign in, create a print job on the virtual printer with its live
label preview, start it, and watch the pages update without a reload until
all labels are printed and the job reconciles."""

import os

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

from gateway.panel import screenshots as demo  # noqa: E402


@pytest.fixture
def site(tmp_path):
    with demo.serve(str(tmp_path), users_=((demo.ADMIN, "admin"), ("watcher", "viewer"))) as s:
        yield s


@pytest.fixture
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=demo.CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def test_a_job_runs_from_the_panel_and_the_pages_update_live(site, browser):
    base, store, printer = site
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    errors = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    # (a 422 for the preview of a half-filled form is expected and shown on the page)
    page.on("console", lambda m: m.type == "error" and "status of 422" not in m.text and errors.append(m.text))
    demo.sign_in(page, base)
    assert page.locator("#dash-jobs").is_visible()
    page.wait_for_selector("#live.on")  # the event stream is connected
    assert page.locator("#hh-online").inner_text() == "1"

    # A second tab keeps the dashboard open while the job runs.
    dash = ctx.new_page()
    dash.goto(base + "/panel")
    dash.wait_for_selector("#live.on")

    demo.run_job(page, base, 5)  # waits for the preview image
    src = page.locator("#preview").get_attribute("src")
    assert src.startswith("blob:")
    page.click("#job-form button.primary")
    page.wait_for_url("**/panel/jobs/*")
    assert "已创建" in page.locator(".notice.ok").inner_text()
    job_id = page.url.rsplit("/", 1)[1].split("?")[0]
    page.click("form[data-action=start] button")
    page.wait_for_url("**/panel/jobs/%s?msg=start" % job_id)

    # No reload from here: the page follows the job over /panel/events.
    page.evaluate("window.__same_page = true")
    page.wait_for_selector("#job-state.s-done", timeout=60000)
    assert page.evaluate("window.__same_page") is True
    assert page.locator("#c-printed").inner_text() == "5"
    page.wait_for_selector("#recon.ok")
    assert "5" in page.locator("#recon").inner_text()
    assert page.locator("#labels tbody tr").count() == 5
    assert page.locator("#labels tbody .s-printed").count() == 5
    assert printer.total_labels == 5

    # The dashboard tab updated by itself as well.
    row = dash.locator("#dash-jobs tr[data-job='%s']" % job_id)
    row.locator(".printed").filter(has_text="5").wait_for(timeout=10000)
    assert row.locator(".state").inner_text() == "已完成"
    assert errors == []
    ctx.close()


def test_a_viewer_sees_no_controls_and_is_told_why(site, browser):
    base, _, _ = site
    page = browser.new_page()
    demo.sign_in(page, base, "watcher")
    page.goto(base + "/panel/alerts")
    assert page.locator("form[action$='/ack']").count() == 0
    page.goto(base + "/panel/jobs/new")
    assert "需要操作员权限" in page.locator(".notice.bad").inner_text()
    page.close()


def test_a_failed_label_check_is_first_on_the_quality_page(site, browser, tmp_path):
    import time

    from PIL import Image, ImageDraw
    from sqlalchemy import insert

    from gateway.schema import label_checks

    base, store, _ = site
    img = Image.new("RGB", (400, 240), "white")
    ImageDraw.Draw(img).rectangle((40, 40, 200, 200), fill="black")
    bad = str(tmp_path / "bad.png")
    img.save(bad)
    now = time.time()
    with store.engine.begin() as c:
        c.execute(insert(label_checks).values(job_id=3, decoded="(01)06901234567892(21)X", match=False, valid=True,
                                              grade=3.2, notation="3.2", passed=False, image=bad, at=now - 60,
                                              reason="data does not match what was sent"))
        c.execute(insert(label_checks).values(job_id=3, decoded="(01)06901234567892(21)Y", match=True, valid=True,
                                              grade=3.9, notation="3.9", passed=True, image=None, at=now))
    page = browser.new_page()
    demo.sign_in(page, base)
    page.goto(base + "/panel/quality")
    first = page.locator("#checks tbody tr").first
    assert first.get_attribute("class") == "failed"
    assert "解码数据与发送的数据不一致" in first.locator(".why").inner_text()
    thumb = first.locator("img.thumb")
    assert thumb.is_visible()
    page.wait_for_function("() => { const i = document.querySelector('#checks tbody tr img.thumb');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=10000)
    page.close()
