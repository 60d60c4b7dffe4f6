"""The panel's words in Simplified Chinese (default) and English, as data.

t(lang, key, **values) looks a key up; a key missing in English falls back
to Chinese and a key missing everywhere shows itself, so a forgotten string
is visible on the page instead of failing it."""

LANGS = ("zh", "en")
DEFAULT = "zh"
COOKIE = "panel_lang"

STRINGS = {
    "zh": {
        "app": "UDI Edge 网关",
        "nav.dashboard": "总览", "nav.handhelds": "扫码枪", "nav.scans": "扫码记录", "nav.jobs": "打印任务",
        "nav.alerts": "告警", "nav.audit": "操作日志", "nav.signout": "退出",
        "lang.switch": "English", "role.viewer": "查看员", "role.operator": "操作员", "role.admin": "管理员",
        "signin.title": "登录", "signin.name": "用户名", "signin.password": "密码", "signin.submit": "登录",
        "signin.bad": "用户名或密码不正确。请检查后重试；连续错误 5 次将锁定 15 分钟。",
        "signin.locked": "该账户已锁定（连续输错密码）。请 {minutes} 分钟后再试，或请管理员重置密码。",
        "signin.expired": "登录已过期，请重新登录。",
        "signin.disabled": "该账户已停用。如需继续使用，请联系管理员启用。",
        "signin.csrf": "表单已过期，请重新输入并提交。",
        "dash.title": "总览", "dash.jobs": "当前打印任务", "dash.printers": "打印机", "dash.handhelds": "在线扫码枪",
        "dash.alerts": "未处理告警", "dash.live": "实时", "dash.offline": "连接中断，正在重连…", "dash.nojobs": "暂无打印任务",
        "dash.noprinters": "尚未配置打印机",
        "col.job": "任务", "col.product": "产品", "col.printer": "打印机", "col.state": "状态", "col.progress": "进度",
        "col.printed": "已打印", "col.verified": "已校验", "col.failed": "失败", "col.voided": "作废", "col.quantity": "数量",
        "col.device": "设备", "col.name": "名称", "col.location": "位置", "col.fw": "固件", "col.battery": "电量",
        "col.queue": "待发送", "col.last_seen": "最后在线", "col.online": "在线", "col.time": "时间", "col.code": "码",
        "col.verdict": "结论", "col.scheme": "编码体系", "col.kind": "类型", "col.detail": "详情", "col.action": "操作",
        "col.serial": "序列号", "col.label_no": "标签号", "col.lot": "批号", "col.user": "用户", "col.ai": "AI",
        "col.title": "含义", "col.value": "值", "col.created": "创建时间",
        "yes": "是", "no": "否", "none": "无",
        "hh.title": "扫码枪", "hh.none": "还没有扫码枪连接过网关。",
        "scans.title": "扫码记录", "scans.search": "查询", "scans.code": "码（原始码、DI、批号或序列号）",
        "scans.any": "全部", "scans.none": "没有符合条件的扫码记录。", "scans.more": "更早的记录",
        "scan.title": "扫码详情 #{id}", "scan.elements": "解析出的数据元素", "scan.errors": "错误",
        "scan.warnings": "提示", "scan.trace": "追溯规则", "scan.mapped": "映射编码", "scan.nhsa": "医保编码",
        "scan.commodity": "商品编码", "scan.raw": "原始数据", "scan.noerrors": "没有错误。",
        "verdict.good": "合格", "verdict.bad": "不合格",
        "jobs.title": "打印任务", "jobs.new": "新建打印任务", "jobs.none": "还没有打印任务。",
        "job.title": "打印任务 #{id}", "job.di": "产品（DI）", "job.template": "标签模板", "job.printer": "打印机",
        "job.quantity": "数量", "job.lot": "批号", "job.production_date": "生产日期", "job.expiry": "失效日期",
        "job.create": "创建任务", "job.preview": "标签预览", "job.preview.hint": "填写左侧内容后自动生成预览。",
        "job.preview.wait": "正在生成预览…", "job.start": "开始", "job.pause": "暂停", "job.resume": "继续",
        "job.cancel": "取消任务", "job.cancel.confirm": "确定取消该任务？未打印的序列号将作废。",
        "job.labels": "逐张标签", "job.reconciliation": "对账", "job.agrees": "对账一致：台账与打印机计数相符。",
        "job.disagrees": "对账不一致：请核对打印机计数并联系管理员。", "job.reason": "原因",
        "job.created": "任务 #{id} 已创建。检查预览后点击“开始”。", "job.done_action": "操作已执行：{action}。",
        "job.nolabels": "尚未分配序列号。", "job.counter": "打印机计数",
        "state.created": "已创建", "state.running": "打印中", "state.paused": "已暂停", "state.held": "已挂起",
        "state.cancelling": "正在取消", "state.cancelled": "已取消", "state.done": "已完成", "state.failed": "失败",
        "state.allocated": "已分配", "state.sent": "已发送", "state.printed": "已打印", "state.verified": "已校验",
        "state.voided": "已作废", "state.available": "可用", "state.idle": "空闲", "state.unknown": "未知",
        "alerts.title": "告警", "alerts.ack": "确认", "alerts.acked": "已确认", "alerts.none": "没有告警。",
        "alerts.open": "仅未确认", "alerts.all": "全部", "alerts.done": "告警 #{id} 已确认。",
        "audit.title": "操作日志",
        "err.forbidden": "您的角色（{role}）不能执行此操作，需要{needed}权限。请联系管理员。",
        "err.csrf": "页面已过期（安全校验失败）。请刷新页面后重试。",
        "err.notfound": "找不到该记录，它可能已被删除。请返回列表。",
        "err.job": "无法执行：{detail}",
        "err.input": "请检查输入：{detail}",
        "err.network": "无法连接网关，请检查网络后重试。",
        "back": "返回",
        "nav.printers": "打印机", "nav.quality": "标签质量",
        "nav.templates": "标签模板", "nav.products": "产品与映射", "nav.exports": "导出", "nav.users": "用户",
        "prn.title": "打印机", "prn.none": "尚未配置打印机。管理员可在下方添加。", "prn.status": "实时状态",
        "prn.ready": "就绪", "prn.notready": "未就绪", "prn.dpi": "分辨率（dpi）", "prn.ips": "额定速度（英寸/秒）",
        "prn.uri": "连接地址（URI）", "prn.name": "名称", "prn.model": "型号", "prn.busy": "任务 #{job} 正在使用",
        "prn.add": "添加或修改打印机", "prn.save": "保存", "prn.edit": "修改", "prn.test": "打印测试标签",
        "prn.uri.hint": "例如 tcp://192.168.1.50:9100、usb:序列号、serial:/dev/ttyUSB0、cups:队列名",
        "prn.polled": "打开页面时逐台查询状态（每台最多 1 秒）。",
        "prn.added": "打印机 {name} 已添加。", "prn.changed": "打印机 {name} 已修改。",
        "prn.test_sent": "测试标签已发送到 {name}，请查看打印机是否打出“UDI Edge test”。",
        "prn.test_failed": "测试标签未能发送到 {name}：{detail}。请检查打印机电源、网线和地址。",
        "prn.test_busy": "打印机 {name} 正在执行任务 #{job}，测试标签会打乱对账。请等任务结束后再试。",
        "prn.err.name": "名称：必填，只能包含字母、数字、-、_、.（最多 64 个字符）。",
        "prn.err.uri": "连接地址：应为 tcp://主机[:端口]、usb:…、serial:/dev/… 或 cups:队列名。",
        "prn.err.dpi": "分辨率：请选择 203、300 或 600 dpi。",
        "prn.err.ips": "额定速度：请输入 1 到 14 之间的数字（英寸/秒）。",
        "fault.paper_out": "缺纸", "fault.ribbon_out": "碳带用完", "fault.head_open": "打印头打开", "fault.paused": "暂停",
        "fault.buffer_full": "缓冲区已满", "fault.temperature": "打印头温度异常", "fault.corrupt_ram": "内存损坏",
        "fault.cutter_fault": "切刀故障", "fault.printhead_fault": "打印头故障", "fault.firmware_config": "固件配置无效",
        "fault.unknown_error": "未知错误", "fault.unreachable": "无法连接", "fault.no_host_status": "不回应状态查询",
        "fault.status_unreadable": "状态无法识别", "fault.status_unsupported": "该连接方式无法读取状态",
        "q.title": "标签质量", "q.none": "还没有标签检测记录。", "q.checks": "逐张检测（不合格在前，最新在前）",
        "q.summary": "按任务汇总", "q.trend": "按打印机的质量趋势（每个任务的平均等级，按时间）",
        "q.checked": "已检测", "q.passed": "合格", "q.failed": "不合格", "q.mean": "平均等级", "q.grade": "等级",
        "q.result": "结果", "q.decoded": "解码数据", "q.image": "图像", "q.label": "标签 / 序列号",
        "q.alljobs": "全部任务", "q.job": "任务号", "q.show": "查看", "q.more": "只显示前 300 条。",
        "q.noimage": "无图像",
        "q.why.nodecode": "无法解码条码（条码缺失或无法识读）", "q.why.mismatch": "解码数据与发送的数据不一致",
        "q.why.invalid": "解码数据不是有效的编码：{detail}", "q.why.grade": "等级 {grade} 低于要求的 {min}",
    },
    "en": {
        "app": "UDI Edge gateway",
        "nav.dashboard": "Dashboard", "nav.handhelds": "Handhelds", "nav.scans": "Scans", "nav.jobs": "Jobs",
        "nav.alerts": "Alerts", "nav.audit": "Audit", "nav.signout": "Sign out",
        "lang.switch": "中文", "role.viewer": "viewer", "role.operator": "operator", "role.admin": "admin",
        "signin.title": "Sign in", "signin.name": "User name", "signin.password": "Password", "signin.submit": "Sign in",
        "signin.bad": "Wrong user name or password. Check them and try again; 5 failures in a row lock the account for 15 minutes.",
        "signin.locked": "This account is locked after repeated wrong passwords. Try again in {minutes} minutes, or ask an admin to reset the password.",
        "signin.expired": "Your session has ended; please sign in again.",
        "signin.disabled": "This account is disabled. Ask an admin to enable it.",
        "signin.csrf": "The form had expired; enter your name and password again.",
        "dash.title": "Dashboard", "dash.jobs": "Current print jobs", "dash.printers": "Printers", "dash.handhelds": "Handhelds online",
        "dash.alerts": "Open alerts", "dash.live": "live", "dash.offline": "Connection lost, reconnecting…", "dash.nojobs": "No print jobs yet",
        "dash.noprinters": "No printers configured",
        "col.job": "Job", "col.product": "Product", "col.printer": "Printer", "col.state": "State", "col.progress": "Progress",
        "col.printed": "Printed", "col.verified": "Verified", "col.failed": "Failed", "col.voided": "Voided", "col.quantity": "Quantity",
        "col.device": "Device", "col.name": "Name", "col.location": "Location", "col.fw": "Firmware", "col.battery": "Battery",
        "col.queue": "Queued", "col.last_seen": "Last seen", "col.online": "Online", "col.time": "Time", "col.code": "Code",
        "col.verdict": "Verdict", "col.scheme": "Scheme", "col.kind": "Kind", "col.detail": "Detail", "col.action": "Action",
        "col.serial": "Serial", "col.label_no": "Label", "col.lot": "Lot", "col.user": "User", "col.ai": "AI",
        "col.title": "Meaning", "col.value": "Value", "col.created": "Created",
        "yes": "yes", "no": "no", "none": "none",
        "hh.title": "Handhelds", "hh.none": "No handheld has connected to the gateway yet.",
        "scans.title": "Scans", "scans.search": "Search", "scans.code": "Code (raw, DI, lot or serial)",
        "scans.any": "any", "scans.none": "No scans match.", "scans.more": "Older scans",
        "scan.title": "Scan #{id}", "scan.elements": "Parsed data elements", "scan.errors": "Errors",
        "scan.warnings": "Warnings", "scan.trace": "Traceability rules", "scan.mapped": "Mapped codes", "scan.nhsa": "Insurance code",
        "scan.commodity": "Commodity code", "scan.raw": "Raw data", "scan.noerrors": "No errors.",
        "verdict.good": "good", "verdict.bad": "bad",
        "jobs.title": "Print jobs", "jobs.new": "New print job", "jobs.none": "No print jobs yet.",
        "job.title": "Print job #{id}", "job.di": "Product (DI)", "job.template": "Label template", "job.printer": "Printer",
        "job.quantity": "Quantity", "job.lot": "Lot", "job.production_date": "Production date", "job.expiry": "Expiry date",
        "job.create": "Create job", "job.preview": "Label preview", "job.preview.hint": "The preview appears as you fill in the form.",
        "job.preview.wait": "Drawing the preview…", "job.start": "Start", "job.pause": "Pause", "job.resume": "Resume",
        "job.cancel": "Cancel job", "job.cancel.confirm": "Cancel this job? Serials not printed yet will be voided.",
        "job.labels": "Labels", "job.reconciliation": "Reconciliation", "job.agrees": "Reconciled: the ledger agrees with the printer's counter.",
        "job.disagrees": "Does not reconcile: check the printer's counter and call an admin.", "job.reason": "Reason",
        "job.created": "Job #{id} created. Check the preview, then press Start.", "job.done_action": "Done: {action}.",
        "job.nolabels": "No serials allocated yet.", "job.counter": "Printer counter",
        "state.created": "created", "state.running": "printing", "state.paused": "paused", "state.held": "held",
        "state.cancelling": "cancelling", "state.cancelled": "cancelled", "state.done": "done", "state.failed": "failed",
        "state.allocated": "allocated", "state.sent": "sent", "state.printed": "printed", "state.verified": "verified",
        "state.voided": "voided", "state.available": "available", "state.idle": "idle", "state.unknown": "unknown",
        "alerts.title": "Alerts", "alerts.ack": "Acknowledge", "alerts.acked": "acknowledged", "alerts.none": "No alerts.",
        "alerts.open": "Open only", "alerts.all": "All", "alerts.done": "Alert #{id} acknowledged.",
        "audit.title": "Audit log",
        "err.forbidden": "Your role ({role}) cannot do this; it needs {needed}. Ask an admin.",
        "err.csrf": "The page had expired (security check failed). Reload the page and try again.",
        "err.notfound": "Not found; it may have been removed. Go back to the list.",
        "err.job": "Could not do that: {detail}",
        "err.input": "Please check the input: {detail}",
        "err.network": "Cannot reach the gateway; check the network and try again.",
        "back": "Back",
        "nav.printers": "Printers", "nav.quality": "Quality",
        "nav.templates": "Templates", "nav.products": "Products", "nav.exports": "Exports", "nav.users": "Users",
        "prn.title": "Printers", "prn.none": "No printers configured yet. An admin can add one below.", "prn.status": "Live status",
        "prn.ready": "ready", "prn.notready": "not ready", "prn.dpi": "Resolution (dpi)", "prn.ips": "Rated speed (in/s)",
        "prn.uri": "Address (URI)", "prn.name": "Name", "prn.model": "Model", "prn.busy": "in use by job #{job}",
        "prn.add": "Add or change a printer", "prn.save": "Save", "prn.edit": "Change", "prn.test": "Print a test label",
        "prn.uri.hint": "e.g. tcp://192.168.1.50:9100, usb:SERIAL, serial:/dev/ttyUSB0, cups:QUEUE",
        "prn.polled": "Each printer is asked for its status when the page loads (1 s at most each).",
        "prn.added": "Printer {name} added.", "prn.changed": "Printer {name} changed.",
        "prn.test_sent": "Test label sent to {name}; check that the printer printed \"UDI Edge test\".",
        "prn.test_failed": "The test label did not reach {name}: {detail}. Check the printer's power, cable and address.",
        "prn.test_busy": "Printer {name} is running job #{job}; a test label would spoil its reconciliation. Try again when the job has ended.",
        "prn.err.name": "Name: required; letters, digits, -, _ and . only (64 characters at most).",
        "prn.err.uri": "Address: use tcp://HOST[:PORT], usb:…, serial:/dev/… or cups:QUEUE.",
        "prn.err.dpi": "Resolution: choose 203, 300 or 600 dpi.",
        "prn.err.ips": "Rated speed: enter a number from 1 to 14 (inches per second).",
        "fault.paper_out": "paper out", "fault.ribbon_out": "ribbon out", "fault.head_open": "head open", "fault.paused": "paused",
        "fault.buffer_full": "buffer full", "fault.temperature": "head temperature out of range", "fault.corrupt_ram": "memory corrupt",
        "fault.cutter_fault": "cutter fault", "fault.printhead_fault": "printhead fault", "fault.firmware_config": "invalid firmware configuration",
        "fault.unknown_error": "unknown error", "fault.unreachable": "unreachable", "fault.no_host_status": "does not answer status queries",
        "fault.status_unreadable": "status not readable", "fault.status_unsupported": "status cannot be read over this connection",
        "q.title": "Label quality", "q.none": "No label checks yet.", "q.checks": "Label checks (failures first, newest first)",
        "q.summary": "Per job", "q.trend": "Quality trend per printer (mean grade per job, in time order)",
        "q.checked": "Checked", "q.passed": "Passed", "q.failed": "Failed", "q.mean": "Mean grade", "q.grade": "Grade",
        "q.result": "Result", "q.decoded": "Decoded data", "q.image": "Image", "q.label": "Label / serial",
        "q.alljobs": "All jobs", "q.job": "Job number", "q.show": "Show", "q.more": "Only the first 300 are shown.",
        "q.noimage": "no image",
        "q.why.nodecode": "no symbol could be decoded (missing or unreadable)", "q.why.mismatch": "the decoded data differs from what was sent",
        "q.why.invalid": "the decoded data is not a valid code: {detail}", "q.why.grade": "grade {grade} is below the required {min}",
    },
}


def add(words):
    """A page module's own words: {"zh": {...}, "en": {...}}, merged in at import.
    A key defined twice is a mistake that would silently change another page."""
    for lang, table in words.items():
        clash = set(table) & set(STRINGS.setdefault(lang, {}))
        if clash:
            raise ValueError("panel words defined twice: %s" % ", ".join(sorted(clash)))
        STRINGS[lang].update(table)


def pick(value):
    # A language from a cookie or query: only the ones we have.
    return value if value in LANGS else DEFAULT


def t(lang, key, **values):
    s = STRINGS.get(lang, {}).get(key) or STRINGS[DEFAULT].get(key) or key
    return s.format(**values) if values else s


def client_strings(lang):
    # The few strings panel.js needs, handed over in a data attribute (no inline script: CSP).
    keys = [k for k in STRINGS[DEFAULT] if k.startswith(("state.", "dash.", "job.", "err.network", "yes", "no"))]
    return {k: t(lang, k) for k in keys}
