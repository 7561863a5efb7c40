"""The token module: signing, verification, expiry, unknown keys and key rotation."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from shared.problems import Unauthorized
from shared.tokens import KeySet, SigningKey, TokenVerifier, generate_signing_key, issue_token

CLAIMS = {"iss": "320100-external", "sub": "gsc_1", "kind": "client", "node": "320100-external",
          "department": "113201000141428938", "roles": ["data_operator"]}


def verifier_for(*keys: SigningKey) -> tuple[TokenVerifier, list[int]]:
    loads: list[int] = []

    async def load() -> dict[str, Any]:
        loads.append(1)
        return {"keys": [key.public_jwk() for key in keys]}

    return TokenVerifier(KeySet(load, min_refresh_seconds=0)), loads


async def test_a_signed_token_verifies_to_its_claims() -> None:
    key = generate_signing_key()
    verifier, _ = verifier_for(key)
    claims = await verifier.verify(issue_token(key, CLAIMS, 60))
    assert claims.sub == "gsc_1" and claims.roles == ["data_operator"]


async def test_an_expired_token_is_refused() -> None:
    key = generate_signing_key()
    verifier, _ = verifier_for(key)
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(issue_token(key, CLAIMS, -1))
    assert refused.value.extensions["reason"] == "token_expired"


async def test_a_tampered_token_is_refused() -> None:
    key = generate_signing_key()
    verifier, _ = verifier_for(key)
    header, payload, signature = issue_token(key, CLAIMS, 60).split(".")
    with pytest.raises(Unauthorized):
        await verifier.verify(f"{header}.{payload}x.{signature}")


async def test_garbage_is_malformed() -> None:
    verifier, _ = verifier_for(generate_signing_key())
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify("not-a-jwt")
    assert refused.value.extensions["reason"] == "token_malformed"


async def test_a_rotated_key_is_fetched_when_first_seen() -> None:
    old, new = generate_signing_key(), generate_signing_key()
    published = [old]

    async def load() -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in published]}

    verifier = TokenVerifier(KeySet(load, min_refresh_seconds=0))
    await verifier.verify(issue_token(old, CLAIMS, 60))
    published.append(new)
    claims = await verifier.verify(issue_token(new, CLAIMS, 60))
    assert claims.sub == "gsc_1"


async def test_a_verified_token_is_not_verified_again() -> None:
    key = generate_signing_key()
    verifier, loads = verifier_for(key)
    token = issue_token(key, CLAIMS, 60)
    for _ in range(5):
        await verifier.verify(token)
    assert len(loads) == 1


def test_public_jwk_never_contains_the_private_part() -> None:
    jwk = generate_signing_key().public_jwk()
    assert "d" not in jwk and jwk["alg"] == "ES256" and jwk["kid"]


async def test_forged_key_ids_cannot_make_the_verifier_hammer_the_issuer() -> None:
    key = generate_signing_key()
    loads: list[float] = []

    async def load() -> dict[str, Any]:
        loads.append(time.monotonic())
        return {"keys": [key.public_jwk()]}

    verifier = TokenVerifier(KeySet(load, min_refresh_seconds=0.1))
    forged = [issue_token(generate_signing_key(), CLAIMS, 60) for _ in range(6)]
    results = await asyncio.gather(*(verifier.verify(t) for t in forged), return_exceptions=True)
    assert all(isinstance(result, Unauthorized) for result in results)
    gaps = [later - earlier for earlier, later in itertools.pairwise(loads)]
    assert all(gap >= 0.09 for gap in gaps)  # at most one fetch of the keys per 0.1 s
