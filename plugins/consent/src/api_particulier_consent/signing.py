"""Producing consent receipts: what an administration's server does once the citizen agreed.

Used by the ``sign`` command (integrators' tests) and by this project's tests; the docs show
the same steps with joserfc for integrators writing their own.
"""

from __future__ import annotations

import secrets
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey

from .subject import subject_digest

SigningKey = OKPKey | ECKey


def algorithm_for(key: SigningKey) -> str:
    if isinstance(key, ECKey):
        if key.curve_name != "P-256":
            raise ValueError("only P-256 EC keys sign receipts (ES256)")
        return "ES256"
    if key.curve_name != "Ed25519":
        raise ValueError("only Ed25519 OKP keys sign receipts (EdDSA)")
    return "EdDSA"


def load_private_key(pem: bytes) -> SigningKey:
    for key_type in (OKPKey, ECKey):
        try:
            key: SigningKey = key_type.import_key(pem)
        except Exception:  # noqa: S112 - try the next key type
            continue
        if key.is_private:
            return key
    raise ValueError("not a PEM private key of type Ed25519 or EC P-256")


def sign_receipt(
    key: SigningKey,
    *,
    params: Mapping[str, str],
    scopes: Iterable[str],
    purpose: str,
    kid: str | None = None,
    audience: str = "api-particulier",
    ttl: int = 600,
    now: float | None = None,
    jti: str | None = None,
    alg: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS receipt for the citizen named by ``params`` (the route's subject
    parameters, as the API validates them: spaces removed)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "aud": audience,
        "sub": subject_digest(params),
        "scope": " ".join(sorted(set(scopes))),
        "purpose": purpose,
        "iat": issued,
        "exp": issued + ttl,
        "jti": jti or secrets.token_urlsafe(16),
        **(extra_claims or {}),
    }
    header: dict[str, Any] = {"alg": alg or algorithm_for(key), "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    with warnings.catch_warnings():
        # "EdDSA" is the name most JOSE libraries still expect; see receipt.py.
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(
            header, msgspec.json.encode(claims), key, algorithms=["EdDSA", "Ed25519", "ES256"]
        )
