"""mount_panel(app): the operator panel on the gateway's FastAPI app.

Pages are rendered on the server from the same store, print jobs and device
registry the JSON API uses (app.state); panel.js only adds the live parts
(an EventSource on /panel/events, the label preview).  No third-party
assets: the panel works on a plant network without internet.  One module
per page in gateway/panel/pages/; what they share is in core.py (sessions,
CSRF, roles, rendering) and live.py (the live snapshot).

Security: a session cookie (HttpOnly, SameSite=Strict, Secure over https),
a CSRF token checked on every POST, roles viewer < operator < admin, an
audit row for every change, and strict security headers on every panel
response (no inline script or style, so CSP can be default-src 'self')."""

import os
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from gateway.panel import i18n, users
from gateway.panel.core import (
    HERE,
    SECURITY_HEADERS,
    NeedLogin,
    Refused,
    lang_of,
    page,
    safe_next,
    see_other,
    wants_json,
)
from gateway.panel.pages import PAGES


class SecurityHeaders:
    """Adds the panel's security headers to every response under /, /panel
    and /static (the API's /docs loads its own assets and keeps its headers)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path in ("/", "/favicon.ico") or path.startswith(("/panel", "/static/"))):
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in SECURITY_HEADERS if h[0] not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount_panel(app: FastAPI):
    """Add the panel to an app made by gateway.api.app.create_app."""
    users.create_tables(app.state.store.engine)
    app.state.panel_closing = False
    for module in PAGES:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=os.path.join(HERE, "static")), name="static")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, exc: NeedLogin):
        if wants_json(request) or request.method != "GET":
            return JSONResponse({"detail": i18n.t(lang_of(request), "signin.expired")}, 401)
        return see_other("/panel/login?next=" + quote(request.url.path + ("?" + request.url.query if request.url.query else "")))

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        msg = i18n.t(lang_of(request), exc.key, **exc.values)
        if wants_json(request):
            return JSONResponse({"detail": msg}, 403)
        s = getattr(request.state, "panel", None)
        return page(request, "error.html", s, 403, message=msg, back=request.headers.get("referer") and safe_next(
            "/" + request.headers["referer"].split("/", 3)[-1]) or "/panel")

    return app
