"""Aggregation browser (装箱关系): any code — a case's SSCC, an item's UDI,
a 20-digit drug code — to what it holds (case → inner packs → items) and
what holds it (item → case → pallet), with counts, packed / 拆箱 state,
and links to every node and to its scans.  The trees come from
gateway.trace.aggregation, the same functions the API answers with."""

from fastapi import APIRouter, Request
from sqlalchemy import or_, select

import udi_codes
from gateway.master.udid import chunks
from gateway.panel import i18n
from gateway.panel.core import Viewer, engine_of, page
from gateway.panel.pages.products import clean
from gateway.schema import aggregations, items, products
from gateway.trace import aggregation
from gateway.trace.identity import item_key

router = APIRouter()

SHOWN_CHILDREN = 200  # per node; a pallet of many cases still renders in one page
DEPTH = 8  # as deep as gateway.trace.aggregation looks

i18n.add({
    "zh": {
        "agg.title": "装箱关系", "agg.code": "码（箱码 SSCC、产品 UDI、20 位药品追溯码）", "agg.show": "查看",
        "agg.hint": "输入或扫描任意一个码：显示它装着什么（箱 → 中包装 → 单品），以及它装在哪个箱、哪个托盘里。",
        "agg.notfound": "{code}：没有装箱记录，也不在任何箱中。", "agg.tried": "按以下编号查找：{keys}",
        "agg.down": "装着什么", "agg.up": "装在哪里", "agg.holds": "直接装有 {n} 件，共 {leaves} 个最小单元",
        "agg.in": "装在", "agg.top": "不在任何箱中", "agg.packed": "已装箱", "agg.unpacked": "已拆箱",
        "agg.empty": "没有装着任何东西。", "agg.history": "拆箱记录", "agg.was_in": "曾装在",
        "agg.had": "曾装有", "agg.removed": "{time} 拆箱", "agg.since": "{time} 装箱", "agg.scans": "扫码记录",
        "agg.more": "还有 {n} 件未列出。", "agg.unit": "单品状态",
        "agg.state.received": "已入库", "agg.state.dispatched": "已出库", "agg.state.used": "已使用",
    },
    "en": {
        "agg.title": "Packing", "agg.code": "Code (case SSCC, item UDI, 20-digit drug code)", "agg.show": "Show",
        "agg.hint": "Type or scan any code: what it holds (case → inner packs → items), and which case and pallet hold it.",
        "agg.notfound": "{code}: holds nothing and is in nothing.", "agg.tried": "Looked up as: {keys}",
        "agg.down": "What it holds", "agg.up": "What holds it", "agg.holds": "holds {n} directly, {leaves} units in all",
        "agg.in": "in", "agg.top": "not in any case", "agg.packed": "packed", "agg.unpacked": "unpacked",
        "agg.empty": "It holds nothing.", "agg.history": "Unpacking history", "agg.was_in": "was in",
        "agg.had": "held", "agg.removed": "unpacked {time}", "agg.since": "packed {time}", "agg.scans": "scans",
        "agg.more": "{n} more not listed.", "agg.unit": "Unit state",
        "agg.state.received": "received", "agg.state.dispatched": "dispatched", "agg.state.used": "used",
    },
})


def candidate_keys(text):
    """The item keys a typed or scanned code may stand for, most literal first:
    the text as stored, the key the code engine gives it, a bare SSCC."""
    keys = [text]
    res = udi_codes.parse(text, "read")
    key = item_key(res)
    if key is None and (res.get("pi") or {}).get("sscc"):
        key = "(00)" + res["pi"]["sscc"]  # an SSCC is its key even with a wrong check digit
    if key:
        keys.append(key)
    if text.isdigit() and len(text) == 18:
        keys.append("(00)" + text)
    return list(dict.fromkeys(keys))


def known(conn, keys):
    # The first key that aggregation or the units table knows.
    a = aggregations.c
    seen = {r[0] for r in conn.execute(select(a.parent).where(a.parent.in_(keys)))}
    seen |= {r[0] for r in conn.execute(select(a.child).where(a.child.in_(keys)))}
    seen |= {r[0] for r in conn.execute(select(items.c.item).where(items.c.item.in_(keys)))}
    return next((k for k in keys if k in seen), None)


def walk(node):
    yield node["item"]
    for c in node["children"]:
        yield from walk(c)


def details(conn, keys):
    """Per key: its unit row (DI, lot, state, location), product name, and
    the live link that put it in its parent (when, by which source)."""
    units, links = {}, {}
    for chunk in chunks(sorted(keys)):
        for r in conn.execute(select(items).where(items.c.item.in_(chunk))).mappings():
            units[r["item"]] = dict(r)
        for r in conn.execute(select(aggregations).where(aggregations.c.child.in_(chunk),
                                                         aggregations.c.removed_at.is_(None))).mappings():
            links[r["child"]] = dict(r)
    names = {}
    dis = sorted({u["di"] for u in units.values() if u["di"]})
    for chunk in chunks(dis):
        names.update(conn.execute(select(products.c.di, products.c.name).where(products.c.di.in_(chunk))).all())
    return {k: {"unit": units.get(k), "link": links.get(k),
                "name": names.get((units.get(k) or {}).get("di"))} for k in keys}


def shape(node, info):
    # The tree for the template: each node with its counts and details, long child lists cut.
    kids = [shape(c, info) for c in node["children"]]
    leaves = sum(k["leaves"] for k in kids) if kids else 1
    return dict(info[node["item"]], item=node["item"], children=kids[:SHOWN_CHILDREN], hidden=max(0, len(kids) - SHOWN_CHILDREN),
                count=len(kids), leaves=leaves)


def history(conn, key):
    # Links of this key that 拆箱 ended, both ways, newest first.
    a = aggregations.c
    q = (select(aggregations).where(or_(a.parent == key, a.child == key), a.removed_at.is_not(None))
         .order_by(a.removed_at.desc()).limit(SHOWN_CHILDREN))
    return [dict(r) for r in conn.execute(q).mappings()]


@router.get("/panel/products/aggregation", include_in_schema=False)
def aggregation_page(request: Request, s=Viewer, code: str = ""):
    text = clean(code, 512)
    if not text:
        return page(request, "agg_browse.html", s, tab="aggregation", code="")
    keys = candidate_keys(text)
    with engine_of(request).connect() as c:
        key = known(c, keys)
        if key is None:
            return page(request, "agg_browse.html", s, 404, tab="aggregation", code=text, missing=True, keys=keys)
        tree = aggregation.contents(c, key, DEPTH)
        up = aggregation.containers(c, key, DEPTH)
        info = details(c, set(walk(tree)) | set(up))
        past = history(c, key)
    root = shape(tree, info)
    chain = [dict(info[p], item=p) for p in up]
    return page(request, "agg_browse.html", s, tab="aggregation", code=text, key=key, root=root, chain=chain, past=past)
