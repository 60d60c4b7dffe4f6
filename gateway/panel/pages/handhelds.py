"""The handhelds: who is online, battery, queue, firmware."""

import os

from fastapi import APIRouter, Request

HERE = os.path.dirname(os.path.abspath(__file__))


from gateway.panel.core import Viewer, page

router = APIRouter()

# --- handhelds -----------------------------------------------------------------------------------

@router.get("/panel/handhelds", include_in_schema=False)
def handhelds(request: Request, s=Viewer):
    rows = request.app.state.registry.list(limit=1000)
    return page(request, "handhelds.html", s, devices=rows)
