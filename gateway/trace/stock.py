"""Movements (receive +, dispatch −, use −) per location, and the stock they
add up to per product and lot.  Scanning a case moves what it holds: its
aggregated units when it was packed, else the packaging chain's quantity of
the smallest sales unit (a case of 10 boxes of 20 = 200)."""

from sqlalchemy import func, select

from gateway.schema import movements
from gateway.trace.aggregation import leaves
from udi_codes.result import is_parent

SIGN = {"receive": 1, "dispatch": -1, "use": -1}
STATE = {"receive": "received", "dispatch": "dispatched", "use": "used"}


def chain_units(ctx, di, depth=8):
    # -> (DI of the smallest level, how many of it one `di` holds).
    qty = 1
    while depth > 0:
        prod = ctx.products.get(di) or ctx.product(di)
        if not prod or not prod.get("contains_di") or not prod.get("contains_qty"):
            break
        qty *= prod["contains_qty"]
        di = prod["contains_di"]
        depth -= 1
    return di, qty


def moves(ctx, scan):
    # -> list of (item key or None, di, lot, qty) that this scan moves.
    res, key = scan["res"], scan["item"]
    pi = res.get("pi") or {}
    if key is not None and is_parent(res):
        units = leaves(ctx, key)
        if units:
            out = []
            for u in units:
                state = ctx.unit(u) or {}
                out.append((u, state.get("di"), state.get("lot"), 1))
            return out
    if key is None and is_parent(res) and res.get("di"):
        di, qty = chain_units(ctx, res["di"])
        return [(None, di, pi.get("lot"), qty)]
    return [(key, res.get("di"), pi.get("lot"), 1)]


def stock(conn, location=None, di=None, lot=None):
    # -> [{"location", "di", "lot", "qty"}] with qty != 0.
    qty = func.sum(movements.c.qty).label("qty")
    q = select(movements.c.location, movements.c.di, movements.c.lot, qty).group_by(
        movements.c.location, movements.c.di, movements.c.lot)
    for col, value in ((movements.c.location, location), (movements.c.di, di), (movements.c.lot, lot)):
        if value is not None:
            q = q.where(col == value)
    rows = conn.execute(q.order_by(movements.c.location, movements.c.di, movements.c.lot)).mappings()
    return [dict(r) for r in rows if r["qty"]]
