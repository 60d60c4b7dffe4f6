"""What a route gets injected (FastAPI dependencies): the store, its engine
and the device registry, all taken from app.state so that tests and the
service hand in their own."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.engine import Engine

from gateway.devices import DeviceRegistry
from gateway.store import Store


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_engine(request: Request) -> Engine:
    return request.app.state.store.engine


def get_registry(request: Request) -> DeviceRegistry:
    return request.app.state.registry


StoreDep = Annotated[Store, Depends(get_store)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RegistryDep = Annotated[DeviceRegistry, Depends(get_registry)]


def unprocessable(loc, msg, value=None):
    # A 422 in the same shape as FastAPI's own validation errors, so clients
    # read every 422 the same way: detail = [{loc, msg, type}].
    err = {"type": "value_error", "loc": list(loc), "msg": msg}
    if value is not None:
        err["input"] = value
    return HTTPException(status_code=422, detail=[err])


def not_found(what):
    return HTTPException(status_code=404, detail=what)
