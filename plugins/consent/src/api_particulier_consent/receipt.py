"""Consent receipts: compact JWS signed by the administration, verified here.

Header ``alg`` is ``EdDSA`` (with an Ed25519 key), ``Ed25519`` (RFC 9864's name for the
same) or ``ES256``; ``kid`` names one of the application's registered keys. Claims::

    {"aud": "api-particulier", "sub": "<base64url(SHA-256(subject))>",
     "scope": "dgfip_revenu_fiscal_reference ...", "purpose": "...",
     "iat": 1700000000, "exp": 1700000600, "jti": "..."}

Verification never raises anything but :class:`EvidenceRefused`: the receipt comes from
the network and is untrusted until its signature holds.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey

from .denials import EvidenceRefused, Invalid
from .keys import VerifyKey

# Larger than any honest receipt (a few hundred bytes), small enough to bound the work.
MAX_RECEIPT_BYTES = 4096
_ALGORITHMS = ("EdDSA", "Ed25519", "ES256")
JTI_PATTERN = r"^[A-Za-z0-9._~:\-]{1,128}$"


class ReceiptClaims(msgspec.Struct, frozen=True, kw_only=True):
    aud: str | list[str]
    sub: str
    scope: str
    purpose: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    iat: int | float
    exp: int | float
    # The evidence id in the journal: restricted so it cannot carry anything but an id.
    jti: Annotated[str, msgspec.Meta(pattern=JTI_PATTERN)]


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    kid: str
    jti: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(frozen=True, slots=True)
class ReceiptRules:
    audience: str
    max_lifetime: float
    clock_skew: float


_decode_claims = msgspec.json.Decoder(ReceiptClaims).decode


def _key_fits(alg: str, key: VerifyKey) -> bool:
    if alg == "ES256":
        return isinstance(key, ECKey) and key.curve_name == "P-256"
    return isinstance(key, OKPKey) and key.curve_name == "Ed25519"


def _signature_holds(obj: jws.CompactSignature, key: VerifyKey) -> bool:
    with warnings.catch_warnings():
        # joserfc warns that the name "EdDSA" is superseded by "Ed25519" (RFC 9864); the key
        # curve is checked above, so the old name is as safe and integrators still use it.
        warnings.simplefilter("ignore", SecurityWarning)
        return bool(jws.validate_compact(obj, key, algorithms=_ALGORITHMS))


def verify_signature(token: str, keys: Mapping[str, VerifyKey]) -> tuple[str, bytes]:
    """Check the JWS and return (kid, payload)."""
    raw = token.strip().encode("ascii", errors="replace")
    if not raw or len(raw) > MAX_RECEIPT_BYTES or raw.count(b".") != 2:
        raise EvidenceRefused(Invalid.MALFORMED)
    try:
        obj = jws.extract_compact(raw)
        header: dict[str, Any] = dict(obj.headers())
    except Exception:
        raise EvidenceRefused(Invalid.MALFORMED) from None
    alg = header.get("alg")
    if alg not in _ALGORITHMS or "crit" in header:
        raise EvidenceRefused(Invalid.ALGORITHM)
    kid = header.get("kid")
    if kid is None:
        # Without a kid, try every key that suits the algorithm (keys are few).
        candidates = [(k, key) for k, key in keys.items() if _key_fits(alg, key)]
        if not candidates:
            raise EvidenceRefused(Invalid.UNKNOWN_KEY)
    elif isinstance(kid, str) and kid in keys:
        candidates = [(kid, keys[kid])]
    else:
        raise EvidenceRefused(Invalid.UNKNOWN_KEY)
    for name, key in candidates:
        if not _key_fits(alg, key):
            continue
        try:
            if _signature_holds(obj, key):
                return name, obj.payload
        except Exception:  # noqa: S112 - a failed check is a refusal, not an error
            continue
    raise EvidenceRefused(Invalid.BAD_SIGNATURE)


def check_claims(
    payload: bytes,
    *,
    rules: ReceiptRules,
    subject: str,
    now: float,
) -> ReceiptClaims:
    """Check audience, dates and subject. Scope and replay are left to the caller: they
    depend on the call and on shared state."""
    try:
        claims = _decode_claims(payload)
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise EvidenceRefused(Invalid.CLAIMS) from None
    audiences = [claims.aud] if isinstance(claims.aud, str) else claims.aud
    if rules.audience not in audiences:
        raise EvidenceRefused(Invalid.AUDIENCE)
    skew = rules.clock_skew
    if claims.iat > now + skew:
        raise EvidenceRefused(Invalid.NOT_YET_VALID)
    if claims.exp <= now - skew:
        raise EvidenceRefused(Invalid.EXPIRED)
    if claims.exp <= claims.iat or claims.exp - claims.iat > rules.max_lifetime:
        raise EvidenceRefused(Invalid.TOO_LONG)
    if claims.sub != subject:
        raise EvidenceRefused(Invalid.SUBJECT)
    return claims


def verify_receipt(
    token: str,
    *,
    keys: Mapping[str, VerifyKey],
    rules: ReceiptRules,
    subject: str,
    now: float,
) -> VerifiedReceipt:
    kid, payload = verify_signature(token, keys)
    claims = check_claims(payload, rules=rules, subject=subject, now=now)
    return VerifiedReceipt(
        kid=kid,
        jti=claims.jti,
        scopes=frozenset(claims.scope.split()),
        expires_at=float(claims.exp) + rules.clock_skew,
    )
