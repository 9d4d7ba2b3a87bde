"""The hub's HTTP handlers, one module per area; each exports ``ROUTES`` for ``hub.app``."""
