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
import hmac
import json
import os
import secrets
import time
from functools import partial
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, or_, select, update
from starlette.concurrency import run_in_threadpool

from gateway.api.routes.printing import get_jobs
from gateway.panel import i18n, users
from gateway.printing import render as zrender
from gateway.printing import templates as T
from gateway.printing.jobs import JobError, declared_missing, label_plan
from gateway.schema import alerts, devices, print_jobs, printers, products, scans, serials
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
