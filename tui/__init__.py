"""The Textual staff terminal ``prep-tui``: today's schedule, check-in and check-out, verdicts.

It talks to an edge only over HTTP and imports nothing from the project but the shapes in
``sync``.
"""
