"""Target: the operator panel's forms (gateway.panel), posted as an admin,
in process, over the same seeded gateway as the `api` target.

The forms are found as a browser finds them: the pages of the navigation
and the pages they link to are fetched and every <form method="post"> is
read (action, encoding, fields and their current values).  Each case posts
one form with its fields mutated: any text (control characters, NUL, ZPL
^ and ~, format and template braces, markup), numbers out of range, a field
left out, sent twice or an unknown one added, a file of random bytes, or a
body that is not UTF-8.  The CSRF token and the session stay valid, so the
case reaches the form's own handling.

What must hold for every case: no 5xx and nothing raised out of the app (the
TestClient re-raises it) and no traceback logged; a redirect stays inside the
panel; a page is HTML with every value escaped (a `<x-fuzz>` tag sent in a
field never comes back as markup, in the answer or in the page the form is
on); and the panel still serves its dashboard afterwards.

Printers the fuzzer stores are opened as the virtual printer, and network
discovery probes only 127.0.0.1, whatever addresses the form names: nothing
leaves the machine."""

import html.parser
import re
import secrets
import time
import warnings
from urllib.parse import urlencode, urlsplit

from sqlalchemy import insert, update

from fuzz import api
from fuzz.budget import count
from gateway.panel import mount_panel, users
from gateway.printing import discovery
from gateway.schema import alerts, products

TARGET = "panel_forms"
MARK = "<x-fuzz>"  # markup a field carries; an HTML answer must never contain it unescaped
PASSWORD = "fuzz-" + secrets.token_hex(8)
SKIP_LINKS = ("/panel/events", "/panel/logout", "/export", "/download", "/image", "/report.csv", ".png", ".csv")
MAX_PAGES = 60


class Forms(html.parser.HTMLParser):
    """Every POST form of a page: {action, enctype, fields: [(name, value, kind, options)]}."""

    def __init__(self, page_url):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms = []
        self.links = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and (a.get("href") or "").startswith("/panel"):
            self.links.append(a["href"])
        elif tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": (a.get("action") or urlsplit(self.page_url).path).split("#")[0],
                          "enctype": a.get("enctype") or "", "fields": [], "page": self.page_url}
            self.forms.append(self._form)
        elif self._form is None or "name" not in a:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._form["fields"].append((a["name"], None, kind, [a.get("value") or "on"]))
                return
            self._form["fields"].append((a["name"], a.get("value") or "", kind, []))
        elif tag == "select":
            self._select = [a["name"], None, "select", []]
            self._form["fields"].append(self._select)
        elif tag == "textarea":
            self._textarea = [a["name"], "", "textarea", []]
            self._form["fields"].append(self._textarea)
        if tag == "option" and self._select is not None:
            self._select[3].append(a.get("value") or "")
            if "selected" in a or self._select[1] is None:
                self._select[1] = a.get("value") or ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


class PanelRig(api.ApiRig):
    """The `api` rig with the panel mounted, a print job and an admin signed in."""

    def __init__(self, db_url):
        self._scan = discovery.scan
        discovery.scan = lambda hosts, port=9100, **kw: self._scan(["127.0.0.1"] if hosts else [], port, **kw)
        try:
            super().__init__(db_url)
        except BaseException:
            discovery.scan = self._scan
            raise
        mount_panel(self.app)
        # jobs of the seeded syringe, serialised here (its labels get ledger rows): the job pages and their forms
        with self.store.engine.begin() as c:
            c.execute(update(products).where(products.c.di == "06901234567892").values(pi_serial=True))
        # and one printed, whose labels have their void / reprint forms
        self.job_id = self.jobs.create("06901234567892", "udi-item-dm", "line1", 3, "LOT1", None, "2030-01-01",
                                       actor="fuzz")["id"]
        self.done_id = self.jobs.create("06901234567892", "udi-item-dm", "line1", 2, "LOT2", None, "2030-01-01",
                                        actor="fuzz")["id"]
        self.jobs.start(self.done_id, actor="fuzz")
        assert self.jobs.wait(self.done_id, 60)["state"] == "done"
        # another user (the users page's role, unlock and disable forms) and an open alert (its ack form)
        users.create_user(self.store.engine, "fuzzoperator", PASSWORD, "operator")
        with self.store.engine.begin() as c:
            c.execute(insert(alerts).values(kind="used_twice", dev="hhfuzz0001", item="X1", detail="fuzz",
                                            created_at=time.time(), acknowledged=False))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # starlette's note on httpx, not ours
            from fastapi.testclient import TestClient
        self.client = TestClient(self.app, raise_server_exceptions=True)
        self.admins = 0
        self.sign_in()
        self.forms = self.crawl()

    def sign_in(self):
        # A new admin each time: a case may have locked, demoted, disabled or
        # re-passworded the last one, which is the panel working as it should.
        self.admins += 1
        name = "fuzzadmin%d" % self.admins
        users.create_user(self.store.engine, name, PASSWORD, "admin")
        self.client.cookies.clear()
        login = self.client.get("/panel/login").text
        r = self.client.post("/panel/login", data={"name": name, "password": PASSWORD, "csrf": csrf_of(login)},
                             follow_redirects=False)
        assert r.status_code == 303, r.text[:500]
        self.csrf = csrf_of(self.client.get("/panel").text)

    def session_ok(self):
        r = self.client.get("/panel", follow_redirects=False)
        if r.status_code != 200:
            self.sign_in()
            return
        self.csrf = csrf_of(r.text)

    def crawl(self):
        """Every distinct POST form (by action and field names) on the pages reachable from the navigation."""
        from gateway.panel.core import NAV

        todo = [href for href, _, _ in NAV] + ["/panel/jobs/new"] + ["/panel/jobs/%d" % i for i in (self.job_id, self.done_id)]
        seen, forms, keys = set(), [], set()
        while todo and len(seen) < MAX_PAGES:
            url = todo.pop(0).split("#")[0]
            path = urlsplit(url).path
            if url in seen or any(s in path for s in SKIP_LINKS) or re.search(r"/\d{3,}$", path):
                continue
            seen.add(url)
            r = self.client.get(url)
            if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
                continue
            parser = Forms(url)
            parser.feed(r.text)
            for f in parser.forms:
                key = (f["action"], tuple(sorted(x[0] for x in f["fields"])))
                if key not in keys and f["action"] != "/panel/logout":
                    keys.add(key)
                    forms.append(f)
            # one page per kind of link (the first job, the first printer ...): their forms are alike
            kinds = {re.sub(r"/[^/]+$", "/*", urlsplit(u).path) for u in seen}
            for link in parser.links:
                if link not in seen and re.sub(r"/[^/]+$", "/*", urlsplit(link).path) not in kinds:
                    todo.append(link)
        return forms

    def close(self):
        discovery.scan = self._scan
        self.client.close()
        super().close()


def csrf_of(page_html):
    m = re.search(r'name="csrf" value="([^"]+)"', page_html)
    return m.group(1) if m else ""


def post(rig, form, fields, files=None, raw=None):
    """Post one mutated form -> the response.  fields: [(name, value)] in order (repeats allowed)."""
    count(TARGET)
    rig.session_ok()
    fields = [(n, rig.csrf if n == "csrf" and v == "<csrf>" else v) for n, v in fields]
    if raw is not None:
        return rig.client.post(form["action"], content=raw, follow_redirects=False,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    if files:
        return rig.client.post(form["action"], data=dict(fields), files=files, follow_redirects=False)
    return rig.client.post(form["action"], content=urlencode(fields).encode(), follow_redirects=False,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})


def check(rig, form, response, revisit=True):
    """What must hold after any post of `form` (revisit: and on the form's page and the dashboard after it)."""
    assert response.status_code < 500, (form["action"], response.status_code, response.text[:1000])
    if 300 <= response.status_code < 400:
        where = response.headers.get("location", "")
        assert where.startswith("/panel") and not where.startswith("//"), (form["action"], where)
    else:
        kind = response.headers.get("content-type", "")
        assert kind.startswith(("text/html", "application/json", "text/csv")), (form["action"], kind)
        if kind.startswith("text/html"):
            assert MARK not in response.text, (form["action"], "a field came back as markup")
    assert not rig.ingest.failures.records, rig.ingest.failures.records
    if not revisit:
        return
    # the page the form is on (it may show what was stored) and the dashboard still render, escaped
    rig.session_ok()
    for url in (form["page"], "/panel"):
        page = rig.client.get(url, follow_redirects=False)
        assert page.status_code < 500, (url, page.status_code, page.text[:1000])
        if page.status_code == 200 and page.headers.get("content-type", "").startswith("text/html"):
            assert MARK not in page.text, (url, "a stored value came back as markup")
