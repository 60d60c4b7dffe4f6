"""The audit log (admin)."""

import os

from fastapi import APIRouter, Request

from gateway.panel import users

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import Viewer, engine_of, page, require

router = APIRouter()

# --- audit log (admin) -----------------------------------------------------------------------------

@router.get("/panel/audit", include_in_schema=False)
def audit_page(request: Request, s=Viewer):
    require(request, s, "admin")
    return page(request, "audit.html", s, rows=users.recent_audit(engine_of(request)))
