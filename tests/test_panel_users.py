"""The Users page (admin) over HTTP, and the user rules underneath it on
SQLite and PostgreSQL: add with the CLI's password rules, change a role,
reset a password (unlocks), unlock, disable / enable; no admin demotes or
disables themselves, the panel never loses its last active admin, sessions
end when a role changes or a user is disabled, every change is audited and
no password is ever written to the audit log or a log record."""

import logging
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, select, text
from test_panel import PW, client, csrf_of, sign_in, signed_in, store  # noqa: F401

from gateway import migrate
from gateway.panel import users
from gateway.schema import panel_audit, panel_users
from gateway.store import Store

NEW_PW = "a brand new secret 42"


def audit_rows(store):
    with store.engine.connect() as c:
        return [dict(r) for r in c.execute(select(panel_audit).order_by(panel_audit.c.id)).mappings()]


def row_of(html, name):
    return html.split('data-user="%s"' % name)[1].split("</tr>")[0]


def other_client(client):
    # A second browser on the same gateway (its own cookies).
    return TestClient(client.app)


def test_only_admins_see_the_users_page(client, store):
    users.create_user(store.engine, "nora", PW, "viewer")
    signed_in(client, "vic")
    assert client.get("/panel/users").status_code == 403
    client.post("/panel/logout", data={"csrf": csrf_of(client.get("/panel").text)})
    csrf = signed_in(client, "olga")
    assert client.get("/panel/users").status_code == 403
    r = client.post("/panel/users/add", data={"csrf": csrf, "name": "eve", "role": "admin", "password": NEW_PW,
                                              "password2": NEW_PW})
    assert r.status_code == 403 and "需要管理员权限" in r.text
    client.post("/panel/logout", data={"csrf": csrf})
    signed_in(client, "ada")
    page = client.get("/panel/users").text
    for name, role in (("ada", "管理员"), ("olga", "操作员"), ("vic", "查看员")):
        assert name in page and role in row_of(page, name)
    assert "（您）" in row_of(page, "ada") and "从未" in row_of(page, "nora") and "从未" not in row_of(page, "vic")
    assert 'action="/panel/users/disable"' not in row_of(page, "ada")  # no button to disable yourself


def test_add_user_follows_the_cli_password_rules(client, store, caplog):
    caplog.set_level(logging.DEBUG)
    csrf = signed_in(client, "ada")
    form = {"csrf": csrf, "name": "nina", "role": "operator", "password": "123456789", "password2": "123456789"}
    r = client.post("/panel/users/add", data=form)
    assert r.status_code == 422 and "密码至少需要 10 个字符" in r.text and 'value="nina"' in r.text
    assert "123456789" not in r.text  # a refused password is not sent back
    r = client.post("/panel/users/add", data=dict(form, password=NEW_PW, password2=NEW_PW + "x"))
    assert r.status_code == 422 and "两次输入的密码不一致" in r.text
    r = client.post("/panel/users/add", data=dict(form, name="  ", password=NEW_PW, password2=NEW_PW))
    assert r.status_code == 422 and "用户名：必填" in r.text
    r = client.post("/panel/users/add", data=dict(form, role="root", password=NEW_PW, password2=NEW_PW))
    assert r.status_code == 422 and "角色：请选择" in r.text
    r = client.post("/panel/users/add", data=dict(form, name="olga", password=NEW_PW, password2=NEW_PW))
    assert r.status_code == 409 and "已有名为 olga 的用户" in r.text
    assert [u["name"] for u in users.list_users(store.engine)] == ["ada", "olga", "vic"]  # nothing stored

    r = client.post("/panel/users/add", data=dict(form, password=NEW_PW, password2=NEW_PW), follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "用户 nina 已添加（操作员）" in page and "操作员" in row_of(page, "nina")
    assert users.authenticate(store.engine, "nina", NEW_PW)[0] == "ok"
    assert ("ada", "user_add", "nina (operator)") in [(a["user"], a["action"], a["detail"]) for a in audit_rows(store)]
    for secret in ("123456789", NEW_PW):
        assert not any(secret in (a["detail"] or "") for a in audit_rows(store))
        assert not any(secret in rec.getMessage() for rec in caplog.records)


def test_changing_a_role_ends_that_users_sessions(client, store):
    olga = other_client(client)
    signed_in(olga, "olga")
    assert olga.get("/panel/jobs").status_code == 200
    csrf = signed_in(client, "ada")
    r = client.post("/panel/users/role", data={"csrf": csrf, "name": "olga", "role": "viewer"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "olga 的角色已改为查看员" in page and "查看员" in row_of(page, "olga")
    r = olga.get("/panel/jobs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/panel/login")
    signed_in(olga, "olga")
    assert "查看员" in olga.get("/panel").text  # the new role from the next sign-in
    assert ("ada", "user_role", "olga: operator -> viewer") in [(a["user"], a["action"], a["detail"]) for a in audit_rows(store)]
    # the same role again: nothing changes, nobody is signed out
    r = client.post("/panel/users/role", data={"csrf": csrf, "name": "olga", "role": "viewer"})
    assert "olga 没有变化" in r.text and olga.get("/panel").status_code == 200
    r = client.post("/panel/users/role", data={"csrf": csrf, "name": "ghost", "role": "viewer"})
    assert r.status_code == 404 and "找不到用户 ghost" in r.text


def test_an_admin_cannot_demote_or_disable_themselves(client, store):
    csrf = signed_in(client, "ada")
    r = client.post("/panel/users/role", data={"csrf": csrf, "name": "ada", "role": "operator"})
    assert r.status_code == 409 and "不能修改自己的角色" in r.text
    r = client.post("/panel/users/disable", data={"csrf": csrf, "name": "ada"})
    assert r.status_code == 409 and "不能停用自己" in r.text
    client.get("/panel/lang/en")
    r = client.post("/panel/users/disable", data={"csrf": csrf, "name": "ada"})
    assert "You cannot disable yourself" in r.text
    assert users.get_session(store.engine, client.cookies.get("panel_session"))["role"] == "admin"
    assert not any(a["action"] in ("user_role", "user_disable") for a in audit_rows(store))


def test_disabled_users_cannot_sign_in_and_their_sessions_end(client, store):
    olga = other_client(client)
    signed_in(olga, "olga")
    csrf = signed_in(client, "ada")
    r = client.post("/panel/users/disable", data={"csrf": csrf, "name": "olga"}, follow_redirects=False)
    page = client.get(r.headers["location"]).text
    assert "olga 已停用，其会话已结束" in page and "已停用" in row_of(page, "olga")
    assert 'action="/panel/users/enable"' in row_of(page, "olga")
    assert olga.get("/panel", follow_redirects=False).status_code == 303
    r = sign_in(olga, "olga")  # the right password, and still no way in: told why
    assert r.status_code == 403 and "该账户已停用" in r.text
    assert "该账户已停用" not in sign_in(olga, "olga", "wrong password!").text  # nothing given away
    assert users.authenticate(store.engine, "olga", PW)[0] == "disabled"
    assert users.authenticate(store.engine, "olga", "wrong password!")[0] == "bad"  # nothing given away
    r = client.post("/panel/users/enable", data={"csrf": csrf, "name": "olga"})
    assert "olga 已启用" in r.text
    assert sign_in(olga, "olga").status_code == 303
    acts = [(a["user"], a["action"]) for a in audit_rows(store)]
    assert ("ada", "user_disable") in acts and ("ada", "user_enable") in acts and ("olga", "signin_disabled") in acts


def test_reset_password_unlocks_and_unlock_alone_keeps_the_password(client, store):
    vic = other_client(client)
    for _ in range(5):
        sign_in(vic, "vic", "wrong password!")
    assert sign_in(vic, "vic").status_code == 423
    csrf = signed_in(client, "ada")
    row = row_of(client.get("/panel/users").text, "vic")
    assert "已锁定" in row and "5" in row and 'action="/panel/users/unlock"' in row
    r = client.post("/panel/users/password", data={"csrf": csrf, "name": "vic", "password": "short", "password2": "short"})
    assert r.status_code == 422 and "密码至少需要 10 个字符" in r.text
    r = client.post("/panel/users/password", data={"csrf": csrf, "name": "vic", "password": NEW_PW, "password2": NEW_PW},
                    follow_redirects=False)
    assert "vic 的密码已重置并已解锁" in client.get(r.headers["location"]).text
    assert sign_in(vic, "vic").status_code == 401  # the old password is gone
    assert sign_in(vic, "vic", NEW_PW).status_code == 303
    # unlock without a new password (locked here, not over HTTP: the address has used up its failed sign-ins)
    for _ in range(users.MAX_FAILURES):
        users.authenticate(store.engine, "olga", "wrong password!")
    assert users.authenticate(store.engine, "olga", PW)[0] == "locked"
    r = client.post("/panel/users/unlock", data={"csrf": csrf, "name": "olga"})
    assert "olga 已解锁" in r.text and "已锁定" not in row_of(r.text, "olga")
    assert users.authenticate(store.engine, "olga", PW)[0] == "ok"
    details = [(a["action"], a["detail"]) for a in audit_rows(store) if a["user"] == "ada"]
    assert ("user_password", "vic") in details and ("user_unlock", "olga") in details
    assert not any(NEW_PW in (a["detail"] or "") or "short" in (a["detail"] or "") for a in audit_rows(store))


def test_the_list_paginates(client, store):
    h = users.hash_password(PW)
    with store.engine.begin() as c:
        for i in range(60):
            c.execute(insert(panel_users).values(name="u%02d" % i, pw_hash=h, role="viewer", failed_count=0,
                                                 created_at=time.time()))
    signed_in(client, "ada")
    first, second = client.get("/panel/users").text, client.get("/panel/users?page=2").text
    assert first.count("data-user=") == 50 and second.count("data-user=") == 13
    assert "第 2 页" in second and 'href="/panel/users?page=1"' in second
    assert client.get("/panel/users?page=x").status_code == 200


# --- the rules on both databases ----------------------------------------------------------------

def test_rules_sessions_and_sign_in_state_on_both_databases(db_url):
    engine = Store(db_url).engine
    for name, role in (("ada", "admin"), ("bob", "admin"), ("olga", "operator")):
        users.create_user(engine, name, PW, role)
    assert users.authenticate(engine, "olga", PW, now=1000.0)[0] == "ok"
    token, _ = users.new_session(engine, "olga")
    listed = {u["name"]: u for u in users.list_users(engine)}
    assert listed["olga"]["last_signin_at"] == 1000.0 and listed["olga"]["sessions"] == 1
    assert listed["ada"]["last_signin_at"] is None and listed["ada"]["disabled"] is False
    assert "pw_hash" not in listed["ada"]

    assert users.set_disabled(engine, "olga", True, actor="ada") is True
    assert users.get_session(engine, token) is None and users.list_users(engine)[2]["sessions"] == 0
    assert users.set_disabled(engine, "olga", True, actor="ada") is False

    # bob may step down while ada is an admin; then ada is the last active admin
    assert users.set_role(engine, "bob", "operator", actor="ada") is True
    with pytest.raises(users.UserRuleError) as e:
        users.set_role(engine, "ada", "viewer")  # from the CLI: no actor, the rule still holds
    assert e.value.rule == "last_admin"
    with pytest.raises(users.UserRuleError) as e:
        users.set_disabled(engine, "ada", True)
    assert e.value.rule == "last_admin"
    assert {u["name"]: (u["role"], u["disabled"]) for u in users.list_users(engine)}["ada"] == ("admin", False)
    with pytest.raises(KeyError):
        users.unlock(engine, "ghost")


def test_two_admins_demoting_each_other_at_once_leave_one_admin(pg_cluster, monkeypatch):
    # The race made to happen: ada demotes bob and, before her transaction
    # commits, bob demotes ada.  Without the row locks both last-admin checks
    # pass (each sees the other's change uncommitted) and nobody is admin.
    # PostgreSQL only: SQLite has one writer at a time, so there is no race.
    engine = Store(pg_cluster.database()).engine
    for name in ("ada", "bob"):
        users.create_user(engine, name, PW, "admin")
    results, keep = {}, users._keep_an_admin

    def bob_demotes_ada():
        try:
            results["bob"] = users.set_role(engine, "ada", "operator", actor="bob")
        except users.UserRuleError as e:
            results["bob"] = e.rule

    bob = threading.Thread(target=bob_demotes_ada)

    def keep_then_let_bob_in(c):
        keep(c)
        if threading.current_thread() is bob:
            return
        bob.start()
        deadline = time.monotonic() + 30  # a guard against hanging, not a measurement
        while bob.is_alive() and not waiting_for_a_lock(engine):
            assert time.monotonic() < deadline, "bob neither finished nor waited for a lock"
            time.sleep(0.01)

    monkeypatch.setattr(users, "_keep_an_admin", keep_then_let_bob_in)
    results["ada"] = users.set_role(engine, "bob", "operator", actor="ada")
    bob.join()
    assert results == {"ada": True, "bob": "last_admin"}
    assert [(u["name"], u["role"]) for u in users.list_users(engine)] == [("ada", "admin"), ("bob", "operator")]


def waiting_for_a_lock(engine):
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar() > 0


def test_the_migration_keeps_existing_users_enabled(db_url):
    engine = create_engine(db_url)
    migrate.upgrade(engine, "0004")
    with engine.begin() as c:  # a user as 0004 stored it (no disabled, no last sign-in)
        c.execute(text("INSERT INTO panel_users (name, pw_hash, role, failed_count, created_at) "
                       "VALUES ('old', :h, 'admin', 0, 1.0)"), {"h": users.hash_password(PW)})
    engine.dispose()
    upgraded = Store(db_url).engine
    assert users.authenticate(upgraded, "old", PW)[0] == "ok"
    assert users.list_users(upgraded)[0]["disabled"] is False
