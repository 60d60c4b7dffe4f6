"""三码映射 (three-code mapping) in the panel: the table with search, the
scanned DIs that got no 医保编码, and the import of a CSV / XLSX file in two
steps.  Check: the upload is kept on the gateway under a random token and
import_mappings(dry_run=True) reports every row (would add / change /
unchanged / rejected, and why) without writing anything.  Import: exactly
that file, found by its token and its SHA-256; the browser never names a
path.  Uploads expire after UPLOAD_TTL_S.  Both steps are audited."""

import atexit
import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from sqlalchemy import func, or_, select
from starlette.concurrency import run_in_threadpool

from gateway.api.routes.mappings import list_unmapped
from gateway.master.mapping import import_mappings
from gateway.master.sheet import _is_xlsx as is_xlsx  # the importer's own test: XLSX by content
from gateway.panel import i18n, users
from gateway.panel.core import Operator, Viewer, acting, current, engine_of, lang_of, page, require, see_other
from gateway.panel.pages.products import PAGE_ROWS, clean
from gateway.schema import mappings, products

router = APIRouter()

MAX_UPLOAD = 10 * 1024 * 1024  # bytes: ~140,000 rows, checked in ~15-30 s (bench/mapping_import.py); more: in parts, or the CLI
FORM_SLACK = 64 * 1024  # the multipart envelope around the file
UPLOAD_TTL_S = 30 * 60
MAX_PENDING = 20  # checked files waiting at once; more would only fill the disk
SHOWN = 100  # rejected rows listed on the page; the CSV report has every row
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
KINDS = ("trace_prefix", "di", "gtin")
FILE_RULES = ("columns", "encoding", "file", "database")  # the file as a whole, not one row

i18n.add({
    "zh": {
        "map.title": "三码映射", "map.search": "键、医保编码、商品码或名称", "map.kind.any": "全部类型",
        "map.kind.trace_prefix": "追溯码前缀", "map.kind.di": "产品标识（DI）", "map.kind.gtin": "商品条码（GTIN）",
        "map.key": "键", "map.commodity": "商品码", "map.total": "共 {n} 条映射。", "map.none": "没有符合条件的映射。",
        "map.older": "更早的映射", "map.newest": "最新的映射",
        "map.import": "导入映射表", "map.file": "CSV 或 XLSX 文件（最大 {mb} MB；CSV 可为 UTF-8 或 GB18030）",
        "map.import.hint": "先检查：网关读取整个文件并列出每一行将新增、修改、不变还是被拒绝，不写入任何数据。确认后再导入。",
        "map.check": "检查文件", "map.unmapped": "未映射的产品（扫到过但没有医保编码）", "map.unmapped.none": "所有扫到的产品都有医保编码。",
        "map.scans": "扫码次数", "map.first_seen": "首次扫到", "map.last_seen": "最近扫到", "map.more": "下一页",
        "map.check.title": "检查结果：{name}", "map.dry": "这是检查结果，尚未写入任何数据。",
        "map.read": "读取行数", "map.would_add": "将新增", "map.would_change": "将修改", "map.unchanged": "不变",
        "map.rejected": "拒绝", "map.rejects": "被拒绝的行", "map.rejects.more": "只列出前 {shown} 个问题，共 {total} 个；完整报告请下载 CSV。",
        "map.row": "行号", "map.column": "列", "map.reason": "原因", "map.detail": "详情",
        "map.apply": "导入这些行", "map.apply.hint": "将导入 {n} 行；被拒绝的 {r} 行不会导入（修改文件后可重新检查）。",
        "map.nothing": "没有需要导入的内容：文件中所有有效的行都已在映射表中。",
        "map.blocked": "该文件无法导入，请按提示修改文件后重新上传。",
        "map.discard": "放弃", "map.download": "下载完整报告（CSV）", "map.expires": "此次上传将在 {time} 过期。",
        "map.imported": "导入完成（{name}）：新增 {added}，修改 {updated}，不变 {unchanged}，拒绝 {rejected} 行。",
        "map.imported.differs": "映射表在检查之后有变化，结果与检查时不完全相同。",
        "map.discarded": "已放弃上传的文件。",
        "map.err.nofile": "请选择要上传的 CSV 或 XLSX 文件。", "map.err.empty": "文件是空的。",
        "map.err.big": "文件太大（最大 {mb} MB）。请拆分成几个文件分批导入，或在网关上用 udi-edge master import-mapping 导入。",
        "map.err.length": "浏览器没有说明文件大小，无法接收。请换用其他浏览器上传。",
        "map.err.busy": "已有 {n} 个检查过的文件在等待导入。请先导入或放弃它们（{min} 分钟后自动过期）。",
        "map.err.token": "找不到这次上传：它可能已过期、已导入或链接不正确。请重新上传文件并检查。",
        "map.err.changed": "网关上保存的文件与检查时不一致，没有导入。请重新上传文件并检查。",
        "map.err.store": "网关无法保存上传的文件（{detail}）。请检查网关的磁盘空间后重试。",
        "map.outcome": "结果", "map.outcome.added": "新增", "map.outcome.updated": "修改", "map.outcome.unchanged": "不变", "map.outcome.rejected": "拒绝",
        "map.rule.required": "缺少必填内容", "map.rule.key_format": "键的格式不正确（追溯码前缀为 1–20 位数字；GTIN / DI 由编码引擎校验）",
        "map.rule.nhsa_code": "医保编码不正确（西药 X…、中成药 Z…、耗材 C…）",
        "map.rule.number_precision": "Excel 中 16 位以上的数字已丢失精度：请把该列设为文本格式",
        "map.rule.encoding": "文件无法读取（不是 UTF-8 / GB18030 的 CSV，也不是有效的 XLSX）",
        "map.rule.columns": "表头缺少必需的列（键列，以及医保编码或商品码列）",
        "map.rule.file": "文件无法打开", "map.rule.database": "数据库拒绝写入",
        "map.rule.di_format": "不是有效的产品标识", "map.rule.integer": "应为正整数", "map.rule.boolean": "应为 是/否",
    },
    "en": {
        "map.title": "Three-code mapping", "map.search": "Key, NHSA code, commodity code or name", "map.kind.any": "all kinds",
        "map.kind.trace_prefix": "trace-code prefix", "map.kind.di": "UDI-DI", "map.kind.gtin": "GTIN",
        "map.key": "Key", "map.commodity": "Commodity code", "map.total": "{n} mappings.", "map.none": "No mapping matches.",
        "map.older": "Older mappings", "map.newest": "Newest mappings",
        "map.import": "Import a mapping table", "map.file": "CSV or XLSX file (up to {mb} MB; CSV in UTF-8 or GB18030)",
        "map.import.hint": "Check first: the gateway reads the whole file and lists what each row would add, change, leave unchanged or why it is rejected, writing nothing. Then import.",
        "map.check": "Check the file", "map.unmapped": "Unmapped products (scanned, no NHSA code)", "map.unmapped.none": "Every scanned product has an NHSA code.",
        "map.scans": "Scans", "map.first_seen": "First seen", "map.last_seen": "Last seen", "map.more": "Next page",
        "map.check.title": "Check of {name}", "map.dry": "This is a check: nothing has been written yet.",
        "map.read": "Rows read", "map.would_add": "Would add", "map.would_change": "Would change", "map.unchanged": "Unchanged",
        "map.rejected": "Rejected", "map.rejects": "Rejected rows", "map.rejects.more": "The first {shown} of {total} problems; download the CSV for the full report.",
        "map.row": "Row", "map.column": "Column", "map.reason": "Reason", "map.detail": "Detail",
        "map.apply": "Import these rows", "map.apply.hint": "{n} rows will be imported; the {r} rejected rows will not (fix the file and check it again).",
        "map.nothing": "Nothing to import: every valid row of the file is in the table already.",
        "map.blocked": "This file cannot be imported; fix it as the message says and upload it again.",
        "map.discard": "Discard", "map.download": "Download the full report (CSV)", "map.expires": "This upload expires at {time}.",
        "map.imported": "Imported {name}: {added} added, {updated} changed, {unchanged} unchanged, {rejected} rows rejected.",
        "map.imported.differs": "The mapping table changed after the check, so the result differs from the check.",
        "map.discarded": "The uploaded file was discarded.",
        "map.err.nofile": "Choose a CSV or XLSX file to upload.", "map.err.empty": "The file is empty.",
        "map.err.big": "The file is too big ({mb} MB at most). Split it into several files, or import it on the gateway with udi-edge master import-mapping.",
        "map.err.length": "The browser did not say how big the file is, so it cannot be received. Upload it with another browser.",
        "map.err.busy": "{n} checked files are waiting for their import. Import or discard them first (they expire after {min} minutes).",
        "map.err.token": "This upload is unknown: it may have expired, been imported already, or the link is wrong. Upload the file again and check it.",
        "map.err.changed": "The file kept on the gateway differs from the one checked; nothing was imported. Upload the file again and check it.",
        "map.err.store": "The gateway could not keep the uploaded file ({detail}). Check the gateway's free disk space and try again.",
        "map.outcome": "Outcome", "map.outcome.added": "add", "map.outcome.updated": "change", "map.outcome.unchanged": "unchanged", "map.outcome.rejected": "rejected",
        "map.rule.required": "a required value is missing", "map.rule.key_format": "the key is not valid (trace-code prefix: 1-20 digits; GTIN / DI checked by the code engine)",
        "map.rule.nhsa_code": "not a valid NHSA code (西药 X…, 中成药 Z…, 耗材 C…)",
        "map.rule.number_precision": "Excel lost digits of a 16+ digit number: format the column as text",
        "map.rule.encoding": "the file cannot be read (neither a UTF-8 / GB18030 CSV nor a valid XLSX)",
        "map.rule.columns": "the header lacks a required column (a key column, and NHSA code or commodity code)",
        "map.rule.file": "the file cannot be opened", "map.rule.database": "the database refused the rows",
        "map.rule.di_format": "not a valid DI", "map.rule.integer": "must be a positive whole number", "map.rule.boolean": "must be yes/no",
    },
})


class UploadRefused(Exception):
    """An upload not taken: the words key, the HTTP status, the values for the words."""

    def __init__(self, key, status_code, **values):
        self.key, self.status_code, self.values = key, status_code, values


class Uploads:
    """Files waiting for their import, one directory per token: the file as
    sent (upload.csv / upload.xlsx, named by its content: openpyxl wants the
    extension), meta.json (who, file name, size, SHA-256, the check's report
    and later the import's) and report.csv (the check's full per-row report).
    A token is checked against TOKEN before it names anything, so no request
    can reach another path."""

    def __init__(self, root, ttl=UPLOAD_TTL_S):
        self.root, self.ttl = root, ttl

    def path(self, token, name=""):
        if not isinstance(token, str) or not TOKEN.match(token):
            raise KeyError(token)
        return os.path.join(self.root, token, name)

    def keep(self, src, limit):
        """Copy an upload (a binary file object) -> (token, kept file, size, sha256)."""
        token = secrets.token_urlsafe(32)
        digest, size = hashlib.sha256(), 0
        incoming = self.path(token, "incoming")
        try:
            os.mkdir(self.path(token), 0o700)
            with open(incoming, "xb") as out:
                while chunk := src.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        break
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as e:  # a full disk, say: the upload is refused and nothing is left behind
            self.drop(token)
            raise UploadRefused("map.err.store", 507, detail=e.strerror or str(e)) from None
        if size > limit or size == 0:
            self.drop(token)
            raise UploadRefused("map.err.big" if size else "map.err.empty", 413 if size else 422, mb=limit >> 20)
        kept = "upload.xlsx" if is_xlsx(incoming) else "upload.csv"
        os.rename(incoming, self.path(token, kept))
        return token, kept, size, digest.hexdigest()

    def save(self, token, meta):
        tmp = self.path(token, "meta.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)
        os.replace(tmp, self.path(token, "meta.json"))

    def meta(self, token, user, now=None):
        """The upload's record for `user`, or None: unknown, malformed, someone else's, or expired."""
        try:
            with open(self.path(token, "meta.json"), encoding="utf-8") as f:
                meta = json.load(f)
        except (KeyError, OSError, ValueError):
            return None
        if meta.get("user") != user or meta.get("created", 0) + self.ttl < (now or time.time()):
            return None
        return meta

    def claim(self, token, kept):
        # Only one import of a file: the first request to rename it has it.
        path = self.path(token, "applying-" + kept)
        try:
            os.rename(self.path(token, kept), path)
        except OSError:
            return None
        return path

    def drop(self, token):
        shutil.rmtree(self.path(token), ignore_errors=True)

    def sweep(self, now=None):
        # Uploads past their time go, whatever state they are in.
        cutoff = (now or time.time()) - self.ttl
        for token in os.listdir(self.root):
            try:
                if TOKEN.match(token) and os.path.getmtime(self.path(token)) < cutoff:
                    self.drop(token)
            except OSError:
                pass

    def waiting(self):
        # Checked files not imported (nor being imported) yet.
        return sum(1 for token in os.listdir(self.root) if TOKEN.match(token)
                   and any(os.path.exists(self.path(token, n)) for n in ("upload.csv", "upload.xlsx")))


_dir_lock = threading.Lock()


def uploads_of(request):
    """The app's upload store: app.state.upload_dir when the service sets
    one (its data directory), else a private temporary directory of this
    process, removed when it exits."""
    state = request.app.state
    with _dir_lock:
        root = getattr(state, "upload_dir", None)
        if root is None:
            root = state.upload_dir = tempfile.mkdtemp(prefix="udi-edge-uploads-")
            atexit.register(shutil.rmtree, root, True)
        os.makedirs(root, mode=0o700, exist_ok=True)
    store = Uploads(root)
    store.sweep()
    return store


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def safe_name(filename):
    # The name as the user knows it, for the report and `source`; never a path.
    name = re.sub(r"[\x00-\x1f\x7f]", "", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:120] or "mapping"


def rule_words(rule, lang):
    key = "map.rule." + (rule or "")
    words = i18n.t(lang, key)
    return rule if words == key else words


def cell(value):
    # A spreadsheet would run text starting with = + - @ as a formula.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class RowReport:
    """on_row for import_mappings: every row into the CSV report (in the
    uploader's language), the rejected rows counted, the first SHOWN problems kept."""

    def __init__(self, path, lang):
        self.lang = lang
        self.file = open(path, "w", encoding="utf-8-sig", newline="")  # BOM: Excel opens it as UTF-8
        self.out = csv.writer(self.file)
        self.out.writerow([i18n.t(lang, k) for k in ("map.row", "map.outcome", "col.kind", "map.key", "prod.nhsa",
                                                      "map.commodity", "prod.name", "map.column", "map.reason", "map.detail")])
        self.rejected = 0
        self.problems = 0
        self.shown = []

    def __call__(self, n, outcome, rows, problems):
        word = i18n.t(self.lang, "map.outcome." + outcome)
        if problems:
            self.rejected += 1
        for p in problems:
            self.problems += 1
            self.out.writerow([n, word, "", "", "", "", "", cell(p["column"]), rule_words(p["rule"], self.lang), cell(p["detail"])])
            if len(self.shown) < SHOWN:
                self.shown.append({"row": n, "column": p["column"], "rule": p["rule"], "detail": p["detail"]})
        for r in rows:
            self.out.writerow([n, word, i18n.t(self.lang, "map.kind." + r["kind"]), cell(r["key"]), cell(r["nhsa_code"]),
                               cell(r["commodity_code"]), cell(r["name"]), "", "", ""])

    def close(self):
        self.file.close()


def summary(report, rejected):
    return {"records": report.records, "added": report.added, "updated": report.updated, "unchanged": report.unchanged,
            "rejected": rejected, "errors": report.errors,
            "file_errors": [e for e in report.error_details if e.get("row") is None or e.get("rule") in FILE_RULES]}


def dry_run(engine, path, name, csv_path, lang):
    rows = RowReport(csv_path, lang)
    try:
        report = import_mappings(engine, path, dry_run=True, source=name, on_row=rows)
    finally:
        rows.close()
    return dict(summary(report, rows.rejected), shown=rows.shown, problems=rows.problems)


def apply(engine, path, name):
    rejected = []

    def on_row(n, outcome, _rows, _problems):
        if outcome == "rejected":
            rejected.append(n)

    report = import_mappings(engine, path, source=name, on_row=on_row)
    return summary(report, len(rejected))


# --- the table and the unmapped DIs ----------------------------------------------------------

def table_page(engine, text, kind, before):
    q = select(mappings).order_by(mappings.c.id.desc()).limit(PAGE_ROWS + 1)
    if text:
        c = mappings.c
        q = q.where(or_(c.key.icontains(text, autoescape=True), c.nhsa_code.icontains(text, autoescape=True),
                        c.commodity_code.icontains(text, autoescape=True), c.name.icontains(text, autoescape=True)))
    if kind in KINDS:
        q = q.where(mappings.c.kind == kind)
    if before:
        q = q.where(mappings.c.id < before)
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(q).mappings()]
        total = c.execute(select(func.count()).select_from(mappings)).scalar()
        # a DI / GTIN key links to its product when the master has it
        keys = [r["key"] for r in rows if r["kind"] != "trace_prefix"]
        in_master = {r[0] for r in c.execute(select(products.c.di).where(products.c.di.in_(keys)))} if keys else set()
    for r in rows:
        r["in_master"] = r["key"] in in_master
    return rows[:PAGE_ROWS], (rows[PAGE_ROWS - 1]["id"] if len(rows) > PAGE_ROWS else None), total


def unmapped(engine, cursor):
    try:
        return list_unmapped(engine, since=None, limit=PAGE_ROWS, cursor=cursor or None)
    except HTTPException:  # a cursor that is not ours: the first page
        return list_unmapped(engine, since=None, limit=PAGE_ROWS, cursor=None)


def list_page(request, s, status_code=200, notice=None, error=None):
    p = request.query_params
    text, kind = clean(p.get("q")), clean(p.get("kind"), 16)
    before = int(p["before"]) if p.get("before", "").isdigit() and len(p["before"]) < 10 else None
    engine = engine_of(request)
    rows, older, total = table_page(engine, text, kind, before)
    missing = unmapped(engine, clean(p.get("ucursor"), 512))
    lang = lang_of(request)
    imported = p.get("imported")
    warn = None
    if imported and notice is None:
        meta = uploads_of(request).meta(imported, s["user"])
        done = meta and meta.get("applied")
        if done:
            notice = i18n.t(lang, "map.imported", name=meta["name"], **{k: done[k] for k in ("added", "updated", "unchanged", "rejected")})
            check = meta["check"]
            if any(done[k] != check[k] for k in ("added", "updated", "unchanged", "rejected")):
                warn = i18n.t(lang, "map.imported.differs")
    if p.get("discarded") and notice is None:
        notice = i18n.t(lang, "map.discarded")
    return page(request, "map_list.html", s, status_code, tab="mappings", rows=rows, older=older, total=total, q=text,
                kind=kind, kinds=KINDS, before=before, unmapped=missing["items"], unmapped_next=missing["next_cursor"],
                ucursor=clean(p.get("ucursor"), 512), max_mb=MAX_UPLOAD >> 20, notice=notice, error=error, warn=warn)


@router.get("/panel/products/mappings", include_in_schema=False)
def mapping_list(request: Request, s=Viewer):
    return list_page(request, s)


def refused(request, s, e):
    lang = lang_of(request)
    return list_page(request, s, e.status_code, error=i18n.t(lang, e.key, **e.values))


@router.post("/panel/products/mappings/check", include_in_schema=False)
async def mapping_check(request: Request):
    """Step 1: keep the file, run the import as a dry run, show the report."""
    s = await run_in_threadpool(current, request)
    # Refused before the body is read: the session and CSRF checks parse the whole form.
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        return await run_in_threadpool(refused, request, s, UploadRefused("map.err.length", 411))
    if int(length) > MAX_UPLOAD + FORM_SLACK:
        return await run_in_threadpool(refused, request, s, UploadRefused("map.err.big", 413, mb=MAX_UPLOAD >> 20))
    s = await acting("operator")(request)
    upload = (await request.form()).get("file")
    lang = lang_of(request)
    engine = engine_of(request)
    try:
        if not hasattr(upload, "read") or not upload.filename:
            raise UploadRefused("map.err.nofile", 422)
        store = await run_in_threadpool(uploads_of, request)
        waiting = await run_in_threadpool(store.waiting)
        if waiting >= MAX_PENDING:
            raise UploadRefused("map.err.busy", 429, n=waiting, min=UPLOAD_TTL_S // 60)
        token, kept, size, digest = await run_in_threadpool(store.keep, upload.file, MAX_UPLOAD)
    except UploadRefused as e:
        return await run_in_threadpool(refused, request, s, e)
    name = safe_name(upload.filename)
    check = await run_in_threadpool(dry_run, engine, store.path(token, kept), name, store.path(token, "report.csv"), lang)
    meta = {"user": s["user"], "name": name, "kept": kept, "size": size, "sha256": digest, "created": time.time(), "check": check}
    await run_in_threadpool(store.save, token, meta)
    users.audit(engine, s["user"], "mapping_check", "%s (%d bytes, sha256 %s): dry run, %d rows: would add %d, change %d, "
                "unchanged %d, rejected %d%s" % (name, size, digest[:16], check["records"], check["added"], check["updated"],
                                                 check["unchanged"], check["rejected"],
                                                 "; file refused: " + check["file_errors"][0]["rule"] if check["file_errors"] else ""))
    return see_other("/panel/products/mappings/check/" + token)


def unknown_upload(request, s):
    return page(request, "error.html", s, 404, message=i18n.t(lang_of(request), "map.err.token"), back="/panel/products/mappings")


@router.get("/panel/products/mappings/check/{token}", include_in_schema=False)
def mapping_check_page(request: Request, token: str, s=Viewer):
    require(request, s, "operator")
    store = uploads_of(request)
    meta = store.meta(token, s["user"])
    if meta is None or meta.get("applied"):
        return unknown_upload(request, s)
    check = meta["check"]
    lang = lang_of(request)
    shown = [dict(p, reason=rule_words(p["rule"], lang)) for p in check["shown"]]
    file_errors = [dict(e, reason=rule_words(e["rule"], lang)) for e in check["file_errors"]]
    return page(request, "map_check.html", s, tab="mappings", token=token, meta=meta, check=check, shown=shown,
                file_errors=file_errors, expires=meta["created"] + store.ttl,
                can_apply=not file_errors and (check["added"] or check["updated"]))


@router.get("/panel/products/mappings/check/{token}/report.csv", include_in_schema=False)
def mapping_check_report(request: Request, token: str, s=Viewer):
    require(request, s, "operator")
    store = uploads_of(request)
    if store.meta(token, s["user"]) is None:
        return unknown_upload(request, s)
    return FileResponse(store.path(token, "report.csv"), media_type="text/csv; charset=utf-8", filename="mapping-check.csv",
                        headers={"cache-control": "no-store"})


@router.post("/panel/products/mappings/apply/{token}", include_in_schema=False)
async def mapping_apply(request: Request, token: str, s=Operator):
    """Step 2: import exactly the checked file."""
    engine = engine_of(request)
    store = await run_in_threadpool(uploads_of, request)
    meta = await run_in_threadpool(store.meta, token, s["user"])
    if meta is None or meta.get("applied") or meta["check"]["file_errors"]:
        return unknown_upload(request, s)
    path = await run_in_threadpool(store.claim, token, meta["kept"])
    if path is None:  # imported (or being imported) by another request
        return unknown_upload(request, s)
    if await run_in_threadpool(file_sha256, path) != meta["sha256"]:
        await run_in_threadpool(store.drop, token)
        users.audit(engine, s["user"], "mapping_import", "%s: refused, the kept file changed after the check" % meta["name"])
        return page(request, "error.html", s, 409, message=i18n.t(lang_of(request), "map.err.changed"),
                    back="/panel/products/mappings")
    try:
        done = await run_in_threadpool(apply, engine, path, meta["name"])
    finally:
        await run_in_threadpool(os.remove, path)
    meta["applied"] = dict(done, at=time.time())
    await run_in_threadpool(store.save, token, meta)
    users.audit(engine, s["user"], "mapping_import", "%s (sha256 %s): %d rows: added %d, changed %d, unchanged %d, rejected %d"
                % (meta["name"], meta["sha256"][:16], done["records"], done["added"], done["updated"], done["unchanged"],
                   done["rejected"]))
    return see_other("/panel/products/mappings?imported=" + token)


@router.post("/panel/products/mappings/discard/{token}", include_in_schema=False)
def mapping_discard(request: Request, token: str, s=Operator):
    store = uploads_of(request)
    meta = store.meta(token, s["user"])
    if meta is None:
        return unknown_upload(request, s)
    store.drop(token)
    users.audit(engine_of(request), s["user"], "mapping_discard", meta["name"])
    return see_other("/panel/products/mappings?discarded=1")
