"""GET /api/health: the one route without a token (load balancers, probes)."""

import time

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.deps import EngineDep
from gateway.api.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health,
            responses={503: {"description": "The database cannot be reached, or scans cannot be stored."}})
def health(engine: EngineDep, request: Request):
    try:
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        raise HTTPException(status_code=503, detail="database unavailable: %s" % type(e).__name__)
    # A database that answers can still refuse writes (a full disk): the
    # ingest knows, since its batches fail; the scans wait in the broker.
    ingest = getattr(request.app.state, "ingest", None)
    outage = getattr(ingest, "outage", None)
    if outage:
        raise HTTPException(status_code=503, detail="scans cannot be stored since %s: %s"
                            % (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(outage["since"])), outage["error"]))
    return {"status": "ok", "database": "ok"}
