"""One module per panel page, each with its own APIRouter; mount_panel adds them in this order."""

from gateway.panel.pages import (
    alerts,
    audit,
    dashboard,
    handhelds,
    jobs,
    printers,
    quality,
    scans,
    signin,
)

PAGES = (signin, dashboard, handhelds, scans, jobs, alerts, printers, quality, audit)
