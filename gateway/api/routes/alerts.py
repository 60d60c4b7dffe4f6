"""GET /api/alerts and POST /api/alerts/{id}/ack."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select, update

from gateway.api.auth import Operator, require_reader
from gateway.api.deps import EngineDep, not_found
from gateway.api.models import AlertOut, Page
from gateway.api.params import (
    MAX_ID,
    CursorParam,
    Limit,
    Text,
    Time,
    decode_cursor,
    encode_cursor,
    page,
)
from gateway.schema import alerts

router = APIRouter(prefix="/alerts", tags=["alerts"], dependencies=[Depends(require_reader)])


@router.get("", response_model=Page[AlertOut])
def list_alerts(
    engine: EngineDep,
    kind: Annotated[Text | None, Query(description="Alert kind, e.g. used_twice, recalled.")] = None,
    acknowledged: bool | None = None,
    since: Annotated[Time, Query(description="Created at or after (ISO 8601 or Unix seconds).")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
):
    """Alerts, newest first."""
    q = select(alerts).order_by(alerts.c.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, "alerts", int)
    if after:
        q = q.where(alerts.c.id < after[0])
    if kind is not None:
        q = q.where(alerts.c.kind == kind)
    if acknowledged is not None:
        q = q.where(alerts.c.acknowledged == acknowledged)
    if since is not None:
        q = q.where(alerts.c.created_at >= since)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    return page(rows, limit, lambda r: encode_cursor("alerts", r["id"]))


@router.post("/{alert_id}/ack", response_model=AlertOut, responses={404: {"description": "No such alert."}})
def ack_alert(engine: EngineDep, _: Operator, alert_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    """Acknowledge an alert (operator); acknowledging twice is harmless."""
    with engine.begin() as conn:
        conn.execute(update(alerts).where(alerts.c.id == alert_id).values(acknowledged=True))
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    if row is None:
        raise not_found("no alert with id %d" % alert_id)
    return dict(row)
