"""Products: the product master searchable and paged (DI, name, 注册证号,
package level with what it holds, 医保编码, source), and one product's page
with its package hierarchy, its mappings and the master-data quality flags.
The mapping import (mappings.py) and the aggregation browser
(aggregation.py) share the tab bar of prod_tabs.html."""

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import or_, select

import udi_codes
from gateway.api.routes.products import get_product, list_products
from gateway.master import quality
from gateway.master.mapping import lookup_mapping
from gateway.master.sheet import check_nhsa
from gateway.master.udid import scheme_of
from gateway.panel import i18n
from gateway.panel.core import Viewer, engine_of, lang_of, page
from gateway.schema import mappings

router = APIRouter()

PAGE_ROWS = 50
SEARCH_MAX = 128

i18n.add({
    "zh": {
        "prod.tab.products": "产品主数据", "prod.tab.mappings": "三码映射", "prod.tab.aggregation": "装箱关系",
        "prod.title": "产品主数据", "prod.search": "名称、注册证号或产品标识（DI）", "prod.find": "查询",
        "prod.none": "产品主数据中没有符合条件的产品。可用 udi-edge master import-udid / import-sheet 导入。",
        "prod.next": "下一页", "prod.first": "第一页",
        "prod.di": "产品标识（DI）", "prod.name": "名称", "prod.reg_no": "注册证号", "prod.level": "包装级别",
        "prod.holds": "内含 {qty} ×", "prod.holds_unknown": "内含（数量未填）", "prod.nhsa": "医保编码",
        "prod.source": "来源", "prod.updated": "更新时间", "prod.src.udid": "UDID 数据库", "prod.src.sheet": "产品表",
        "prod.detail": "产品 {di}", "prod.record": "主数据记录", "prod.primary": "最小销售单元", "prod.system": "编码体系",
        "prod.trade_name": "商品名称", "prod.spec": "规格型号", "prod.registrant": "注册人/备案人",
        "prod.pi": "生产标识包含", "prod.pi.lot": "批号", "prod.pi.serial": "序列号", "prod.pi.mfg": "生产日期",
        "prod.pi.expiry": "失效日期", "prod.pi.unknown": "未申报",
        "prod.chain": "包装层级（由大到小）", "prod.this": "本级", "prod.mappings": "三码映射",
        "prod.nomappings": "没有映射行。", "prod.effective": "扫到该产品时得到：医保编码 {nhsa}，商品码 {commodity}（{how}）。",
        "prod.effective.none": "扫到该产品时得不到医保编码：既没有映射行，主数据中也没有医保编码。",
        "prod.how.mapping": "来自三码映射", "prod.how.master": "来自产品主数据",
        "prod.flags": "主数据质量", "prod.flags.none": "没有发现问题。", "prod.scans": "该产品的扫码记录",
        "prod.flag.no_name": "没有产品名称。",
        "prod.flag.no_reg_no": "没有注册证号/备案凭证号（药品为批准文号）。",
        "prod.flag.bad_nhsa": "医保编码 {code} 不正确：{detail}",
        "prod.flag.no_inner": "内含的小一级包装 {di} 不在产品主数据中，包装层级断开。",
        "prod.flag.no_qty": "填写了内含产品标识 {di}，但没有内含数量。",
        "prod.flag.pi_unknown": "未申报生产标识包含哪些内容（批号、序列号、日期），扫码时无法检查。",
    },
    "en": {
        "prod.tab.products": "Product master", "prod.tab.mappings": "Three-code mapping", "prod.tab.aggregation": "Packing",
        "prod.title": "Product master", "prod.search": "Name, registration number or DI", "prod.find": "Search",
        "prod.none": "No product in the master matches. Import with udi-edge master import-udid / import-sheet.",
        "prod.next": "Next page", "prod.first": "First page",
        "prod.di": "DI", "prod.name": "Name", "prod.reg_no": "Registration no.", "prod.level": "Package level",
        "prod.holds": "holds {qty} ×", "prod.holds_unknown": "holds (quantity not given)", "prod.nhsa": "NHSA code",
        "prod.source": "Source", "prod.updated": "Updated", "prod.src.udid": "UDID database", "prod.src.sheet": "product sheet",
        "prod.detail": "Product {di}", "prod.record": "Master record", "prod.primary": "Primary DI (sales unit)",
        "prod.system": "Coding system", "prod.trade_name": "Trade name", "prod.spec": "Model / spec",
        "prod.registrant": "Registrant", "prod.pi": "PI carries", "prod.pi.lot": "lot", "prod.pi.serial": "serial",
        "prod.pi.mfg": "production date", "prod.pi.expiry": "expiry", "prod.pi.unknown": "not declared",
        "prod.chain": "Package hierarchy (largest first)", "prod.this": "this level", "prod.mappings": "Three-code mapping",
        "prod.nomappings": "No mapping rows.", "prod.effective": "A scan of this product gets NHSA code {nhsa}, commodity code {commodity} ({how}).",
        "prod.effective.none": "A scan of this product gets no NHSA code: there is no mapping row and the master has none.",
        "prod.how.mapping": "from the three-code mapping", "prod.how.master": "from the product master",
        "prod.flags": "Master-data quality", "prod.flags.none": "No problems found.", "prod.scans": "Scans of this product",
        "prod.flag.no_name": "No product name.",
        "prod.flag.no_reg_no": "No registration / filing number (批准文号 for drugs).",
        "prod.flag.bad_nhsa": "NHSA code {code} is wrong: {detail}",
        "prod.flag.no_inner": "The level it holds, {di}, is not in the product master: the hierarchy is broken.",
        "prod.flag.no_qty": "It holds {di} but the quantity is missing.",
        "prod.flag.pi_unknown": "The master does not declare what the PI carries (lot, serial, dates), so scans cannot be checked against it.",
    },
})


def clean(text, limit=SEARCH_MAX):
    # Search text from the address bar: bounded, no NUL (PostgreSQL refuses it in text).
    return (text or "").replace("\x00", "").strip()[:limit]


@router.get("/panel/products", include_in_schema=False)
def product_list(request: Request, s=Viewer, q: str = "", cursor: str = ""):
    q, cursor = clean(q), clean(cursor, 512)
    engine = engine_of(request)
    try:
        found = list_products(engine, q=q or None, primary_di=None, limit=PAGE_ROWS, cursor=cursor or None)
    except HTTPException:  # a cursor that is not ours: the first page
        found = list_products(engine, q=q or None, primary_di=None, limit=PAGE_ROWS, cursor=None)
    return page(request, "prod_list.html", s, tab="products", products=found["items"], q=q,
                next_cursor=found["next_cursor"], paged=bool(cursor))


def master_flags(conn, product, chain_below, lang):
    """What is wrong or missing in a master record itself, in words: the
    fields a scan check or a label needs, the hierarchy, and the level checks
    of gateway.master.quality run on the DI alone."""
    out = []

    def flag(key, **values):
        out.append(i18n.t(lang, "prod.flag." + key, **values))

    if not product["name"]:
        flag("no_name")
    if not product["reg_no"]:
        flag("no_reg_no")
    if product["nhsa_code"]:
        why = check_nhsa(product["nhsa_code"])
        if why:
            flag("bad_nhsa", code=product["nhsa_code"], detail=why)
    if product["contains_di"]:
        if not chain_below or chain_below[0]["di"] != product["contains_di"]:
            flag("no_inner", di=product["contains_di"])
        if not product["contains_qty"]:
            flag("no_qty", di=product["contains_di"])
    if all(product[k] is None for k in ("pi_lot", "pi_serial", "pi_mfg", "pi_expiry")):
        flag("pi_unknown")
    result = di_result(product)
    master = quality.Master(conn)
    for check in (quality.level_gs1_indicator, quality.level_pack_digit):
        for issue in check(result, product, master):
            out.append("%s: %s" % (quality.message(issue["code"], lang), issue["detail"]))
    return out


def di_result(product):
    # The DI as the code engine would report a scan of it (no PI): what the
    # level checks and the mapping lookup take.
    di = product["di"]
    scheme = scheme_of(di, product.get("coding_system"))
    if scheme == "gs1":
        r = udi_codes.parse("(01)" + di, "read")
        if r["valid"]:
            return r
    return {"scheme": scheme, "di": di, "raw": di, "pi": {}, "valid": True}


def product_mappings(conn, di, scheme):
    # Rows keyed by this DI, and for a 药品标识码 every traceability-code prefix that covers it or narrows it.
    cond = [mappings.c.key == di]
    if scheme == "cn-drug":
        cond.append((mappings.c.kind == "trace_prefix") & mappings.c.key.startswith(di, autoescape=True))
        cond.append((mappings.c.kind == "trace_prefix") & mappings.c.key.in_([di[:n] for n in range(1, len(di))]))
    q = select(mappings).where(or_(*cond)).order_by(mappings.c.kind, mappings.c.key).limit(200)
    return [dict(r) for r in conn.execute(q).mappings()]


@router.get("/panel/products/di/{di}", include_in_schema=False)
def product_detail(request: Request, di: str, s=Viewer):
    engine = engine_of(request)
    lang = lang_of(request)
    di = clean(di, 64)
    try:
        product = get_product(engine, di) if di else None
    except HTTPException:
        product = None
    if product is None:
        return page(request, "error.html", s, 404, message=i18n.t(lang, "err.notfound"), back="/panel/products")
    result = di_result(product)
    with engine.connect() as c:
        rows = product_mappings(c, product["di"], result["scheme"])
        mapped, how = lookup_mapping(c, result, master=False), "prod.how.mapping"
        if mapped is None:
            mapped, how = lookup_mapping(c, result), "prod.how.master"
        flags = master_flags(c, product, product["below"], lang)
    # Largest level first, down to the smallest: the way a case is opened.
    chain = list(reversed(product["above"])) + [dict(product, this=True)] + product["below"]
    return page(request, "prod_detail.html", s, tab="products", p=product, chain=chain, mapping_rows=rows,
                mapped=mapped, how=how, flags=flags)
