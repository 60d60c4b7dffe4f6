"""API tokens and roles.  A token is 32 random bytes (secrets.token_urlsafe)
shown once when created; only its SHA-256 is stored (a slow hash adds
nothing against guessing 256 random bits, and a lookup by hash stays one
indexed query per request).

Roles, each including the ones below it:
  reader    read everything (except tokens)
  operator  + device commands, recall blocks, acknowledging alerts
  admin     + device config and names, API tokens"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gateway.api.deps import get_engine
from gateway.schema import api_tokens

ROLES = ("reader", "operator", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}


class TokenExists(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    name: str
    role: str


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine, name, role):
    """Store a new token and return it; it cannot be shown again.
    Raises ValueError for a bad name or role, TokenExists for a name in use
    (revoked tokens keep their name)."""
    if role not in RANK:
        raise ValueError("role must be one of %s, got %r" % (", ".join(ROLES), role))
    if not isinstance(name, str) or not name.strip() or len(name) > 64 or "\x00" in name:
        raise ValueError("name must be 1-64 characters of text")
    token = secrets.token_urlsafe(32)
    try:
        with engine.begin() as c:
            c.execute(insert(api_tokens).values(name=name, hash=hash_token(token), role=role, created_at=time.time()))
    except IntegrityError:
        raise TokenExists("a token named %r exists already (names of revoked tokens stay taken)" % name)
    return token


def revoke_token(engine, name):
    """-> True when the token was revoked now, False when it was already;
    raises KeyError for an unknown name."""
    with engine.begin() as c:
        if c.execute(update(api_tokens).where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
                     .values(revoked_at=time.time())).rowcount:
            return True
        if c.execute(select(api_tokens.c.id).where(api_tokens.c.name == name)).first() is None:
            raise KeyError(name)
    return False


def has_tokens(engine):
    # Any token ever created (revoked ones count: an admin revoked them on purpose).
    with engine.connect() as c:
        return c.execute(select(api_tokens.c.id).limit(1)).first() is not None


def list_tokens(engine):
    cols = [api_tokens.c.id, api_tokens.c.name, api_tokens.c.role, api_tokens.c.created_at, api_tokens.c.revoked_at]
    with engine.connect() as c:
        return [dict(r) for r in c.execute(select(*cols).order_by(api_tokens.c.id)).mappings()]


def token_info(engine, name):
    return next((t for t in list_tokens(engine) if t["name"] == name), None)


# --- FastAPI dependencies -----------------------------------------------------------

# auto_error=False: our own 401s say what is wrong and carry WWW-Authenticate.
bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`.")


def _unauthorized(msg):
    return HTTPException(status_code=401, detail=msg, headers={"WWW-Authenticate": "Bearer"})


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> Principal:
    if credentials is None:
        if request.headers.get("authorization"):
            raise _unauthorized("the Authorization header must be 'Bearer <token>'")
        raise _unauthorized("an API token is needed: send 'Authorization: Bearer <token>'")
    with engine.connect() as c:
        row = c.execute(select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.revoked_at)
                        .where(api_tokens.c.hash == hash_token(credentials.credentials))).first()
    if row is None:
        raise _unauthorized("unknown API token")
    if row.revoked_at is not None:
        raise _unauthorized("this API token was revoked")
    return Principal(row.name, row.role)


def require(role):
    """A dependency that lets through tokens of `role` or a higher one."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if RANK.get(principal.role, -1) < RANK[role]:
            higher = [r for r in ROLES if RANK[r] > RANK[role]]
            raise HTTPException(
                status_code=403,
                detail="this needs the %s role%s; token %r has role %s"
                % (role, " (or %s)" % " or ".join(higher) if higher else "", principal.name, principal.role),
            )
        return principal

    check.__name__ = "require_" + role
    return check


# One dependency object per role: FastAPI runs each once per request.
require_reader, require_operator, require_admin = require("reader"), require("operator"), require("admin")
Reader = Annotated[Principal, Depends(require_reader)]
Operator = Annotated[Principal, Depends(require_operator)]
Admin = Annotated[Principal, Depends(require_admin)]
