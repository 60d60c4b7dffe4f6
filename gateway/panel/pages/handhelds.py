"""The handhelds: who is online, battery, queue, firmware; one handheld's
page with its heartbeat, its commands and what it answered, its scans, and
the actions: set mode and reboot (operator), config push and OTA (admin).

Commands go through the device registry (gateway/devices.py) on .../cmd and
are answered on .../cmd/result.  The firmware keeps a clean MQTT session, so
a command sent while a handheld is offline is never delivered: the panel
refuses it and says so.  A config push is retained by the broker and is
applied when the handheld connects again."""

import time
from functools import partial

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from gateway.devices import (
    MODES,
    REMOTE_DEFAULTS,
    TEXT_MAX,
    CommandError,
    PublishFailed,
    SettingError,
    UnknownDevice,
    check_dev,
    validate_settings,
)
from gateway.panel import i18n, users
from gateway.panel.core import Admin, Operator, Viewer, engine_of, lang_of, page, see_other

router = APIRouter()

NO_ANSWER_S = 60  # a command unanswered this long: the handheld probably never got it
RECENT_SCANS = 20
ORDERS = ("children_first", "parent_first")
# Whole-number settings the form takes: (least, most).  The least is the
# firmware's own (settings.MINIMUM); the most keeps a typo from a day-long heartbeat.
LIMITS = {"dup_window_ms": (0, 60000), "heartbeat_s": (1, 3600), "volume": (0, 100)}
OTA_CODES = ("ota_low_battery", "ota_no_space", "ota_bad_size", "ota_download_failed", "ota_truncated",
             "ota_bad_format", "ota_unsigned", "ota_no_key", "ota_bad_signature", "ota_bad_manifest", "ota_bad_path",
             "ota_not_newer", "ota_rolled_back_before", "ota_hash_mismatch", "ota_busy", "ota_apply_failed",
             "ota_io_error", "ota_bad_url", "ota_http_timeout", "ota_failed", "unknown_command")

i18n.add({
    "zh": {
        "hh.scans": "扫码记录", "hh.on": "在线", "hh.off": "离线", "hh.detail": "详情", "hh.dev.title": "扫码枪 {dev}", "hh.back": "全部扫码枪",
        "hh.offline_since": "离线（最后在线 {ts}）", "hh.never": "还没有连接过",
        "hh.heartbeat": "心跳（最近一次）", "hh.noheartbeat": "还没有收到心跳。",
        "hh.hb.fw": "固件", "hh.hb.boot": "启动次数", "hh.hb.up_s": "运行时间", "hh.hb.heap_free": "空闲内存",
        "hh.hb.rssi": "Wi-Fi 信号", "hh.hb.battery_mv": "电池", "hh.hb.queue": "待发送扫码", "hh.hb.reset_cause": "上次复位原因",
        "hh.hb.mode": "当前模式", "hh.hb.engine": "扫码头", "hh.hb.engine_errors": "扫码头错误", "hh.hb.mqtt": "MQTT 连接",
        "hh.mode.receive": "入库", "hh.mode.dispatch": "出库", "hh.mode.use": "使用", "hh.mode.aggregate": "装箱",
        "hh.mode.verify": "核验",
        "hh.order.children_first": "先扫小包装，后扫箱", "hh.order.parent_first": "先扫箱，后扫小包装",
        "hh.act.title": "操作", "hh.act.mode": "设置模式", "hh.act.mode.go": "设置", "hh.act.reboot": "重启",
        "hh.act.reboot.confirm": "确定重启这把扫码枪？未发送的扫码保存在枪内，重启后继续发送。",
        "hh.act.mode.hint": "立即生效，直到扫码枪重启；重启后使用下方“推送配置”中的模式。",
        "hh.act.offline": "扫码枪离线：命令只能发给在线的扫码枪（离线期间发出的命令不会保留）。配置推送会保留，重新连接后生效。",
        "hh.cmd.title": "最近的命令", "hh.cmd.none": "还没有发过命令。", "hh.cmd.cmd": "命令", "hh.cmd.sent": "发出时间",
        "hh.cmd.answer": "扫码枪的回复",
        "hh.cmd.reboot": "重启", "hh.cmd.set_mode": "设置模式", "hh.cmd.ota": "固件升级", "hh.cmd.status": "查询状态",
        "hh.cmd.sync_time": "校时",
        "hh.cst.sent": "已发出，等待回复", "hh.cst.acked": "进行中", "hh.cst.done": "完成", "hh.cst.failed": "失败",
        "hh.cst.noanswer": "没有回复",
        "hh.ans.noanswer": "{s} 秒内没有回复：扫码枪可能在发出时已离线。请确认在线后重新发送。",
        "hh.ans.mode": "模式已切换为{mode}", "hh.ans.rebooting": "正在重启", "hh.ans.ota_done": "已安装 {version}，正在重启",
        "hh.ans.ota_progress": "下载中 {done} / {total} 字节（{pct}%）",
        "hh.ans.ota_stages": "扫码枪只报告下载进度和最终结果（验证签名、安装不单独报告）。",
        "hh.ota.ota_low_battery": "电量不足，未升级", "hh.ota.ota_no_space": "存储空间不足",
        "hh.ota.ota_bad_size": "升级包大小不对", "hh.ota.ota_download_failed": "下载失败",
        "hh.ota.ota_truncated": "升级包不完整", "hh.ota.ota_bad_format": "不是升级包（格式错误）",
        "hh.ota.ota_unsigned": "升级包没有签名", "hh.ota.ota_no_key": "扫码枪没有配置验证公钥",
        "hh.ota.ota_bad_signature": "签名无效", "hh.ota.ota_bad_manifest": "升级包清单无效",
        "hh.ota.ota_bad_path": "升级包含有不允许的文件路径", "hh.ota.ota_not_newer": "版本不比当前版本新",
        "hh.ota.ota_rolled_back_before": "该版本曾经回滚过", "hh.ota.ota_hash_mismatch": "文件校验值不符",
        "hh.ota.ota_busy": "上一次升级还在试运行", "hh.ota.ota_apply_failed": "安装失败（已恢复原固件）",
        "hh.ota.ota_io_error": "存储读写错误", "hh.ota.ota_bad_url": "下载地址无效",
        "hh.ota.ota_http_timeout": "下载超时", "hh.ota.ota_failed": "升级失败", "hh.ota.unknown_command": "固件不认识这个命令",
        "hh.scan.title": "最近的扫码", "hh.scan.none": "还没有扫码记录。", "hh.scan.more": "全部扫码记录",
        "hh.cfg.title": "推送配置", "hh.cfg.hint": "保存后以保留消息发布：在线的扫码枪立即生效，离线的在重新连接后生效。整组替换上一次推送的配置。",
        "hh.cfg.rev": "当前配置版本 {rev}", "hh.cfg.none": "还没有推送过配置（显示的是出厂值）。",
        "hh.cfg.mode": "模式", "hh.cfg.operator": "操作员", "hh.cfg.location": "位置", "hh.cfg.dup_window_ms": "重复扫码窗口（毫秒）",
        "hh.cfg.heartbeat_s": "心跳间隔（秒）", "hh.cfg.aggregate_order": "装箱顺序", "hh.cfg.volume": "蜂鸣音量（0–100）",
        "hh.cfg.volume.hint": "0–100；扫码枪收到后立即生效（下一声提示音即按新音量）。", "hh.cfg.save": "保存并推送",
        "hh.cfg.err.int": "{field}：请输入 {min} 到 {max} 之间的整数。", "hh.cfg.err.choice": "{field}：请从列表中选择。",
        "hh.cfg.err.text": "{field}：最多 {max} 个字符。", "hh.cfg.err.firmware": "固件不接受：{detail}",
        "hh.ota.title": "固件升级（OTA）", "hh.ota.url": "升级包地址（http://）", "hh.ota.size": "升级包大小（字节）",
        "hh.ota.go": "开始升级", "hh.ota.confirm": "确定升级这把扫码枪的固件？下载和安装期间请勿关机。",
        "hh.ota.hint": "升级包由 tools/ota_bundle.py 生成并签名；扫码枪验证签名后安装并重启，启动失败会自动回滚。电量低于设定值时拒绝升级。",
        "hh.sent": "命令已发出：{what}。下方“最近的命令”显示扫码枪的回复。",
        "hh.cfg.pushed": "配置版本 {rev} 已保存并发布。",
        "hh.cfg.pushed.offline": "配置版本 {rev} 已保存并发布（保留消息）：扫码枪离线，重新连接后生效。",
        "hh.err.offline": "扫码枪 {dev} 离线，命令没有发出。离线期间发出的命令不会保留（扫码枪每次连接都开始新的会话）；请等它显示在线后再发。要在重新连接后生效的设置，请用“推送配置”。",
        "hh.err.nomqtt": "命令没有发出：{detail}。请检查网关的消息服务器（MQTT）。",
        "hh.err.command": "命令没有发出：{detail}",
    },
    "en": {
        "hh.scans": "Scans", "hh.on": "online", "hh.off": "offline", "hh.detail": "Details", "hh.dev.title": "Handheld {dev}", "hh.back": "All handhelds",
        "hh.offline_since": "offline (last seen {ts})", "hh.never": "has not connected yet",
        "hh.heartbeat": "Heartbeat (latest)", "hh.noheartbeat": "No heartbeat received yet.",
        "hh.hb.fw": "Firmware", "hh.hb.boot": "Boot count", "hh.hb.up_s": "Up time", "hh.hb.heap_free": "Free memory",
        "hh.hb.rssi": "Wi-Fi signal", "hh.hb.battery_mv": "Battery", "hh.hb.queue": "Scans waiting to be sent",
        "hh.hb.reset_cause": "Last reset cause", "hh.hb.mode": "Current mode", "hh.hb.engine": "Scan engine",
        "hh.hb.engine_errors": "Scan engine errors", "hh.hb.mqtt": "MQTT connection",
        "hh.mode.receive": "receive (入库)", "hh.mode.dispatch": "dispatch (出库)", "hh.mode.use": "use (使用)",
        "hh.mode.aggregate": "aggregate (装箱)", "hh.mode.verify": "verify",
        "hh.order.children_first": "items first, then the case", "hh.order.parent_first": "the case first, then its items",
        "hh.act.title": "Actions", "hh.act.mode": "Set mode", "hh.act.mode.go": "Set", "hh.act.reboot": "Reboot",
        "hh.act.reboot.confirm": "Reboot this handheld? Scans not sent yet stay on it and go out after the reboot.",
        "hh.act.mode.hint": "Takes effect at once, until the handheld reboots; then the mode of the pushed config below applies.",
        "hh.act.offline": "The handheld is offline: commands go only to an online handheld (a command sent meanwhile is not kept). A config push is kept and applies when it reconnects.",
        "hh.cmd.title": "Recent commands", "hh.cmd.none": "No command sent yet.", "hh.cmd.cmd": "Command", "hh.cmd.sent": "Sent",
        "hh.cmd.answer": "The handheld's answer",
        "hh.cmd.reboot": "reboot", "hh.cmd.set_mode": "set mode", "hh.cmd.ota": "firmware update", "hh.cmd.status": "status",
        "hh.cmd.sync_time": "set clock",
        "hh.cst.sent": "sent, waiting for the answer", "hh.cst.acked": "in progress", "hh.cst.done": "done", "hh.cst.failed": "failed",
        "hh.cst.noanswer": "no answer",
        "hh.ans.noanswer": "No answer within {s} s: the handheld was probably offline when it was sent. Check it is online and send again.",
        "hh.ans.mode": "mode is now {mode}", "hh.ans.rebooting": "rebooting", "hh.ans.ota_done": "{version} installed, rebooting",
        "hh.ans.ota_progress": "downloading {done} / {total} bytes ({pct}%)",
        "hh.ans.ota_stages": "The handheld reports the download's progress and the end result only (signature check and install are not reported apart).",
        "hh.ota.ota_low_battery": "battery too low, not updated", "hh.ota.ota_no_space": "not enough storage",
        "hh.ota.ota_bad_size": "wrong bundle size", "hh.ota.ota_download_failed": "download failed",
        "hh.ota.ota_truncated": "bundle incomplete", "hh.ota.ota_bad_format": "not an update bundle (bad format)",
        "hh.ota.ota_unsigned": "bundle not signed", "hh.ota.ota_no_key": "no verification key configured on the handheld",
        "hh.ota.ota_bad_signature": "bad signature", "hh.ota.ota_bad_manifest": "bad bundle manifest",
        "hh.ota.ota_bad_path": "bundle has a file path that is not allowed", "hh.ota.ota_not_newer": "not newer than the installed version",
        "hh.ota.ota_rolled_back_before": "this version was rolled back before", "hh.ota.ota_hash_mismatch": "file hash mismatch",
        "hh.ota.ota_busy": "the previous update is still on trial", "hh.ota.ota_apply_failed": "install failed (the old firmware is back)",
        "hh.ota.ota_io_error": "storage read/write error", "hh.ota.ota_bad_url": "bad download address",
        "hh.ota.ota_http_timeout": "download timed out", "hh.ota.ota_failed": "update failed", "hh.ota.unknown_command": "the firmware does not know this command",
        "hh.scan.title": "Recent scans", "hh.scan.none": "No scans yet.", "hh.scan.more": "All scans",
        "hh.cfg.title": "Push config", "hh.cfg.hint": "Saved and published retained: an online handheld applies it at once, an offline one when it reconnects. It replaces the previously pushed config as a whole.",
        "hh.cfg.rev": "config revision {rev}", "hh.cfg.none": "No config pushed yet (the factory values are shown).",
        "hh.cfg.mode": "Mode", "hh.cfg.operator": "Operator", "hh.cfg.location": "Location", "hh.cfg.dup_window_ms": "Double-scan window (ms)",
        "hh.cfg.heartbeat_s": "Heartbeat interval (s)", "hh.cfg.aggregate_order": "Packing order", "hh.cfg.volume": "Beep volume (0–100)",
        "hh.cfg.volume.hint": "0–100; the handheld applies it at once (the next beep uses it).", "hh.cfg.save": "Save and push",
        "hh.cfg.err.int": "{field}: enter a whole number from {min} to {max}.", "hh.cfg.err.choice": "{field}: choose one from the list.",
        "hh.cfg.err.text": "{field}: {max} characters at most.", "hh.cfg.err.firmware": "The firmware would not take it: {detail}",
        "hh.ota.title": "Firmware update (OTA)", "hh.ota.url": "Bundle address (http://)", "hh.ota.size": "Bundle size (bytes)",
        "hh.ota.go": "Start update", "hh.ota.confirm": "Update this handheld's firmware? Keep it powered while it downloads and installs.",
        "hh.ota.hint": "Bundles are made and signed with tools/ota_bundle.py; the handheld checks the signature, installs, reboots, and rolls back by itself if the new firmware does not start. It refuses when its battery is low.",
        "hh.sent": "Command sent: {what}. Recent commands below show the handheld's answer.",
        "hh.cfg.pushed": "Config revision {rev} saved and published.",
        "hh.cfg.pushed.offline": "Config revision {rev} saved and published (retained): the handheld is offline and applies it when it reconnects.",
        "hh.err.offline": "Handheld {dev} is offline; the command was not sent. A command sent while it is offline is not kept (it starts a fresh session at every connect); send it when it shows online. For a setting that must apply when it reconnects, use Push config.",
        "hh.err.nomqtt": "The command was not sent: {detail}. Check the gateway's MQTT broker.",
        "hh.err.command": "The command was not sent: {detail}",
    },
})

BADGES = {"sent": "s-sent", "acked": "s-running", "done": "s-done", "failed": "s-failed", "noanswer": "s-held"}
HEARTBEAT_FIELDS = ("fw", "boot", "up_s", "battery_mv", "rssi", "queue", "mode", "engine", "engine_errors",
                    "heap_free", "reset_cause", "mqtt")


# --- the list --------------------------------------------------------------------------------------

@router.get("/panel/handhelds", include_in_schema=False)
def handhelds(request: Request, s=Viewer):
    rows = request.app.state.registry.list(limit=1000)
    return page(request, "handhelds.html", s, devices=rows)


# --- one handheld ---------------------------------------------------------------------------------

def _device(request, dev):
    # -> the registry's device (with its last commands), or None (also for an id that cannot be one).
    try:
        check_dev(dev)
    except ValueError:
        return None
    return request.app.state.registry.get(dev)


def _not_found(request, s):
    return page(request, "error.html", s, 404, message=i18n.t(lang_of(request), "err.notfound"), back="/panel/handhelds")


def _mode_words(lang, mode):
    return i18n.t(lang, "hh.mode." + mode) if mode in MODES else str(mode)


def _reason_words(lang, detail):
    # A firmware error code ("ota_http_404", "ota_bad_signature: …") in words, the code kept beside them.
    text = detail if isinstance(detail, str) else str(detail)
    code = text.split(":", 1)[0].strip()
    if code in OTA_CODES:
        return "%s（%s）" % (i18n.t(lang, "hh.ota." + code), text) if lang == "zh" else "%s (%s)" % (i18n.t(lang, "hh.ota." + code), text)
    if code.startswith("ota_http_"):
        return "HTTP %s: %s" % (code[len("ota_http_"):], text)
    return text


def command_view(row, lang, now=None):
    """A command row as the page shows it: state sent -> acked (OTA progress)
    -> done / failed, or noanswer; the answer in words, OTA percentage."""
    now = time.time() if now is None else now
    ok, detail, cmd = row["ok"], row["detail"], row["cmd"]
    pct = None
    if ok is True:
        state = "done"
        if cmd == "set_mode":
            text = i18n.t(lang, "hh.ans.mode", mode=_mode_words(lang, detail))
        elif cmd == "reboot":
            text = i18n.t(lang, "hh.ans.rebooting")
        elif cmd == "ota":
            text = i18n.t(lang, "hh.ans.ota_done", version=detail)
            pct = 100
        else:
            text = _short(detail)
    elif ok is False:
        state, text = "failed", _reason_words(lang, detail)
    elif detail is not None:
        state = "acked"  # progress: the firmware sends it for OTA only ({"done", "total"})
        if isinstance(detail, dict) and isinstance(detail.get("total"), int) and detail["total"] > 0:
            done = int(detail.get("done") or 0)
            pct = min(100, done * 100 // detail["total"])
            text = i18n.t(lang, "hh.ans.ota_progress", done="{:,}".format(done), total="{:,}".format(detail["total"]), pct=pct)
        else:
            text = _short(detail)
    elif now - row["sent_at"] > NO_ANSWER_S:
        state, text = "noanswer", i18n.t(lang, "hh.ans.noanswer", s=NO_ANSWER_S)
    else:
        state, text = "sent", ""
    args = row["args"] or {}
    what = i18n.t(lang, "hh.cmd." + cmd)
    if cmd == "set_mode":
        what += "：" + _mode_words(lang, args.get("mode")) if lang == "zh" else ": " + _mode_words(lang, args.get("mode"))
    return {"id": row["id"], "cmd": cmd, "what": what, "badge": BADGES[state], "url": args.get("url") if cmd == "ota" else None,
            "sent_at": row["sent_at"], "done_at": row["done_at"], "state": state, "text": text, "pct": pct,
            "pending": state in ("sent", "acked")}


def _short(value, n=160):
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text if len(text) <= n else text[: n - 1] + "…"


def _config_values(d):
    # The form's values: the config pushed last, else what the firmware ships with.
    cfg = dict(REMOTE_DEFAULTS, **(d.get("config") or {}))
    fb = cfg.get("feedback") or {}
    return {"mode": cfg.get("mode") or "receive", "operator": cfg.get("operator") or "", "location": cfg.get("location") or "",
            "dup_window_ms": str(cfg.get("dup_window_ms")), "heartbeat_s": str(cfg.get("heartbeat_s")),
            "aggregate_order": cfg.get("aggregate_order") or ORDERS[0], "volume": str(fb.get("volume", 50))}


def _hh_page(request, s, d, status_code=200, notice=None, error=None, cfg=None, cfg_problems=None, ota=None):
    lang = lang_of(request)
    dev = d["dev"]
    cmds = [command_view(r, lang) for r in d["commands"]]
    scans = request.app.state.store.scans(dev=dev, limit=RECENT_SCANS)
    hb = d.get("heartbeat") if isinstance(d.get("heartbeat"), dict) else {}
    return page(request, "handheld.html", s, status_code, d=d, hb=hb, hb_fields=[f for f in HEARTBEAT_FIELDS if f in hb],
                cmds=cmds, scans=scans, modes=MODES, orders=ORDERS, cfg=cfg or _config_values(d),
                cfg_problems=cfg_problems or [], ota=ota or {"url": "", "size": ""}, notice=notice, error=error,
                pending=any(c["pending"] for c in cmds), mode_words=lambda m: _mode_words(lang, m),
                limits=LIMITS, text_max=TEXT_MAX)


@router.get("/panel/handhelds/{dev}", include_in_schema=False)
def handheld(request: Request, dev: str, s=Viewer):
    d = _device(request, dev)
    if d is None:
        return _not_found(request, s)
    lang = lang_of(request)
    msg, notice = request.query_params.get("msg"), None
    if msg == "sent":
        cid = request.query_params.get("cmd", "")
        row = next((c for c in d["commands"] if c["id"] == cid), None)
        notice = i18n.t(lang, "hh.sent", what=command_view(row, lang)["what"] if row else "")
    elif msg == "pushed":
        notice = i18n.t(lang, "hh.cfg.pushed" if d["online"] else "hh.cfg.pushed.offline", rev=d.get("config_rev"))
    return _hh_page(request, s, d, notice=notice)


@router.get("/panel/handhelds/{dev}/commands", include_in_schema=False)
def handheld_commands(request: Request, dev: str, s=Viewer):
    """The recent-commands table body alone: handheld.js reloads it while a command is under way."""
    d = _device(request, dev)
    if d is None:
        return _not_found(request, s)
    lang = lang_of(request)
    cmds = [command_view(r, lang) for r in d["commands"]]
    return page(request, "_hhcmds.html", s, d=d, cmds=cmds)


async def _send(request, s, dev, cmd, args, audit_detail):
    lang = lang_of(request)
    d = await run_in_threadpool(_device, request, dev)
    if d is None:
        return _not_found(request, s)
    if not d["online"]:
        return await run_in_threadpool(partial(_hh_page, request, s, d, 409, error=i18n.t(lang, "hh.err.offline", dev=dev)))
    registry = request.app.state.registry
    try:
        cid = await run_in_threadpool(registry.send_command, dev, cmd, args)
    except CommandError as e:
        return await run_in_threadpool(partial(_hh_page, request, s, d, 422, error=i18n.t(lang, "hh.err.command", detail=str(e)),
                                               ota=args if cmd == "ota" else None))
    except UnknownDevice:
        return _not_found(request, s)
    except PublishFailed as e:
        users.audit(engine_of(request), s["user"], "handheld_%s_failed" % cmd, "%s: %s" % (dev, e))
        error = i18n.t(lang, "hh.err.nomqtt", detail=str(e))
        d = await run_in_threadpool(_device, request, dev)  # with the command marked "not sent"
        return await run_in_threadpool(partial(_hh_page, request, s, d, 503, error=error))
    users.audit(engine_of(request), s["user"], "handheld_" + cmd, "%s: %s (command %s)" % (dev, audit_detail, cid))
    return see_other("/panel/handhelds/%s?msg=sent&cmd=%s" % (dev, cid))


@router.post("/panel/handhelds/{dev}/mode", include_in_schema=False)
async def handheld_mode(request: Request, dev: str, s=Operator):
    mode = str((await request.form()).get("mode") or "")
    return await _send(request, s, dev, "set_mode", {"mode": mode}, "mode %s" % mode[:16])


@router.post("/panel/handhelds/{dev}/reboot", include_in_schema=False)
async def handheld_reboot(request: Request, dev: str, s=Operator):
    return await _send(request, s, dev, "reboot", {}, "reboot")


@router.post("/panel/handhelds/{dev}/ota", include_in_schema=False)
async def handheld_ota(request: Request, dev: str, s=Admin):
    form = await request.form()
    url = str(form.get("url") or "").strip()[:600]
    size_text = str(form.get("size") or "").strip()[:12]
    # an unparsable size goes to the registry as text: its check names the field
    args = {"url": url, "size": int(size_text) if size_text.isdigit() else size_text}
    return await _send(request, s, dev, "ota", args, "%s (%s bytes)" % (url, size_text))


def check_config_form(form, lang):
    """The config form -> (values as typed, settings for the registry, problems in words)."""
    v = {k: str(form.get(k) or "").strip() for k in ("mode", "operator", "location", "dup_window_ms", "heartbeat_s",
                                                        "aggregate_order", "volume")}
    problems = []
    settings = {}

    def label(key):
        return i18n.t(lang, "hh.cfg." + key)

    for key, choices in (("mode", MODES), ("aggregate_order", ORDERS)):
        if v[key] in choices:
            settings[key] = v[key]
        else:
            problems.append(i18n.t(lang, "hh.cfg.err.choice", field=label(key)))
    for key in ("operator", "location"):
        if len(v[key]) > TEXT_MAX:
            problems.append(i18n.t(lang, "hh.cfg.err.text", field=label(key), max=TEXT_MAX))
        settings[key] = v[key] or None
    numbers = {}
    for key, (lo, hi) in LIMITS.items():
        text = v[key]
        if text.isdigit() and lo <= int(text) <= hi:
            numbers[key] = int(text)
        else:
            problems.append(i18n.t(lang, "hh.cfg.err.int", field=label(key), min=lo, max=hi))
    settings["dup_window_ms"] = numbers.get("dup_window_ms")
    settings["heartbeat_s"] = numbers.get("heartbeat_s")
    settings["feedback"] = {"volume": numbers.get("volume")}
    if not problems:
        try:  # the firmware's own checks, as the registry would apply them
            settings = validate_settings(settings)
        except SettingError as e:
            problems.append(i18n.t(lang, "hh.cfg.err.firmware", detail=str(e)))
    return v, settings, problems


@router.post("/panel/handhelds/{dev}/config", include_in_schema=False)
async def handheld_config(request: Request, dev: str, s=Admin):
    lang = lang_of(request)
    d = await run_in_threadpool(_device, request, dev)
    if d is None:
        return _not_found(request, s)
    v, settings, problems = check_config_form(await request.form(), lang)
    if problems:
        return await run_in_threadpool(partial(_hh_page, request, s, d, 422, cfg=v, cfg_problems=problems))
    try:
        res = await run_in_threadpool(request.app.state.registry.push_config, dev, settings)
    except UnknownDevice:
        return _not_found(request, s)
    except SettingError as e:
        return await run_in_threadpool(partial(_hh_page, request, s, d, 422, cfg=v, cfg_problems=[
            i18n.t(lang, "hh.cfg.err.firmware", detail=str(e))]))
    except PublishFailed as e:
        users.audit(engine_of(request), s["user"], "handheld_config_failed", "%s: %s" % (dev, e))
        return await run_in_threadpool(partial(_hh_page, request, s, d, 503, cfg=v, error=i18n.t(lang, "hh.err.nomqtt", detail=str(e))))
    users.audit(engine_of(request), s["user"], "handheld_config", "%s: rev %d %s (%s)" % (
        dev, res["rev"], ", ".join("%s=%s" % (k, settings[k]) for k in sorted(settings)), res["delivery"]))
    return see_other("/panel/handhelds/%s?msg=pushed" % dev)
