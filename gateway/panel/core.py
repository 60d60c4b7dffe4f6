"""What every panel page stands on: the session (cookie), its CSRF token and
role checks as FastAPI dependencies, the two errors a page can raise, and
page() which renders a template with the words of the user's language."""

import hmac
import json
import os
import time
from functools import partial

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from gateway.panel import i18n, users

HERE = os.path.dirname(os.path.abspath(__file__))

SESSION_COOKIE = "panel_session"
PRE_COOKIE = "panel_pre"  # CSRF token of the sign-in form (there is no session yet)
EVENT_POLL_S = 0.5  # the snapshot is read this often and sent when it changed
KEEPALIVE_S = 15

CSP = ("default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]

# The navigation bar: (path, words key, lowest role that sees it).  A page
# module that adds a top-level page adds its entry here.
NAV = (
    ("/panel", "nav.dashboard", "viewer"),
    ("/panel/handhelds", "nav.handhelds", "viewer"),
    ("/panel/scans", "nav.scans", "viewer"),
    ("/panel/jobs", "nav.jobs", "viewer"),
    ("/panel/printers", "nav.printers", "viewer"),
    ("/panel/quality", "nav.quality", "viewer"),
    ("/panel/templates", "nav.templates", "viewer"),
    ("/panel/products", "nav.products", "viewer"),  # with mapping import and the aggregation browser
    ("/panel/alerts", "nav.alerts", "viewer"),
    ("/panel/exports", "nav.exports", "viewer"),
    ("/panel/users", "nav.users", "admin"),
    ("/panel/audit", "nav.audit", "admin"),
)

templates = Jinja2Templates(directory=os.path.join(HERE, "templates"))


# --- errors the panel answers in words ------------------------------------------------------

class NeedLogin(Exception):
    pass


class Refused(Exception):
    """403: a role too low, or a missing / wrong CSRF token."""

    def __init__(self, key, **values):
        self.key, self.values = key, values


def wants_json(request):
    return request.url.path.startswith(("/panel/api/", "/panel/events")) or "x-csrf-token" in request.headers


def lang_of(request):
    return i18n.pick(request.cookies.get(i18n.COOKIE))


def safe_next(value):
    # Only back into the panel: no open redirect to another site.
    if isinstance(value, str) and value.startswith("/panel") and not value.startswith("//") and "\\" not in value:
        return value
    return "/panel"


# --- sessions, CSRF, roles ------------------------------------------------------------------

def engine_of(request):
    return request.app.state.store.engine


def current(request: Request):
    s = users.get_session(engine_of(request), request.cookies.get(SESSION_COOKIE))
    if s is None:
        raise NeedLogin()
    request.state.panel = s
    return s


async def check_csrf(request, s):
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        token = (await request.form()).get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), s["csrf"].encode()):
        raise Refused("err.csrf")


def acting(role):
    """A dependency for every POST: a session, its CSRF token, and the role."""

    async def dep(request: Request):
        s = await run_in_threadpool(current, request)
        await check_csrf(request, s)
        if not users.allowed(s["role"], role):
            lang = lang_of(request)
            raise Refused("err.forbidden", role=i18n.t(lang, "role." + s["role"]), needed=i18n.t(lang, "role." + role))
        return s

    return dep


Viewer = Depends(current)
Operator = Depends(acting("operator"))
Admin = Depends(acting("admin"))
Signed = Depends(acting("viewer"))  # any signed-in user, CSRF still checked (sign out)


def fmt_time(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


def page(request, template, s, status_code=200, **ctx):
    lang = lang_of(request)
    ctx.update(lang=lang, t=partial(i18n.t, lang), me=s, csrf=(s or {}).get("csrf", ""),
               can_operate=bool(s) and users.allowed(s["role"], "operator"),
               is_admin=bool(s) and users.allowed(s["role"], "admin"), ts=fmt_time, path=request.url.path,
               nav=[(href, key) for href, key, role in NAV if s and users.allowed(s["role"], role)],
               js_strings=json.dumps(i18n.client_strings(lang), ensure_ascii=False))
    resp = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    resp.headers["cache-control"] = "no-store"
    return resp


def see_other(url):
    return RedirectResponse(url, status_code=303)


def problems_text(problems):
    """A JobError's / TemplateError's problems as lines a person reads."""
    return ["%s: %s" % (p.get("field") or "-", p["message"]) for p in problems]


def require(request, s, role):
    """For a GET page that only some roles may see (a POST uses Operator/Admin)."""
    if not users.allowed(s["role"], role):
        lang = lang_of(request)
        raise Refused("err.forbidden", role=i18n.t(lang, "role." + s["role"]), needed=i18n.t(lang, "role." + role))
