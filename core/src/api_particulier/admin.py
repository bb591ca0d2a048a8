"""Managing applications and keys: what the CLI and the test kit both use."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from . import hooks, keys
from .plan import Phase
from .store import ApiKey, Application, KeyStore

if TYPE_CHECKING:
    from .app import ApiApp


class IssuedKey(msgspec.Struct, frozen=True):
    application: Application
    key: ApiKey
    secret: str  # shown once, never stored


async def ensure_application(
    store: KeyStore,
    name: str,
    scopes: Iterable[str],
    *,
    expires_at: float | None = None,
    details: dict[str, Any] | None = None,
) -> Application:
    """The application called ``name``, created with ``scopes`` if it does not exist."""
    existing = await store.application_by_name(name)
    if existing is not None:
        return existing
    application = Application(
        id=str(uuid.uuid4()),
        name=name,
        scopes=tuple(sorted(set(scopes))),
        created_at=time.time(),
        expires_at=expires_at,
        **(details or {}),
    )
    await store.create_application(application)
    return application


async def issue_key(
    store: KeyStore,
    pepper: bytes,
    application: Application,
    *,
    expires_at: float | None = None,
) -> IssuedKey:
    secret = keys.generate_key()
    key = ApiKey(
        id=str(uuid.uuid4()),
        application_id=application.id,
        digest=keys.digest(pepper, secret),
        hint=keys.hint(secret),
        created_at=time.time(),
        expires_at=expires_at,
    )
    await store.add_key(key)
    return IssuedKey(application, key, secret)


async def import_legacy_key(store: KeyStore, application: Application, sha512_hex: str) -> ApiKey:
    """Register a historic key known only by its SHA-512; upgraded at its first use."""
    key = ApiKey(
        id=str(uuid.uuid4()),
        application_id=application.id,
        digest=None,
        legacy_sha512=sha512_hex.lower(),
        hint="",
        created_at=time.time(),
        imported=True,
    )
    await store.add_key(key)
    return key


def merge_settings(
    current: dict[str, Any], changes: dict[str, dict[str, Any]], removals: Iterable[str] = ()
) -> dict[str, Any]:
    """``current`` with ``changes`` merged per plugin and ``removals`` (``plugin.key``) gone."""
    merged = {plugin: dict(values) for plugin, values in current.items()}
    for plugin, values in changes.items():
        merged.setdefault(plugin, {}).update(values)
    for dotted in removals:
        plugin, _, key = dotted.partition(".")
        merged.get(plugin, {}).pop(key, None)
    return {plugin: values for plugin, values in merged.items() if values}


async def update_settings(
    store: KeyStore, application: Application, changes: dict[str, dict[str, Any]]
) -> Application:
    """Merge per-plugin policy values into ``application`` and save it."""
    updated = msgspec.structs.replace(
        application, settings=merge_settings(application.settings, changes)
    )
    await store.update_application(updated)
    return updated


def settings_problems(app: ApiApp, settings: dict[str, Any]) -> list[str]:
    """What the enabled plugins find wrong with an application's settings."""
    answers = hooks.collect(app.plan.for_phase(Phase.check_application_settings), settings=settings)
    return [problem for answer in answers if answer for problem in answer]
