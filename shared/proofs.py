"""Proof of possession of a key, in the shape of DPoP (RFC 9449): a JWS its holder signs.

A department's system that streams records holds a P-256 key of its own. It proves holding
it when it asks for a token (the `DPoP` header of the token request), and the node binds the
token to the key's thumbprint (`cnf.jkt`, RFC 7638). Each use then carries a fresh proof
signed by that key over what it is used for, so whoever reads the token where it travels
(a Kafka topic) can neither use it nor make a proof. The public key rides in the proof's
header; the token says which key it must be. python-jose is used here as in `tokens`.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from jose import JOSEError, jwk, jws
from jose.utils import base64url_encode

from shared.tokens import ALGORITHM, SigningKey

DPOP_TYPE = "dpop+jwt"
_THUMBPRINT_MEMBERS = ("crv", "kty", "x", "y")  # RFC 7638 §3.2, for an EC key


class ProofError(Exception):
    """A proof that is malformed, of another type, or not signed by the key it carries."""


def public_jwk(key: SigningKey) -> dict[str, str]:
    """The public half of `key`, as the members a proof's header carries."""
    public = key.public_jwk()
    return {member: public[member] for member in _THUMBPRINT_MEMBERS}


def thumbprint(public: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of an EC public JWK (what `cnf.jkt` holds)."""
    canonical = json.dumps({m: public[m] for m in _THUMBPRINT_MEMBERS},
                           separators=(",", ":"), sort_keys=True)
    return base64url_encode(hashlib.sha256(canonical.encode()).digest()).decode()


def token_hash(access_token: str) -> str:
    """`ath` of RFC 9449 §4.2: ties a proof to the token it is sent with."""
    return base64url_encode(hashlib.sha256(access_token.encode()).digest()).decode()


def sign_proof(key: SigningKey, typ: str, claims: Mapping[str, Any]) -> str:
    """A compact JWS of `claims`, of type `typ`, signed by `key`, its public half in the
    header."""
    return jws.sign(dict(claims), key.private_pem, algorithm=ALGORITHM,
                    headers={"typ": typ, "jwk": public_jwk(key)})


def open_proof(proof: str, typ: str) -> tuple[dict[str, Any], str]:
    """The claims of a proof of type `typ` and the thumbprint of the key that signed it;
    ProofError if it is not such a proof or its signature does not hold."""
    try:
        header = jws.get_unverified_header(proof)
    except JOSEError as error:
        raise ProofError("the proof is not a JWS") from error
    if header.get("typ") != typ:
        raise ProofError(f"the proof is not of type {typ}")
    if header.get("alg") != ALGORITHM:
        raise ProofError(f"the proof must be signed with {ALGORITHM}")
    public = header.get("jwk")
    if not isinstance(public, dict) or "d" in public or public.get("kty") != "EC" \
            or public.get("crv") != "P-256" or not all(
                isinstance(public.get(m), str) for m in _THUMBPRINT_MEMBERS):
        raise ProofError("the proof's header must carry its P-256 public key as `jwk`")
    try:
        signed = jws.verify(proof, jwk.construct(public, ALGORITHM), algorithms=[ALGORITHM])
        claims = json.loads(signed)
    except (JOSEError, ValueError) as error:
        raise ProofError("the proof's signature does not hold") from error
    if not isinstance(claims, dict):
        raise ProofError("the proof's payload is not a JSON object")
    return claims, thumbprint(public)


def dpop_proof(key: SigningKey, method: str, url: str) -> str:
    """The `DPoP` header of a token request (RFC 9449 §4): the token is bound to `key`."""
    return sign_proof(key, DPOP_TYPE, {"jti": uuid.uuid4().hex, "htm": method, "htu": url,
                                       "iat": int(time.time())})


def dpop_key(proof: str, *, method: str, path: str, max_skew_seconds: int = 300) -> str:
    """The thumbprint of the key a token request's `DPoP` header proves holding; ProofError
    if it is not a fresh proof for this method and path (any host: a node answers to
    several names). A replayed one gains nothing: the request needs the client's secret."""
    claims, key = open_proof(proof, DPOP_TYPE)
    if claims.get("htm") != method or not isinstance(claims.get("htu"), str) \
            or urlsplit(claims["htu"]).path != path:
        raise ProofError(f"the proof is not for {method} {path}")
    issued = claims.get("iat")
    if not isinstance(issued, int) or abs(time.time() - issued) > max_skew_seconds:
        raise ProofError("the proof's iat is missing or not within "
                         f"{max_skew_seconds} s of now")
    if not isinstance(claims.get("jti"), str):
        raise ProofError("the proof has no jti")
    return key
