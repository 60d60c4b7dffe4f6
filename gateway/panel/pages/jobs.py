"""Print jobs: list, create with a live preview, start/pause/resume/cancel."""

import os
from functools import partial
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from gateway.api.routes.printing import get_jobs
from gateway.panel import i18n, users
from gateway.printing import render as zrender
from gateway.printing import template_versions
from gateway.printing import templates as T
from gateway.printing import reprint
from gateway.printing.jobs import FINAL, JobError, declared_missing, label_plan
from gateway.schema import (
    print_jobs,
    printers,
    products,
    serials,
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

i18n.add({
    "zh": {
        "jobl.act": "处理", "jobl.reason": "原因", "jobl.reason.hint": "例如：标签污损、贴歪、扫不出",
        "jobl.destroyed": "坏标签已确认销毁（按原序列号补打）",
        "jobl.destroyed.hint": "不勾选时：原序列号作废，补打的标签使用新序列号。",
        "jobl.void": "作废", "jobl.reprint": "补打", "jobl.filter": "筛选", "jobl.serial": "序列号",
        "jobl.all": "全部状态", "jobl.prev": "上一页", "jobl.next": "下一页",
        "jobl.page": "第 {page} / {pages} 页，共 {total} 张", "jobl.later": "作废和补打单张标签：任务结束后刷新页面即可使用（运行中的任务按打印机计数逐张对账）。",
        "jobl.voided": "序列号 {serial} 已作废，原因已记录；作废的序列号永远不再打印。",
        "jobl.void.hint": "作废：这件产品不再需要标签（例如产品报废）。仍需标签时请用“补打”。",
        "jobl.reprinted_same": "已按原序列号 {serial} 补打（原标签已确认销毁）；打印机计数 +{n}。",
        "jobl.reprinted_new": "原序列号 {old} 已作废，新序列号 {serial} 的标签已打印；打印机计数 +{n}。",
        "jobl.reprinted_retry": "序列号 {serial} 的标签已打印（上次未送到打印机）；打印机计数 +{n}。",
        "jobl.uncounted": "序列号 {serial} 的标签已发送，但打印机在 10 秒内没有计数。请查看是否打出；没有打出时请处理打印机后再补打这张标签。",
        "jobl.err.job_active": "任务 #{job} 当前为“{state}”：只有已结束的任务（已完成、已取消、失败）才能作废或补打单张标签，因为运行中的任务按打印机计数逐张对账。请等任务结束，或先取消任务。",
        "jobl.err.reason_needed": "请填写原因（例如“标签污损”）：作废和补打都会记录谁、为什么。",
        "jobl.err.reason_long": "原因最多 {max} 个字符。",
        "jobl.err.no_label": "这个任务中没有这张标签。请刷新页面后重试。",
        "jobl.err.voided": "序列号 {serial} 已作废：作废的序列号永远不再打印。",
        "jobl.err.no_printer": "任务的打印机 {printer} 已不存在。请管理员重新添加后再补打。",
        "jobl.err.no_serials": "这个任务的标签没有逐张的序列号，无法单张补打。",
        "jobl.err.printer_busy": "打印机 {printer} 正在执行任务 #{job}，补打的标签会打乱该任务的对账。请等该任务结束后再补打。",
        "jobl.err.printer_error": "无法连接打印机 {printer}：{detail}。请检查打印机电源、网线和地址；序列号没有变化。",
        "jobl.err.printer_not_ready": "打印机 {printer} 未就绪（{faults}）。请处理后再补打；序列号没有变化。",
        "jobl.err.no_counter": "打印机 {printer} 不回报标签计数，补打的标签无法对账，因此没有打印；序列号没有变化。",
        "jobl.err.ledger": "序列号台账拒绝：{detail}",
        "jobl.err.render_failed": "序列号 {serial} 的标签无法生成：{detail}。",
        "jobl.err.send_failed": "序列号 {serial} 的标签可能没有送到打印机：{detail}。请查看是否打出；没有打出时请处理打印机后再补打这张标签。",
        "jobr.title": "对账（任务结束时 + 之后的补打）", "jobr.quantity": "订购数量", "jobr.good": "合格标签（已打印 / 已校验）",
        "jobr.failed": "校验失败", "jobr.voided": "作废", "jobr.reprinted": "补打", "jobr.reprinted.detail": "原序列号 {same} 张 · 新序列号 {new} 张",
        "jobr.source": "来源", "jobr.at_end": "任务结束时", "jobr.reprints": "之后补打", "jobr.total": "合计",
        "jobr.counter": "打印机计数", "jobr.ledger": "台账记为已打印",
        "jobr.agrees": "对账一致：打印机计数与台账相符，每件产品都有一张合格标签。",
        "jobr.no_counter": "打印机没有回报计数，无法对账。",
        "jobr.counter_mismatch": "打印机计数 {counter} 与台账 {ledger} 不一致：请核对打印机（是否打出了多余或空白标签）并联系管理员。",
        "jobr.uncounted": "{n} 张补打标签已发送但打印机没有计数：请查看是否打出。",
        "jobr.short": "合格标签 {good} 张，比订购数量 {quantity} 少 {n} 张（作废后没有补打）。",
    },
    "en": {
        "jobl.act": "Act", "jobl.reason": "Reason", "jobl.reason.hint": "e.g. smudged, crooked, does not scan",
        "jobl.destroyed": "The bad label is confirmed destroyed (reprint the same serial)",
        "jobl.destroyed.hint": "Unticked: the serial is voided and the reprint gets a new one.",
        "jobl.void": "Void", "jobl.reprint": "Reprint", "jobl.filter": "Filter", "jobl.serial": "Serial",
        "jobl.all": "All states", "jobl.prev": "Previous", "jobl.next": "Next",
        "jobl.page": "page {page} of {pages}, {total} labels", "jobl.later": "Void and reprint of single labels: reload the page once the job has ended (a running job reconciles label by label against the printer's counter).",
        "jobl.voided": "Serial {serial} voided; the reason is recorded. A voided serial is never printed again.",
        "jobl.void.hint": "Void: this item needs no label any more (e.g. scrapped). If it still needs one, use Reprint.",
        "jobl.reprinted_same": "Reprinted with the same serial {serial} (the bad label confirmed destroyed); printer counter +{n}.",
        "jobl.reprinted_new": "Serial {old} voided; the label with the new serial {serial} is printed; printer counter +{n}.",
        "jobl.reprinted_retry": "The label with serial {serial} is printed (it had not reached the printer before); printer counter +{n}.",
        "jobl.uncounted": "The label with serial {serial} was sent, but the printer did not count it within 10 s. Check whether it came out; if not, fix the printer and reprint this label.",
        "jobl.err.job_active": "Job #{job} is {state}: only an ended job (done, cancelled, failed) has single labels voided or reprinted, because a running job reconciles label by label against the printer's counter. Wait until it ends, or cancel it first.",
        "jobl.err.reason_needed": "Enter a reason (e.g. \"smudged\"): voids and reprints record who and why.",
        "jobl.err.reason_long": "The reason may have {max} characters at most.",
        "jobl.err.no_label": "This job has no such label. Reload the page and try again.",
        "jobl.err.voided": "Serial {serial} is voided: a voided serial is never printed again.",
        "jobl.err.no_printer": "The job's printer {printer} no longer exists. Ask an admin to add it again, then reprint.",
        "jobl.err.no_serials": "This job's labels have no serial of their own; there is nothing to reprint one by one.",
        "jobl.err.printer_busy": "Printer {printer} is running job #{job}; a reprint now would spoil that job's reconciliation. Reprint when it has ended.",
        "jobl.err.printer_error": "Cannot reach printer {printer}: {detail}. Check its power, cable and address; the serial is unchanged.",
        "jobl.err.printer_not_ready": "Printer {printer} is not ready ({faults}). Fix it, then reprint; the serial is unchanged.",
        "jobl.err.no_counter": "Printer {printer} does not report its label counter, so a reprint could not be reconciled; nothing was printed and the serial is unchanged.",
        "jobl.err.ledger": "The serial ledger refused: {detail}",
        "jobl.err.render_failed": "The label of serial {serial} could not be made: {detail}.",
        "jobl.err.send_failed": "The label of serial {serial} may not have reached the printer: {detail}. Check whether it came out; if not, fix the printer and reprint this label.",
        "jobr.title": "Reconciliation (at the end + reprints since)", "jobr.quantity": "Quantity ordered", "jobr.good": "Good labels (printed / verified)",
        "jobr.failed": "Failed the check", "jobr.voided": "Voided", "jobr.reprinted": "Reprinted", "jobr.reprinted.detail": "same serial {same} · new serial {new}",
        "jobr.source": "Source", "jobr.at_end": "At the end", "jobr.reprints": "Reprints since", "jobr.total": "Total",
        "jobr.counter": "Printer counter", "jobr.ledger": "Printed in the ledger",
        "jobr.agrees": "Reconciled: the printer's counter agrees with the ledger, and every item has one good label.",
        "jobr.no_counter": "The printer reported no counter; this job cannot be reconciled.",
        "jobr.counter_mismatch": "The printer counted {counter}, the ledger says {ledger}: check the printer (extra or blank labels?) and call an admin.",
        "jobr.uncounted": "{n} reprinted label(s) were sent but not counted by the printer: check whether they came out.",
        "jobr.short": "{good} good labels, {n} fewer than the {quantity} ordered (voided, not reprinted).",
    },
})

LABEL_STATES = ("allocated", "sent", "printed", "verified", "failed", "voided")
LABELS_PER_PAGE = 100


def label_page(engine, job_id, params):
    """One page of an ended job's labels (?page=, ?state=, ?q= serial) -> (rows, paging)."""
    state = params.get("state") if params.get("state") in LABEL_STATES else ""
    q = (params.get("q") or "").strip()[:64]
    try:
        page_no = max(1, int(params.get("page") or 1))
    except ValueError:
        page_no = 1
    where = [serials.c.job_id == job_id]
    if state:
        where.append(serials.c.state == state)
    if q:
        where.append(serials.c.serial == q)
    with engine.connect() as c:
        total = c.execute(select(func.count()).select_from(serials).where(*where)).scalar()
        pages = max(1, -(-total // LABELS_PER_PAGE))
        page_no = min(page_no, pages)
        rows = [dict(r) for r in c.execute(
            select(serials.c.id, serials.c.label_no, serials.c.serial, serials.c.lot, serials.c.state).where(*where)
            .order_by(serials.c.label_no, serials.c.id).offset((page_no - 1) * LABELS_PER_PAGE).limit(LABELS_PER_PAGE)).mappings()]
    return rows, {"page": page_no, "pages": pages, "total": total, "state": state, "q": q}


def label_notice(params, lang):
    # The result of a void / reprint, carried on the redirect (?msg=…).
    msg, serial = params.get("msg"), (params.get("s") or "")[:64]
    n = params.get("n", "1")[:6]
    if msg == "voided":
        return i18n.t(lang, "jobl.voided", serial=serial)
    if msg in ("reprinted_same", "reprinted_new", "reprinted_retry", "uncounted"):
        return i18n.t(lang, "jobl." + msg, serial=serial, old=(params.get("old") or "")[:64], n=n)
    return None


def _refused_text(lang, e):
    values = dict(e.values)
    if "state" in values:
        values["state"] = i18n.t(lang, "state." + values["state"])
    if "faults" in values:
        values["faults"] = "、".join(i18n.t(lang, "fault." + f) for f in values["faults"]) if lang == "zh" else \
            ", ".join(i18n.t(lang, "fault." + f) for f in values["faults"])
    return i18n.t(lang, "jobl.err." + e.code, **values)


@router.post("/panel/jobs/{job_id}/labels/{serial_id}/{action}", include_in_schema=False)
async def label_action(request: Request, job_id: int, serial_id: int, action: str, s=Operator):
    """Void one label, or reprint it (the ledger's policy), on an ended job."""
    lang = lang_of(request)
    if action not in ("void", "reprint"):
        return page(request, "error.html", s, 404, message=i18n.t(lang, "err.notfound"), back="/panel/jobs/%d" % job_id)
    form = await request.form()
    reason = str(form.get("reason") or "")
    destroyed = form.get("destroyed") in ("1", "on", "yes")
    jobs = get_jobs(request)
    engine = engine_of(request)
    try:
        if action == "void":
            label = await run_in_threadpool(reprint.void_label, jobs, job_id, serial_id, reason, s["user"])
            users.audit(engine, s["user"], "label_void", "job %d label %s serial %s: %s"
                        % (job_id, label["label_no"], label["serial"], reason.strip()))
            return see_other("/panel/jobs/%d?msg=voided&s=%s" % (job_id, quote(label["serial"])))
        res = await run_in_threadpool(partial(reprint.reprint_label, jobs, job_id, serial_id, destroyed, reason, s["user"]))
    except LookupError:
        return page(request, "error.html", s, 404, message=i18n.t(lang, "err.notfound"), back="/panel/jobs")
    except reprint.Refused as e:
        users.audit(engine, s["user"], "label_%s_refused" % action, "job %d serial id %d: %s %s" % (job_id, serial_id, e.code, e.values))
        return await run_in_threadpool(partial(_job_page, request, s, job_id, 409, _refused_text(lang, e)))
    if res["state"] != "printed":
        msg = "uncounted"
    elif res["same"]:
        msg = "reprinted_retry" if res["retry"] else "reprinted_same"
    else:
        msg = "reprinted_new"
    users.audit(engine, s["user"], "label_reprint", "job %d: %s -> %s (%s, %s), printer counter +%d: %s"
                % (job_id, res["old_serial"], res["serial"], "same serial, destroyed" if res["same"] else "new serial",
                   res["state"], res["counted"], reason.strip()))
    return see_other("/panel/jobs/%d?msg=%s&s=%s&old=%s&n=%d" % (job_id, msg, quote(res["serial"]), quote(res["old_serial"]), res["counted"]))


# --- print jobs ----------------------------------------------------------------------------------

JOB_ACTIONS = ("start", "pause", "resume", "cancel")


def _form_choices(engine):
    with engine.connect() as c:
        prods = [dict(r) for r in c.execute(select(products.c.di, products.c.name, products.c.level)
                                            .order_by(products.c.di).limit(2000)).mappings()]
        prns = [dict(r) for r in c.execute(select(printers.c.name, printers.c.dpi).order_by(printers.c.name)).mappings()]
    # Each template as the version a job made now records (.version, .source),
    # so the operator sees which one the labels will be printed from.
    return prods, prns, [template_versions.current(engine, t.name) for t in T.list_templates()]


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
    else:
        notice = label_notice(request.query_params, lang)
    ended = detail["state"] in FINAL
    if not ended:
        return page(request, "job.html", s, status_code, job=detail, notice=notice, error=error, ended=False)
    # An ended job changes only through its labels' void / reprint: a page without the live stream,
    # every label reachable (paged), and the reconciliation with the reprints after the end.
    jobs = get_jobs(request)
    labels, paging = label_page(engine_of(request), job_id, request.query_params)
    rec = reprint.reconciliation(jobs, jobs.get(job_id))
    return page(request, "job.html", s, status_code, job=detail, notice=notice, error=error, ended=True,
                labels=labels, paging=paging, rec=rec, rec_problems=[(code, i18n.t(lang, "jobr." + code, **v)) for code, v in rec["problems"]],
                label_states=LABEL_STATES)


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
    tpl = template_versions.current(jobs.engine, v["template"])  # the version a job made now records
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
