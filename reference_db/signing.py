"""Ed25519 keys for reference bundles: generate, load, sign, verify, and name a key.

Private keys are PKCS#8 PEM files written with mode 0600; public keys are SubjectPublicKeyInfo
PEM files beside them (``KEYFILE.pub``). A key is named by ``key_id``: the first 16 hex digits
of the SHA-256 of its raw 32-byte public key. Ed25519 signatures are deterministic, which is
what lets the same sources and key give byte-identical bundles.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from reference_db.errors import InputError, SignatureInvalid


def generate_keypair(path: Path) -> str:
    """Write a new private key to ``path`` (0600) and its public key to ``path.pub``."""
    if path.exists():
        raise InputError(f"{path} already exists; refusing to overwrite a signing key")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public = key.public_key()
    public_path(path).write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key_id(public)


def public_path(private_key_path: Path) -> Path:
    return private_key_path.with_name(private_key_path.name + ".pub")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot read signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
        key = serialization.load_pem_public_key(data)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot read public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 public key")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    return key.sign(message)


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes) -> None:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        raise SignatureInvalid("signature does not match the manifest") from None
