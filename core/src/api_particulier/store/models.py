"""What the store keeps: applications (habilitations) and their keys."""

from __future__ import annotations

from typing import Any

import msgspec


class Application(msgspec.Struct, frozen=True, kw_only=True):
    """What an administration declared to be authorised to fetch, and why."""

    id: str
    name: str
    scopes: tuple[str, ...]
    siret: str | None = None
    # e.g. "Article L114-8 du code des relations entre le public et l'administration"
    legal_basis: str | None = None
    # How the citizen's procedure is simplified (the reason to call this API at all).
    simplification: str | None = None
    technical_contact: str | None = None
    dpo_contact: str | None = None
    authorization_ref: str | None = None
    created_at: float = 0.0
    expires_at: float | None = None
    # Per-application values read by policy plugins, by plugin name.
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A key of an application. The key itself is never stored: only its HMAC (or, for an
    imported historic key not used yet, the SHA-512 the historic service kept)."""

    id: str
    application_id: str
    digest: str | None
    legacy_sha512: str | None = None
    hint: str = ""
    created_at: float = 0.0
    expires_at: float | None = None
    revoked_at: float | None = None
    # Imported from the historic service: the key has no prefix nor checksum.
    imported: bool = False

    def is_active(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class KeyMatch(msgspec.Struct, frozen=True):
    key: ApiKey
    application: Application


class DailyCount(msgspec.Struct, frozen=True):
    """Successful data calls of one provider on one day (UTC, ``YYYY-MM-DD``)."""

    day: str
    provider: str
    calls: int
