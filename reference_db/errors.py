"""Errors of the reference database and its engines.

RefDbError                   anything this package refuses
├── SourceError              a bad source row: ``file:line: what is wrong``
├── BundleError              a bundle that must not be trusted (exit 1 in ``verify``)
│   ├── SignatureInvalid     signature does not check against the pinned key
│   ├── KeyMismatch          manifest names another key than the one pinned
│   ├── HashMismatch         the SQLite file is not the one the manifest describes
│   ├── BundleExpired        past ``expires_at`` (or before ``valid_from``)
│   └── VersionNotNewer      not above the version already installed
└── InputError               bad input to an engine or command (exit 2)
    ├── UnknownJurisdiction  a name no alias resolves
    └── InvalidScenario      a scenario or quote that does not make sense
"""

from __future__ import annotations


class RefDbError(Exception):
    """Base of every error this package raises on purpose."""

    code = "refdb_error"


class SourceError(RefDbError):
    code = "source_invalid"

    def __init__(self, filename: str, line: int, problem: str) -> None:
        super().__init__(f"{filename}:{line}: {problem}")
        self.filename = filename
        self.line = line
        self.problem = problem


class BundleError(RefDbError):
    code = "bundle_invalid"


class SignatureInvalid(BundleError):
    code = "signature_invalid"


class KeyMismatch(BundleError):
    code = "key_mismatch"


class HashMismatch(BundleError):
    code = "hash_mismatch"


class BundleExpired(BundleError):
    code = "bundle_expired"


class VersionNotNewer(BundleError):
    code = "version_not_newer"


class InputError(RefDbError):
    code = "bad_input"


class UnknownJurisdiction(InputError):
    code = "unknown_jurisdiction"

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown jurisdiction: {name!r}")
        self.name = name


class InvalidScenario(InputError):
    code = "invalid_scenario"
