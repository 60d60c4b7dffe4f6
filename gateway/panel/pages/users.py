"""Users (admin): the list with each user's state, add a user, change a
role, reset a password, unlock, disable / enable.

The rules live in gateway.panel.users (the CLI shares them): passwords of
10 characters at least, no admin demoting or disabling themselves, never
without an active admin, sessions end when a role changes or a user is
disabled.  This page only turns their refusals into words."""

import time
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request

from gateway.panel import i18n, users
from gateway.panel.core import (
    Admin,
    Viewer,
    engine_of,
    lang_of,
    page,
    require,
    see_other,
)

router = APIRouter()

PAGE_ROWS = 50

i18n.add({
    "zh": {
        "usr.title": "用户", "usr.hint": "角色：查看员只能查看；操作员可执行打印任务和确认告警；管理员还可管理打印机与用户。",
        "usr.role": "角色", "usr.last_signin": "最后登录", "usr.sessions": "会话", "usr.failed": "连续失败",
        "usr.locked_until": "锁定至", "usr.status": "状态", "usr.active": "正常", "usr.disabled": "已停用",
        "usr.locked": "已锁定", "usr.you": "（您）", "usr.never": "从未",
        "usr.add": "添加用户", "usr.name": "用户名", "usr.password": "初始密码", "usr.password2": "再次输入密码",
        "usr.password.hint": "至少 {n} 个字符。请当面或通过安全渠道告知用户。", "usr.add.submit": "添加",
        "usr.change_role": "修改角色", "usr.reset": "重置密码", "usr.new_password": "新密码",
        "usr.reset.submit": "设置新密码（同时解锁）", "usr.unlock": "解锁", "usr.disable": "停用", "usr.enable": "启用",
        "usr.disable.confirm": "确定停用 {name}？其会话将立即结束，且无法再登录。",
        "usr.role.confirm": "修改角色后，该用户的会话将结束，需要重新登录。",
        "usr.page": "第 {n} 页", "usr.prev": "上一页", "usr.next": "下一页",
        "usr.done.add": "用户 {name} 已添加（{role}）。", "usr.done.role": "{name} 的角色已改为{role}；其会话已结束，需重新登录。",
        "usr.done.password": "{name} 的密码已重置并已解锁；其会话已结束。", "usr.done.unlock": "{name} 已解锁。",
        "usr.done.disable": "{name} 已停用，其会话已结束。", "usr.done.enable": "{name} 已启用，可以重新登录。",
        "usr.done.same": "{name} 没有变化（已经是这个状态）。",
        "usr.err.name": "用户名：必填，1–64 个可打印字符。", "usr.err.role": "角色：请选择查看员、操作员或管理员。",
        "usr.err.password_short": "密码至少需要 {n} 个字符。", "usr.err.password_long": "密码过长（最多 {max} 个字符）。",
        "usr.err.mismatch": "两次输入的密码不一致，请重新输入。", "usr.err.exists": "已有名为 {name} 的用户，请换一个用户名。",
        "usr.err.nouser": "找不到用户 {name}，可能已被修改。请刷新页面。",
        "usr.err.self_role": "不能修改自己的角色。请让另一位管理员操作。",
        "usr.err.self_disable": "不能停用自己。请让另一位管理员操作。",
        "usr.err.last_admin": "操作被拒绝：这会使系统没有可用的管理员。请先把另一位用户设为管理员。",
    },
    "en": {
        "usr.title": "Users", "usr.hint": "Roles: a viewer only looks; an operator runs print jobs and acknowledges alerts; an admin also manages printers and users.",
        "usr.role": "Role", "usr.last_signin": "Last sign-in", "usr.sessions": "Sessions", "usr.failed": "Failures",
        "usr.locked_until": "Locked until", "usr.status": "Status", "usr.active": "active", "usr.disabled": "disabled",
        "usr.locked": "locked", "usr.you": "(you)", "usr.never": "never",
        "usr.add": "Add a user", "usr.name": "User name", "usr.password": "Initial password", "usr.password2": "Password again",
        "usr.password.hint": "{n} characters at least. Tell the user in person or over a safe channel.", "usr.add.submit": "Add",
        "usr.change_role": "Change role", "usr.reset": "Reset password", "usr.new_password": "New password",
        "usr.reset.submit": "Set the new password (also unlocks)", "usr.unlock": "Unlock", "usr.disable": "Disable", "usr.enable": "Enable",
        "usr.disable.confirm": "Disable {name}? Their sessions end now and they cannot sign in.",
        "usr.role.confirm": "Changing the role ends this user's sessions; they sign in again.",
        "usr.page": "page {n}", "usr.prev": "Previous", "usr.next": "Next",
        "usr.done.add": "User {name} added ({role}).", "usr.done.role": "{name} is now {role}; their sessions have ended and they sign in again.",
        "usr.done.password": "The password of {name} is reset and the account unlocked; their sessions have ended.",
        "usr.done.unlock": "{name} is unlocked.", "usr.done.disable": "{name} is disabled; their sessions have ended.",
        "usr.done.enable": "{name} is enabled and can sign in again.", "usr.done.same": "Nothing changed for {name} (it was so already).",
        "usr.err.name": "User name: required, 1-64 printable characters.", "usr.err.role": "Role: choose viewer, operator or admin.",
        "usr.err.password_short": "The password needs {n} characters at least.", "usr.err.password_long": "The password is too long ({max} characters at most).",
        "usr.err.mismatch": "The two passwords differ; type them again.", "usr.err.exists": "There is a user named {name} already; choose another name.",
        "usr.err.nouser": "There is no user {name}; it may have changed. Reload the page.",
        "usr.err.self_role": "You cannot change your own role. Ask another admin.",
        "usr.err.self_disable": "You cannot disable yourself. Ask another admin.",
        "usr.err.last_admin": "Refused: this would leave no active admin. Make another user admin first.",
    },
})

DONE = ("add", "role", "password", "unlock", "disable", "enable", "same")


def rule_words(lang, err, name):
    # A refusal of gateway.panel.users in the reader's language.
    return i18n.t(lang, "usr.err." + err.rule, name=name, n=users.MIN_PASSWORD, max=users.MAX_PASSWORD)


def _users_page(request, s, status_code=200, notice=None, error=None, form=None):
    rows = users.list_users(engine_of(request))
    now = time.time()
    for r in rows:
        r["locked"] = bool(r["locked_until"] and r["locked_until"] > now)
    try:
        n = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        n = 1
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    n = min(n, pages)
    return page(request, "usr_list.html", s, status_code, rows=rows[(n - 1) * PAGE_ROWS:n * PAGE_ROWS], roles=users.ROLES,
                page_no=n, pages=pages, notice=notice, error=error, form=form or {"name": "", "role": "viewer"},
                min_password=users.MIN_PASSWORD)


@router.get("/panel/users", include_in_schema=False)
def user_list(request: Request, s=Viewer, done: str = "", name: str = "", role: str = ""):
    require(request, s, "admin")
    lang = lang_of(request)
    notice = None
    if done in DONE:
        notice = i18n.t(lang, "usr.done." + done, name=name[:64],
                        role=i18n.t(lang, "role." + role) if role in users.ROLES else role[:16])
    return _users_page(request, s, notice=notice)


def _done(what, name, role=""):
    return see_other("/panel/users?" + urlencode({"done": what, "name": name, "role": role}, quote_via=quote))


def _refused(request, s, err, name, status_code=409, form=None):
    return _users_page(request, s, status_code, error=rule_words(lang_of(request), err, name), form=form)


def _missing(request, s, name):
    return _users_page(request, s, 404, error=i18n.t(lang_of(request), "usr.err.nouser", name=name))


@router.post("/panel/users/add", include_in_schema=False)
def user_add(request: Request, s=Admin, name: str = Form(""), role: str = Form("viewer"), password: str = Form(""),
             password2: str = Form("")):
    name = name.strip()
    form = {"name": name, "role": role}  # never the password
    if password != password2:
        return _users_page(request, s, 422, error=i18n.t(lang_of(request), "usr.err.mismatch"), form=form)
    try:
        users.create_user(engine_of(request), name, password, role, actor=s["user"])
    except users.UserExists as e:
        return _refused(request, s, e, name, 409, form)
    except users.UserRuleError as e:
        return _refused(request, s, e, name, 422, form)
    return _done("add", name, role)


@router.post("/panel/users/role", include_in_schema=False)
def user_role(request: Request, s=Admin, name: str = Form(""), role: str = Form("")):
    try:
        changed = users.set_role(engine_of(request), name, role, actor=s["user"])
    except KeyError:
        return _missing(request, s, name)
    except users.UserRuleError as e:
        return _refused(request, s, e, name, 422 if e.rule == "role" else 409)
    return _done("role" if changed else "same", name, role)


@router.post("/panel/users/password", include_in_schema=False)
def user_password(request: Request, s=Admin, name: str = Form(""), password: str = Form(""), password2: str = Form("")):
    if password != password2:
        return _users_page(request, s, 422, error=i18n.t(lang_of(request), "usr.err.mismatch"))
    try:
        users.set_password(engine_of(request), name, password, actor=s["user"])
    except KeyError:
        return _missing(request, s, name)
    except users.UserRuleError as e:
        return _refused(request, s, e, name, 422)
    return _done("password", name)


@router.post("/panel/users/unlock", include_in_schema=False)
def user_unlock(request: Request, s=Admin, name: str = Form("")):
    try:
        users.unlock(engine_of(request), name, actor=s["user"])
    except KeyError:
        return _missing(request, s, name)
    return _done("unlock", name)


@router.post("/panel/users/{what}", include_in_schema=False)
def user_disable_enable(request: Request, what: str, s=Admin, name: str = Form("")):
    if what not in ("disable", "enable"):
        return page(request, "error.html", s, 404, message=i18n.t(lang_of(request), "err.notfound"), back="/panel/users")
    try:
        changed = users.set_disabled(engine_of(request), name, what == "disable", actor=s["user"])
    except KeyError:
        return _missing(request, s, name)
    except users.UserRuleError as e:
        return _refused(request, s, e, name)
    return _done(what if changed else "same", name)
