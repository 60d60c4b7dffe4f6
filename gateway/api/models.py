"""Request and response models (pydantic v2): what the OpenAPI document
shows integrators.  Times are Unix seconds (float) as stored."""

import json
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gateway.api.auth import ROLES, SCOPES
from gateway.devices import COMMANDS, MODES, REMOTE_DEFAULTS, TEXT_MAX

T = TypeVar("T")

Verdict = Literal["good", "bad"]
Scheme = Literal["gs1", "hibc", "ma", "ahm", "cn-drug", "nhsa-drug", "nhsa-consumable", "unknown"]  # docs/code-engine.md
Mode = Literal[MODES]
Role = Literal[ROLES]
Scope = Literal[SCOPES]
Command = Literal[COMMANDS]
MappingKind = Literal["trace_prefix", "di", "gtin"]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


# --- scans -----------------------------------------------------------------------


class Issue(BaseModel):
    # An error, warning or note of the code engine (udi_codes/result.py).
    model_config = ConfigDict(extra="allow")
    code: str | None = None
    message: str | None = None
    at: int | str | None = None


class EngineResult(BaseModel):
    # udi_codes.parse() as the gateway judged the scan; see docs/code-engine.md.
    model_config = ConfigDict(extra="allow")
    raw: str | None = None
    scheme: str | None = None
    symbology: str | None = None
    valid: bool | None = None
    errors: list[Issue] = []
    warnings: list[Issue] = []
    notes: list[Issue] = []
    elements: list[dict[str, Any]] = []
    di: str | None = None
    pi: dict[str, Any] = {}
    hri: str | None = None
    dl_uri: str | None = None
    package_level: int | None = None


class ScanOut(BaseModel):
    id: int
    dev: str
    boot: int
    seq: int
    raw: str | None = None
    mode: str | None = None
    operator: str | None = None
    location: str | None = None
    device_ts: int | None = Field(None, description="Device clock (Unix seconds) when it had time.")
    up_ms: int | None = None
    pre_verdict: str | None = Field(None, description="The handheld's own pre-check: good / bad / unknown.")
    scheme: str | None = None
    valid: bool | None = None
    verdict: str | None = Field(None, description="good / bad: the code, or a traceability rule.")
    codes: list[str] | None = Field(None, description="Error, warning and alert codes.")
    di: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: str | None = None
    item: str | None = Field(None, description="The unit's identity when serialised (一物一码).")
    product: str | None = Field(None, description="DI of the matching product master record.")
    nhsa_code: str | None = Field(None, description="三码映射: medical-insurance code.")
    commodity_code: str | None = None
    agg: Any = None
    result: EngineResult | None = None
    received_at: float


# --- devices ------------------------------------------------------------------------


class CommandOut(BaseModel):
    id: str
    dev: str
    cmd: str
    args: dict[str, Any] | None = None
    sent_at: float
    ok: bool | None = Field(None, description="null while the handheld has not answered (or reports progress).")
    detail: Any = Field(None, description="The handheld's detail: a value, an error code, or OTA progress {done, total}.")
    done_at: float | None = None


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cmd: Command
    args: dict[str, Any] = Field(default_factory=dict, description=(
        "reboot, status: none; set_mode: {mode}; sync_time: {} or {unix}; ota: {url (http://), size (bytes)}."))


class DeviceOut(BaseModel):
    dev: str
    name: str | None = None
    location: str | None = None
    state: str | None = Field(None, description="online / offline as the handheld last said (status topic, last will).")
    online: bool
    fw: str | None = None
    boot: int | None = None
    last_seen: float | None = None
    battery_mv: int | None = None
    queue: int | None = Field(None, description="Scans waiting in the handheld's outbox (last heartbeat).")
    heartbeat: dict[str, Any] | None = None
    config: dict[str, Any] | None = Field(None, description="The desired settings last pushed.")
    config_rev: int | None = None


class DeviceDetail(DeviceOut):
    commands: list[CommandOut] = Field(description="The last 20 commands, newest first.")


Meta = Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00]*$")]


class DevicePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Meta | None = Field(None, description="Leave out to keep; null or \"\" clears.")
    location: Meta | None = None


class ConfigPushed(BaseModel):
    dev: str
    rev: int
    config: dict[str, Any]
    topic: str
    delivery: Literal["sent", "queued"] = Field(description="queued: the gateway is reconnecting to the broker and sends it then.")


def settings_schema():
    # The JSON schema of a config push, from the firmware's own defaults
    # (gateway.devices reads them): one source for keys and types.
    def schema(default):
        if default is None:
            return {"type": ["string", "null"], "maxLength": TEXT_MAX}
        if isinstance(default, bool):
            return {"type": "boolean"}
        if isinstance(default, int):
            return {"type": "integer", "minimum": 0}
        if isinstance(default, float):
            return {"type": "number"}
        if isinstance(default, str):
            return {"type": "string"}
        if isinstance(default, dict):
            return {"type": "object", "additionalProperties": False,
                    "properties": {k: schema(v) for k, v in default.items()}}
        return {"type": "array"}

    props = {}
    for key, default in REMOTE_DEFAULTS.items():
        props[key] = dict(schema(default), description="firmware default: %s" % json.dumps(default))
    props["mode"]["enum"] = list(MODES)
    return {"title": "DeviceSettings", "type": "object", "additionalProperties": False, "properties": props,
            "example": {"mode": "receive", "operator": "nurse-07", "heartbeat_s": 60}}


# --- product master, mappings ---------------------------------------------------------


class ProductOut(BaseModel):
    di: str
    primary_di: str
    coding_system: str | None = None
    level: str | None = None
    contains_di: str | None = Field(None, description="DI of the next-lower package level.")
    contains_qty: int | None = None
    name: str | None = None
    trade_name: str | None = None
    spec: str | None = None
    reg_no: str | None = None
    registrant: str | None = None
    nhsa_code: str | None = None
    pi_lot: bool | None = None
    pi_serial: bool | None = None
    pi_mfg: bool | None = None
    pi_expiry: bool | None = None
    source: str
    record_key: str | None = None
    version: str | None = None
    extra: Any = None
    updated_at: float


class ProductDetail(ProductOut):
    above: list[ProductOut] = Field(description="Package levels holding this one, nearest first.")
    below: list[ProductOut] = Field(description="Package levels inside this one, nearest first, down to the primary DI.")


class MappingOut(BaseModel):
    id: int
    kind: str
    key: str
    nhsa_code: str | None = None
    commodity_code: str | None = None
    name: str | None = None
    source: str | None = None
    updated_at: float


class UnmappedDI(BaseModel):
    di: str
    scheme: str | None = None
    scans: int
    first_seen: float
    last_seen: float
    product_name: str | None = Field(None, description="From the product master, when the DI is there.")


# --- alerts, blocks ----------------------------------------------------------------------


class AlertOut(BaseModel):
    id: int
    kind: str
    scan_id: int | None = None
    dev: str | None = None
    item: str | None = None
    di: str | None = None
    detail: str | None = None
    created_at: float
    acknowledged: bool


Code64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")]


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    di: Code64 = Field(description="GS1 DI (14 digits), MA DI, 7-digit 药品标识码, or HIBC primary (+LIC PCN U/M).")
    lot: Code64 | None = None
    serial_from: Code64 | None = Field(None, description="With serial_to: blocks serial_from ≤ serial ≤ serial_to.")
    serial_to: Code64 | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00]*$")]


class BlockOut(BaseModel):
    id: int
    di: str
    lot: str | None = None
    serial_from: str | None = None
    serial_to: str | None = None
    reason: str
    active: bool
    created_at: float


# --- tokens -----------------------------------------------------------------------------------


class TokenOut(BaseModel):
    id: int
    name: str
    role: str = Field(description="reader, operator, admin — or scoped: only the scopes listed.")
    scopes: list[str] = Field(description="What the token may do, <area>:<level> (a role's spelled out); docs/api.md.")
    created_at: float
    revoked_at: float | None = None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
    role: Role | None = Field(None, description="A role, or else scopes.")
    scopes: list[Scope] | None = Field(None, min_length=1, description="Scopes instead of a role, e.g. [\"scans:read\"].")

    @model_validator(mode="after")
    def role_or_scopes(self):
        if (self.role is None) == (self.scopes is None):
            raise ValueError("give either a role or scopes, not both")
        return self


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once: only its hash is kept.")


# --- traceability (gateway.trace) ---------------------------------------------------

class Finding(BaseModel):
    code: str = Field(description="A traceability code, e.g. agg_count_mismatch, used_twice.")
    bad: bool
    detail: str = ""
    message: str = Field(description="What it means, in Chinese.")


class TreeNode(BaseModel):
    item: str = Field(description="Unit key: (00)SSCC, (01)GTIN(21)serial, a 20-digit drug code, …")
    children: list["TreeNode"] = []


class AggregationView(BaseModel):
    item: str
    contents: TreeNode = Field(description="What this unit holds, recursively (大中小包装级联).")
    containers: list[str] = Field(description="The case, then the pallet, … that hold this unit.")


class PackIn(BaseModel):
    parent: str = Field(min_length=1, max_length=4096, description="The parent's code as scanned or printed (AIM id + GS, or HRI).")
    children: list[Annotated[str, StringConstraints(min_length=1, max_length=4096)]] = Field(min_length=1, max_length=10000)
    source: str = Field(default="api", max_length=64, description="Print job or line id, kept with the links.")


class PackOut(BaseModel):
    parent: str | None
    packed: int
    findings: list[Finding]


class UnpackOut(BaseModel):
    parent: str
    removed: int


class StockRow(BaseModel):
    location: str | None
    di: str | None
    lot: str | None
    qty: int


class ItemOut(BaseModel):
    item: str
    di: str | None
    lot: str | None
    serial: str | None
    expiry: str | None
    state: str | None = Field(description="received / dispatched / used, or null when only seen (e.g. packed).")
    location: str | None
    used_scan: int | None
    updated_at: float | None


class MovementOut(BaseModel):
    id: int
    scan_id: int
    kind: str
    location: str | None
    item: str | None
    di: str | None
    lot: str | None
    qty: int
    at: float


class ItemDetail(ItemOut):
    movements: list[MovementOut]
    containers: list[str]


# --- label printing (gateway.printing) --------------------------------------------

class PrinterIn(BaseModel):
    uri: str = Field(min_length=3, max_length=256, pattern=r"^(tcp://|serial:|usb|cups:)[^\x00]*$",
                     description="tcp://HOST:9100, serial:/dev/ttyUSB0?baud=9600, usb[:SERIAL], cups:QUEUE")
    dpi: Literal[203, 300, 600]
    ips: float = Field(ge=1, le=14, description="Rated speed, inches per second.")


class PrinterOut(PrinterIn):
    name: str
    info: dict | None = None
    state: dict | None = None
    updated_at: float


class PrintJobIn(BaseModel):
    di: str = Field(min_length=1, max_length=64, description="DI of the package level to print (master record).")
    template: str = Field(min_length=1, max_length=64)
    printer: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1_000_000)
    lot: str | None = Field(default=None, max_length=20)
    production_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    expiry: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    fields: dict[str, str | int] = Field(default_factory=dict, description="Further template fields; sscc_prefix for case labels.")
    verify: dict[str, float | int] | None = Field(default=None, description='Check every label on the line: {"min_grade": 1.5, "stop_after": 3}.')


class PrintJobOut(BaseModel):
    id: int
    di: str
    template: str
    printer: str
    quantity: int
    lot: str | None
    production_date: str | None
    expiry: str | None
    fields: dict | None
    state: str
    reason: str | None
    counts: dict | None
    reconciliation: dict | None
    verify: dict | None = None
    rejected: int | None = None
    template_version: int | None = Field(None, description="The template version the job was created with and prints.")
    created_by: str | None
    created_at: float
    updated_at: float
    serials: dict[str, int] = Field(default_factory=dict, description="Serials of the job per state.")


class SerialOut(BaseModel):
    id: int
    di: str
    serial: str
    lot: str | None
    state: str
    job_id: int | None
    label_no: int | None
    updated_at: float


class ReprintIn(BaseModel):
    destroyed: bool = Field(description="The bad label is confirmed destroyed (then the same serial is printed again).")
    reason: str = Field(min_length=3, max_length=256)


class VoidIn(BaseModel):
    reason: str = Field(min_length=3, max_length=256)


class TemplateOut(BaseModel):
    name: str
    title: dict[str, str]
    symbology: str
    dpis: list[int]
    width_mm: float
    height_mm: float
    fields: dict[str, dict]
    version: int | None = Field(None, description="The template version new jobs use (label_templates).")


class PreviewIn(BaseModel):
    fields: dict[str, str | int]
    dpi: Literal[203, 300, 600] = 300


class PoolIn(BaseModel):
    di: str = Field(min_length=1, max_length=64)
    lot: str | None = Field(default=None, max_length=64)
    scheme: Literal["sequential", "random", "list"]
    params: dict[str, str | int] = Field(default_factory=dict)


class ListImportIn(BaseModel):
    serials: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(min_length=1, max_length=1_000_000)
    lot: str | None = Field(default=None, max_length=64)


class PrinterStateOut(BaseModel):
    ready: bool
    faults: list[str]
    warnings: list[str] = []
    labels_remaining: int | None = None
    formats_in_buffer: int | None = None
    partial_format: bool | None = None
    label_waiting: bool | None = None
    idle: bool | None = None
    error: str | None = None


class PoolOut(BaseModel):
    id: int
    di: str
    lot: str
    scheme: str
    params: dict
    next_value: int
    created_at: float


class ListImportOut(BaseModel):
    added: int
    duplicates: int
    invalid: int


class LabelCheckOut(BaseModel):
    id: int
    job_id: int | None
    serial_id: int | None
    decoded: str | None
    match: bool | None
    valid: bool | None
    grade: float | None
    notation: str | None
    passed: bool
    reason: str | None
    parameters: dict | None
    image: str | None
    at: float
