"""Sign in and out, and the language switch."""

import hmac
import os
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gateway import ratelimit
from gateway.panel import i18n, users

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import (
    PRE_COOKIE,
    SESSION_COOKIE,
    Signed,
    engine_of,
    lang_of,
    page,
    safe_next,
    see_other,
)

router = APIRouter()

i18n.add({
    "zh": {"signin.slow": "此地址登录失败次数过多。请 {seconds} 秒后再试。"},
    "en": {"signin.slow": "Too many failed sign-ins from this address. Try again in {seconds} seconds."},
})

# --- sign in / out, language ------------------------------------------------------------------

def _login_page(request, status_code=200, error=None, name=""):
    pre = secrets.token_urlsafe(24)
    resp = page(request, "login.html", None, status_code, error=error, name=name, pre=pre,
                next=safe_next(request.query_params.get("next")))
    resp.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                    path="/panel/login")
    return resp


@router.get("/", include_in_schema=False)
def root():
    return see_other("/panel")


@router.get("/favicon.ico", include_in_schema=False)
def favicon():
    return Response(status_code=204)  # browsers ask for it; nothing to show


@router.get("/panel/login", include_in_schema=False)
def login_form(request: Request):
    return _login_page(request)


@router.post("/panel/login", include_in_schema=False)
async def login(request: Request):
    form = await request.form()
    lang = lang_of(request)
    name, password = str(form.get("name") or "")[:64], str(form.get("password") or "")[:1024]
    pre, sent = request.cookies.get(PRE_COOKIE) or "", str(form.get("csrf") or "")
    if not pre or not hmac.compare_digest(pre.encode(), sent.encode()):
        return _login_page(request, 403, i18n.t(lang, "signin.csrf"), name)
    engine = engine_of(request)
    # Per client address, besides the per-account lock-out: one address trying
    # many accounts waits (gateway.ratelimit), before any password is checked.
    limit = ratelimit.for_app(request.app, "signin_failures", ratelimit.SIGNIN_PER_MINUTE)
    client = ratelimit.client_of(request)
    wait = limit.retry_after(client)
    if wait:
        resp = _login_page(request, 429, i18n.t(lang, "signin.slow", seconds=wait), name)
        resp.headers["retry-after"] = str(wait)
        return resp
    result, info = await run_in_threadpool(users.authenticate, engine, name, password)
    if result == "ok":
        token, _ = users.new_session(engine, info["name"])
        users.audit(engine, info["name"], "signin", request.client.host if request.client else None)
        resp = see_other(safe_next(form.get("next")))
        resp.set_cookie(SESSION_COOKIE, token, max_age=users.SESSION_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
        resp.delete_cookie(PRE_COOKIE, path="/panel/login")
        return resp
    if result == "disabled":  # the right password: say so (users.authenticate audited it)
        return _login_page(request, 403, i18n.t(lang, "signin.disabled"), name)
    limit.failed(client)
    users.audit(engine, name or None, "signin_failed", "locked" if result == "locked" else "wrong name or password")
    if result == "locked":
        return _login_page(request, 423, i18n.t(lang, "signin.locked", minutes=max(1, (info + 59) // 60)), name)
    return _login_page(request, 401, i18n.t(lang, "signin.bad"), name)


@router.post("/panel/logout", include_in_schema=False)
def logout(request: Request, s=Signed):
    engine = engine_of(request)
    users.end_session(engine, request.cookies.get(SESSION_COOKIE))
    users.audit(engine, s["user"], "signout")
    resp = see_other("/panel/login")
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/panel/lang/{lang}", include_in_schema=False)
def set_lang(request: Request, lang: str):
    # A preference, not a change to the gateway: a plain link, no session needed.
    resp = see_other(safe_next(request.query_params.get("next")))
    resp.set_cookie(i18n.COOKIE, i18n.pick(lang), max_age=365 * 86400, samesite="strict", path="/")
    return resp
