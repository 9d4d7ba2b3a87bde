"""The site appliance: a Litestar service on a local SQLite database, with the CLI ``prep-edge``.

It holds the site's stations, bookings, check-ins, documents and audit log, runs the compliance
engine against the signed local reference bundle, captures every write in an outbox and syncs it
with the hub. It imports ``sync`` and ``reference_db``, never ``hub`` or ``tui``.
"""
