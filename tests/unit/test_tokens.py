"""The token module: signing, verification, expiry, unknown keys, key rotation, and an issuer
whose keys cannot be fetched."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import httpx
import pytest

from gateway.proxy import ServiceProxy
from shared.health import keys_loaded, run_checks
from shared.problems import Unauthorized
from shared.ratelimit import RateLimiter
from shared.tokens import (
    KeySet,
    KeysUnavailable,
    SigningKey,
    TokenVerifier,
    generate_signing_key,
    issue_token,
)

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


class Issuer:
    """An identity service's JWKS that can be taken away (stopped, or its database)."""

    def __init__(self, *keys: SigningKey) -> None:
        self.published, self.away, self.loads = list(keys), False, 0

    async def load(self) -> dict[str, Any]:
        self.loads += 1
        if self.away:
            raise httpx.ConnectError("All connection attempts failed")
        return {"keys": [key.public_jwk() for key in self.published]}


async def test_keys_past_their_age_go_on_verifying_while_the_issuer_is_away() -> None:
    key = generate_signing_key()
    issuer = Issuer(key)
    verifier = TokenVerifier(KeySet(issuer.load, max_age_seconds=0, min_refresh_seconds=0))
    await verifier.verify(issue_token(key, CLAIMS, 60))
    issuer.away = True
    for _ in range(3):  # new tokens, not remembered: each needs the key
        assert (await verifier.verify(issue_token(key, CLAIMS, 60))).sub == "gsc_1"
    assert issuer.loads == 2  # tried once more, then left alone for a while


async def test_a_key_not_cached_while_the_issuer_is_away_is_a_503_to_retry() -> None:
    known, rotated = generate_signing_key(), generate_signing_key()
    issuer = Issuer(known)
    verifier = TokenVerifier(KeySet(issuer.load, min_refresh_seconds=0))
    await verifier.verify(issue_token(known, CLAIMS, 60))
    issuer.away = True
    with pytest.raises(KeysUnavailable) as unavailable:
        await verifier.verify(issue_token(rotated, CLAIMS, 60))
    assert unavailable.value.status == 503
    assert int(unavailable.value.headers["Retry-After"]) > 0
    assert unavailable.value.to_body()["type"].endswith("/service-unavailable")
    issuer.away, issuer.published = False, [known, rotated]
    assert (await verifier.verify(issue_token(rotated, CLAIMS, 60))).sub == "gsc_1"


async def test_callers_do_not_queue_up_for_an_issuer_found_away() -> None:
    issuer = Issuer()
    issuer.away = True
    verifier = TokenVerifier(KeySet(issuer.load, min_refresh_seconds=5))
    tokens = [issue_token(generate_signing_key(), CLAIMS, 60) for _ in range(5)]
    async with asyncio.timeout(1):
        results = await asyncio.gather(*(verifier.verify(token) for token in tokens),
                                       return_exceptions=True)
    assert all(isinstance(result, KeysUnavailable) for result in results)
    assert issuer.loads == 1


async def test_readiness_needs_the_keys_fetched_once_not_the_issuer_now() -> None:
    key = generate_signing_key()
    issuer = Issuer(key)
    issuer.away = True
    ready = {"keys": keys_loaded(TokenVerifier(KeySet(issuer.load, min_refresh_seconds=0)))}
    report = await run_checks(ready)
    assert report["status"] == "down" and "never fetched" in report["keys"]["error"]
    issuer.away = False
    assert (await run_checks(ready))["status"] == "up"
    issuer.away = True  # the identity service (or its database) is away now: still ready
    assert (await run_checks(ready))["status"] == "up" and issuer.loads == 2


async def test_the_gateway_answers_a_token_it_cannot_check_yet_with_a_503_problem() -> None:
    issuer = Issuer()
    issuer.away = True
    proxy = ServiceProxy(services={"catalog": "http://127.0.0.1:9"},
                         verifier=TokenVerifier(KeySet(issuer.load)),
                         limiter=RateLimiter(100, 100), max_connections=1, timeout_seconds=1)
    token = issue_token(generate_signing_key(), CLAIMS, 60)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/catalog/entries",
             "raw_path": b"/api/catalog/entries", "root_path": "/api", "query_string": b"",
             "headers": [(b"authorization", f"Bearer {token}".encode())]}
    await proxy(scope, _nothing, send)
    start, body = sent
    headers = dict(start["headers"])
    assert start["status"] == 503 and int(headers[b"retry-after"]) > 0
    assert headers[b"content-type"] == b"application/problem+json"
    assert json.loads(body["body"])["status"] == 503


async def _nothing() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}
