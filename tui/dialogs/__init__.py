"""Modal dialogs of the staff terminal; each returns a typed result through ``dismiss``."""
