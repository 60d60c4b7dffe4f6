"""Recall / block list: a DI, optionally narrowed to a lot and/or a serial
range.  GET/POST /api/blocks, DELETE /api/blocks/{id} (deactivates: the
entry stays for the record)."""

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from sqlalchemy import insert, select, update

import udi_codes
from gateway.api.auth import Operator, require_reader
from gateway.api.deps import EngineDep, not_found, unprocessable
from gateway.api.models import BlockIn, BlockOut, Page
from gateway.api.params import (
    MAX_ID,
    CursorParam,
    Limit,
    Text,
    decode_cursor,
    encode_cursor,
    page,
)
from gateway.schema import blocks
from gateway.trace.rules import serial_key  # the rule that applies blocks compares the same way
from udi_codes.checkchars import hibc_mod43

router = APIRouter(prefix="/blocks", tags=["blocks"], dependencies=[Depends(require_reader)])


def di_problem(di):
    """-> None when the code engine takes `di` as a product identifier (the
    same form scans.di has), else why not.  Each kind is checked as the code
    it comes from, so check digits and characters are the engine's rules."""
    if di.isdigit() and len(di) == 14:
        kind, code = "GS1 DI", "(01)" + di
    elif di.startswith("MA."):
        kind, code = "MA DI", di
    elif di.isdigit() and len(di) == 7:
        # 药品标识码: the first 7 digits of a 20-digit drug traceability code,
        # checked by the drug-code module itself (a code not starting with 8
        # would otherwise be tried as GS1 and get a GS1 message).
        res = udi_codes.scheme_module("cn_drug").parse(di + "0" * 13, udi_codes.R.new(di, "cn-drug"), {})
        if res["errors"]:
            return "not a valid drug identification code (药品标识码): %s" % res["errors"][0]["message"]
        return None
    elif di.startswith("+"):
        # HIBC primary without its check character (as scans.di keeps it)
        try:
            kind, code = "HIBC primary", di + hibc_mod43(di)
        except (KeyError, TypeError, ValueError):
            return "not an HIBC primary: only digits, upper-case letters and - . space $ / + % are allowed"
    else:
        return ("not a product identifier: expected a GS1 DI (14 digits), an MA DI (MA.156.M0...), "
                "a 7-digit drug identification code (药品标识码) or an HIBC primary (+LIC PCN U/M)")
    res = udi_codes.parse(code, "read")
    if res["errors"]:
        return "not a valid %s: %s" % (kind, res["errors"][0]["message"])
    if res["di"] != di:
        return "not a %s alone: it reads as DI %r with more data" % (kind, res["di"])
    return None


@router.get("", response_model=Page[BlockOut])
def list_blocks(
    engine: EngineDep,
    di: Text | None = None,
    active: Annotated[bool | None, Query(description="Only active (true) or removed (false) entries.")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
):
    """Block entries, newest first."""
    q = select(blocks).order_by(blocks.c.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, "blocks", int)
    if after:
        q = q.where(blocks.c.id < after[0])
    if di is not None:
        q = q.where(blocks.c.di == di)
    if active is not None:
        q = q.where(blocks.c.active == active)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    return page(rows, limit, lambda r: encode_cursor("blocks", r["id"]))


@router.post("", response_model=BlockOut, status_code=status.HTTP_201_CREATED)
def create_block(engine: EngineDep, _: Operator, body: BlockIn):
    """Block a DI (operator), optionally only a lot and/or a serial range."""
    problem = di_problem(body.di)
    if problem:
        raise unprocessable(["body", "di"], problem, body.di)
    if (body.serial_from is None) != (body.serial_to is None):
        missing = "serial_to" if body.serial_to is None else "serial_from"
        raise unprocessable(["body", missing], "a serial range needs both serial_from and serial_to")
    if body.serial_from is not None and serial_key(body.serial_from) > serial_key(body.serial_to):
        raise unprocessable(["body", "serial_to"], "serial_to %r comes before serial_from %r" % (body.serial_to, body.serial_from), body.serial_to)
    row = body.model_dump()
    row.update(active=True, created_at=time.time())
    with engine.begin() as conn:
        row["id"] = conn.execute(insert(blocks).values(**row)).inserted_primary_key[0]
    return row


@router.delete("/{block_id}", response_model=BlockOut, responses={404: {"description": "No such entry."}})
def delete_block(engine: EngineDep, _: Operator, block_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    """Lift a block (operator): the entry stays, with active=false."""
    with engine.begin() as conn:
        conn.execute(update(blocks).where(blocks.c.id == block_id).values(active=False))
        row = conn.execute(select(blocks).where(blocks.c.id == block_id)).mappings().first()
    if row is None:
        raise not_found("no block entry with id %d" % block_id)
    return dict(row)
