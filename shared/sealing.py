"""Secrets the node keeps in its database are sealed with a key-encryption key that it never
keeps there: the node's signing keys and the credentials providers give for their own APIs.
A dump of the database alone yields no usable key.

The key-encryption keys come from the environment, `GOVSHARE_KEK` (a Kubernetes Secret in
production; a file of the node's home under `govshare up`): a comma-separated list of
`<id>:<32 bytes, base64>`, the first the one that seals, the others still opening what
they sealed. Rotating: put a new key first and restart; each service seals again under it
what it holds (`Sealer.needs_resealing`); once that is done, drop the old key.

A sealed value is `sealed:<key id>:<base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag)>`;
its context (what and whose it is) is authenticated with it, so a sealed value copied into
another row does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed"
ENVIRONMENT = "GOVSHARE_KEK"
_NONCE_BYTES = 12


class SealingError(Exception):
    """A value that cannot be sealed or opened: a missing key, or one not sealed by it."""


class Sealer:
    """Seals and opens values with the node's key-encryption keys."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise SealingError(f"no key-encryption key {current!r}")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.current = current

    @classmethod
    def from_setting(cls, setting: str) -> Sealer:
        """Keys as `GOVSHARE_KEK` gives them; the first one seals."""
        keys: dict[str, bytes] = {}
        for part in filter(None, (p.strip() for p in setting.split(","))):
            kid, _, encoded = part.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                key = b""
            if not kid or len(key) != 32:
                raise SealingError(f"{ENVIRONMENT}: each key is <id>:<32 bytes in base64>; "
                                   f"{kid or part[:8]!r} is not")
            keys[kid] = key
        if not keys:
            raise SealingError(f"{ENVIRONMENT} names no key-encryption key")
        return cls(keys, next(iter(keys)))

    def seal(self, plain: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        box = self._keys[self.current].encrypt(nonce, plain.encode(), context.encode())
        return f"{PREFIX}:{self.current}:{base64.urlsafe_b64encode(nonce + box).decode()}"

    def open(self, sealed: str, *, context: str) -> str:
        prefix, kid, encoded = [*sealed.split(":", 2), "", ""][:3]
        if prefix != PREFIX:
            raise SealingError("the value is not sealed")
        if kid not in self._keys:
            raise SealingError(f"sealed with key-encryption key {kid!r}, which "
                               f"{ENVIRONMENT} no longer holds")
        try:
            raw = base64.urlsafe_b64decode(encoded)
            plain = self._keys[kid].decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:],
                                            context.encode())
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise SealingError("the sealed value does not open here (altered, or moved "
                               "from another place)") from error
        return plain.decode()

    def needs_resealing(self, sealed: str) -> bool:
        """Sealed under another key than the current one."""
        return not sealed.startswith(f"{PREFIX}:{self.current}:")

    def reseal(self, sealed: str, *, context: str) -> str:
        """The value sealed again under the current key."""
        return self.seal(self.open(sealed, context=context), context=context)


_installed: Sealer | None = None


def install(sealer: Sealer | None) -> None:
    """Make `sealer` this process's (None: it has no key-encryption key)."""
    global _installed
    _installed = sealer


def install_from(setting: str | None) -> None:
    install(Sealer.from_setting(setting) if setting else None)


def sealer() -> Sealer:
    """The process's sealer; a process that keeps secrets cannot do without one."""
    if _installed is None:
        raise SealingError(f"{ENVIRONMENT} is not set: secrets kept in the database are "
                           "sealed with it, and neither sealed nor opened without it")
    return _installed


def is_sealed(stored: str) -> bool:
    return stored.startswith(f"{PREFIX}:")


def new_key_setting(kid: str | None = None) -> str:
    """A fresh `GOVSHARE_KEK` value with one key (for a new node's home, and tests)."""
    kid = kid or f"k{secrets.token_hex(4)}"
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
