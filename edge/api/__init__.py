"""HTTP handlers of the edge, one module per area; each exports ``ROUTES``."""
