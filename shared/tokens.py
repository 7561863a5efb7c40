"""JSON Web Tokens, behind one module: python-jose is imported nowhere else (but in
`shared.proofs`, the proofs of possession a bound token's holder signs).

A node signs with its private key (ES256) and publishes the public halves as a JWKS.
Verifiers fetch that JWKS, cache it, and fetch it again when a token names a key id they
do not know yet, which is how key rotation reaches them without a restart. While the keys
cannot be fetched (the identity service or its database is away) the cached ones go on
verifying; only a token signed by a key not cached is answered 503, to be retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import ExpiredSignatureError, JOSEError, JWTError, jwk, jws, jwt
from pydantic import BaseModel, Field

from shared.problems import RETRY_AFTER_UNAVAILABLE, ProblemError, Unauthorized

log = logging.getLogger(__name__)

ALGORITHM = "ES256"


class PrincipalKind(StrEnum):
    client = "client"
    user = "user"
    node = "node"  # another node of the network, in a federated call (G2)


class TokenClaims(BaseModel):
    """What a govshare access token asserts about its bearer."""

    iss: str = Field(description="Issuing node id.")
    sub: str = Field(description="Client id or user name.")
    kind: PrincipalKind
    department: str | None = Field(None, description="Unified social credit code, if any.")
    aud: str | None = Field(None, description="The node a node token is meant for.")
    act: str | None = Field(None, description="In a node token carrying a call across nodes: "
                                              "the user or client the node acts for (F2).")
    roles: list[str] = Field(default_factory=list)
    node: str = Field(description="Node the principal belongs to.")
    dest: str | None = Field(None, description="In a node token relayed along the tree (F5): "
                                               "the node the call is for, when that is not "
                                               "`aud`, the next hop.")
    path: list[str] | None = Field(None, description="The nodes a relayed call came through, "
                                                     "its origin first (F5).")
    cnf: dict[str, str] | None = Field(
        None, description="Confirmation (RFC 7800): the thumbprint (`jkt`) of the key a "
                          "sender-constrained token is bound to (DPoP, RFC 9449).")
    iat: int
    exp: int
    jti: str

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def bound_key(self) -> str | None:
        """The thumbprint of the key the token is bound to; None for a bearer token."""
        return (self.cnf or {}).get("jkt")


@dataclass(frozen=True)
class SigningKey:
    """A node's private signing key and its key id."""

    kid: str
    private_pem: str

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK carrying kid, alg and use."""
        public = jwk.construct(self.private_pem, ALGORITHM).public_key().to_dict()
        return {**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


def generate_signing_key() -> SigningKey:
    """A fresh P-256 key with a random key id."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(kid=uuid.uuid4().hex[:16], private_pem=pem)


def issue_token(key: SigningKey, claims: dict[str, Any], ttl_seconds: int) -> str:
    """Sign `claims` (iss, sub, kind, …) with a lifetime of `ttl_seconds`."""
    now = int(time.time())
    body = {**claims, "iat": now, "exp": now + ttl_seconds, "jti": uuid.uuid4().hex}
    return jwt.encode(body, key.private_pem, algorithm=ALGORITHM, headers={"kid": key.kid})


class StatementInvalid(ValueError):
    """A signed statement that is malformed, of another type, or not signed by the keys."""


def sign_statement(key: SigningKey, statement: dict[str, Any], statement_type: str) -> str:
    """`statement` signed by the node (compact JWS, ES256), for anyone holding its published
    keys to check. It is no token: its header's `typ` names what it states and it carries
    no lifetime or principal, so no token verifier accepts it."""
    payload = json.dumps(statement, sort_keys=True, ensure_ascii=False,
                         separators=(",", ":")).encode()
    return jws.sign(payload, key.private_pem, algorithm=ALGORITHM,
                    headers={"kid": key.kid, "typ": statement_type})


async def verify_statement(signed: str, keys: KeySet, statement_type: str) -> dict[str, Any]:
    """What a statement of `statement_type` signed with one of `keys` says."""
    try:
        header = jws.get_unverified_header(signed)
    except JOSEError as error:
        raise StatementInvalid("not a signed statement") from error
    if header.get("typ") != statement_type or header.get("alg") != ALGORITHM:
        raise StatementInvalid(f"not a {statement_type} statement")
    key = await keys.key_for(str(header.get("kid")))
    if key is None:
        raise StatementInvalid("signed by a key the signer does not publish")
    try:
        statement = json.loads(jws.verify(signed, key, algorithms=[ALGORITHM]))
    except (JOSEError, ValueError) as error:
        raise StatementInvalid("the signature does not match") from error
    if not isinstance(statement, dict):
        raise StatementInvalid("the statement is not an object")
    return statement


def unverified_issuer(token: str) -> str | None:
    """The node a token claims to come from, read before its signature is checked (to pick
    the keys to check it with); None if it names none."""
    issuer = unverified_claims(token).get("iss")
    return str(issuer) if issuer else None


def unverified_claims(token: str) -> dict[str, Any]:
    """What a token claims, its signature unchecked (to say who claimed to act when it is
    refused); empty if it is no JWT."""
    try:
        claims = jwt.get_unverified_claims(token)
    except JWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


JwksLoader = Callable[[], Awaitable[dict[str, Any]]]


class KeysUnavailable(ProblemError):
    """The issuer's keys could not be fetched and the key a token (or statement) names is not
    among those cached: nothing can be said of its signature yet, so the call may be retried."""

    status, slug, title = 503, "service-unavailable", "Temporarily unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": RETRY_AFTER_UNAVAILABLE})


class KeySet:
    """Public keys by key id, loaded through `loader`, refreshed on an unknown kid and when
    older than `max_age_seconds`."""

    def __init__(self, loader: JwksLoader, *, max_age_seconds: float = 300,
                 min_refresh_seconds: float = 1, patient: bool = True,
                 stale_retry_seconds: float = 10) -> None:
        self._loader = loader
        self._patient = patient
        self._keys: dict[str, Any] = {}
        self._loaded_at = float("-inf")
        self._fetched_at = float("-inf")  # the last fetch's end, whether it failed or not
        self._failure: str | None = None  # why the last fetch failed, if it did
        self._max_age = max_age_seconds
        self._min_refresh = min_refresh_seconds
        self._stale_retry = stale_retry_seconds
        self._stale_retry_at = float("-inf")
        self._refreshing = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the keys were fetched at least once (what a verifier needs to serve)."""
        return self._loaded_at > float("-inf")

    async def load_once(self) -> bool:
        """Fetch the keys if they never were; whether they now are (a readiness check)."""
        if not self.loaded:
            async with self._refreshing:
                if not self.loaded:
                    with contextlib.suppress(KeysUnavailable):
                        await self.refresh()
        return self.loaded

    async def key_for(self, kid: str) -> Any | None:
        """The constructed public key for `kid`, or None if the issuer publishes none;
        KeysUnavailable if it is not cached and the keys cannot be fetched."""
        if kid in self._keys and time.monotonic() - self._loaded_at > self._max_age:
            await self._refresh_stale()
        if kid not in self._keys:
            await self._refresh_for_unknown(kid)
        return self._keys.get(kid)

    async def _refresh_stale(self) -> None:
        # Old keys are fetched again so that a key the issuer withdrew stops verifying; while
        # the issuer is away the cached ones still do (a stopped identity service must not
        # stop every call), and the fetch is tried again after `stale_retry`, not per call.
        async with self._refreshing:
            now = time.monotonic()
            if now - self._loaded_at <= self._max_age or now < self._stale_retry_at:
                return  # another caller fetched them, or failed to a moment ago
            try:
                await self.refresh()
            except KeysUnavailable as error:
                self._stale_retry_at = time.monotonic() + self._stale_retry
                log.warning("keys could not be fetched again; the cached ones still verify",
                            extra={"error": error.detail})

    async def _refresh_for_unknown(self, kid: str) -> None:
        # A just-rotated key must verify within a second, but forged key ids must not make
        # us hammer the issuer: one fetch per `min_refresh` at most, callers wait for it.
        async with self._refreshing:
            if kid in self._keys:
                return
            wait = self._min_refresh - (time.monotonic() - self._fetched_at)
            if wait > 0:
                if self._failure is not None:
                    # The issuer was found away a moment ago: callers do not queue up for
                    # a fetch each (each may take its whole timeout), they hear it now.
                    raise KeysUnavailable(self._failure)
                if not self._patient:
                    # A consumer reads one record at a time: a stream of made-up key ids
                    # must not hold it a second each. A real new key is asked for within
                    # `min_refresh` of its first use.
                    return
                await asyncio.sleep(wait)
            await self.refresh()

    async def refresh(self) -> None:
        """Fetch the keys now; KeysUnavailable (the cached keys kept) if that fails."""
        try:
            jwks = await self._loader()
            keys = {entry["kid"]: jwk.construct(entry, entry.get("alg", ALGORITHM))
                    for entry in jwks.get("keys", []) if "kid" in entry}
        except Exception as error:
            # Whatever the loader meets (an HTTP error, its own database away, a body that
            # is no JWKS), the keys are not to be had now: the caller may come back.
            self._failure = (f"The keys that sign tokens cannot be fetched now "
                             f"({type(error).__name__}); retry in a few seconds.")
            self._fetched_at = time.monotonic()
            raise KeysUnavailable(self._failure) from error
        self._keys, self._failure = keys, None
        self._loaded_at = self._fetched_at = time.monotonic()


class TokenVerifier:
    """Verifies bearer tokens against a KeySet; remembers tokens it already verified."""

    def __init__(self, keys: KeySet, *, cache_size: int = 10_000) -> None:
        self._keys = keys
        self._verified: OrderedDict[str, TokenClaims] = OrderedDict()
        self._cache_size = cache_size

    async def ready(self) -> bool:
        """Whether tokens can be verified: the keys were fetched once (now, if never yet)."""
        return await self._keys.load_once()

    async def verify(self, token: str, *, bound: bool = False,
                     audience: str | None = None) -> TokenClaims:
        """Claims of a valid token; Unauthorized naming the reason otherwise. A token bound
        to a key (`cnf`) is refused unless `bound`: its holder proves possession of the key
        with each use (streamed ingest), and it travels where others can read it, so it
        must never pass as a bearer token. A token made for a node (`aud`) is refused
        unless it is made for `audience`: the node tokens this node makes for a linked one
        carry a department's roles, and must not act here when a linked node sends them
        back."""
        claims = self._verified.get(token)
        if claims is not None and claims.exp <= time.time():
            self._verified.pop(token, None)
            raise Unauthorized("The access token has expired.", reason="token_expired")
        if claims is None:
            claims = await self._verify_signature(token)
            self._remember(token, claims)
        if claims.bound_key and not bound:
            raise Unauthorized("This token is bound to a key (DPoP) and serves streamed "
                               "ingest only; call the API with a bearer token.",
                               reason="token_bound")
        if claims.aud is not None and claims.aud != audience:
            raise Unauthorized(f"This token is made for node {claims.aud}, not for this "
                               "call.", reason="token_audience")
        return claims

    async def _verify_signature(self, token: str) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as error:
            raise Unauthorized("The access token is malformed.",
                               reason="token_malformed") from error
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("The access token uses an unsupported algorithm.",
                               reason="token_algorithm")
        if header.get("typ", "JWT") != "JWT":  # a signed statement (`sign_statement`)
            raise Unauthorized("This is a signed statement, not an access token.",
                               reason="token_malformed")
        key = await self._keys.key_for(str(header.get("kid")))
        if key is None:
            raise Unauthorized("The access token was signed by a key this node does not trust.",
                               reason="token_unknown_key")
        try:
            payload = jwt.decode(token, key, algorithms=[ALGORITHM],
                                 options={"verify_aud": False})
        except ExpiredSignatureError as error:
            raise Unauthorized("The access token has expired.", reason="token_expired") from error
        except JWTError as error:
            raise Unauthorized("The access token's signature is invalid.",
                               reason="token_invalid") from error
        return TokenClaims.model_validate(payload)

    def _remember(self, token: str, claims: TokenClaims) -> None:
        self._verified[token] = claims
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
