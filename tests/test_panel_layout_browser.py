"""Every panel page fits the two screens it is used on — a 1366×768 line PC
and a 768-wide tablet held upright — without sideways scrolling, in both
languages (English words are longer).  Wide tables scroll inside their own
box; the page itself must not."""

import os

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not os.path.exists("/usr/bin/chromium"):
    pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)", allow_module_level=True)

from test_panel_browser import browser, site  # noqa: E402,F401

from gateway.panel import screenshots as demo  # noqa: E402
from gateway.panel.core import NAV  # noqa: E402

# Every top-level page (from the navigation itself, so a new page is checked
# too) and the sub-pages with the widest content.
PAGES = [href for href, _, _ in NAV] + ["/panel/jobs/new", "/panel/templates/udi-item-dm", "/panel/products/mappings",
                                        "/panel/products/aggregation", "/panel/scans/1"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_fits_a_line_pc_and_a_tablet(site, browser, lang):
    base, _store, _printer = site
    too_wide = []
    for width, height in ((1366, 768), (768, 1024)):
        page = browser.new_page(viewport={"width": width, "height": height})
        demo.sign_in(page, base)
        page.goto(base + "/panel/lang/%s?next=/panel" % lang)
        for path in PAGES:
            resp = page.goto(base + path)
            assert resp.status in (200, 404), (path, resp.status)  # /panel/scans/1 exists only once a scan does
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            if wide > width:
                too_wide.append((width, path, wide))
        page.close()
    assert not too_wide, too_wide
