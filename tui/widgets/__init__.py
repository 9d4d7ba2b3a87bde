"""Widgets of the staff terminal: status bar, connection banner, timeline, verdict, calendar."""
