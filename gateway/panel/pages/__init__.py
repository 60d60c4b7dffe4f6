"""One module per panel page, each with its own APIRouter; mount_panel adds them in this order."""

from gateway.panel.pages import (
    aggregation,
    alerts,
    audit,
    dashboard,
    exports,
    handhelds,
    jobs,
    label_templates,
    mappings,
    printers,
    products,
    quality,
    scans,
    signin,
    users,
)

PAGES = (signin, dashboard, handhelds, scans, jobs, alerts, printers, quality, label_templates, products, mappings, aggregation, exports, users, audit)
