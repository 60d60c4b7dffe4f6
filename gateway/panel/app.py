"""mount_panel(app): the operator panel on the gateway's FastAPI app.

Pages are rendered on the server from the same store, print jobs and device
registry the JSON API uses (app.state); panel.js only adds the live parts
(an EventSource on /panel/events, the label preview).  No third-party
assets: the panel works on a plant network without internet.

Security: a session cookie (HttpOnly, SameSite=Strict, Secure over https),
a CSRF token checked on every POST, roles viewer < operator < admin, an
audit row for every change, and strict security headers on every panel
response (no inline script or style, so CSP can be default-src 'self')."""

import asyncio
import contextlib
import hmac
import io
import json
import os
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import case, func, or_, select, update
from starlette.concurrency import run_in_threadpool

from gateway.api.routes.printing import get_jobs
from gateway.panel import i18n, users
from gateway.printing import render as zrender
from gateway.printing import templates as T
from gateway.printing.jobs import JobError, declared_missing, label_plan
from gateway.printing.status import poll as poll_status
from gateway.printing.transports import PrinterError, open_printer
from gateway.quality import grade as qgrade
from gateway.schema import (
    alerts,
    devices,
    label_checks,
    print_jobs,
    printers,
    products,
    scans,
    serials,
)
from gateway.trace import messages as trace_messages
from udi_codes import messages as code_messages

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

templates = Jinja2Templates(directory=os.path.join(HERE, "templates"))


# --- live snapshot (dashboard and job page) ---------------------------------------------

LABEL_ROWS = 500  # labels shown on a job page; a bigger job shows its first ones and the totals

OPEN_STATES = ("created", "running", "held", "paused", "cancelling")


def _serial_counts(c, ids):
    out = {i: {} for i in ids}
    if ids:
        q = (select(serials.c.job_id, serials.c.state, func.count()).where(serials.c.job_id.in_(ids))
             .group_by(serials.c.job_id, serials.c.state))
        for job_id, state, n in c.execute(q):
            out[job_id][state] = n
    return out


def job_summary(row, counts):
    # What a person wants to see of a job: how far it is, and whether it adds up.
    verified = counts.get("verified", 0)
    printed = counts.get("printed", 0) + verified  # a verified label was printed first
    rec = row.get("reconciliation") or {}
    return {"id": row["id"], "di": row["di"], "printer": row["printer"], "template": row["template"],
            "lot": row["lot"], "state": row["state"], "reason": row["reason"], "quantity": row["quantity"],
            "printed": printed, "verified": verified, "failed": counts.get("failed", 0) + (row.get("rejected") or 0),
            "voided": counts.get("voided", 0), "sent": counts.get("sent", 0),
            "agrees": rec.get("agrees") if rec else None,
            "printer_counter": rec.get("printer_counter") if rec else None}


def snapshot(engine, recent=5):
    with engine.connect() as c:
        open_rows = [dict(r) for r in c.execute(select(print_jobs).where(print_jobs.c.state.in_(OPEN_STATES))
                                                 .order_by(print_jobs.c.id.desc()).limit(20)).mappings()]
        done_rows = [dict(r) for r in c.execute(select(print_jobs).where(print_jobs.c.state.not_in(OPEN_STATES))
                                                 .order_by(print_jobs.c.id.desc()).limit(recent)).mappings()]
        rows = sorted(open_rows + done_rows, key=lambda r: -r["id"])
        counts = _serial_counts(c, [r["id"] for r in rows])
        prns = [dict(r) for r in c.execute(select(printers.c.name, printers.c.dpi, printers.c.state)
                                           .order_by(printers.c.name)).mappings()]
        online = c.execute(select(func.count()).select_from(devices).where(devices.c.state == "online")).scalar()
        total = c.execute(select(func.count()).select_from(devices)).scalar()
        open_alerts = c.execute(select(func.count()).select_from(alerts).where(alerts.c.acknowledged.is_(False))).scalar()
    jobs = [job_summary(r, counts[r["id"]]) for r in rows]
    return {"jobs": jobs, "printers": [printer_state(p, open_rows) for p in prns],
            "handhelds": {"online": online, "total": total}, "alerts": open_alerts}


def printer_state(prn, open_rows):
    # The printer as the jobs see it (a held job names the fault), else its
    # last stored reading; polling every printer every second would slow the line.
    job = next((j for j in open_rows if j["printer"] == prn["name"] and j["state"] in ("running", "held", "paused")), None)
    stored = prn.get("state") or {}
    faults = list(stored.get("faults") or []) if isinstance(stored, dict) else []
    if job is not None:
        state = job["state"]
        reason = job["reason"]
    else:
        state, reason = "idle", ", ".join(faults) or None
    return {"name": prn["name"], "dpi": prn["dpi"], "state": state, "reason": reason,
            "job": job["id"] if job else None}


def job_detail(engine, jobs, job_id):
    """A job with its labels (the first LABEL_ROWS), or None."""
    job = jobs.get(job_id)
    if job is None:
        return None
    with engine.connect() as c:
        counts = _serial_counts(c, [job_id])[job_id]
        labels = [dict(r) for r in c.execute(
            select(serials.c.id, serials.c.label_no, serials.c.serial, serials.c.lot, serials.c.state)
            .where(serials.c.job_id == job_id).order_by(serials.c.label_no, serials.c.id).limit(LABEL_ROWS)).mappings()]
    out = job_summary(job, counts)
    out.update(production_date=job["production_date"], expiry=job["expiry"], created_by=job["created_by"],
               created_at=job["created_at"], reconciliation=job["reconciliation"], labels=labels,
               labels_total=sum(counts.values()))
    return out


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
               js_strings=json.dumps(i18n.client_strings(lang), ensure_ascii=False))
    resp = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    resp.headers["cache-control"] = "no-store"
    return resp


def see_other(url):
    return RedirectResponse(url, status_code=303)


router = APIRouter()


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
    result, info = await run_in_threadpool(users.authenticate, engine, name, password)
    if result == "ok":
        token, _ = users.new_session(engine, info["name"])
        users.audit(engine, info["name"], "signin", request.client.host if request.client else None)
        resp = see_other(safe_next(form.get("next")))
        resp.set_cookie(SESSION_COOKIE, token, max_age=users.SESSION_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
        resp.delete_cookie(PRE_COOKIE, path="/panel/login")
        return resp
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


# --- dashboard and live events ---------------------------------------------------------------

@router.get("/panel", include_in_schema=False)
def dashboard(request: Request, s=Viewer):
    return page(request, "dashboard.html", s, snap=snapshot(engine_of(request)))


@router.get("/panel/events", include_in_schema=False)
async def events(request: Request, s=Viewer, job: int | None = None, once: bool = False):
    """Server-sent events: the snapshot (and one job's detail with ?job=) as
    JSON whenever it changes, a comment every 15 s to keep proxies open."""
    engine, jobs = engine_of(request), get_jobs(request)

    def read():
        snap = snapshot(engine)
        if job is not None:
            snap["job"] = job_detail(engine, jobs, job)
        return json.dumps(snap, sort_keys=True, ensure_ascii=False)

    async def stream():
        last, quiet = None, 0.0
        yield "retry: 2000\n\n"
        while not getattr(request.app.state, "panel_closing", False):
            data = await run_in_threadpool(read)
            if data != last:
                yield "data: %s\n\n" % data
                last, quiet = data, 0.0
            elif quiet >= KEEPALIVE_S:
                yield ": keepalive\n\n"
                quiet = 0.0
            if once or await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_POLL_S)
            quiet += EVENT_POLL_S

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


# --- handhelds -----------------------------------------------------------------------------------

@router.get("/panel/handhelds", include_in_schema=False)
def handhelds(request: Request, s=Viewer):
    rows = request.app.state.registry.list(limit=1000)
    return page(request, "handhelds.html", s, devices=rows)


# --- scans ---------------------------------------------------------------------------------------

VERDICTS = ("good", "bad")


@router.get("/panel/scans", include_in_schema=False)
def scan_list(request: Request, s=Viewer, code: str = "", dev: str = "", verdict: str = "", before: int | None = None):
    code, dev = code.strip()[:128], dev.strip()[:64]
    q = select(scans.c.id, scans.c.dev, scans.c.raw, scans.c.di, scans.c.lot, scans.c.serial, scans.c.scheme,
               scans.c.verdict, scans.c.received_at).order_by(scans.c.id.desc()).limit(101)
    if code:
        c = scans.c
        q = q.where(or_(c.raw == code, c.di == code, c.item == code, c.lot == code, c.serial == code))
    if dev:
        q = q.where(scans.c.dev == dev)
    if verdict in VERDICTS:
        q = q.where(scans.c.verdict == verdict)
    if before:
        q = q.where(scans.c.id < before)
    with engine_of(request).connect() as c:
        rows = [dict(r) for r in c.execute(q).mappings()]
        devs = [r[0] for r in c.execute(select(devices.c.dev).order_by(devices.c.dev).limit(500))]
    more = rows[100]["id"] + 1 if len(rows) > 100 else None
    return page(request, "scans.html", s, scans=rows[:100], devs=devs, code=code, dev=dev, verdict=verdict,
                verdicts=VERDICTS, more=more)


@router.get("/panel/scans/{scan_id}", include_in_schema=False)
def scan_detail(request: Request, scan_id: int, s=Viewer):
    with engine_of(request).connect() as c:
        row = c.execute(select(scans).where(scans.c.id == scan_id)).mappings().first()
    if row is None:
        return page(request, "error.html", s, 404, message=i18n.t(lang_of(request), "err.notfound"), back="/panel/scans")
    lang = lang_of(request)
    res = row["result"] or {}
    # Errors in plain words: the code engine's and the traceability rules' own catalogues.
    errors = [code_messages.describe(e, lang) for e in res.get("errors") or ()]
    warnings = [code_messages.describe(e, lang) for e in res.get("warnings") or ()]
    trace = [{"text": trace_messages.describe(f.get("code"), lang), "bad": f.get("bad")} for f in res.get("trace") or ()]
    return page(request, "scan.html", s, scan=dict(row), res=res, errors=errors, warnings=warnings, trace=trace)


# --- print jobs ----------------------------------------------------------------------------------

JOB_ACTIONS = ("start", "pause", "resume", "cancel")


def _form_choices(engine):
    with engine.connect() as c:
        prods = [dict(r) for r in c.execute(select(products.c.di, products.c.name, products.c.level)
                                            .order_by(products.c.di).limit(2000)).mappings()]
        prns = [dict(r) for r in c.execute(select(printers.c.name, printers.c.dpi).order_by(printers.c.name)).mappings()]
    return prods, prns, T.list_templates()


def _problems_text(problems):
    return ["%s: %s" % (p.get("field") or "-", p["message"]) for p in problems]


@router.get("/panel/jobs", include_in_schema=False)
def job_list(request: Request, s=Viewer):
    engine = engine_of(request)
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(select(print_jobs).order_by(print_jobs.c.id.desc()).limit(200)).mappings()]
        counts = _serial_counts(c, [r["id"] for r in rows])
    return page(request, "jobs.html", s, jobs=[job_summary(r, counts[r["id"]]) | {"created_at": r["created_at"]} for r in rows])


def _new_job_page(request, s, status_code=200, values=None, problems=None):
    prods, prns, tpls = _form_choices(engine_of(request))
    return page(request, "job_new.html", s, status_code, products=prods, printers=prns, templates=tpls,
                v=values or {"quantity": "100", "template": "udi-item-dm"}, problems=problems or [])


@router.get("/panel/jobs/new", include_in_schema=False)
def job_new(request: Request, s=Viewer):
    if not users.allowed(s["role"], "operator"):
        lang = lang_of(request)
        raise Refused("err.forbidden", role=i18n.t(lang, "role." + s["role"]), needed=i18n.t(lang, "role.operator"))
    return _new_job_page(request, s)


JOB_FIELDS = ("di", "template", "printer", "quantity", "lot", "production_date", "expiry")


@router.post("/panel/jobs", include_in_schema=False)
async def job_create(request: Request, s=Operator):
    form = await request.form()
    v = {k: str(form.get(k) or "").strip()[:64] for k in JOB_FIELDS}
    try:
        qty = int(v["quantity"])
    except ValueError:
        return _new_job_page(request, s, 422, v, ["quantity: " + i18n.t(lang_of(request), "err.input", detail="1-1000000")])
    jobs = get_jobs(request)
    try:
        job = await run_in_threadpool(partial(jobs.create, v["di"], v["template"], v["printer"], qty, v["lot"] or None,
                                              v["production_date"] or None, v["expiry"] or None, {}, actor=s["user"]))
    except JobError as e:
        return _new_job_page(request, s, 422, v, _problems_text(e.problems))
    users.audit(engine_of(request), s["user"], "job_create", "job %d: %d × %s on %s, DI %s lot %s"
                % (job["id"], qty, v["template"], v["printer"], v["di"], v["lot"] or "-"))
    return see_other("/panel/jobs/%d?msg=created" % job["id"])


def _job_page(request, s, job_id, status_code=200, error=None):
    detail = job_detail(engine_of(request), get_jobs(request), job_id)
    if detail is None:
        return page(request, "error.html", s, 404, message=i18n.t(lang_of(request), "err.notfound"), back="/panel/jobs")
    msg = request.query_params.get("msg")
    lang = lang_of(request)
    notice = None
    if msg == "created":
        notice = i18n.t(lang, "job.created", id=job_id)
    elif msg in JOB_ACTIONS:
        notice = i18n.t(lang, "job.done_action", action=i18n.t(lang, "job." + msg))
    return page(request, "job.html", s, status_code, job=detail, notice=notice, error=error)


@router.get("/panel/jobs/{job_id}", include_in_schema=False)
def job_page(request: Request, job_id: int, s=Viewer):
    return _job_page(request, s, job_id)


@router.post("/panel/jobs/{job_id}/{action}", include_in_schema=False)
async def job_action(request: Request, job_id: int, action: str, s=Operator):
    if action not in JOB_ACTIONS:
        return page(request, "error.html", s, 404, message=i18n.t(lang_of(request), "err.notfound"), back="/panel/jobs")
    jobs = get_jobs(request)
    try:
        await run_in_threadpool(partial(getattr(jobs, action), job_id, actor=s["user"]))
    except LookupError:
        return page(request, "error.html", s, 404, message=i18n.t(lang_of(request), "err.notfound"), back="/panel/jobs")
    except JobError as e:
        return _job_page(request, s, job_id, 409, i18n.t(lang_of(request), "err.job", detail="; ".join(_problems_text(e.problems))))
    users.audit(engine_of(request), s["user"], "job_" + action, "job %d" % job_id)
    return see_other("/panel/jobs/%d?msg=%s" % (job_id, action))


@router.get("/panel/api/jobs/{job_id}", include_in_schema=False)
def job_json(request: Request, job_id: int, s=Viewer):
    detail = job_detail(engine_of(request), get_jobs(request), job_id)
    if detail is None:
        return JSONResponse({"detail": i18n.t(lang_of(request), "err.notfound")}, 404)
    return detail


def preview_png(jobs, v):
    """The first label of the job the form describes, as PNG: the same plan
    (master record, template, printer dpi) the job will print, with a sample
    serial.  -> bytes, or raises JobError / TemplateError."""
    tpl = T.load(v["template"])
    prn = jobs.printer(v["printer"]) if v.get("printer") else None
    dpi = prn["dpi"] if prn else 300
    with jobs.engine.connect() as c:
        r = c.execute(select(products).where(products.c.di == v["di"])).mappings().first()
    product = dict(r) if r else None
    job = {"di": v["di"], "lot": v.get("lot") or None, "production_date": v.get("production_date") or None,
           "expiry": v.get("expiry") or None, "fields": {}}
    missing = declared_missing(product, job)
    if missing:
        raise JobError(missing)
    fields, unique = label_plan(product, job, tpl)
    if unique is not None:
        name, kind = unique
        fields[name] = {"serial": "SAMPLE1", "drug20": "81234567890123456789", "sscc": "000000000000000000"}[kind]
    zpl = tpl.render(fields, dpi)
    return zrender.png(zpl, dpi, tpl.width_mm, tpl.height_mm)[0]


@router.post("/panel/api/preview", include_in_schema=False)
async def preview(request: Request, s=Operator):
    try:
        body = await request.json()
    except ValueError:
        body = None
    lang = lang_of(request)
    if not isinstance(body, dict):
        return JSONResponse({"detail": i18n.t(lang, "err.input", detail="JSON")}, 422)
    v = {k: str(body.get(k) or "").strip()[:64] for k in JOB_FIELDS}
    try:
        png = await run_in_threadpool(preview_png, get_jobs(request), v)
    except JobError as e:
        return JSONResponse({"detail": i18n.t(lang, "err.input", detail="; ".join(_problems_text(e.problems)))}, 422)
    except T.TemplateError as e:
        probs = getattr(e, "problems", None)
        text = "; ".join(_problems_text(probs)) if probs else str(e)
        return JSONResponse({"detail": i18n.t(lang, "err.input", detail=text)}, 422)
    except (OSError, zrender.RenderError) as e:
        return JSONResponse({"detail": i18n.t(lang, "err.input", detail=str(e))}, 422)
    return Response(png, media_type="image/png", headers={"cache-control": "no-store"})


# --- alerts ----------------------------------------------------------------------------------

@router.get("/panel/alerts", include_in_schema=False)
def alert_list(request: Request, s=Viewer, show: str = "open"):
    q = select(alerts).order_by(alerts.c.id.desc()).limit(300)
    if show != "all":
        q = q.where(alerts.c.acknowledged.is_(False))
    with engine_of(request).connect() as c:
        rows = [dict(r) for r in c.execute(q).mappings()]
    lang = lang_of(request)
    for r in rows:
        r["text"] = trace_messages.describe(r["kind"], lang)
    done = request.query_params.get("acked")
    notice = i18n.t(lang, "alerts.done", id=done) if done and done.isdigit() else None
    return page(request, "alerts.html", s, alerts=rows, show=show, notice=notice)


@router.post("/panel/alerts/{alert_id}/ack", include_in_schema=False)
def alert_ack(request: Request, alert_id: int, s=Operator):
    engine = engine_of(request)
    with engine.begin() as c:
        n = c.execute(update(alerts).where(alerts.c.id == alert_id).values(acknowledged=True)).rowcount
        if n:
            users.audit(c, s["user"], "alert_ack", "alert %d" % alert_id)
    if not n:
        return page(request, "error.html", s, 404, message=i18n.t(lang_of(request), "err.notfound"), back="/panel/alerts")
    return see_other("/panel/alerts?acked=%d" % alert_id)


# --- printers ------------------------------------------------------------------------------------

POLL_TIMEOUT_S = 1.0  # each printer is asked for its status when the page loads, at most this long
TEST_ZPL = b"^XA^FO50,50^A0N,40,40^FDUDI Edge test^FS^XZ"
DPIS = (203, 300, 600)
URI_SCHEMES = ("tcp", "usb", "serial", "cups")
BUSY_STATES = ("running", "paused", "held", "cancelling")


def _open(jobs, uri, timeout):
    opener = getattr(jobs, "opener", None) or open_printer
    return opener(uri, timeout=timeout) if opener is open_printer else opener(uri)


def poll_printer(jobs, uri, timeout=POLL_TIMEOUT_S):
    """One status poll -> PrinterState.as_dict(); an error opening it counts as unreachable."""
    try:
        prn = _open(jobs, uri, timeout)
    except (PrinterError, OSError) as e:
        return {"ready": False, "faults": ["unreachable"], "warnings": [], "error": str(e)}
    try:
        return poll_status(prn, timeout=timeout).as_dict()
    except (PrinterError, OSError, ValueError) as e:  # a reply nobody expected must not break the page
        return {"ready": False, "faults": ["status_unreadable"], "warnings": [], "error": str(e)}
    finally:
        _close(prn)


def _close(prn):
    with contextlib.suppress(PrinterError, OSError):
        prn.close()


def printer_rows(engine, jobs):
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(select(printers).order_by(printers.c.name)).mappings()]
        busy = {r[0]: r[1] for r in c.execute(select(print_jobs.c.printer, print_jobs.c.id)
                                                .where(print_jobs.c.state.in_(BUSY_STATES)))}
    if rows:
        with ThreadPoolExecutor(max_workers=min(8, len(rows))) as pool:
            states = list(pool.map(lambda r: poll_printer(jobs, r["uri"]), rows))
    else:
        states = []
    for r, st in zip(rows, states):
        r["live"] = st
        r["job"] = busy.get(r["name"])
        r["model"] = (r.get("info") or {}).get("model") if isinstance(r.get("info"), dict) else None
    return rows


def check_printer_form(form, lang):
    """The add / change form -> (values, problems in words)."""
    v = {k: str(form.get(k) or "").strip()[:256] for k in ("name", "uri", "dpi", "ips")}
    v["name"] = v["name"][:64]
    problems = []
    if not v["name"] or not all(ch.isalnum() or ch in "-_." for ch in v["name"]):
        problems.append(i18n.t(lang, "prn.err.name"))
    scheme, _, rest = v["uri"].partition(":")
    if scheme.lower() not in URI_SCHEMES or not rest.strip("/"):
        problems.append(i18n.t(lang, "prn.err.uri"))
    else:
        try:  # a tcp URI needs a host (and a numeric port); nothing is opened here
            if scheme.lower() == "tcp":
                parts = urlsplit(v["uri"])
                if not parts.hostname or (parts.port is not None and not 0 < parts.port < 65536):
                    raise ValueError
        except ValueError:
            problems.append(i18n.t(lang, "prn.err.uri"))
    dpi = int(v["dpi"]) if v["dpi"].isdigit() else None
    if dpi not in DPIS:
        problems.append(i18n.t(lang, "prn.err.dpi"))
    try:
        ips = float(v["ips"])
        if not 1 <= ips <= 14:
            raise ValueError
    except ValueError:
        ips = None
        problems.append(i18n.t(lang, "prn.err.ips"))
    return v, dpi, ips, problems


def _printers_page(request, s, status_code=200, values=None, problems=None, notice=None, error=None):
    jobs = get_jobs(request)
    rows = printer_rows(engine_of(request), jobs)
    edit = request.query_params.get("edit")
    if values is None:
        cur = next((r for r in rows if r["name"] == edit), None)
        values = ({"name": cur["name"], "uri": cur["uri"], "dpi": str(cur["dpi"]), "ips": "%g" % cur["ips"]}
                  if cur else {"name": "", "uri": "tcp://", "dpi": "300", "ips": "6"})
    return page(request, "printers.html", s, status_code, printers=rows, v=values, problems=problems or [],
                dpis=DPIS, notice=notice, error=error, editing=bool(values.get("name")) and
                any(r["name"] == values["name"] for r in rows))


@router.get("/panel/printers", include_in_schema=False)
async def printer_list(request: Request, s=Viewer):
    lang = lang_of(request)
    msg, name = request.query_params.get("msg"), request.query_params.get("p", "")[:64]
    notice = {"added": "prn.added", "changed": "prn.changed", "test": "prn.test_sent"}.get(msg)
    notice = i18n.t(lang, notice, name=name) if notice else None
    return await run_in_threadpool(_printers_page, request, s, notice=notice)


@router.post("/panel/printers", include_in_schema=False)
async def printer_save(request: Request, s=Admin):
    form = await request.form()
    lang = lang_of(request)
    v, dpi, ips, problems = check_printer_form(form, lang)
    if problems:
        return await run_in_threadpool(partial(_printers_page, request, s, 422, v, problems))
    jobs = get_jobs(request)
    existed = await run_in_threadpool(jobs.printer, v["name"])
    try:
        await run_in_threadpool(jobs.add_printer, v["name"], v["uri"], dpi, ips)
    except JobError as e:
        return await run_in_threadpool(partial(_printers_page, request, s, 422, v, _problems_text(e.problems)))
    action = "printer_change" if existed else "printer_add"
    users.audit(engine_of(request), s["user"], action, "%s: %s, %d dpi, %g ips" % (v["name"], v["uri"], dpi, ips))
    return see_other("/panel/printers?msg=%s&p=%s" % ("changed" if existed else "added", quote(v["name"])))


def send_test_label(jobs, uri):
    prn = _open(jobs, uri, 5.0)
    try:
        prn.send(TEST_ZPL)
    finally:
        _close(prn)


@router.post("/panel/printers/{name}/test", include_in_schema=False)
async def printer_test(request: Request, name: str, s=Operator):
    lang = lang_of(request)
    jobs = get_jobs(request)
    prn = await run_in_threadpool(jobs.printer, name)
    if prn is None:
        return page(request, "error.html", s, 404, message=i18n.t(lang, "err.notfound"), back="/panel/printers")
    with engine_of(request).connect() as c:
        busy = c.execute(select(print_jobs.c.id).where(print_jobs.c.printer == name,
                                                        print_jobs.c.state.in_(BUSY_STATES))).first()
    if busy is not None:
        # A test label in the middle of a job would spoil its reconciliation with the printer's counter.
        return await run_in_threadpool(partial(_printers_page, request, s, 409,
                                               error=i18n.t(lang, "prn.test_busy", name=name, job=busy[0])))
    try:
        await run_in_threadpool(send_test_label, jobs, prn["uri"])
    except (PrinterError, OSError) as e:
        users.audit(engine_of(request), s["user"], "printer_test_failed", "%s: %s" % (name, e))
        return await run_in_threadpool(partial(_printers_page, request, s, 502,
                                               error=i18n.t(lang, "prn.test_failed", name=name, detail=str(e))))
    users.audit(engine_of(request), s["user"], "printer_test", "%s: one test label to %s" % (name, prn["uri"]))
    return see_other("/panel/printers?msg=test&p=%s" % quote(name))


# --- label quality ---------------------------------------------------------------------------------

QUALITY_ROWS = 300
THUMB_PX = 160
REASONS = (  # LineVerifier's reasons (gateway.quality.line) -> words in the panel's language
    (re.compile(r"^no symbol could be decoded$"), "q.why.nodecode"),
    (re.compile(r"^data does not match what was sent$"), "q.why.mismatch"),
    (re.compile(r"^decoded data is not a valid code: ?(?P<detail>.*)$"), "q.why.invalid"),
    (re.compile(r"^grade (?P<grade>[\d.]+) below (?P<min>[\d.]+)$"), "q.why.grade"),
)


def reason_words(reason, lang):
    if not reason:
        return ""
    for rx, key in REASONS:
        m = rx.match(reason)
        if m:
            return i18n.t(lang, key, **m.groupdict())
    return reason


def grade_letter(grade):
    return None if grade is None else qgrade.letter(grade)


def _summary_rows(c, job):
    q = (select(label_checks.c.job_id, func.count(), func.sum(case((label_checks.c.passed.is_(True), 1), else_=0)),
                func.avg(label_checks.c.grade), func.min(label_checks.c.at), print_jobs.c.printer)
         .select_from(label_checks.outerjoin(print_jobs, print_jobs.c.id == label_checks.c.job_id))
         .group_by(label_checks.c.job_id, print_jobs.c.printer))
    if job is not None:
        q = q.where(label_checks.c.job_id == job)
    out = []
    for job_id, n, ok, mean, first, printer in c.execute(q):
        ok = int(ok or 0)
        out.append({"job": job_id, "checked": n, "passed": ok, "failed": n - ok,
                    "mean": None if mean is None else round(float(mean), 2),
                    "letter": grade_letter(mean), "first": first, "printer": printer or "-"})
    return out


def trend_chart(points, w=320, h=90, pad=14):
    """Mean grade (0-4) per job in time order -> an inline SVG's points and labels (drawn on the server)."""
    pts = [p for p in points if p["mean"] is not None]
    if not pts:
        return None
    step = (w - 2 * pad) / max(1, len(pts) - 1)
    xy = []
    for i, p in enumerate(pts):
        x = pad + (i * step if len(pts) > 1 else (w - 2 * pad) / 2)
        y = pad + (h - 2 * pad) * (1 - max(0.0, min(4.0, p["mean"])) / 4.0)
        xy.append({"x": round(x, 1), "y": round(y, 1), "job": p["job"], "mean": p["mean"], "letter": p["letter"]})
    grid = [{"y": round(pad + (h - 2 * pad) * (1 - g / 4.0), 1), "g": g} for g in (1, 2, 3, 4)]
    return {"w": w, "h": h, "points": xy, "line": " ".join("%s,%s" % (p["x"], p["y"]) for p in xy), "grid": grid}


def quality_data(engine, job, lang):
    lc = label_checks
    q = (select(lc.c.id, lc.c.job_id, lc.c.serial_id, lc.c.decoded, lc.c.match, lc.c.valid, lc.c.grade, lc.c.notation,
                lc.c.passed, lc.c.reason, lc.c.image, lc.c.at, serials.c.serial, serials.c.label_no)
         .select_from(lc.outerjoin(serials, serials.c.id == lc.c.serial_id))
         .order_by(lc.c.passed.asc(), lc.c.at.desc(), lc.c.id.desc()).limit(QUALITY_ROWS))
    if job is not None:
        q = q.where(lc.c.job_id == job)
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(q).mappings()]
        summary = _summary_rows(c, job)
        everything = summary if job is None else _summary_rows(c, None)
    for r in rows:
        r["letter"] = grade_letter(r["grade"])
        r["why"] = reason_words(r["reason"], lang)
        r["has_image"] = bool(r["image"])
    summary.sort(key=lambda s: -(s["job"] or 0))
    trends = {}
    for srow in sorted(everything, key=lambda s: (s["first"] or 0, s["job"] or 0)):
        trends.setdefault(srow["printer"], []).append(srow)
    charts = [{"printer": p, "jobs": js, "chart": trend_chart(js)} for p, js in sorted(trends.items())]
    return rows, summary, charts


@router.get("/panel/quality", include_in_schema=False)
def quality_page(request: Request, s=Viewer, job: int | None = None):
    lang = lang_of(request)
    rows, summary, charts = quality_data(engine_of(request), job, lang)
    return page(request, "quality.html", s, checks=rows, summary=summary, charts=charts, job=job,
                more=len(rows) >= QUALITY_ROWS)


def image_png(path, thumb):
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.mode not in ("1", "L", "RGB", "RGBA"):
            im = im.convert("RGB")
        if thumb:
            im.thumbnail((THUMB_PX * 2, THUMB_PX * 2))
        buf = io.BytesIO()
        im.save(buf, "PNG")
    return buf.getvalue()


@router.get("/panel/quality/image/{check_id}", include_in_schema=False)
async def quality_image(request: Request, check_id: int, s=Viewer, thumb: bool = False):
    """The image of one label check, by the check's id: only a file a label_checks
    row names is ever read; no path comes from the request."""
    with engine_of(request).connect() as c:
        path = c.execute(select(label_checks.c.image).where(label_checks.c.id == check_id)).scalar()
    if not path or not os.path.isfile(path):
        return Response(status_code=404, headers={"cache-control": "no-store"})
    try:
        data = await run_in_threadpool(image_png, path, thumb)
    except (OSError, ValueError):
        return Response(status_code=404, headers={"cache-control": "no-store"})
    return Response(data, media_type="image/png", headers={"cache-control": "private, max-age=300"})


# --- audit log (admin) -----------------------------------------------------------------------------

@router.get("/panel/audit", include_in_schema=False)
def audit_page(request: Request, s=Viewer):
    if not users.allowed(s["role"], "admin"):
        lang = lang_of(request)
        raise Refused("err.forbidden", role=i18n.t(lang, "role." + s["role"]), needed=i18n.t(lang, "role.admin"))
    return page(request, "audit.html", s, rows=users.recent_audit(engine_of(request)))


# --- mounting ------------------------------------------------------------------------------------

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
    app.include_router(router)
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
