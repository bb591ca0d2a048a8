"""An application's consent policy, read from its settings (``settings["consent"]``).

Set from the command line, e.g.::

    api-particulier keys create --name X --scope ... \\
        --setting 'consent.evidence=["receipt"]' \\
        --setting 'consent.public_keys=[{"kid": "k1", "jwk": {...}}]' \\
        --setting consent.recipient_required=true
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from .config import EvidenceKind
from .keys import UnusableKey, VerifyKey, load_public_key, thumbprint


class PublicKeyEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kid: str | None = None
    jwk: dict[str, Any] | None = None
    pem: str | None = None


class PolicySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The stored form. Every field is optional; absent ones take the deployment defaults."""

    evidence: list[EvidenceKind] | None = None
    public_keys: list[PublicKeyEntry] = msgspec.field(default_factory=list)
    recipient_required: bool = False
    # When set, a FranceConnect token must have been issued to this FranceConnect client.
    franceconnect_client_id: str | None = None


class PolicyError(ValueError):
    """The stored policy cannot be used; the application's calls are refused until fixed."""


@dataclass(frozen=True, slots=True)
class Policy:
    evidence: tuple[EvidenceKind, ...]
    keys: Mapping[str, VerifyKey]
    recipient_required: bool
    franceconnect_client_id: str | None

    def accepts(self, kind: EvidenceKind) -> bool:
        return kind in self.evidence


def compile_policy(raw: Any, default: Sequence[EvidenceKind]) -> Policy:
    """Validate the stored settings into a usable policy; raise PolicyError if impossible."""
    try:
        stored = msgspec.convert(raw if raw is not None else {}, PolicySettings)
    except msgspec.ValidationError as exc:
        raise PolicyError(f"consent settings: {exc}") from None
    evidence = tuple(dict.fromkeys(stored.evidence if stored.evidence else default))
    keys: dict[str, VerifyKey] = {}
    for entry in stored.public_keys:
        try:
            key = load_public_key(jwk=entry.jwk, pem=entry.pem)
        except UnusableKey as exc:
            raise PolicyError(f"consent public key {entry.kid or '?'}: {exc}") from None
        kid = entry.kid or thumbprint(key)
        if kid in keys:
            raise PolicyError(f"consent public key id {kid} is registered twice")
        keys[kid] = key
    if "receipt" in evidence and not keys:
        raise PolicyError("the policy accepts receipts but no public key is registered")
    return Policy(
        evidence=evidence,
        keys=keys,
        # FranceConnect tokens name the citizen, not who receives the data: the recipient
        # must then always be stated.
        recipient_required=stored.recipient_required or "franceconnect" in evidence,
        franceconnect_client_id=stored.franceconnect_client_id,
    )


class PolicyCache:
    """Compiled policies, by the settings they come from, so keys are parsed once, not on
    every call: a changed policy is compiled anew as soon as the key cache of the core
    hands over the new settings."""

    def __init__(self, default: Sequence[EvidenceKind], size: int = 1024) -> None:
        self._default = tuple(default)
        self._compiled = functools.lru_cache(maxsize=size)(self._compile)

    def get(self, application_id: str, raw: Any) -> Policy:
        try:
            fingerprint = msgspec.json.encode(raw, order="sorted")
        except (TypeError, msgspec.EncodeError):
            raise PolicyError("consent settings are not JSON") from None
        found = self._compiled(fingerprint)
        if isinstance(found, PolicyError):
            raise PolicyError(str(found)) from None
        return found

    def _compile(self, fingerprint: bytes) -> Policy | PolicyError:
        try:
            return compile_policy(msgspec.json.decode(fingerprint), self._default)
        except PolicyError as exc:
            return exc
