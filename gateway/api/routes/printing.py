"""Label printing: printers (with live status), templates (with preview),
print jobs (create, start, pause, resume, cancel, labels), serial pools and
issuer lists, and the reprint / void policy (docs/printing.md)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import Response
from sqlalchemy import select

from gateway.api.auth import Admin, Operator, require_reader
from gateway.api.deps import EngineDep, not_found, unprocessable
from gateway.api.models import (
    LabelCheckOut, ListImportIn, ListImportOut, PoolIn, PoolOut, PreviewIn, PrinterStateOut, PrinterIn, PrinterOut, PrintJobIn, PrintJobOut, ReprintIn, SerialOut,
    TemplateOut, VoidIn,
)
from gateway.printing import render, template_versions, templates
from gateway.printing import status as printer_status
from gateway.printing.jobs import JobError, PrintJobs
from gateway.printing.ledger import LedgerError
from gateway.printing.transports import PrinterError
from gateway.schema import label_checks, print_jobs, printers, serials

router = APIRouter(tags=["printing"], dependencies=[Depends(require_reader)])

Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def get_jobs(request: Request) -> PrintJobs:
    j = getattr(request.app.state, "print_jobs", None)
    if j is None:
        j = request.app.state.print_jobs = PrintJobs(request.app.state.store.engine)
    return j


JobsDep = Annotated[PrintJobs, Depends(get_jobs)]


def job_problems(e):
    # A JobError as a 422 naming each field and rule.
    return unprocessable(["body"], "; ".join("%s (%s): %s" % (p.get("field") or "-", p["rule"], p["message"]) for p in e.problems))


# --- printers ------------------------------------------------------------------------------

@router.get("/printers", response_model=list[PrinterOut])
def list_printers(engine: EngineDep):
    with engine.connect() as c:
        return [dict(r) for r in c.execute(select(printers).order_by(printers.c.name)).mappings()]


@router.put("/printers/{name}", response_model=PrinterOut)
def put_printer(jobs: JobsDep, _: Admin, name: Name, body: PrinterIn):
    """Add or change a printer (admin)."""
    jobs.add_printer(name, body.uri, body.dpi, body.ips)
    return jobs.printer(name)


@router.get("/printers/{name}/status", response_model=PrinterStateOut)
def printer_state(jobs: JobsDep, name: Name):
    """Ask the printer now (~HQES, ~HS): ready, faults, buffer."""
    prn = jobs.printer(name)
    if prn is None:
        raise not_found("no printer named %s" % name)
    try:
        p = jobs.opener(prn["uri"])
    except PrinterError as e:
        return {"ready": False, "faults": ["unreachable"], "error": str(e)}
    try:
        return printer_status.poll(p, timeout=2.0).as_dict()
    finally:
        p.close()


# --- templates -----------------------------------------------------------------------------

def template_out(t):
    return {"name": t.name, "title": t.title, "symbology": t.symbology, "dpis": list(t.dpis),
            "width_mm": t.width_mm, "height_mm": t.height_mm, "fields": t.fields, "version": t.version}


@router.get("/templates", response_model=list[TemplateOut])
def list_templates(engine: EngineDep):
    """Every template in the version new jobs use (changes saved in the panel included)."""
    return [template_out(template_versions.current(engine, t.name)) for t in templates.list_templates()]


@router.post("/templates/{name}/preview", responses={200: {"content": {"image/png": {}}}})
def preview(engine: EngineDep, name: Name, body: PreviewIn):
    """The label as it would print, as PNG (refused with the field and rule when it would not print)."""
    try:
        t = template_versions.current(engine, name)
    except (templates.TemplateError, OSError):
        raise not_found("no template named %s" % name)
    try:
        zpl = t.render(body.fields, body.dpi)
    except templates.TemplateError as e:
        raise unprocessable(["body", "fields"], "; ".join("%s (%s): %s" % (p.get("field") or "-", p["rule"], p["message"]) for p in e.problems))
    try:
        pngs = render.png(zpl, body.dpi, t.width_mm, t.height_mm)
    except render.RenderError as e:
        raise unprocessable(["body"], "the preview renderer could not draw it: %s" % e)
    return Response(pngs[0], media_type="image/png")


# --- jobs --------------------------------------------------------------------------------

@router.get("/print-jobs", response_model=list[PrintJobOut])
def list_jobs(engine: EngineDep, jobs: JobsDep):
    with engine.connect() as c:
        ids = [r[0] for r in c.execute(select(print_jobs.c.id).order_by(print_jobs.c.id.desc()).limit(200))]
    return [jobs.get(i) for i in ids]


@router.post("/print-jobs", response_model=PrintJobOut, status_code=status.HTTP_201_CREATED)
def create_job(jobs: JobsDep, who: Operator, body: PrintJobIn):
    """Create a job (operator); checked before anything prints: the master
    record's PI elements, the template's fields, the code engine's print
    profile, module size at the printer's dpi, quiet zones."""
    try:
        job = jobs.create(body.di, body.template, body.printer, body.quantity, body.lot, body.production_date,
                          body.expiry, body.fields, actor=who.name, verify=body.verify)
    except JobError as e:
        raise job_problems(e)
    return jobs.get(job["id"])


def _act(jobs, job_id, action, who):
    try:
        getattr(jobs, action)(job_id, actor=who.name)
    except LookupError:
        raise not_found("no print job %d" % job_id)
    except JobError as e:
        raise job_problems(e)
    return jobs.get(job_id)


@router.get("/print-jobs/{job_id}", response_model=PrintJobOut)
def get_job(jobs: JobsDep, job_id: JobId):
    job = jobs.get(job_id)
    if job is None:
        raise not_found("no print job %d" % job_id)
    return job


@router.post("/print-jobs/{job_id}/start", response_model=PrintJobOut)
def start_job(jobs: JobsDep, who: Operator, job_id: JobId):
    return _act(jobs, job_id, "start", who)


@router.post("/print-jobs/{job_id}/pause", response_model=PrintJobOut)
def pause_job(jobs: JobsDep, who: Operator, job_id: JobId):
    return _act(jobs, job_id, "pause", who)


@router.post("/print-jobs/{job_id}/resume", response_model=PrintJobOut)
def resume_job(jobs: JobsDep, who: Operator, job_id: JobId):
    """Go on after a hold (the printer was fixed) or a pause."""
    return _act(jobs, job_id, "resume", who)


@router.post("/print-jobs/{job_id}/cancel", response_model=PrintJobOut)
def cancel_job(jobs: JobsDep, who: Operator, job_id: JobId):
    return _act(jobs, job_id, "cancel", who)


@router.get("/print-jobs/{job_id}/labels", response_model=list[SerialOut])
def job_labels(engine: EngineDep, job_id: JobId):
    """Every serial of the job and its state, in label order."""
    with engine.connect() as c:
        return [dict(r) for r in c.execute(select(serials).where(serials.c.job_id == job_id).order_by(serials.c.label_no, serials.c.id)).mappings()]


@router.get("/print-jobs/{job_id}/checks", response_model=list[LabelCheckOut])
def job_checks(engine: EngineDep, job_id: JobId, failed: bool = False):
    """The print-quality checks of the job's labels (grades, parameters, image), failures first when asked."""
    q = select(label_checks).where(label_checks.c.job_id == job_id).order_by(label_checks.c.id)
    if failed:
        q = q.where(label_checks.c.passed.is_(False))
    with engine.connect() as c:
        return [dict(r) for r in c.execute(q).mappings()]


# --- serials -------------------------------------------------------------------------------

@router.post("/serials/{serial_id}/reprint", response_model=SerialOut)
def reprint(jobs: JobsDep, who: Operator, serial_id: JobId, body: ReprintIn):
    """The reprint policy: the same serial only when the bad label is
    confirmed destroyed; otherwise it is voided and a new one allocated.
    -> the serial to print.  Audited with who and why."""
    try:
        sid, _ = jobs.ledger.reprint(serial_id, body.destroyed, who.name, body.reason)
    except LedgerError as e:
        raise unprocessable(["path", "serial_id"], str(e), serial_id)
    with jobs.engine.connect() as c:
        return dict(c.execute(select(serials).where(serials.c.id == sid)).mappings().first())


@router.post("/serials/{serial_id}/void", response_model=SerialOut)
def void(jobs: JobsDep, who: Operator, serial_id: JobId, body: VoidIn):
    try:
        jobs.ledger.void(serial_id, body.reason, who.name)
    except LedgerError as e:
        raise unprocessable(["path", "serial_id"], str(e), serial_id)
    with jobs.engine.connect() as c:
        return dict(c.execute(select(serials).where(serials.c.id == serial_id)).mappings().first())


@router.post("/serial-pools", response_model=PoolOut, status_code=status.HTTP_201_CREATED)
def create_pool(jobs: JobsDep, _: Admin, body: PoolIn):
    """Set how a DI's (or a DI + lot's) serials are made (admin)."""
    try:
        return jobs.ledger.create_pool(body.di, body.lot, body.scheme, body.params)
    except LedgerError as e:
        raise unprocessable(["body"], str(e))


@router.post("/serial-pools/{di}/list", response_model=ListImportOut)
def import_list(jobs: JobsDep, _: Admin, di: Annotated[str, Path(min_length=1, max_length=64)], body: ListImportIn):
    """Import serials issued elsewhere (MA codes, 20-digit drug-code pools) into the DI's list pool (admin)."""
    try:
        return jobs.ledger.import_list(di, body.serials, body.lot)
    except LedgerError as e:
        raise unprocessable(["path", "di"], str(e), di)
