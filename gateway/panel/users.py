"""Panel users, sessions and the audit log.

People sign in to the panel with a name and a password (machines keep using
API tokens, gateway.api.auth).  Passwords are hashed with scrypt (stdlib,
memory-hard, so a stolen database is slow to guess from), each with its own
salt.  A session is a random token in an HttpOnly cookie; only its SHA-256 is
stored, so a database dump gives no live session.  Each session carries its
own CSRF token that every POST must echo.

The tables live on their own MetaData until they move into gateway.schema
(with an Alembic migration); mount_panel() creates them when missing."""

import hashlib
import hmac
import secrets
import time

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.schema import (  # with all the others (migration 0004)
    panel_audit,
    panel_sessions,
    panel_users,
)

ROLES = ("viewer", "operator", "admin")  # each includes the ones before it
RANK = {r: i for i, r in enumerate(ROLES)}

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_FAILURES = 5  # wrong passwords in a row before the account locks
LOCK_S = 15 * 60
SESSION_S = 12 * 3600  # one shift; then sign in again

# scrypt cost: 16 MiB of memory and ~50 ms per try on a gateway-class CPU.
SCRYPT_N, SCRYPT_R, SCRYPT_P, DKLEN = 2 ** 14, 8, 1, 32

class UserRuleError(ValueError):
    """Input or a change the rules refuse; .rule says which (name, role,
    password_short, password_long, exists, self_role, self_disable,
    last_admin), so the panel can say it in words."""

    def __init__(self, rule, message):
        super().__init__(message)
        self.rule = rule


class UserExists(UserRuleError):
    def __init__(self, message):
        super().__init__("exists", message)


def create_tables(engine):
    # Store() has migrated the database; nothing to create here.
    return None


# --- passwords -------------------------------------------------------------------------

def hash_password(password, salt=None):
    salt = salt or secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                        maxmem=64 * 1024 * 1024, dklen=DKLEN)
    return "scrypt$%d$%d$%d$%s$%s" % (SCRYPT_N, SCRYPT_R, SCRYPT_P, salt.hex(), dk.hex())


def check_password(password, stored):
    # The cost parameters come from the stored hash, so raising them later
    # keeps old hashes valid.
    try:
        kind, n, r, p, salt, want = stored.split("$")
        n, r, p, salt, want = int(n), int(r), int(p), bytes.fromhex(salt), bytes.fromhex(want)
    except (ValueError, AttributeError):
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=len(want))
    return hmac.compare_digest(got, want)


# Checked against when the name is unknown, so a wrong name costs as long as
# a wrong password (no way to list user names by timing).
_DUMMY = hash_password("not a password", b"\0" * 16)


def check_new_password(password):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise UserRuleError("password_short", "the password must have at least %d characters" % MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise UserRuleError("password_long", "the password is too long (%d characters at most)" % MAX_PASSWORD)


# --- users -----------------------------------------------------------------------------

def check_role(role):
    if role not in RANK:
        raise UserRuleError("role", "role must be one of %s, got %r" % (", ".join(ROLES), role))


def create_user(engine, name, password, role, actor=None):
    """Add a panel user (`udi-edge user add`, or an admin in the panel:
    actor).  Raises ValueError for a bad name, role or password (at least 10
    characters), UserExists when the name is taken."""
    check_role(role)
    if not isinstance(name, str) or not name.strip() or len(name) > 64 or any(ord(ch) < 32 for ch in name):
        raise UserRuleError("name", "name must be 1-64 printable characters")
    check_new_password(password)
    create_tables(engine)
    try:
        with engine.begin() as c:
            c.execute(insert(panel_users).values(name=name, pw_hash=hash_password(password), role=role,
                                                 failed_count=0, created_at=time.time(), disabled=False))
            audit(c, actor, "user_add", "%s (%s)" % (name, role))
    except IntegrityError:
        raise UserExists("a panel user named %r exists already" % name)


def set_password(engine, name, password, actor=None):
    """A new password; it also clears a lock-out.  Set by someone else (an
    admin, the CLI), it ends the user's sessions: whoever used the old one is out."""
    check_new_password(password)
    with engine.begin() as c:
        n = c.execute(update(panel_users).where(panel_users.c.name == name)
                      .values(pw_hash=hash_password(password), failed_count=0, locked_until=None)).rowcount
        if not n:
            raise KeyError(name)
        if actor != name:
            _end_sessions(c, name)
        audit(c, actor, "user_password", name)  # never the password itself


def unlock(engine, name, actor=None):
    """Clear a lock-out (and the count of wrong passwords) without a new password."""
    with engine.begin() as c:
        n = c.execute(update(panel_users).where(panel_users.c.name == name)
                      .values(failed_count=0, locked_until=None)).rowcount
        if not n:
            raise KeyError(name)
        audit(c, actor, "user_unlock", name)


def set_role(engine, name, role, actor=None):
    """-> True when the role changed.  Ends the user's sessions (the next
    sign-in carries the new role).  Refuses an admin's own demotion and
    leaving the panel without an active admin (UserRuleError)."""
    check_role(role)
    with engine.begin() as c:
        row = _lock_for_change(c, name)
        if row["role"] == role:
            return False
        if actor == name:
            raise UserRuleError("self_role", "you cannot change your own role; ask another admin")
        c.execute(update(panel_users).where(panel_users.c.name == name).values(role=role))
        if row["role"] == "admin" and not row["disabled"]:
            _keep_an_admin(c)
        _end_sessions(c, name)
        audit(c, actor, "user_role", "%s: %s -> %s" % (name, row["role"], role))
    return True


def set_disabled(engine, name, disabled, actor=None):
    """Disable (no sign-in, sessions end) or enable a user; -> True when it
    changed.  Same safety rules as set_role."""
    with engine.begin() as c:
        row = _lock_for_change(c, name)
        if bool(row["disabled"]) == bool(disabled):
            return False
        if disabled and actor == name:
            raise UserRuleError("self_disable", "you cannot disable yourself; ask another admin")
        c.execute(update(panel_users).where(panel_users.c.name == name).values(disabled=bool(disabled)))
        if disabled:
            if row["role"] == "admin":
                _keep_an_admin(c)
            _end_sessions(c, name)
        audit(c, actor, "user_disable" if disabled else "user_enable", name)
    return True


def _lock_for_change(c, name):
    # Lock every admin row first, in name order (PostgreSQL; SQLite takes its
    # write lock at the UPDATE): two admins demoting each other at the same
    # moment cannot both pass the last-admin check, nor deadlock.
    c.execute(select(panel_users.c.name).where(panel_users.c.role == "admin")
              .order_by(panel_users.c.name).with_for_update()).all()
    row = c.execute(select(panel_users).where(panel_users.c.name == name).with_for_update()).mappings().first()
    if row is None:
        raise KeyError(name)
    return row


def _keep_an_admin(c):
    # Checked after the change, inside its transaction: raising rolls it back.
    n = c.execute(select(func.count()).select_from(panel_users).where(
        panel_users.c.role == "admin", panel_users.c.disabled.is_(False))).scalar()
    if not n:
        raise UserRuleError("last_admin", "this would leave no active admin; make another user admin first")


def _end_sessions(c, name):
    c.execute(delete(panel_sessions).where(panel_sessions.c.user == name))


def list_users(engine, now=None):
    """Every user with its state and the number of live sessions (never the hash)."""
    now = time.time() if now is None else now
    u, s = panel_users, panel_sessions
    live = (select(s.c.user, func.count().label("sessions")).where(s.c.expires_at >= now)
            .group_by(s.c.user).subquery())
    cols = [u.c.name, u.c.role, u.c.failed_count, u.c.locked_until, u.c.created_at, u.c.disabled,
            u.c.last_signin_at, func.coalesce(live.c.sessions, 0).label("sessions")]
    q = select(*cols).select_from(u.outerjoin(live, live.c.user == u.c.name)).order_by(u.c.name)
    with engine.connect() as c:
        return [dict(r) for r in c.execute(q).mappings()]


def authenticate(engine, name, password, now=None):
    """-> ("ok", user row) / ("bad", None) / ("locked", seconds left) /
    ("disabled", None).  Five wrong passwords in a row lock the account for
    15 minutes; while it is locked even the right password is refused (and
    not checked).  A disabled user is told so only with the right password
    (a wrong one counts as usual), so the answer gives nothing away."""
    now = time.time() if now is None else now
    with engine.connect() as c:
        row = c.execute(select(panel_users).where(panel_users.c.name == name)).mappings().first()
    if row is None:
        check_password(password, _DUMMY)
        return "bad", None
    if row["locked_until"] and row["locked_until"] > now:
        return "locked", int(row["locked_until"] - now) + 1
    failed = row["failed_count"] or 0
    if row["locked_until"]:
        failed = 0  # the lock ran out: a fresh count
    with engine.begin() as c:
        if check_password(password, row["pw_hash"]):
            if row["disabled"]:
                audit(c, name, "signin_disabled", "the account is disabled")
                return "disabled", None
            c.execute(update(panel_users).where(panel_users.c.name == name)
                      .values(failed_count=0, locked_until=None, last_signin_at=now))
            return "ok", dict(row)
        failed += 1
        locked = now + LOCK_S if failed >= MAX_FAILURES else None
        c.execute(update(panel_users).where(panel_users.c.name == name).values(failed_count=failed, locked_until=locked))
        if locked:
            audit(c, name, "locked", "%d wrong passwords in a row; locked for %d minutes" % (failed, LOCK_S // 60))
            return "locked", LOCK_S
    return "bad", None


# --- sessions --------------------------------------------------------------------------

def _sid_hash(token):
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_session(engine, user, now=None):
    """-> (cookie token, csrf token)."""
    now = time.time() if now is None else now
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with engine.begin() as c:
        c.execute(delete(panel_sessions).where(panel_sessions.c.expires_at < now))  # tidy as we go
        c.execute(insert(panel_sessions).values(id=_sid_hash(token), user=user, csrf=csrf, created_at=now,
                                                expires_at=now + SESSION_S))
    return token, csrf


def get_session(engine, token, now=None):
    """-> {"user", "role", "csrf"} for a live session of an existing, enabled user, else None."""
    if not token or len(token) > 100:
        return None
    now = time.time() if now is None else now
    s, u = panel_sessions, panel_users
    with engine.connect() as c:
        row = c.execute(select(s.c.user, s.c.csrf, s.c.expires_at, u.c.role)
                        .join(u, u.c.name == s.c.user)
                        .where(s.c.id == _sid_hash(token), u.c.disabled.is_(False))).mappings().first()
    if row is None or row["expires_at"] < now:
        return None
    return {"user": row["user"], "role": row["role"], "csrf": row["csrf"]}


def end_session(engine, token):
    with engine.begin() as c:
        c.execute(delete(panel_sessions).where(panel_sessions.c.id == _sid_hash(token or "")))


# --- audit -----------------------------------------------------------------------------

def audit(conn_or_engine, user, action, detail=None):
    """One row per change made through the panel (and per sign-in, sign-out, lock)."""
    row = {"at": time.time(), "user": user, "action": action, "detail": None if detail is None else str(detail)[:2000]}
    if hasattr(conn_or_engine, "begin") and not hasattr(conn_or_engine, "execute"):
        with conn_or_engine.begin() as c:
            c.execute(insert(panel_audit).values(**row))
    else:
        conn_or_engine.execute(insert(panel_audit).values(**row))


def recent_audit(engine, limit=200):
    with engine.connect() as c:
        return [dict(r) for r in c.execute(select(panel_audit).order_by(panel_audit.c.id.desc()).limit(limit)).mappings()]


def allowed(role, needed):
    return RANK.get(role, -1) >= RANK[needed]
