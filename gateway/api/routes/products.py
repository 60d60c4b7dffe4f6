"""The product master: GET /api/products and GET /api/products/{di} with
its packaging chain (the levels above and below, by contains_di)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import or_, select

from gateway.api.auth import require_reader
from gateway.api.deps import EngineDep, not_found
from gateway.api.models import Page, ProductDetail, ProductOut
from gateway.api.params import (
    CursorParam,
    Limit,
    Text,
    decode_cursor,
    encode_cursor,
    page,
)
from gateway.schema import products

router = APIRouter(prefix="/products", tags=["products"], dependencies=[Depends(require_reader)])

MAX_LEVELS = 16  # deeper than any real packaging hierarchy; stops a cycle in bad data


@router.get("", response_model=Page[ProductOut])
def list_products(
    engine: EngineDep,
    q: Annotated[Text | None, Query(description="Part of the name, registration number (注册证号) or DI; case-insensitive.")] = None,
    primary_di: Annotated[Text | None, Query(description="Every package level of one product (its 最小销售单元 DI).")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
):
    """Products ordered by DI."""
    query = select(products).order_by(products.c.di).limit(limit + 1)
    after = decode_cursor(cursor, "products", str)
    if after:
        query = query.where(products.c.di > after[0])
    if q is not None:
        c = products.c
        query = query.where(or_(c.name.icontains(q, autoescape=True), c.reg_no.icontains(q, autoescape=True),
                                c.di.icontains(q, autoescape=True)))
    if primary_di is not None:
        query = query.where(products.c.primary_di == primary_di)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return page(rows, limit, lambda r: encode_cursor("products", r["di"]))


@router.get("/{di}", response_model=ProductDetail, responses={404: {"description": "No such DI in the product master."}})
def get_product(engine: EngineDep, di: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]):
    with engine.connect() as conn:
        def one(key):
            r = conn.execute(select(products).where(products.c.di == key)).mappings().first()
            return dict(r) if r else None

        product = one(di)
        if product is None:
            raise not_found("no product with DI %r in the product master" % di)
        seen = {di}
        below, cur = [], product
        while cur["contains_di"] and cur["contains_di"] not in seen and len(below) < MAX_LEVELS:
            seen.add(cur["contains_di"])
            cur = one(cur["contains_di"])
            if cur is None:  # the lower level is not in the master (yet)
                break
            below.append(cur)
        # Above may branch (a box in two case sizes): breadth first, nearest first.
        above, level = [], [di]
        for _ in range(MAX_LEVELS):
            if not level:
                break
            rows = conn.execute(select(products).where(products.c.contains_di.in_(level)).order_by(products.c.di)).mappings()
            level = []
            for r in rows:
                if r["di"] not in seen:
                    seen.add(r["di"])
                    above.append(dict(r))
                    level.append(r["di"])
    return dict(product, above=above, below=below)
