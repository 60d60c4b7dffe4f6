"""GET /api/scans (filters, keyset pagination) and GET /api/scans/{id}."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import or_, select

from gateway.api.auth import require_reader
from gateway.api.deps import EngineDep, not_found
from gateway.api.models import Mode, Page, ScanOut, Scheme, Verdict
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
from gateway.schema import scans

router = APIRouter(prefix="/scans", tags=["scans"], dependencies=[Depends(require_reader)])


@router.get("", response_model=Page[ScanOut])
def list_scans(
    engine: EngineDep,
    since: Annotated[Time, Query(description="Received at or after: ISO 8601 (UTC unless an offset is given) or Unix seconds.")] = None,
    until: Annotated[Time, Query(description="Received before: ISO 8601 or Unix seconds.")] = None,
    dev: Annotated[Text | None, Query(description="Device id.")] = None,
    code: Annotated[Text | None, Query(description="Exactly the raw scan, DI, item, lot or serial.")] = None,
    verdict: Verdict | None = None,
    scheme: Scheme | None = None,
    mode: Mode | None = None,
    location: Text | None = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
):
    """Scans, newest first."""
    q = select(scans).order_by(scans.c.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, "scans", int)
    if after:
        q = q.where(scans.c.id < after[0])
    if since is not None:
        q = q.where(scans.c.received_at >= since)
    if until is not None:
        q = q.where(scans.c.received_at < until)
    if code is not None:
        # Exact matches (indexed on di and item), never a substring of raw.
        c = scans.c
        q = q.where(or_(c.raw == code, c.di == code, c.item == code, c.lot == code, c.serial == code))
    for column, value in ((scans.c.dev, dev), (scans.c.verdict, verdict), (scans.c.scheme, scheme),
                          (scans.c.mode, mode), (scans.c.location, location)):
        if value is not None:
            q = q.where(column == value)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    return page(rows, limit, lambda r: encode_cursor("scans", r["id"]))


@router.get("/{scan_id}", response_model=ScanOut, responses={404: {"description": "No such scan."}})
def get_scan(engine: EngineDep, scan_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    with engine.connect() as conn:
        row = conn.execute(select(scans).where(scans.c.id == scan_id)).mappings().first()
    if row is None:
        raise not_found("no scan with id %d" % scan_id)
    return dict(row)
