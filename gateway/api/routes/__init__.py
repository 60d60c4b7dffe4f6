"""One router per resource; gateway.api.app.ROUTERS lists them."""
