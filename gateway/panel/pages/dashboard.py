"""The dashboard, and the server-sent events that keep it (and a job page) live."""

import asyncio
import json
import os

from fastapi import APIRouter, Request
from fastapi.responses import (
    StreamingResponse,
)
from starlette.concurrency import run_in_threadpool

from gateway.api.routes.printing import get_jobs

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway import site
from gateway.panel import i18n
from gateway.panel.core import EVENT_POLL_S, KEEPALIVE_S, Viewer, engine_of, page
from gateway.panel.live import job_detail, snapshot

router = APIRouter()

# The site: every gateway sharing this database (gateway.site), on the dashboard.
i18n.add({
    "zh": {"site.title": "网关", "site.id": "网关", "site.up": "运行中", "site.down": "未运行", "site.host": "主机",
           "site.scans": "已收扫码", "site.cpu": "CPU", "site.rss": "内存", "site.version": "版本",
           "site.hint": "共用同一数据库的所有网关；每台每 5 秒报一次。打印机只由其所属网关运行。",
           "site.owner": "由网关 {gw} 运行"},
    "en": {"site.title": "Gateways", "site.id": "Gateway", "site.up": "running", "site.down": "not running", "site.host": "Host",
           "site.scans": "Scans taken", "site.cpu": "CPU", "site.rss": "Memory", "site.version": "Version",
           "site.hint": "Every gateway sharing this database; each reports every 5 s. A printer is run by its own gateway only.",
           "site.owner": "run by gateway {gw}"},
})

# --- dashboard and live events ---------------------------------------------------------------

@router.get("/panel", include_in_schema=False)
def dashboard(request: Request, s=Viewer):
    engine = engine_of(request)
    return page(request, "dashboard.html", s, snap=snapshot(engine), gateways=site.members(engine))


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
