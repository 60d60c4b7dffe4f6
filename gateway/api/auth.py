"""API tokens, roles and scopes.  A token is 32 random bytes
(secrets.token_urlsafe) shown once when created; only its SHA-256 is stored
(a slow hash adds nothing against guessing 256 random bits, and a lookup by
hash stays one indexed query per request).

Every guarded route belongs to an area (its OpenAPI tag, see AREA_OF_TAG)
and needs a level there: read, write or admin — the level of the role guard
it carries (Reader / Operator / Admin below).  So each route needs one scope
"<area>:<level>", e.g. POST /api/print-jobs needs print:write.

A token has either a role, which is a set of scopes in every area:
  reader    read everything (except tokens)              = *:read
  operator  + device commands, recall blocks, alerts, … = *:read + *:write
  admin     + device config and names, API tokens, …    = every scope
or a list of scopes for a machine that needs only those (an ERP reading
scans: scans:read master:read).  A scope includes the lower levels of its
area (print:write can also read print jobs)."""

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gateway import ratelimit
from gateway.api.deps import get_engine
from gateway.schema import api_tokens

ROLES = ("reader", "operator", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
LEVELS = ("read", "write", "admin")  # LEVELS[i] is what role ROLES[i] may do in every area
SCOPED = "scoped"  # the role column of a token that has scopes instead of a role

# Router tag -> area.  A router with a new tag adds its area here
# (tests/test_security.py fails for a guarded route whose area is unknown).
AREA_OF_TAG = {
    "scans": "scans",
    "devices": "devices",
    "products": "master",
    "mappings": "master",
    "alerts": "alerts",
    "blocks": "blocks",
    "traceability": "trace",
    "printing": "print",
    "tokens": "tokens",
}
AREAS = tuple(dict.fromkeys(AREA_OF_TAG.values()))
SCOPES = tuple("%s:%s" % (area, level) for area in AREAS for level in LEVELS)


class TokenExists(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    name: str
    role: str  # a role of ROLES, or SCOPED
    scopes: frozenset = field(default_factory=frozenset)  # a SCOPED token's own scopes

    def allows(self, area, level):
        need = LEVELS.index(level)
        if self.role in RANK:
            return RANK[self.role] >= need
        return any("%s:%s" % (area, lv) in self.scopes for lv in LEVELS[need:])

    def effective_scopes(self):
        return [s for s in SCOPES if self.allows(*s.split(":"))]


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_scopes(scopes):
    """-> the scopes sorted and without repeats; ValueError naming the unknown ones."""
    if not scopes:
        raise ValueError("give a role or at least one scope")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError("unknown scope %s; scopes are <area>:<read|write|admin> with the areas %s"
                         % (", ".join(repr(s) for s in unknown), ", ".join(AREAS)))
    return [s for s in SCOPES if s in set(scopes)]


def create_token(engine, name, role=None, scopes=None):
    """Store a new token with a role or with scopes (not both) and return
    it; it cannot be shown again.  Raises ValueError for a bad name, role or
    scope, TokenExists for a name in use (revoked tokens keep their name)."""
    if (role is None) == (scopes is None):
        raise ValueError("give either a role (%s) or scopes, not both" % ", ".join(ROLES))
    if role is not None and role not in RANK:
        raise ValueError("role must be one of %s, got %r" % (", ".join(ROLES), role))
    if scopes is not None:
        scopes = check_scopes(scopes)
    if not isinstance(name, str) or not name.strip() or len(name) > 64 or "\x00" in name:
        raise ValueError("name must be 1-64 characters of text")
    token = secrets.token_urlsafe(32)
    row = dict(name=name, hash=hash_token(token), role=role or SCOPED, scopes=" ".join(scopes) if scopes else None,
               created_at=time.time())
    try:
        with engine.begin() as c:
            c.execute(insert(api_tokens).values(**row))
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


def _principal(row):
    return Principal(row.name, row.role, frozenset((row.scopes or "").split()))


def list_tokens(engine):
    """Every token with its effective scopes (a role's spelled out); never the token or its hash."""
    cols = [api_tokens.c.id, api_tokens.c.name, api_tokens.c.role, api_tokens.c.scopes, api_tokens.c.created_at,
            api_tokens.c.revoked_at]
    with engine.connect() as c:
        rows = c.execute(select(*cols).order_by(api_tokens.c.id)).all()
    return [dict(id=r.id, name=r.name, role=r.role, scopes=_principal(r).effective_scopes(), created_at=r.created_at,
                 revoked_at=r.revoked_at) for r in rows]


def token_info(engine, name):
    return next((t for t in list_tokens(engine) if t["name"] == name), None)


def check_grant(principal, role=None, scopes=None):
    """A token may make tokens with no more than it has itself (tokens:admin
    alone must not mint an admin token).  Raises HTTPException 403."""
    wanted = Principal("new", role or SCOPED, frozenset(scopes or ())).effective_scopes()
    missing = [s for s in wanted if not principal.allows(*s.split(":"))]
    if missing:
        raise HTTPException(status_code=403, detail="token %r cannot give scopes it does not have: %s"
                            % (principal.name, ", ".join(missing)))


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
    # Guessing tokens: an address that sent too many different bad ones
    # waits, before its token is even looked up.
    limit = ratelimit.for_app(request.app, "token_failures", ratelimit.TOKEN_PER_MINUTE)
    client = ratelimit.client_of(request)
    wait = limit.retry_after(client)
    if wait:
        raise HTTPException(status_code=429, detail="too many unknown API tokens from this address; try again in %d s" % wait,
                            headers={"Retry-After": str(wait)})
    digest = hash_token(credentials.credentials)
    with engine.connect() as c:
        row = c.execute(select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.scopes, api_tokens.c.revoked_at)
                        .where(api_tokens.c.hash == digest)).first()
    if row is None or row.revoked_at is not None:
        limit.failed(client, digest)
        raise _unauthorized("unknown API token" if row is None else "this API token was revoked")
    return _principal(row)


def area_of(route):
    """The area of a route: from its first tag (None: untagged)."""
    tags = getattr(route, "tags", None) or []
    return AREA_OF_TAG.get(tags[0], tags[0]) if tags else None


def route_scopes(route):
    """The scopes a route's guards check, e.g. {"print:read", "print:write"} (tests, docs)."""
    found = set()

    def walk(dependant):
        for d in dependant.dependencies:
            level = getattr(d.call, "level", None)
            if level is not None:
                found.add("%s:%s" % (area_of(route), level))
            walk(d)

    walk(route.dependant)
    return found


def require(role):
    """A dependency that lets through tokens of `role` or a higher one, and
    tokens with the scope <this route's area>:<the role's level>."""
    level = LEVELS[RANK[role]]

    def check(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        area = area_of(request.scope.get("route"))
        if not principal.allows(area or "", level):  # an untagged route: role tokens only
            scope = "%s:%s" % (area, level)
            if principal.role in RANK:
                higher = [r for r in ROLES if RANK[r] > RANK[role]]
                detail = "this needs the %s role%s (scope %s); token %r has role %s" % (
                    role, " (or %s)" % " or ".join(higher) if higher else "", scope, principal.name, principal.role)
            else:
                detail = "this needs the scope %s; token %r has %s" % (
                    scope, principal.name, ", ".join(sorted(principal.scopes)) or "no scopes")
            raise HTTPException(status_code=403, detail=detail)
        return principal

    check.__name__ = "require_" + role
    check.level = level
    return check


# One dependency object per role: FastAPI runs each once per request.
require_reader, require_operator, require_admin = require("reader"), require("operator"), require("admin")
Reader = Annotated[Principal, Depends(require_reader)]
Operator = Annotated[Principal, Depends(require_operator)]
Admin = Annotated[Principal, Depends(require_admin)]
