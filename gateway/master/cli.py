"""`master ...` subcommands: import the UDID download, a product sheet or a
mapping table, and show what the master knows about a DI or a code."""

import json
import os

from sqlalchemy import select

import udi_codes
from gateway.master.mapping import import_mappings, lookup_mapping
from gateway.master.quality import message, quality_issues
from gateway.master.sheet import import_products
from gateway.master.udid import check_di, import_udid, normalise_di, scheme_of
from gateway.schema import products

IMPORTS = {
    "import-udid": (import_udid, "import an NMPA UDID XML download (incremental: older versions are skipped)"),
    "import-sheet": (import_products, "import a product sheet (CSV / XLSX, Chinese or English headers)"),
    "import-mapping": (import_mappings, "import a three-code mapping table 三码映射 (CSV / XLSX)"),
}


def add_commands(sub, db_url_of):
    """Register `master import-udid|import-sheet|import-mapping FILE` and
    `master show DI` on an argparse subparsers object; db_url_of(args) gives
    the database URL."""
    m = sub.add_parser("master", help="product master: UDID download, product sheets, three-code mapping")
    m.add_argument("--config", help="TOML configuration file (its database)")
    msub = m.add_subparsers(dest="master_command", required=True)
    for name, (fn, help_text) in IMPORTS.items():
        p = msub.add_parser(name, help=help_text)
        p.add_argument("file")
        p.add_argument("--json", action="store_true", help="print the report as JSON")
        p.set_defaults(func=lambda args, fn=fn: _import(args, fn, db_url_of))
    s = msub.add_parser("show", help="what the master knows about a DI (or a whole scanned code)")
    s.add_argument("di")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s.set_defaults(func=lambda args: _show(args, db_url_of))


def _engine(url):
    from gateway.store import Store  # migrates the database on first use

    return Store(url).engine


def _import(args, fn, db_url_of):
    if not os.path.isfile(args.file):
        print("no such file: %s" % args.file)
        return 2
    report = fn(_engine(db_url_of(args)), args.file)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
    else:
        print("%s %s: %d records: %d added, %d updated, %d unchanged, %d skipped (older version), %d errors"
              % (report.source, report.file, report.records, report.added, report.updated, report.unchanged,
                 report.skipped_older, report.errors))
        for e in report.error_details:
            print("  " + ", ".join("%s=%s" % (k, v) for k, v in e.items() if v is not None))
        if report.errors > len(report.error_details):
            print("  ... %d more" % (report.errors - len(report.error_details)))
    return 1 if report.errors else 0


def _as_result(text):
    # A DI on its own is looked up as it is; anything else is parsed as a
    # whole code (scan), and then its quality issues are shown too.
    di, scheme, _ = check_di(text)
    if di is None:
        r = udi_codes.parse(text, "read")
        if r["scheme"] != "unknown" and r.get("di"):
            return r, True
        scheme, di = scheme_of(text), normalise_di(text)
    return {"scheme": scheme, "di": di, "raw": text, "pi": {}}, False


def _show(args, db_url_of):
    engine = _engine(db_url_of(args))
    result, scanned = _as_result(args.di.strip())
    with engine.connect() as c:
        product = c.execute(select(products).where(products.c.di == result["di"])).mappings().first()
        chain = []
        if product:
            q = select(products).where(products.c.primary_di == product["primary_di"]).order_by(products.c.di)
            chain = [dict(r) for r in c.execute(q).mappings()]
        mapped = lookup_mapping(c, result)
        issues = quality_issues(c, result) if scanned else []
    out = {"di": result["di"], "product": dict(product) if product else None, "chain": chain,
           "mapping": {"nhsa_code": mapped[0], "commodity_code": mapped[1]} if mapped else None,
           "issues": issues}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=str))
        return 0 if product or mapped else 1
    if not product:
        print("%s: not in the product master" % result["di"])
    else:
        for k, v in out["product"].items():
            if v is not None and k != "updated_at":
                print("%-14s %s" % (k, json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v))
        print("chain:")
        for r in chain:
            inner = " contains %s x %s" % (r["contains_qty"], r["contains_di"]) if r["contains_di"] else ""
            print("  %s %s%s" % (r["di"], r["level"] or "", inner))
    if mapped:
        print("mapping: 医保编码 %s, 商品码 %s" % (mapped[0] or "-", mapped[1] or "-"))
    for i in issues:
        print("issue %s: %s (%s) %s" % (i["code"], message(i["code"], "zh"), message(i["code"], "en"), i["detail"]))
    return 0 if product or mapped else 1
