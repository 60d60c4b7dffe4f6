"""GET /api/health: the one route without a token (load balancers, probes)."""

from fastapi import APIRouter, HTTPException
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.deps import EngineDep
from gateway.api.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"description": "The database cannot be reached."}})
def health(engine: EngineDep):
    try:
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        raise HTTPException(status_code=503, detail="database unavailable: %s" % type(e).__name__)
    return {"status": "ok", "database": "ok"}
