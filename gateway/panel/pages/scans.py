"""Scans: search, and one scan's detail in words."""

import os

from fastapi import APIRouter, Request
from sqlalchemy import or_, select

from gateway.panel import i18n
from gateway.schema import (
    devices,
    scans,
)
from gateway.trace import messages as trace_messages
from udi_codes import messages as code_messages

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import Viewer, engine_of, lang_of, page

router = APIRouter()

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
