"""Print jobs: list, create with a live preview, start/pause/resume/cancel."""

import os
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from gateway.api.routes.printing import get_jobs
from gateway.panel import i18n, users
from gateway.printing import render as zrender
from gateway.printing import templates as T
from gateway.printing.jobs import JobError, declared_missing, label_plan
from gateway.schema import (
    print_jobs,
    printers,
    products,
)

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import (
    Operator,
    Viewer,
    engine_of,
    lang_of,
    page,
    problems_text,
    require,
    see_other,
)
from gateway.panel.live import job_detail, job_summary, serial_counts

router = APIRouter()

# --- print jobs ----------------------------------------------------------------------------------

JOB_ACTIONS = ("start", "pause", "resume", "cancel")


def _form_choices(engine):
    with engine.connect() as c:
        prods = [dict(r) for r in c.execute(select(products.c.di, products.c.name, products.c.level)
                                            .order_by(products.c.di).limit(2000)).mappings()]
        prns = [dict(r) for r in c.execute(select(printers.c.name, printers.c.dpi).order_by(printers.c.name)).mappings()]
    return prods, prns, T.list_templates()


@router.get("/panel/jobs", include_in_schema=False)
def job_list(request: Request, s=Viewer):
    engine = engine_of(request)
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(select(print_jobs).order_by(print_jobs.c.id.desc()).limit(200)).mappings()]
        counts = serial_counts(c, [r["id"] for r in rows])
    return page(request, "jobs.html", s, jobs=[job_summary(r, counts[r["id"]]) | {"created_at": r["created_at"]} for r in rows])


def _new_job_page(request, s, status_code=200, values=None, problems=None):
    prods, prns, tpls = _form_choices(engine_of(request))
    return page(request, "job_new.html", s, status_code, products=prods, printers=prns, templates=tpls,
                v=values or {"quantity": "100", "template": "udi-item-dm"}, problems=problems or [])


@router.get("/panel/jobs/new", include_in_schema=False)
def job_new(request: Request, s=Viewer):
    require(request, s, "operator")
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
        return _new_job_page(request, s, 422, v, problems_text(e.problems))
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
        return _job_page(request, s, job_id, 409, i18n.t(lang_of(request), "err.job", detail="; ".join(problems_text(e.problems))))
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
        return JSONResponse({"detail": i18n.t(lang, "err.input", detail="; ".join(problems_text(e.problems)))}, 422)
    except T.TemplateError as e:
        probs = getattr(e, "problems", None)
        text = "; ".join(problems_text(probs)) if probs else str(e)
        return JSONResponse({"detail": i18n.t(lang, "err.input", detail=text)}, 422)
    except (OSError, zrender.RenderError) as e:
        return JSONResponse({"detail": i18n.t(lang, "err.input", detail=str(e))}, 422)
    return Response(png, media_type="image/png", headers={"cache-control": "no-store"})
