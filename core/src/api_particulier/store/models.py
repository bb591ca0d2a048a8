"""What the store keeps: applications (habilitations) and their keys."""

from __future__ import annotations

from typing import Any, Protocol

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
    # Who receives the data inside the administration (services, roles), as declared in the
    # access request: shown to citizens beside each call about them.
    recipients: str | None = None
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


# The columns of a key, in the order key_from_row reads them (SQL of both stores).
KEY_COLUMNS = (
    "k.id, k.application_id, k.digest, k.legacy_sha512, k.hint, k.created_at, "
    "k.expires_at, k.revoked_at, k.imported"
)


class Row(Protocol):
    """A database row read by position (sqlite3's tuples, asyncpg's records)."""

    def __getitem__(self, index: int, /) -> Any: ...


def key_from_row(row: Row) -> ApiKey:
    """An :class:`ApiKey` from a row selected with :data:`KEY_COLUMNS`."""
    return ApiKey(
        id=row[0],
        application_id=row[1],
        digest=row[2],
        legacy_sha512=row[3],
        hint=row[4],
        created_at=row[5],
        expires_at=row[6],
        revoked_at=row[7],
        imported=bool(row[8]),
    )
