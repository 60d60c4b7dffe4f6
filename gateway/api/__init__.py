"""The gateway's HTTP API (FastAPI): scans, devices, product master,
three-code mappings, alerts, recall blocks and API tokens.  See docs/api.md."""

from gateway.api.app import create_app

__all__ = ["create_app"]
