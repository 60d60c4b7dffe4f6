"""Printers: live status in words, add/change, test label."""

import contextlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from gateway.api.routes.printing import get_jobs
from gateway.panel import i18n, users
from gateway.printing import discovery
from gateway.printing.jobs import JobError
from gateway.printing.status import label_count, parse_odometer, sgd_getvar
from gateway.printing.status import poll as poll_status
from gateway.printing.transports import PrinterError, open_printer
from gateway.schema import (
    print_jobs,
    printers,
)

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import (
    Admin,
    Operator,
    Viewer,
    engine_of,
    lang_of,
    page,
    problems_text,
    see_other,
)

router = APIRouter()

i18n.add({
    "zh": {
        "prn.cnt": "计数器", "prn.cnt.labels": "标签总数 {n} 张", "prn.cnt.user": "用户计数 1 / 2：{a} / {b}",
        "prn.cnt.length": "打印长度 {n} {unit}", "prn.cnt.none": "不回报计数",
        "prn.cnt.hint": "标签总数来自打印机不可清零的计数器（SGD odometer.total_label_count），打印任务据此对账；打印长度来自 ~HQOD。",
        "prn.unit.in": "英寸", "prn.unit.cm": "厘米",
        "prn.disc": "查找网络中的打印机", "prn.disc.hosts": "地址范围", "prn.disc.port": "端口",
        "prn.disc.hosts.hint": "例如 192.168.1.0/24、192.168.1.10-40 或单个地址，用逗号分隔；一次最多 {max} 个地址。",
        "prn.disc.go": "查找", "prn.disc.how": "逐个地址连接 TCP 端口（超时 0.3 秒），连上的用 ~HI 询问型号，再用 ~HQES / ~HS 读取状态。只扫描您填写的地址。",
        "prn.disc.result": "在 {hosts} 个地址中找到 {zebra} 台 Zebra 打印机（端口开放的共 {open} 个）。",
        "prn.disc.none": "在 {hosts} 个地址的端口 {port} 上没有找到打印机。请检查地址范围、端口和打印机电源。",
        "prn.disc.model": "型号 / 固件", "prn.disc.not_zebra": "端口开放，但不回应 ~HI：可能不是 Zebra 打印机。",
        "prn.disc.known": "已添加为 {name}", "prn.disc.add": "添加",
        "prn.disc.err.empty": "地址范围：请填写要查找的地址。",
        "prn.disc.err.bad": "地址范围：无法识别“{value}”。请写成 192.168.1.0/24、192.168.1.10-40 或单个地址。",
        "prn.disc.err.too_many": "地址范围：“{value}”超过 {max} 个地址。请分几次查找（例如每次一个 /24 网段）。",
        "prn.disc.err.port": "端口：请输入 1 到 65535 之间的数字（Zebra 打印机通常为 9100）。",
    },
    "en": {
        "prn.cnt": "Counters", "prn.cnt.labels": "{n} labels in total", "prn.cnt.user": "user counters 1 / 2: {a} / {b}",
        "prn.cnt.length": "printed length {n} {unit}", "prn.cnt.none": "reports no counters",
        "prn.cnt.hint": "The label total is the printer's non-resettable counter (SGD odometer.total_label_count) that print jobs reconcile against; the length is from ~HQOD.",
        "prn.unit.in": "in", "prn.unit.cm": "cm",
        "prn.disc": "Find printers on the network", "prn.disc.hosts": "Addresses", "prn.disc.port": "Port",
        "prn.disc.hosts.hint": "e.g. 192.168.1.0/24, 192.168.1.10-40 or single addresses, separated by commas; {max} addresses at most.",
        "prn.disc.go": "Find", "prn.disc.how": "Each address is tried on the TCP port (0.3 s timeout); what accepts is asked ~HI for its model, then ~HQES / ~HS for its status. Only the addresses you give are scanned.",
        "prn.disc.result": "{zebra} Zebra printer(s) found among {hosts} addresses ({open} with the port open).",
        "prn.disc.none": "No printer found on port {port} of {hosts} addresses. Check the range, the port and the printer's power.",
        "prn.disc.model": "Model / firmware", "prn.disc.not_zebra": "Port open, but no answer to ~HI: probably not a Zebra printer.",
        "prn.disc.known": "added as {name}", "prn.disc.add": "Add",
        "prn.disc.err.empty": "Addresses: enter the addresses to search.",
        "prn.disc.err.bad": "Addresses: \"{value}\" is not understood. Write 192.168.1.0/24, 192.168.1.10-40 or single addresses.",
        "prn.disc.err.too_many": "Addresses: \"{value}\" is more than {max} addresses. Search in parts (one /24 at a time).",
        "prn.disc.err.port": "Port: enter a number from 1 to 65535 (Zebra printers use 9100).",
    },
})

# --- printers ------------------------------------------------------------------------------------

POLL_TIMEOUT_S = 1.0  # each printer is asked for its status when the page loads, at most this long
TEST_ZPL = b"^XA^FO50,50^A0N,40,40^FDUDI Edge test^FS^XZ"
DPIS = (203, 300, 600)
URI_SCHEMES = ("tcp", "usb", "serial", "cups")
BUSY_STATES = ("running", "paused", "held", "cancelling")


def _open(jobs, uri, timeout):
    opener = getattr(jobs, "opener", None) or open_printer
    return opener(uri, timeout=timeout) if opener is open_printer else opener(uri)


def poll_printer(jobs, uri, timeout=POLL_TIMEOUT_S, counters=True):
    """One status poll -> PrinterState.as_dict() with "counters" (read_counters,
    or None); an error opening it counts as unreachable."""
    try:
        prn = _open(jobs, uri, timeout)
    except (PrinterError, OSError) as e:
        return {"ready": False, "faults": ["unreachable"], "warnings": [], "error": str(e), "counters": None}
    try:
        try:
            out = poll_status(prn, timeout=timeout).as_dict()
        except (PrinterError, OSError, ValueError) as e:  # a reply nobody expected must not break the page
            return {"ready": False, "faults": ["status_unreadable"], "warnings": [], "error": str(e), "counters": None}
        try:  # counters are extra: a printer that garbles them keeps its status
            out["counters"] = read_counters(prn, timeout) if counters and "unreachable" not in out["faults"] else None
        except (PrinterError, OSError, ValueError):
            out["counters"] = None
        return out
    finally:
        _close(prn)


def read_counters(prn, timeout):
    """The printer's counters -> {"labels", "user1", "user2" (label counts, SGD
    odometer.*), "length": ~HQOD print meters (lengths, in "unit")}, each None
    when the printer does not answer; None when it answers none of them."""
    if not getattr(prn, "can_query", True):
        return None
    out = {"labels": label_count(prn, timeout), "user1": None, "user2": None, "length": None}
    if out["labels"] is not None:  # a printer that knows SGD odometers: its user counters too
        for key, var in (("user1", "odometer.user_label_count1"), ("user2", "odometer.user_label_count2")):
            value = sgd_getvar(prn, var, timeout)
            out[key] = int(value) if value is not None and value.strip().isdigit() else None
    reply = prn.query(b"~HQOD", timeout=timeout)
    out["length"] = parse_odometer(reply) if reply is not None else None
    return out if any(v is not None for v in out.values()) else None


def _close(prn):
    with contextlib.suppress(PrinterError, OSError):
        prn.close()


def printer_rows(engine, jobs):
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(select(printers).order_by(printers.c.name)).mappings()]
        busy = {r[0]: r[1] for r in c.execute(select(print_jobs.c.printer, print_jobs.c.id)
                                                .where(print_jobs.c.state.in_(BUSY_STATES)))}
    if rows:
        with ThreadPoolExecutor(max_workers=min(8, len(rows))) as pool:
            states = list(pool.map(lambda r: poll_printer(jobs, r["uri"]), rows))
    else:
        states = []
    for r, st in zip(rows, states):
        r["live"] = st
        r["job"] = busy.get(r["name"])
        r["model"] = (r.get("info") or {}).get("model") if isinstance(r.get("info"), dict) else None
    return rows


def check_printer_form(form, lang):
    """The add / change form -> (values, problems in words)."""
    v = {k: str(form.get(k) or "").strip()[:256] for k in ("name", "uri", "dpi", "ips")}
    v["name"] = v["name"][:64]
    problems = []
    if not v["name"] or not all(ch.isalnum() or ch in "-_." for ch in v["name"]):
        problems.append(i18n.t(lang, "prn.err.name"))
    scheme, _, rest = v["uri"].partition(":")
    if scheme.lower() not in URI_SCHEMES or not rest.strip("/"):
        problems.append(i18n.t(lang, "prn.err.uri"))
    else:
        try:  # a tcp URI needs a host (and a numeric port); nothing is opened here
            if scheme.lower() == "tcp":
                parts = urlsplit(v["uri"])
                if not parts.hostname or (parts.port is not None and not 0 < parts.port < 65536):
                    raise ValueError
        except ValueError:
            problems.append(i18n.t(lang, "prn.err.uri"))
    dpi = int(v["dpi"]) if v["dpi"].isdigit() else None
    if dpi not in DPIS:
        problems.append(i18n.t(lang, "prn.err.dpi"))
    try:
        ips = float(v["ips"])
        if not 1 <= ips <= 14:
            raise ValueError
    except ValueError:
        ips = None
        problems.append(i18n.t(lang, "prn.err.ips"))
    return v, dpi, ips, problems


def _printers_page(request, s, status_code=200, values=None, problems=None, notice=None, error=None, discover=None):
    jobs = get_jobs(request)
    rows = printer_rows(engine_of(request), jobs)
    edit = request.query_params.get("edit")
    if values is None:
        cur = next((r for r in rows if r["name"] == edit), None)
        values = ({"name": cur["name"], "uri": cur["uri"], "dpi": str(cur["dpi"]), "ips": "%g" % cur["ips"]}
                  if cur else {"name": "", "uri": "tcp://", "dpi": "300", "ips": "6"})
    return page(request, "printers.html", s, status_code, printers=rows, v=values, problems=problems or [],
                dpis=DPIS, notice=notice, error=error, discover=discover or {"hosts": "", "port": "9100"},
                max_hosts=discovery.MAX_HOSTS, editing=bool(values.get("name")) and
                any(r["name"] == values["name"] for r in rows))


@router.get("/panel/printers", include_in_schema=False)
async def printer_list(request: Request, s=Viewer):
    lang = lang_of(request)
    msg, name = request.query_params.get("msg"), request.query_params.get("p", "")[:64]
    notice = {"added": "prn.added", "changed": "prn.changed", "test": "prn.test_sent"}.get(msg)
    notice = i18n.t(lang, notice, name=name) if notice else None
    return await run_in_threadpool(_printers_page, request, s, notice=notice)


@router.post("/panel/printers", include_in_schema=False)
async def printer_save(request: Request, s=Admin):
    form = await request.form()
    lang = lang_of(request)
    v, dpi, ips, problems = check_printer_form(form, lang)
    if problems:
        return await run_in_threadpool(partial(_printers_page, request, s, 422, v, problems))
    jobs = get_jobs(request)
    existed = await run_in_threadpool(jobs.printer, v["name"])
    try:
        await run_in_threadpool(jobs.add_printer, v["name"], v["uri"], dpi, ips)
    except JobError as e:
        return await run_in_threadpool(partial(_printers_page, request, s, 422, v, problems_text(e.problems)))
    action = "printer_change" if existed else "printer_add"
    users.audit(engine_of(request), s["user"], action, "%s: %s, %d dpi, %g ips" % (v["name"], v["uri"], dpi, ips))
    return see_other("/panel/printers?msg=%s&p=%s" % ("changed" if existed else "added", quote(v["name"])))


def send_test_label(jobs, uri):
    prn = _open(jobs, uri, 5.0)
    try:
        prn.send(TEST_ZPL)
    finally:
        _close(prn)


@router.post("/panel/printers/{name}/test", include_in_schema=False)
async def printer_test(request: Request, name: str, s=Operator):
    lang = lang_of(request)
    jobs = get_jobs(request)
    prn = await run_in_threadpool(jobs.printer, name)
    if prn is None:
        return page(request, "error.html", s, 404, message=i18n.t(lang, "err.notfound"), back="/panel/printers")
    with engine_of(request).connect() as c:
        busy = c.execute(select(print_jobs.c.id).where(print_jobs.c.printer == name,
                                                        print_jobs.c.state.in_(BUSY_STATES))).first()
    if busy is not None:
        # A test label in the middle of a job would spoil its reconciliation with the printer's counter.
        return await run_in_threadpool(partial(_printers_page, request, s, 409,
                                               error=i18n.t(lang, "prn.test_busy", name=name, job=busy[0])))
    try:
        await run_in_threadpool(send_test_label, jobs, prn["uri"])
    except (PrinterError, OSError) as e:
        users.audit(engine_of(request), s["user"], "printer_test_failed", "%s: %s" % (name, e))
        return await run_in_threadpool(partial(_printers_page, request, s, 502,
                                               error=i18n.t(lang, "prn.test_failed", name=name, detail=str(e))))
    users.audit(engine_of(request), s["user"], "printer_test", "%s: one test label to %s" % (name, prn["uri"]))
    return see_other("/panel/printers?msg=test&p=%s" % quote(name))


# --- discovery (admin) ---------------------------------------------------------------------------

def _same_place(uri, host, port):
    # A configured tcp URI that points at host:port (9100 when it names no port).
    try:
        parts = urlsplit(uri)
        return uri.lower().startswith("tcp:") and parts.hostname == host and (parts.port or 9100) == port
    except ValueError:
        return False


def discover_printers(jobs, engine, hosts, port):
    """discovery.scan plus, for each Zebra printer, its status and whether it is configured already."""
    found = discovery.scan(hosts, port)
    with engine.connect() as c:
        known = [(r[0], r[1]) for r in c.execute(select(printers.c.name, printers.c.uri))]
    for f in found:
        f["known"] = next((name for name, uri in known if _same_place(uri, f["host"], port)), None)
        info = f["zebra"]
        if info is not None:
            f["live"] = poll_printer(jobs, f["uri"], counters=False)
            f["name"] = re.sub(r"[^A-Za-z0-9_.-]+", "-", "%s-%s" % (info["model"], f["host"])).strip("-")[:64]
            f["dpi"] = str(info["dpi"] if info["dpi"] in DPIS else 300)
    return found


@router.post("/panel/printers/discover", include_in_schema=False)
async def printer_discover(request: Request, s=Admin):
    form = await request.form()
    lang = lang_of(request)
    disc = {"hosts": str(form.get("hosts") or "").strip()[:512], "port": str(form.get("port") or "9100").strip()[:5]}
    port = int(disc["port"]) if disc["port"].isdigit() else 0
    try:
        if not 0 < port < 65536:
            raise discovery.RangeError("port")
        hosts = discovery.expand(disc["hosts"])
    except discovery.RangeError as e:
        disc["error"] = i18n.t(lang, "prn.disc.err." + e.code, value=e.value, max=discovery.MAX_HOSTS)
        return await run_in_threadpool(partial(_printers_page, request, s, 422, discover=disc))
    found = await run_in_threadpool(discover_printers, get_jobs(request), engine_of(request), hosts, port)
    zebra = sum(1 for f in found if f["zebra"])
    disc.update(scanned=len(hosts), found=found)
    users.audit(engine_of(request), s["user"], "printer_discover", "%s port %d: %d addresses, %d open, %d Zebra: %s"
                % (disc["hosts"], port, len(hosts), len(found), zebra, ", ".join(f["uri"] for f in found if f["zebra"]) or "-"))
    notice = (i18n.t(lang, "prn.disc.result", hosts=len(hosts), zebra=zebra, open=len(found)) if zebra
              else None)
    error = None if zebra else i18n.t(lang, "prn.disc.none", hosts=len(hosts), port=port)
    return await run_in_threadpool(partial(_printers_page, request, s, notice=notice, error=error, discover=disc))
