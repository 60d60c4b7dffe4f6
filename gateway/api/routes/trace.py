"""Traceability: aggregation trees (what is in this case, which case holds
this unit), packing from the print line and 拆箱, units and their
movements, stock per location / product / lot, and the export of
traceability records with the NHSA field mapping (docs/traceability.md)."""

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

import udi_codes
from gateway.api.auth import Operator, require_reader
from gateway.api.deps import EngineDep, not_found, unprocessable
from gateway.api.models import AggregationView, ItemDetail, PackIn, PackOut, StockRow, UnpackOut
from gateway.api.params import Text, Time
from gateway.schema import items, movements
from gateway.trace import Tracer, aggregation, export, stock
from gateway.trace.identity import item_key
from gateway.trace.messages import describe

router = APIRouter(tags=["traceability"], dependencies=[Depends(require_reader)])

Key = Annotated[str, Path(min_length=1, max_length=128, description="A unit key as the gateway stores it (scans.item).")]


def tracer(request: Request) -> Tracer:
    t = getattr(request.app.state, "tracer", None)
    if t is None:
        t = request.app.state.tracer = Tracer()
    return t


def findings_out(found):
    return [{"code": c, "bad": bad, "detail": detail, "message": describe(c, "zh")} for c, bad, _alert, detail in found]


@router.get("/aggregations/{item}", response_model=AggregationView)
def aggregation_tree(engine: EngineDep, item: Key):
    """Both ways from one unit: what it holds, and what holds it."""
    with engine.connect() as c:
        tree = aggregation.contents(c, item)
        up = aggregation.containers(c, item)
    if not tree["children"] and not up:
        raise not_found("%s holds nothing and is in nothing" % item)
    return {"item": item, "contents": tree, "containers": up}


@router.post("/aggregations", response_model=PackOut, responses={422: {"description": "The parent or a child does not fit; nothing was packed."}})
def pack(engine: EngineDep, _: Operator, body: PackIn, t: Annotated[Tracer, Depends(tracer)]):
    """Pack a parent (SSCC or serialised case) with all its children at once,
    as the print line does (operator).  The same checks as a handheld
    session: serialised valid children, not packed elsewhere, the product
    and count the parent's packaging says.  All or nothing."""
    today = time.strftime("%Y-%m-%d")
    pres = udi_codes.parse(body.parent, "read", today)
    kids = [udi_codes.parse(c, "read", today) for c in body.children]
    with engine.begin() as c:
        batch = t.batch(c, today)
        found = aggregation.pack(batch, pres, kids, body.source)
        if any(f[1] for f in found):  # leaving the block by the exception rolls back
            raise unprocessable(["body"], "; ".join("%s: %s" % (f[0], f[3] or describe(f[0], "en")) for f in found if f[1]))
        t.record(c, batch, {})
    return {"parent": item_key(pres), "packed": len(kids), "findings": findings_out(found)}


@router.delete("/aggregations/{item}", response_model=UnpackOut)
def unpack(engine: EngineDep, _: Operator, item: Key,
           child: Annotated[str | None, Query(max_length=128, description="Only this child; all when omitted.")] = None):
    """拆箱 (operator): end the links of a parent, or of one child."""
    with engine.begin() as c:
        n = aggregation.unpack(c, item, child)
    if n == 0:
        raise not_found("%s has no %s" % (item, "child %s" % child if child else "children"))
    return {"parent": item, "removed": n}


@router.get("/items/{item}", response_model=ItemDetail)
def unit(engine: EngineDep, item: Key):
    """One serialised unit: its state, where it is, how it moved, what holds it."""
    with engine.connect() as c:
        row = c.execute(select(items).where(items.c.item == item)).mappings().first()
        if row is None:
            raise not_found("no unit %s has been scanned" % item)
        moves = [dict(r) for r in c.execute(select(movements).where(movements.c.item == item).order_by(movements.c.id)).mappings()]
        up = aggregation.containers(c, item)
    return dict(row, movements=moves, containers=up)


@router.get("/stock", response_model=list[StockRow])
def stock_levels(engine: EngineDep, location: Text | None = None, di: Text | None = None, lot: Text | None = None):
    """Stock per location, product (DI of the smallest unit) and lot, from the
    receive / dispatch / use movements."""
    with engine.connect() as c:
        return stock.stock(c, location, di, lot)


@router.get("/exports/traceability", responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export_records(
    engine: EngineDep,
    format: Literal["csv", "json", "nhsa"] = "csv",
    since: Time = None,
    until: Time = None,
    mode: Annotated[list[Literal["receive", "dispatch", "use"]] | None, Query(description="Repeat for several; default all three.")] = None,
    location: Text | None = None,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
):
    """Traceability records (good scans that moved stock) as CSV (UTF-8 with
    BOM, for Excel), JSON, or JSON under the NHSA field names (nhsa).
    Streamed: rows are read and sent a piece at a time, so a large export
    holds neither the rows nor the file in memory."""
    modes = tuple(mode or ("receive", "dispatch", "use"))

    def pieces():
        with engine.connect() as c:
            rows = export.records(c.execution_options(yield_per=1000), since, until, modes, location, limit)
            if format == "csv":
                yield "\ufeff"
                yield from export.csv_chunks(rows)
            elif format == "json":
                yield from export.json_chunks(rows)
            else:
                yield from export.json_chunks(export.nhsa_record(r) for r in rows)

    if format == "csv":
        return StreamingResponse(pieces(), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="traceability.csv"'})
    return StreamingResponse(pieces(), media_type="application/json")
