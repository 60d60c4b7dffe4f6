"""Data-quality checks (编码准确性、数据填报质量): a parsed scan or print
result (udi_codes.parse) against the product master.

Every check is a small function (result, product, master) -> [issue], an
issue being {"code": ..., "detail": ...}; MESSAGES has each code's English
and Chinese text.  `product` is the master row of the result's DI (None when
unknown); `master` answers product(di) and parents(di) (the package levels
whose next-lower DI is di)."""

from sqlalchemy import select

from gateway.master.udid import USE_UNIT_LEVEL, lookup_product, normalise_di
from gateway.schema import products

# code -> (English, 简体中文)
MESSAGES = {
    "unknown_di": ("DI not in the product master", "产品标识不在产品主数据中"),
    "pi_missing_lot": ("the master declares a batch/lot number in the PI, the code has none",
                       "主数据申报生产标识包含批号，条码中没有批号"),
    "pi_missing_serial": ("the master declares a serial number in the PI, the code has none",
                          "主数据申报生产标识包含序列号，条码中没有序列号"),
    "pi_missing_mfg": ("the master declares a production date in the PI, the code has none",
                       "主数据申报生产标识包含生产日期，条码中没有生产日期"),
    "pi_missing_expiry": ("the master declares an expiry date in the PI, the code has none",
                          "主数据申报生产标识包含失效日期，条码中没有失效日期"),
    "level_mismatch": ("the package level in the code contradicts the master's packaging chain",
                       "条码的包装级别与主数据的包装层级不符"),
}

# Schemes whose codes carry a DI that the master can know.
DI_SCHEMES = ("gs1", "hibc", "ma", "cn-drug")
# Schemes whose carrier can hold the PI elements UDID declares (a 20-digit
# drug code has only its serial, no lot or dates: codes.md §4.2).
PI_SCHEMES = ("gs1", "hibc", "ma")
# products flag -> (issue code, result["pi"] keys any of which satisfies it)
PI_RULES = (
    ("pi_lot", "pi_missing_lot", ("lot",)),
    ("pi_serial", "pi_missing_serial", ("serial",)),
    ("pi_mfg", "pi_missing_mfg", ("production_date",)),
    ("pi_expiry", "pi_missing_expiry", ("expiry", "valid_until")),
)


def message(code, lang="zh"):
    """The text of an issue code in "zh" or "en"."""
    en, zh = MESSAGES[code]
    return zh if lang == "zh" else en


def issue(code, detail):
    return {"code": code, "detail": detail}


def is_package_level(product):
    # A level above the 最小销售单元 of its chain.
    return product["di"] != product["primary_di"] and product.get("level") != USE_UNIT_LEVEL


# --- the checks -----------------------------------------------------------------------


def unknown_di(result, product, master):
    """The code's DI has no master row (only for schemes that have a DI)."""
    if result.get("scheme") in DI_SCHEMES and result.get("di") and product is None:
        return [issue("unknown_di", "%s DI %s" % (result["scheme"], result["di"]))]
    return []


def pi_missing(result, product, master):
    """The master declares a PI element (UDID scbssfbh*) the code lacks.
    Not for logistic labels (SSCC with AI 02: the declaration is about the
    trade item's own carrier) nor for 20-digit drug codes (no room for it)."""
    if product is None or result.get("scheme") not in PI_SCHEMES:
        return []
    pi = result.get("pi") or {}
    if "sscc" in pi or "content_gtin" in pi:
        return []
    out = []
    for flag, code, keys in PI_RULES:
        if product.get(flag) and not any(pi.get(k) for k in keys):
            out.append(issue(code, "DI %s" % product["di"]))
    return out


def level_gs1_count(result, product, master):
    """GS1 (02)+(37) on an SSCC/case label: the count must be the quantity a
    package level of the chain holds of that content GTIN (bznhxyjcpbssl of
    a level whose next-lower DI is the AI 02 GTIN).  Rule: such a label marks
    one package of the chain; a count no level holds is a wrong count or a
    wrong content GTIN.  A partial case (尾箱) fires too, on purpose: it is
    the label an operator should look at."""
    pi = result.get("pi") or {}
    if result.get("scheme") != "gs1" or not pi.get("content_gtin") or not pi.get("count"):
        return []
    try:
        count = int(pi["count"])
    except ValueError:
        return []
    quantities = {p["contains_qty"] for p in master.parents(pi["content_gtin"]) if p.get("contains_qty")}
    if quantities and count not in quantities:
        return [issue("level_mismatch", "(37) %d of %s, the master's packages hold %s"
                      % (count, pi["content_gtin"], "/".join(str(q) for q in sorted(quantities))))]
    return []


def level_gs1_indicator(result, product, master):
    """GS1 indicator digit 0 (the engine's package_level 0: a base unit) on a
    DI the master lists as a package level above the 最小销售单元.  The
    gateway tells units from packages by package_level, so the master must
    agree with it; the reverse (1-8 on a 最小销售单元) is not flagged, being
    normal when the sales unit is a box of separately marked use units."""
    if result.get("scheme") != "gs1" or product is None or result.get("package_level") != 0:
        return []
    if (result.get("pi") or {}).get("content_gtin"):
        return []  # the DI is the content of a logistic unit, not the label's own level
    if is_package_level(product):
        return [issue("level_mismatch", "indicator digit 0 on %s, which the master lists as level %s of %s"
                      % (product["di"], product.get("level"), product["primary_di"]))]
    return []


def _pack_digit(scheme, di):
    # MA: first character of the product segment; HIBC: the U/M digit, the
    # last character of the primary (check character already removed).
    if not di:
        return None
    if scheme == "ma":
        parts = di.split(".")
        c = parts[4][:1] if len(parts) > 4 else ""
    elif scheme == "hibc":
        c = di[-1:]
        if c == "9":
            return None  # HIBC U/M 9: variable quantity, no place in a level order
    else:
        return None
    return int(c) if "0" <= c <= "9" and c else None


def level_pack_digit(result, product, master):
    """MA packaging digit / HIBC U/M digit must grow along the chain: the
    level a package holds (contains_di) has a smaller digit, every package
    holding it a larger one.  Only DIs of the same scheme are compared."""
    scheme = result.get("scheme")
    if scheme not in ("ma", "hibc") or product is None:
        return []
    own = _pack_digit(scheme, product["di"])
    if own is None:
        return []
    wrong = []
    inner = _pack_digit(scheme, product.get("contains_di"))
    if inner is not None and inner >= own:
        wrong.append("it holds %s (digit %d)" % (product["contains_di"], inner))
    for p in master.parents(product["di"]):
        outer = _pack_digit(scheme, p["di"])
        if outer is not None and outer <= own:
            wrong.append("%s (digit %d) holds it" % (p["di"], outer))
    if wrong:
        return [issue("level_mismatch", "packaging digit %d of %s, but %s" % (own, product["di"], "; ".join(wrong)))]
    return []


CHECKS = (unknown_di, pi_missing, level_gs1_count, level_gs1_indicator, level_pack_digit)


# --- where the master comes from ----------------------------------------------------


class Master:
    """The product master through a Connection or an Engine."""

    def __init__(self, conn):
        self.conn = conn

    def _rows(self, q):
        if hasattr(self.conn, "execute"):
            return [dict(r) for r in self.conn.execute(q).mappings()]
        with self.conn.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    def product(self, di):
        return lookup_product(self.conn, di)

    def parents(self, di):
        return self._rows(select(products).where(products.c.contains_di == normalise_di(di)))


class _Lookup:
    # A plain callable di -> product row (e.g. a cache): no chain queries, so
    # the checks that need parents see none.
    def __init__(self, fn):
        self.product = fn

    def parents(self, di):
        return []


def quality_issues(conn_or_product_lookup, result):
    """All issues of a parsed result, [] when there are none.  The first
    argument: a SQLAlchemy Connection or Engine, a Store, an object with
    product(di) and parents(di), or a callable di -> product row (then the
    checks that walk the chain upwards are skipped)."""
    m = conn_or_product_lookup
    if hasattr(m, "product") and hasattr(m, "parents"):
        master = m
    elif hasattr(m, "execute") or hasattr(m, "connect"):
        master = Master(m)
    elif hasattr(m, "engine"):  # a gateway.store.Store
        master = Master(m.engine)
    elif callable(m):
        master = _Lookup(m)
    else:
        raise TypeError("need a Connection, an Engine or a DI -> product callable")
    product = master.product(result["di"]) if result.get("di") else None
    out = []
    for check in CHECKS:
        out += check(result, product, master)
    return out

