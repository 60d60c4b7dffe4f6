"""Printers: live status in words, add/change, test label."""

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from gateway.api.routes.printing import get_jobs
from gateway.panel import i18n, users
from gateway.printing.jobs import JobError
from gateway.printing.status import poll as poll_status
from gateway.printing.transports import PrinterError, open_printer
from gateway.schema import (
    print_jobs,
    printers,
)

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import (
    Admin,
    Operator,
    Viewer,
    engine_of,
    lang_of,
    page,
    problems_text,
    see_other,
)

router = APIRouter()

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
        return await run_in_threadpool(partial(_printers_page, request, s, 422, v, problems_text(e.problems)))
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
