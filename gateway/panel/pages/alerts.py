"""Alerts: open first, acknowledge."""

import os

from fastapi import APIRouter, Request
from sqlalchemy import select, update

from gateway.panel import i18n, users
from gateway.schema import (
    alerts,
)
from gateway.trace import messages as trace_messages

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import Operator, Viewer, engine_of, lang_of, page, see_other

router = APIRouter()

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
