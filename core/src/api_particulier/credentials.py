"""Making and withdrawing credentials from a plugin: :class:`Credentials`.

The command line makes applications and keys for operators; a plugin that grants access
itself (an access-request workflow, a webhook of an outside tool) needs the same three
acts, and no more: save an application, issue a key to it, revoke its keys. A revocation
applies at once in this process (the key cache forgets the application) and, on
PostgreSQL, on every other host (the store announces it); elsewhere within
``[core.auth] cache_ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from . import admin
from .store import Application, KeyStore


class IssuedSecret(msgspec.Struct, frozen=True, kw_only=True):
    """A key just issued: ``secret`` is shown once and never stored."""

    key_id: str
    application_id: str
    secret: str
    expires_at: float | None


class Credentials:
    """Applications and keys, for a plugin (``context.credentials``) or a plugin's command
    (``stores.credentials``)."""

    def __init__(self, store: KeyStore, pepper: bytes, forget: Callable[[str], None]) -> None:
        self._store = store
        self._pepper = pepper
        self._forget = forget

    async def save_application(self, application: Application) -> Application:
        """Create ``application``, or update the one with its id (its name cannot change);
        keys cached for it are forgotten, so new scopes or dates apply at once."""
        existing = await self._store.application_by_id(application.id)
        if existing is None:
            await self._store.create_application(application)
        else:
            await self._store.update_application(application)
            self._forget(application.id)
        return application

    async def application(self, application_id: str) -> Application | None:
        return await self._store.application_by_id(application_id)

    async def issue_key(
        self, application_id: str, *, expires_at: float | None = None
    ) -> IssuedSecret:
        """A new key of the application; raises ``KeyError`` when there is none."""
        application = await self._store.application_by_id(application_id)
        if application is None:
            raise KeyError(application_id)
        issued = await admin.issue_key(
            self._store, self._pepper, application, expires_at=expires_at
        )
        return IssuedSecret(
            key_id=issued.key.id,
            application_id=application.id,
            secret=issued.secret,
            expires_at=expires_at,
        )

    async def revoke_keys(self, application_id: str) -> int:
        """Revoke every key of the application still in force; how many were."""
        now = time.time()
        revoked = 0
        for key in await self._store.list_keys():
            if key.application_id == application_id and key.revoked_at is None:
                revoked += await self._store.revoke_key(key.id, now)
        self._forget(application_id)
        return revoked
