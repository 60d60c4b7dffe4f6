"""API tokens (tokens:admin): list (never the token or its hash), create
(the token is in the answer, once; with a role or with scopes), revoke."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from gateway.api import auth
from gateway.api.deps import EngineDep, not_found
from gateway.api.models import TokenCreate, TokenCreated, TokenOut

router = APIRouter(prefix="/tokens", tags=["tokens"], dependencies=[Depends(auth.require_admin)])


@router.get("", response_model=list[TokenOut])
def list_tokens(engine: EngineDep):
    return auth.list_tokens(engine)


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "A token with this name exists (revoked ones keep their name)."}})
def create_token(engine: EngineDep, body: TokenCreate, who: auth.Admin):
    """A token with a role, or with only some scopes (a machine that reads scans:
    `{"name": "erp", "scopes": ["scans:read", "master:read"]}`)."""
    auth.check_grant(who, body.role, body.scopes)
    try:
        token = auth.create_token(engine, body.name, body.role, body.scopes)
    except auth.TokenExists as e:
        raise HTTPException(status_code=409, detail=str(e))
    return dict(auth.token_info(engine, body.name), token=token)


@router.delete("/{name}", response_model=TokenOut, responses={404: {"description": "No token with this name."}})
def revoke_token(engine: EngineDep, name: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]):
    """Revoke a token: it stops working at once.  Revoking twice is harmless."""
    try:
        auth.revoke_token(engine, name)
    except KeyError:
        raise not_found("no API token named %r" % name)
    return auth.token_info(engine, name)
