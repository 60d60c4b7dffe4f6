"""The NMPA UDID database download (XML) -> `products` rows, plus the write
path every product import shares (DI checks, versioned batch upsert, report).

A UDID record (codes.md §6.2) becomes one row for its primary DI (最小销售单元),
one per package level of its `packingList` and, when the record names a
different 使用单元 DI (`sydycpbs`), one for the use unit.  The file is read
with an event parser and records are dropped as soon as they are handled, so
a download of hundreds of MB is read in flat memory; rows are written in
batches, one transaction each."""

import json
import os
import time
from dataclasses import asdict, dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from sqlalchemy import delete, select

import udi_codes
from gateway.schema import products
from udi_codes.checkchars import hibc_mod43

PRIMARY_LEVEL = "最小销售单元"
USE_UNIT_LEVEL = "使用单元"

# UDID tag -> products column, copied as text.
TEXT_FIELDS = {
    "cpmctymc": "name",
    "spmc": "trade_name",
    "ggxh": "spec",
    "zczbhhzbapzbh": "reg_no",
    "ylqxzcrbarmc": "registrant",
    "deviceRecordKey": "record_key",
}
# UDID tag -> products column, "是"/"否" style flags: what the PI must contain.
PI_FLAGS = {
    "scbssfbhph": "pi_lot",
    "scbssfbhxlh": "pi_serial",
    "scbssfbhscrq": "pi_mfg",
    "scbssfbhsxrq": "pi_expiry",
}
# Version tags, most significant first: a record with a larger tuple is newer.
VERSION_TAGS = ("versionNumber", "versionTime", "correctionNumber")
# Read into columns by hand (below), so not repeated in `extra`.
HANDLED = set(TEXT_FIELDS) | set(PI_FLAGS) | set(VERSION_TAGS) | {"zxxsdycpbs", "ybbm", "packingList"}

TRUE_WORDS = {"是", "1", "true", "t", "y", "yes", "有"}
FALSE_WORDS = {"否", "0", "false", "f", "n", "no", "无"}

# cpbsbmtxmc (编码体系名称) -> engine scheme; first match wins, so the
# specific names come before the bare "MA".
SYSTEMS = (
    ("GS1", "gs1"),
    ("HIBC", "hibc"),
    ("AHM", "ahm"),
    ("阿里", "ahm"),
    ("IDCODE", "ma"),
    ("MA", "ma"),
    ("药品", "cn-drug"),
)
# What `coding_system` holds for each scheme (the raw name goes to `extra`).
SYSTEM_LABELS = {"gs1": "GS1", "hibc": "HIBC", "ahm": "AHM", "ma": "MA", "cn-drug": "drug"}

# `extra` is for reference, not a second copy of the download: bounded.
EXTRA_MAX_KEYS = 64
EXTRA_MAX_TEXT = 512
EXTRA_MAX_ITEMS = 20
EXTRA_MAX_BYTES = 16384

DI_MAX = products.c.di.type.length  # a longer one is refused, never cut
ERROR_DETAILS_MAX = 1000  # per report; the count goes on
BATCH = 1000


# --- report ------------------------------------------------------------------------


@dataclass
class ImportReport:
    source: str  # udid / sheet / mapping
    file: str = None
    records: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    errors: int = 0
    error_details: list = field(default_factory=list)

    def error(self, **detail):
        self.errors += 1
        if len(self.error_details) < ERROR_DETAILS_MAX:
            self.error_details.append(detail)

    def count(self, outcome):
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self):
        return asdict(self)


# --- DI checks -----------------------------------------------------------------------


def ascii_digits(s):
    return s != "" and all("0" <= c <= "9" for c in s)


def scheme_of(di, system=None):
    """The engine scheme a DI belongs to: from the coding-system name when it
    names one, else from the DI's shape; None when neither tells."""
    name = (system or "").upper()
    for word, scheme in SYSTEMS:
        if word in name:
            return scheme
    if ascii_digits(di):
        if len(di) == 7:
            return "cn-drug"  # 药品标识码, the first 7 digits of a 20-digit trace code
        if len(di) in (8, 12, 13, 14):
            return "gs1"
    if di.startswith("MA."):
        return "ma"
    if di.startswith("+"):
        return "hibc"
    if di.startswith("MF"):
        return "ahm"
    return None


def check_di(di, system=None):
    """-> (normalised DI, scheme, None) or (None, scheme, reason).

    Normalised as the engine reports a scanned DI, so that a scan finds its
    row: a GTIN is padded to 14 digits, an HIBC primary loses its check
    character."""
    di = (di or "").strip()
    scheme = scheme_of(di, system)
    if not di:
        return None, scheme, "DI missing"
    if len(di) > DI_MAX:
        return None, scheme, "DI longer than %d characters" % DI_MAX
    if scheme == "gs1":
        if not ascii_digits(di) or len(di) not in (8, 12, 13, 14):
            return None, scheme, "GS1 DI must be a GTIN of 8, 12, 13 or 14 digits, got %r" % di[:64]
        di = di.rjust(14, "0")
        return _engine_verdict(di, scheme, "(01)" + di)
    if scheme == "ma":
        return _engine_verdict(di, scheme, di)
    if scheme == "hibc":
        r = udi_codes.parse(di, "read")
        if not (r["scheme"] == "hibc" and r["valid"] and r["di"] and not r["pi"]):
            # UDID may list the primary without its check character.
            check = hibc_mod43(di)
            if check is not None:
                r2 = udi_codes.parse(di + check, "read")
                if r2["scheme"] == "hibc" and r2["valid"] and not r2["pi"]:
                    r = r2
        if r["scheme"] == "hibc" and r["valid"] and r["di"] and not r["pi"]:
            return r["di"], scheme, None
        return None, scheme, _reason(r, "not an HIBC primary")
    if scheme == "ahm":
        # No public specification: the engine recognises, it cannot validate.
        r = udi_codes.parse(di, "read")
        return (di, scheme, None) if r["scheme"] == "ahm" else (None, scheme, "not an AHM (MF...) code")
    if scheme == "cn-drug":
        if ascii_digits(di) and len(di) == 7:
            return di, scheme, None
        return None, scheme, "药品标识码 must be 7 digits, got %r" % di[:64]
    return None, scheme, "DI %r matches no known coding system" % di[:64]


def _engine_verdict(di, scheme, text):
    r = udi_codes.parse(text, "read")
    if r["scheme"] == scheme and r["valid"] and r["di"] == di and not r["pi"]:
        return di, scheme, None
    return None, scheme, _reason(r, "not a %s DI" % scheme)


def _reason(r, fallback):
    if r["scheme"] != "unknown" and r["errors"]:
        e = r["errors"][0]
        return "%s: %s" % (e["code"], e["message"])
    return fallback


def normalise_di(di):
    """A DI as stored: GTINs padded to 14 digits, everything else as given."""
    di = (di or "").strip()
    if ascii_digits(di) and len(di) in (8, 12, 13):
        return di.rjust(14, "0")
    return di


def parse_bool(value):
    """"是"/"否", "1"/"0", "true"/"false" ... -> True / False; None when blank
    or not a yes/no word."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    return None


# --- versions ------------------------------------------------------------------------


def make_version(number=None, when=None, correction=None):
    """A version string "<versionNumber>@<versionTime>#<correctionNumber>"
    (absent parts left out with their sign), None when the record carries
    no version at all."""
    if not (number or when or correction):
        return None
    s = number or ""
    if when:
        s += "@" + when
    if correction:
        s += "#" + correction
    return s[:32]


def _version_parts(v):
    number, _, rest = (v or "").partition("@")
    when, _, correction = rest.partition("#")
    return number, when, correction


def _part_cmp(a, b):
    if not a or not b:
        return 0  # missing on one side: this part cannot decide
    if ascii_digits(a) and ascii_digits(b):
        a, b = int(a), int(b)
    return (a > b) - (a < b)


def compare_versions(a, b):
    """-1 / 0 / 1.  Compared part by part (number, then time, then correction);
    a part missing on either side is skipped, and a row without any version
    is neither older nor newer than anything."""
    if not a or not b:
        return 0
    for x, y in zip(_version_parts(a), _version_parts(b)):
        c = _part_cmp(x, y)
        if c:
            return c
    return 0


# --- the shared write path --------------------------------------------------------

_COMPARED = [c.name for c in products.columns if c.name != "updated_at"]
_LENGTHS = {c.name: c.type.length for c in products.columns if getattr(c.type, "length", None)}


def fit(row):
    """Cut text to the column sizes (PostgreSQL enforces them, SQLite does not)."""
    for k, n in _LENGTHS.items():
        v = row.get(k)
        if isinstance(v, str) and len(v) > n:
            row[k] = v[:n]
    return row


def blank_row(di, primary_di, source):
    row = dict.fromkeys(_COMPARED)
    row.update(di=di, primary_di=primary_di, source=source)
    return row


class ProductWriter:
    """Collects records (each: its product rows, primary first) and writes them
    a batch at a time.  Per record: a stored primary with a newer version ->
    skipped_older; nothing different -> unchanged; else added / updated.  A
    batch that the database refuses is retried record by record, so one bad
    record costs only itself."""

    def __init__(self, engine, report, batch_size=BATCH, prune_chain=False):
        self.engine = engine
        self.report = report
        self.batch_size = batch_size
        # UDID imports own the whole chain of a primary DI: package rows that
        # a newer version of the record no longer lists are removed.
        self.prune_chain = prune_chain
        self.batch = []

    def add(self, where, rows):
        self.batch.append((where, [fit(r) for r in rows]))
        if len(self.batch) >= self.batch_size:
            self.flush()

    def flush(self):
        batch, self.batch = self.batch, []
        if not batch:
            return
        try:
            with self.engine.begin() as c:
                outcomes = self._apply(c, batch)
        except Exception:  # noqa: BLE001 - retried one by one just below
            outcomes = []
            for item in batch:
                try:
                    with self.engine.begin() as c:
                        outcomes += self._apply(c, [item])
                except Exception as e:  # noqa: BLE001 - the record is reported, the import goes on
                    where, rows = item
                    self.report.error(**where, di=rows[0]["di"], reason="database: %s" % str(e).splitlines()[0][:300])
        for o in outcomes:
            self.report.count(o)

    def _apply(self, c, batch):
        dis = {r["di"] for _, rows in batch for r in rows}
        primaries = {rows[0]["primary_di"] for _, rows in batch}
        existing = {}
        chains = {}  # primary_di -> DIs stored under it
        for chunk in chunks(sorted(dis)):
            for r in c.execute(select(products).where(products.c.di.in_(chunk))).mappings():
                existing[r["di"]] = dict(r)
        if self.prune_chain:
            for chunk in chunks(sorted(primaries)):
                q = select(products.c.di, products.c.primary_di, products.c.source).where(products.c.primary_di.in_(chunk))
                for r in c.execute(q):
                    if r.source == "udid":
                        chains.setdefault(r.primary_di, set()).add(r.di)
        pending = {}
        stale = {}
        outcomes = []
        for _, rows in batch:
            primary = rows[0]
            stored = existing.get(primary["di"])
            if stored is not None and compare_versions(primary["version"], stored["version"]) < 0:
                outcomes.append("skipped_older")
                continue
            changed = False
            for row in rows:
                cur = existing.get(row["di"])
                if cur is not None and row is not primary and compare_versions(row["version"], cur["version"]) < 0:
                    continue  # a package DI that a newer record owns
                if cur is None or any(cur[k] != row[k] for k in _COMPARED):
                    pending[row["di"]] = row
                    existing[row["di"]] = row
                    changed = True
            if self.prune_chain:
                p = primary["di"]
                keep = {r["di"] for r in rows}
                gone = {d for d in chains.get(p, ()) if d not in keep and d != p}
                if gone:
                    changed = True
                # A level dropped by an earlier record of this batch and listed
                # again by a later one stays.
                stale[p] = (stale.get(p, set()) | gone) - keep
                chains[p] = keep
            outcomes.append("added" if stored is None else "updated" if changed else "unchanged")
        if pending:
            now = time.time()
            c.execute(upsert(c, products, ["di"]), [dict(r, updated_at=now) for r in pending.values()])
        for p, gone in stale.items():
            if not gone:
                continue
            c.execute(delete(products).where(products.c.primary_di == p, products.c.source == "udid",
                                             products.c.di.in_(sorted(gone))))
        return outcomes

    def close(self):
        self.flush()
        return self.report


def upsert(conn, table, keys):
    # INSERT ... ON CONFLICT (keys) DO UPDATE: the last writer wins, also
    # against another gateway importing at the same time.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table)
    cols = [c.name for c in table.columns if c.name not in keys and not c.primary_key]
    return stmt.on_conflict_do_update(index_elements=keys, set_={k: stmt.excluded[k] for k in cols})


def chunks(items, n=500):
    for i in range(0, len(items), n):
        yield items[i : i + n]


# --- the XML ---------------------------------------------------------------------------


def _local(tag):
    # "{namespace}device" / "ns:device" -> "device"
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _text(el):
    t = (el.text or "").strip()
    return t or None


def _fields(el):
    """One record element -> {tag: text} for leaf children and
    {tag: [ {tag: text}, ... ]} for list children (packingList, storageList...)."""
    out = {}
    for child in el:
        name = _local(child.tag)
        if len(child):
            items = []
            for item in child:
                if len(item):
                    items.append({_local(g.tag): _text(g) for g in item})
                elif _text(item) is not None:
                    items.append({_local(item.tag): _text(item)})
            out[name] = items
        else:
            out[name] = _text(child)
    return out


def iter_records(source):
    """Yield (index, {tag: value}, None) for every record element of a UDID
    download (an element with a `zxxsdycpbs` child, whatever its own name or
    prefix), 1-based in file order.  A broken file ends the iteration with one
    (index, None, reason), after the records read so far."""
    stack = []
    index = 0
    try:
        for event, el in iterparse(source, events=("start", "end")):
            if event == "start":
                stack.append(el)
                continue
            stack.pop()
            if not any(_local(c.tag) == "zxxsdycpbs" for c in el):
                continue
            index += 1
            fields = _fields(el)
            # Drop the handled record from the tree: memory stays flat.
            el.clear()
            if stack:
                stack[-1].remove(el)
            yield index, fields, None
    except (ParseError, DefusedXmlException) as e:
        yield index + 1, None, "XML: %s" % e


def record_rows(fields):
    """One record -> (rows, None) with the primary row first, or (None, reason)."""
    system = fields.get("cpbsbmtxmc")
    primary, scheme, why = check_di(fields.get("zxxsdycpbs"), system)
    if primary is None:
        return None, "zxxsdycpbs: %s" % why
    version = make_version(*(fields.get(t) for t in VERSION_TAGS))
    base = blank_row(primary, primary, "udid")
    base["coding_system"] = SYSTEM_LABELS.get(scheme, system)
    base["version"] = version
    for tag, col in TEXT_FIELDS.items():
        base[col] = fields.get(tag)
    for tag, col in PI_FLAGS.items():
        base[col] = parse_bool(fields.get(tag))
    base["nhsa_code"], codes = _nhsa(fields.get("ybbm"))

    row = dict(base, level=PRIMARY_LEVEL)
    rows = [row]
    seen = {primary}

    # The 使用单元 (use unit) inside the sales unit, when it has its own DI.
    use_di = fields.get("sydycpbs")
    if use_di and normalise_di(use_di) != primary:
        di, _, why = check_di(use_di, system)
        if di is None:
            return None, "sydycpbs: %s" % why
        qty, why = parse_quantity(fields.get("zxxsdyzsydydsl"), required=False)
        if why:
            return None, "zxxsdyzsydydsl: %s" % why
        row["contains_di"], row["contains_qty"] = di, qty
        rows.append(dict(base, di=di, level=USE_UNIT_LEVEL))
        seen.add(di)

    for n, pack in enumerate(fields.get("packingList") or [], 1):
        if not isinstance(pack, dict):
            continue
        di, _, why = check_di(pack.get("bzcpbs"), system)
        if di is None:
            return None, "packing %d bzcpbs: %s" % (n, why)
        if di in seen:
            return None, "packing %d bzcpbs: %s is listed twice in the record" % (n, di)
        qty, why = parse_quantity(pack.get("bznhxyjcpbssl"), required=True)
        if why:
            return None, "packing %d bznhxyjcpbssl: %s" % (n, why)
        inner = None
        if pack.get("bznhxyjbzcpbs"):
            inner, _, why = check_di(pack["bznhxyjbzcpbs"], system)
            if inner is None:
                return None, "packing %d bznhxyjbzcpbs: %s" % (n, why)
        seen.add(di)
        rows.append(dict(base, di=di, level=pack.get("cpbzjb"), contains_di=inner, contains_qty=qty))

    row["extra"] = _extra(fields, system, base["coding_system"], codes)
    return rows, None


def parse_quantity(value, required):
    if value is None or str(value).strip() == "":
        return None, ("missing" if required else None)
    s = str(value).strip().removesuffix(".0")  # "10.0" from spreadsheet round trips
    if not ascii_digits(s) or int(s) < 1:
        return None, "%r is not a positive integer" % str(value)[:32]
    return int(s), None


def _nhsa(value):
    # ybbm may hold several codes ("C123..., C456..."): the first is the
    # column value, all of them stay in extra.
    if not value:
        return None, []
    codes = [t for t in value.replace("，", ",").replace("；", ",").replace(";", ",").replace(" ", ",").split(",") if t]
    return (codes[0] if codes else None), codes


def _extra(fields, system, label, codes):
    extra = {}
    if system and system != label:
        extra["cpbsbmtxmc"] = system[:EXTRA_MAX_TEXT]
    if len(codes) > 1:
        extra["ybbm"] = codes[:EXTRA_MAX_ITEMS]
    for tag in PI_FLAGS:
        if fields.get(tag) is not None and parse_bool(fields[tag]) is None:
            extra[tag] = fields[tag][:EXTRA_MAX_TEXT]  # not a yes/no word: kept as written
    for k, v in fields.items():
        if k in HANDLED or v is None or k == "cpbsbmtxmc" or v == []:
            continue
        if len(extra) >= EXTRA_MAX_KEYS:
            extra["_truncated"] = True
            break
        if isinstance(v, list):
            v = [{ik: (iv[:EXTRA_MAX_TEXT] if isinstance(iv, str) else iv) for ik, iv in item.items()}
                 for item in v[:EXTRA_MAX_ITEMS]]
        else:
            v = v[:EXTRA_MAX_TEXT]
        extra[k] = v
        if len(json.dumps(extra, ensure_ascii=False)) > EXTRA_MAX_BYTES:
            del extra[k]
            extra["_truncated"] = True
            break
    return extra or None


def import_udid(engine, source, *, batch_size=BATCH):
    """Import a UDID XML download (a path or a binary file object) into
    `products`.  Incremental and idempotent; see ImportReport for the counts."""
    report = ImportReport("udid", file=os.fspath(source) if isinstance(source, (str, os.PathLike)) else None)
    writer = ProductWriter(engine, report, batch_size, prune_chain=True)
    try:
        for index, fields, broken in iter_records(source):
            if broken:  # the file itself is unreadable from here on
                report.error(record=index, di=None, reason=broken)
                break
            report.records += 1
            rows, why = record_rows(fields)
            if rows is None:
                report.error(record=index, di=fields.get("zxxsdycpbs"), reason=why)
                continue
            writer.add({"record": index}, rows)
    except OSError as e:
        report.error(record=0, di=None, reason="file: %s" % e)
    writer.close()
    return report


def lookup_product(conn, di):
    """The product row of a DI (GTINs padded to 14 digits) as a dict, or None.
    conn: a SQLAlchemy Connection or Engine."""
    if not di:
        return None
    q = select(products).where(products.c.di == normalise_di(di))
    if hasattr(conn, "execute"):
        r = conn.execute(q).mappings().first()
    else:
        with conn.connect() as c:
            r = c.execute(q).mappings().first()
    return dict(r) if r else None
