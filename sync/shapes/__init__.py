"""Request and response shapes of the edge HTTP API, shared with the staff terminal.

One module per area (``auth``, ``site``, ``bookings``, ``documents``, ``audit``); plain
pydantic models, no framework.
"""
