"""The operator panel: server-rendered pages (Jinja2) and a little vanilla
JS, served by the gateway itself.  mount_panel(app) adds it to the API app."""

from gateway.panel.app import mount_panel

__all__ = ["mount_panel"]
