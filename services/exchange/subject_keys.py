"""Whose record was looked up (E5): the key of an online query, kept as a keyed hash.

The audit entry of a query says whose record it asked for, so a provider can answer "who
looked at this person". It keeps HMAC-SHA256 of the key under a node secret, not the key
and not a plain hash: ID numbers are few enough (18 characters, most of them a region, a
birth date and a check digit) that a plain hash in the audit table would be reversed by
trying them all; without the secret, which is kept outside the database, it cannot be.
Hashing happens in the process: the query path gains no round trip.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from services.exchange.validation import KEY_SEPARATOR, RowValidator, subject_check

log = logging.getLogger(__name__)


class SubjectKeys:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the audit key secret needs at least 16 bytes")
        self._secret = secret

    def of(self, stored_key: str) -> str:
        """The keyed hash of a record's key as the entry stores it (its values cleaned)."""
        return hmac.new(self._secret, stored_key.encode(), hashlib.sha256).hexdigest()

    def candidates(self, values: list[str], validator: RowValidator | None) -> set[str]:
        """The hashes a search for the record with these key values looks for: as `validator`
        (the entry's) cleans them; with no entry named, as written and, for a single value,
        as an ID number or a credit code is cleaned (an `x` check digit written small)."""
        if validator is not None:
            return {self.of(validator.key_of(values))}
        written = [value.strip() for value in values]
        found = {self.of(KEY_SEPARATOR.join(written))}
        for check in IDENTIFIER_CHECKS if len(written) == 1 else ():
            try:
                found.add(self.of(check(written[0])))
            except ValueError:
                continue
        return found


IDENTIFIER_CHECKS = [check for check in (subject_check({"code": code, "name": ""})
                                         for code in ("GMSFHM", "TYSHXYDM")) if check]


def load_secret(configured: str | None, generated_at: Path) -> bytes:
    """The configured secret; without one, the one generated at `generated_at` (made there
    on first use, readable by the node's user alone)."""
    if configured:
        return configured.encode()
    try:
        if not generated_at.exists():
            _generate(generated_at)
        return generated_at.read_bytes().strip()
    except OSError as error:  # a read-only container, say: where production runs
        raise RuntimeError(f"GOVSHARE_AUDIT_KEY_SECRET is not set and {generated_at} cannot "
                           f"be made ({error}); set it (docs/operations.md)") from error


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32))
    try:
        os.link(written, path)  # whole or not at all; the first process wins
        log.warning("no GOVSHARE_AUDIT_KEY_SECRET is set: generated one in %s; set it in "
                    "production, the same on every replica", path)
    except FileExistsError:
        pass
    finally:
        written.unlink()
