"""create_app(): the FastAPI application over a Store (and the device
registry).  Everything a route needs comes from app.state through the
dependencies in gateway.api.deps, so the service and the tests hand in
their own store and MQTT publish."""

import logging

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError

from gateway.api.routes import (
    alerts,
    blocks,
    devices,
    health,
    mappings,
    products,
    scans,
    printing,
    tokens,
    trace,
)
from gateway.devices import DeviceRegistry

log = logging.getLogger("udi_edge.api")

PREFIX = "/api"

# Every router is mounted under /api.  Each one requires a token itself
# (router-level Depends(require_reader) plus per-route roles); health is the
# only open one.  tests/test_api.py checks that every other route answers 401
# without a token, so a new router that forgets it fails the suite.
ROUTERS = [
    health.router,
    scans.router,
    devices.router,
    products.router,
    mappings.router,
    alerts.router,
    blocks.router,
    tokens.router,
    trace.router,  # aggregation trees, units, stock, exports
    printing.router,  # printers, templates, print jobs, serials
]

DEFAULT_SETTINGS = {
    "title": "UDI Edge gateway API",
    "root_path": "",  # when served behind a reverse proxy under a path
    "docs": True,  # /docs and /redoc (the OpenAPI document is always served)
}


async def unicode_body(request: Request):
    """A JSON body whose strings hold a lone surrogate ("\ud800" is valid JSON
    syntax but no character) is the client's error: no database, printer or
    MQTT payload can take such text, and it would fail deep in a route with a
    500.  orjson refuses it (and NaN / Infinity, which are not JSON either);
    FastAPI's own parser has already refused anything else that is not JSON."""
    if request.method in ("POST", "PUT", "PATCH") and "json" in request.headers.get("content-type", ""):
        body = await request.body()
        if body:
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError as e:
                raise HTTPException(422, [{"type": "value_error", "loc": ["body"],
                                           "msg": "the body is not JSON text: %s" % e}])


def create_app(store, registry=None, settings=None, tracer=None, print_jobs=None):
    """The API over `store` (gateway.store.Store).  `registry` is the
    DeviceRegistry with the gateway's MQTT publish; without one, config push
    and commands answer 503.  `settings`: see DEFAULT_SETTINGS."""
    cfg = dict(DEFAULT_SETTINGS, **(settings or {}))

    app = FastAPI(
        title=cfg["title"],
        version="1",
        root_path=cfg["root_path"],
        docs_url="/docs" if cfg["docs"] else None,
        redoc_url="/redoc" if cfg["docs"] else None,
        description="Scans, devices, product master, three-code mappings, alerts and recall blocks "
                    "of a UDI Edge gateway. Every route but /api/health needs `Authorization: Bearer <token>`; "
                    "see docs/api.md.",
    )
    app.state.store = store
    app.state.registry = registry if registry is not None else DeviceRegistry(store.engine, None)
    app.state.settings = cfg
    app.state.tracer = tracer  # the ingest's, so packing sees the same expiry settings
    app.state.print_jobs = print_jobs  # the gateway's (one runner per job); made on first use when None
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX, dependencies=[Depends(unicode_body)])

    # Input that gets past validation but not past the database (a value out
    # of a column's range) is still the client's error, not a 500.
    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        log.warning("%s %s: database refused a value: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(status_code=422, content={"detail": [{"type": "value_error", "loc": ["query"],
                                                                   "msg": "a value is out of range for the database"}]})

    @app.exception_handler(OperationalError)
    async def db_down(request: Request, exc: OperationalError):
        log.error("%s %s: database unavailable: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(status_code=503, content={"detail": "database unavailable, try again"})

    return app
