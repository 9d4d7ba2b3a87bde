"""The central service: a Litestar app on PostgreSQL, with the CLI ``prep-hub``.

It serves the sync endpoints for the fleet of edges, the central API (cross-kitchen search,
bookings, document review, nodes), Stripe payments, refunds, payouts and reconciliation, and
publishes signed reference bundles. It imports ``sync`` and ``reference_db``, never ``edge`` or
``tui``.
"""
