"""The shared kernel: vocabulary, wire shapes and (later) clocks, merge rules and the sync client.

Imports only the standard library, pydantic/sqlmodel, httpx and cryptography.
"""
