"""Every table the gateway keeps, in one place.  The same definitions serve
SQLite and PostgreSQL; changes reach existing databases through the Alembic
migrations in gateway/migrations/ (never through create_all)."""

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, false,
)

# Constraint names fixed so that migrations can refer to them on both databases.
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# --- handhelds ---------------------------------------------------------------

devices = Table(
    "devices", metadata,
    Column("dev", String(64), primary_key=True),
    Column("state", String(16)),  # online / offline (status topic, last will)
    Column("fw", String(32)),
    Column("boot", Integer),
    Column("last_seen", Float),
    Column("battery_mv", Integer),
    Column("queue", Integer),
    Column("heartbeat", JSON),
    Column("name", String(64)),
    Column("location", String(64)),
    Column("config", JSON),  # desired settings, pushed retained on .../config
    Column("config_rev", Integer),
)

# Commands sent to a handheld and what it answered on .../cmd/result.
commands = Table(
    "commands", metadata,
    Column("id", String(32), primary_key=True),
    Column("dev", String(64), nullable=False, index=True),
    Column("cmd", String(16), nullable=False),
    Column("args", JSON),
    Column("sent_at", Float, nullable=False),
    Column("ok", Boolean),
    Column("detail", JSON),
    Column("done_at", Float),
)

# --- scans -------------------------------------------------------------------

scans = Table(
    "scans", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dev", String(64), nullable=False),
    Column("boot", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("raw", Text),
    Column("mode", String(16)),
    Column("operator", String(64)),
    Column("location", String(64)),
    Column("device_ts", BigInteger),  # the device clock; 64-bit: a wrong clock must not break a batch
    Column("up_ms", BigInteger),  # 32 bits end after 24.8 days of uptime
    Column("pre_verdict", String(8)),
    Column("scheme", String(24)),
    Column("valid", Boolean),
    Column("verdict", String(12)),  # good / bad (the code, or a traceability rule)
    Column("codes", JSON),  # error, warning and alert codes
    Column("di", String(64), index=True),
    Column("lot", String(64)),
    Column("serial", String(64)),
    Column("expiry", String(16)),
    Column("item", String(128), index=True),  # the unit's identity when serialised (一物一码), see trace.identity
    Column("product", String(64)),  # DI of the matching product master record
    Column("nhsa_code", String(32)),  # 三码映射: insurance code
    Column("commodity_code", String(64)),  # 三码映射: commodity code
    Column("agg", JSON),
    Column("result", JSON),
    Column("received_at", Float, nullable=False, index=True),
    UniqueConstraint("dev", "boot", "seq", name="uq_scan_identity"),
)

# What could not be used (bad JSON, wrong types, oversize, unknown topic):
# recorded with the reason, never silently dropped.
rejects = Table(
    "rejects", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(256)),
    Column("dev", String(64)),
    Column("reason", String(64)),
    Column("detail", Text),
    Column("payload", Text),
    Column("received_at", Float, nullable=False),
)

# --- product master (NMPA UDID download, product sheets) ----------------------

# One row per package level: the primary DI (最小销售单元) and every package
# DI of its chain (bzcpbs) each have a row, linked by `contains`.
products = Table(
    "products", metadata,
    Column("di", String(64), primary_key=True),
    Column("primary_di", String(64), nullable=False, index=True),  # zxxsdycpbs of the chain
    Column("coding_system", String(32)),  # cpbsbmtxmc: GS1 / MA / AHM / drug
    Column("level", String(16)),  # cpbzjb free text (盒, 箱) or "最小销售单元"
    Column("contains_di", String(64)),  # bznhxyjbzcpbs: DI of the next-lower level
    Column("contains_qty", Integer),  # bznhxyjcpbssl
    Column("name", String(256)),  # cpmctymc
    Column("trade_name", String(256)),  # spmc
    Column("spec", String(256)),  # ggxh
    Column("reg_no", String(128)),  # zczbhhzbapzbh 注册证/备案凭证号
    Column("registrant", String(256)),  # ylqxzcrbarmc
    Column("nhsa_code", String(32)),  # ybbm
    Column("pi_lot", Boolean),  # scbssfbhph
    Column("pi_serial", Boolean),  # scbssfbhxlh
    Column("pi_mfg", Boolean),  # scbssfbhscrq
    Column("pi_expiry", Boolean),  # scbssfbhsxrq
    Column("source", String(16), nullable=False),  # udid / sheet
    Column("record_key", String(128)),  # deviceRecordKey
    Column("version", String(32)),  # versionNumber / versionTime: newer wins on import
    Column("extra", JSON),
    Column("updated_at", Float, nullable=False),
)

# 三码映射: traceability-code prefix / UDI-DI / GTIN -> insurance and commodity code.
mappings = Table(
    "mappings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # trace_prefix / di / gtin
    Column("key", String(64), nullable=False),
    Column("nhsa_code", String(32)),
    Column("commodity_code", String(64)),
    Column("name", String(256)),
    Column("source", String(128)),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("kind", "key", name="uq_mapping_key"),
)

# --- traceability --------------------------------------------------------------

# The life of one serialised unit (一物一码): where it is and what happened last.
items = Table(
    "items", metadata,
    Column("item", String(128), primary_key=True),
    Column("di", String(64), index=True),
    Column("lot", String(64)),
    Column("serial", String(64)),
    Column("expiry", String(16)),
    Column("state", String(16)),  # received / dispatched / used
    Column("location", String(64)),
    Column("first_scan", Integer),
    Column("last_scan", Integer),
    Column("used_scan", Integer),  # the scan that used / dispensed it
    Column("updated_at", Float),
)

# Stock-changing scans: receive (+1 at loc), dispatch (-1), use (-1).
movements = Table(
    "movements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", Integer, ForeignKey("scans.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("location", String(64)),
    Column("item", String(128)),
    Column("di", String(64)),
    Column("lot", String(64)),
    Column("qty", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_movements_stock", "location", "di", "lot"),
)

# Recall / block list: a DI, optionally narrowed to a lot or a serial range.
blocks = Table(
    "blocks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("di", String(64), nullable=False, index=True),
    Column("lot", String(64)),
    Column("serial_from", String(64)),
    Column("serial_to", String(64)),
    Column("reason", String(256), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False, index=True),
    Column("scan_id", Integer),
    Column("dev", String(64)),
    Column("item", String(128)),
    Column("di", String(64)),
    Column("detail", Text),
    Column("created_at", Float, nullable=False),
    Column("acknowledged", Boolean, nullable=False),
)

# 装箱: a parent (case / SSCC) and what it holds.  A child is in at most one
# live parent; un-aggregation sets removed_at.
aggregations = Table(
    "aggregations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parent", String(128), nullable=False, index=True),
    Column("child", String(128), nullable=False, index=True),
    Column("session", String(64)),
    Column("source", String(64)),  # device id or print job
    Column("created_at", Float, nullable=False),
    Column("removed_at", Float),
)

# A handheld's aggregation session, until it is closed by its parent (or last child).
agg_sessions = Table(
    "agg_sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dev", String(64), nullable=False),
    Column("session", String(64), nullable=False),
    Column("order", String(16)),
    Column("parent", String(128)),
    Column("parent_info", JSON),  # what the parent holds: DI, quantity, level
    Column("children", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # open / closed / rejected
    Column("problems", JSON),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("dev", "session", name="uq_agg_session"),
)

# --- access --------------------------------------------------------------------

# API tokens for machines (ERP, MES, scripts); only a hash is kept.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("hash", String(128), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # admin / operator / reader, or "scoped"
    Column("scopes", Text),  # a scoped token's scopes, space-separated (gateway.api.auth); null for a role
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

# --- label printing (gateway.printing) ---------------------------------------------

printers = Table(
    "printers", metadata,
    Column("name", String(64), primary_key=True),
    Column("uri", String(256), nullable=False),  # tcp://host:9100, usb:SERIAL, serial:/dev/…, cups:queue
    Column("dpi", Integer, nullable=False),
    Column("ips", Float, nullable=False),  # rated speed, inches per second
    Column("info", JSON),  # ~HI: model, firmware
    Column("state", JSON),  # last ~HS / ~HQES reading
    Column("updated_at", Float, nullable=False),
    # The gateway that runs this printer's jobs (gateways.id): the one that can
    # reach it.  None: any gateway that starts a job runs it (a single gateway).
    Column("gateway", String(64)),
)

# Where serials come from: one pool per (DI, lot) — or per DI when lot is
# None — with its scheme (sequential / random / list).
serial_pools = Table(
    "serial_pools", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("di", String(64), nullable=False),
    Column("lot", String(64), nullable=False),  # "" = one pool for every lot of the DI
    Column("scheme", String(16), nullable=False),
    Column("params", JSON, nullable=False),  # width, prefix, length, alphabet …
    Column("next_value", Integer, nullable=False),  # sequential: the next number to give out
    Column("created_at", Float, nullable=False),
    UniqueConstraint("di", "lot", name="uq_serial_pool"),
)

# Every serial ever given out (or imported into a list pool).  Unique per DI:
# a GTIN + serial names one item for ever, whatever the lot.
serials = Table(
    "serials", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pool_id", Integer, ForeignKey("serial_pools.id"), nullable=False, index=True),
    Column("di", String(64), nullable=False),
    Column("serial", String(64), nullable=False),
    Column("lot", String(64)),
    Column("state", String(12), nullable=False, index=True),  # available (lists) / allocated / sent / printed / verified / failed / voided
    Column("job_id", Integer, index=True),
    Column("label_no", Integer),  # position in its job
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("di", "serial", name="uq_serial_once"),
)

print_jobs = Table(
    "print_jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("di", String(64), nullable=False),  # the package level being printed
    Column("template", String(64), nullable=False),
    Column("printer", String(64), nullable=False),
    Column("lot", String(64)),
    Column("production_date", String(10)),
    Column("expiry", String(10)),
    Column("quantity", Integer, nullable=False),
    Column("fields", JSON),  # further template fields (names, 注册证编号 …)
    Column("state", String(12), nullable=False),  # created / running / paused / held / cancelled / done / failed
    Column("reason", Text),  # why held / failed
    Column("counts", JSON),  # printed, voided, in_printer …
    Column("reconciliation", JSON),  # ledger vs the printer's counter at the end
    Column("verify", JSON),  # on-line quality policy: {"min_grade": 1.5, "stop_after": 3} or null
    Column("rejected", Integer),  # labels that failed verification (voided, printed again with new serials)
    # label_templates.version the job was created with; its labels are rendered from that version
    # (None: a job from before template versions were kept, rendered from printer_templates/).
    Column("template_version", Integer),
    Column("gateway", String(64)),  # the gateway whose runner prints (printed) it
    Column("created_by", String(64)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Every version of a label template a job may have used (gateway.printing.template_versions):
# the shipped printer_templates/ file as first used, and each change saved in the panel.
# Rows are never changed or deleted, so a job's recorded version renders as it did.
label_templates = Table(
    "label_templates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, … per name
    Column("source", String(8), nullable=False),  # file (the shipped template) / panel (an admin's edit)
    Column("meta", JSON, nullable=False),  # the <name>.toml, parsed
    Column("zpl", Text, nullable=False),  # the <name>.zpl
    Column("sha256", String(64), nullable=False),  # of meta + zpl
    Column("file_sha256", String(64), nullable=False),  # of the shipped file when this version was made
    Column("note", Text),  # what changed
    Column("created_by", String(64)),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "version", name="uq_label_template_version"),
)

# Who did what to which label and why (reprints, voids, holds, resumes).
print_audit = Table(
    "print_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, index=True),
    Column("serial_id", Integer),
    Column("action", String(24), nullable=False),
    Column("actor", String(64)),
    Column("detail", Text),
    Column("at", Float, nullable=False),
)

# Print-quality checks of printed labels (gateway.quality): one row per label
# image graded on the line (or by hand).
label_checks = Table(
    "label_checks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, index=True),
    Column("serial_id", Integer, index=True),
    Column("decoded", Text),
    Column("match", Boolean),
    Column("valid", Boolean),
    Column("grade", Float),
    Column("notation", String(16)),
    Column("passed", Boolean, nullable=False),
    Column("reason", Text),
    Column("parameters", JSON),
    Column("image", String(512)),
    Column("at", Float, nullable=False),
)

# --- the site: every gateway sharing this database (gateway.site) -------------------

gateways = Table(
    "gateways", metadata,
    Column("id", String(64), primary_key=True),  # config gateway_id
    Column("host", String(256)),
    Column("api", String(256)),  # where its API and panel listen
    Column("version", String(32)),
    Column("started_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False, index=True),  # a beat every few seconds while it runs
    Column("stats", JSON),  # ingest counters, CPU, RSS
)

# --- the panel's users, sessions and audit log (gateway.panel) ---------------------------

panel_users = Table(
    "panel_users", metadata,
    Column("name", String(64), primary_key=True),
    Column("pw_hash", String(256), nullable=False),  # scrypt$n$r$p$salt$hash (hex)
    Column("role", String(16), nullable=False),  # viewer / operator / admin
    Column("failed_count", Integer, nullable=False, default=0),
    Column("locked_until", Float),
    Column("created_at", Float, nullable=False),
    # A disabled user cannot sign in (and has no sessions); the row stays for the audit trail.
    Column("disabled", Boolean, nullable=False, default=False, server_default=false()),
    Column("last_signin_at", Float),
)

panel_sessions = Table(
    "panel_sessions", metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie's token
    Column("user", String(64), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

panel_audit = Table(
    "panel_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("user", String(64)),
    Column("action", String(32), nullable=False),
    Column("detail", Text),
)
