"""三码映射: GET /api/mappings, and GET /api/mappings/unmapped (scanned DIs
that got no insurance code, for follow-up)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import and_, func, or_, select

from gateway.api.auth import require_reader
from gateway.api.deps import EngineDep
from gateway.api.models import MappingKind, MappingOut, Page, UnmappedDI
from gateway.api.params import (
    CursorParam,
    Limit,
    Text,
    Time,
    decode_cursor,
    encode_cursor,
    page,
)
from gateway.schema import mappings, products, scans

router = APIRouter(prefix="/mappings", tags=["mappings"], dependencies=[Depends(require_reader)])


@router.get("", response_model=Page[MappingOut])
def list_mappings(
    engine: EngineDep,
    kind: MappingKind | None = None,
    key: Annotated[Text | None, Query(description="Exact key: a traceability-code prefix, UDI-DI or GTIN.")] = None,
    nhsa_code: Text | None = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
):
    """Mappings in the order they were added."""
    q = select(mappings).order_by(mappings.c.id).limit(limit + 1)
    after = decode_cursor(cursor, "mappings", int)
    if after:
        q = q.where(mappings.c.id > after[0])
    for column, value in ((mappings.c.kind, kind), (mappings.c.key, key), (mappings.c.nhsa_code, nhsa_code)):
        if value is not None:
            q = q.where(column == value)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    return page(rows, limit, lambda r: encode_cursor("mappings", r["id"]))


@router.get("/unmapped", response_model=Page[UnmappedDI])
def list_unmapped(
    engine: EngineDep,
    since: Annotated[Time, Query(description="Only scans received at or after (ISO 8601 or Unix seconds).")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
):
    """DIs of stored scans without an insurance code, most scanned first."""
    n = func.count().label("scans")
    q = (select(scans.c.di, func.max(scans.c.scheme).label("scheme"), n,
                func.min(scans.c.received_at).label("first_seen"), func.max(scans.c.received_at).label("last_seen"),
                func.max(products.c.name).label("product_name"))
         .select_from(scans.outerjoin(products, products.c.di == scans.c.di))  # di is the products' key: one row at most
         .where(scans.c.nhsa_code.is_(None), scans.c.di.is_not(None))
         .group_by(scans.c.di)
         .order_by(n.desc(), scans.c.di)
         .limit(limit + 1))
    if since is not None:
        q = q.where(scans.c.received_at >= since)
    after = decode_cursor(cursor, "unmapped", int, str)
    if after:
        count, di = after
        q = q.having(or_(func.count() < count, and_(func.count() == count, scans.c.di > di)))
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    return page(rows, limit, lambda r: encode_cursor("unmapped", r["scans"], r["di"]))
