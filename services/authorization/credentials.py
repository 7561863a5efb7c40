"""Secrets at rest: client secrets (random, SHA-256) and user passwords (scrypt)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def new_client_id() -> str:
    return "gsc_" + secrets.token_hex(10)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    """Client secrets are 256-bit random strings, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


def client_secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_client_secret(secret), stored_hash)


def hash_password(password: str) -> str:
    """A salted scrypt hash in `scrypt$salt$hash` form."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + _b64(salt) + "$" + _b64(digest)


def password_matches(password: str, stored_hash: str) -> bool:
    scheme, salt, digest = stored_hash.split("$")
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **_SCRYPT)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
