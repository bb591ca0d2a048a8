"""The key stores, SQLite and PostgreSQL alike: applications, keys, and the lookup that
filters out what cannot be used (the PostgreSQL cases run against a real server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from api_particulier.store import ApiKey, Application, KeyStore
from api_particulier.store.postgresql import PostgresDatabase, PostgresKeyStore, run_migrations
from api_particulier.store.sqlite import SQLiteKeyStore

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyStore]:
    opened: KeyStore
    if request.param == "sqlite":
        opened = SQLiteKeyStore(tmp_path / "keys.sqlite3")
    else:
        url = request.getfixturevalue("postgres_url")
        await run_migrations(url, apply=True)
        opened = PostgresKeyStore(PostgresDatabase(url))
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def application(name: str = "mairie", **more: object) -> Application:
    return Application(
        id=f"app-{name}",
        name=name,
        scopes=("dgfip_rfr", "cnaf_quotient_familial"),
        siret="13002526500013",
        settings={"ratelimit": {"quota": 5}},
        **more,  # type: ignore[arg-type]
    )


def key(key_id: str, app: Application, **more: object) -> ApiKey:
    return ApiKey(
        id=key_id,
        application_id=app.id,
        digest=f"digest-{key_id}",
        hint="…abcd",
        created_at=NOW - 100,
        **more,  # type: ignore[arg-type]
    )


async def test_applications_are_kept_whole(store: KeyStore) -> None:
    first, second = application("mairie"), application("caf-lyon")
    await store.create_application(first)
    await store.create_application(second)
    assert await store.application_by_name("mairie") == first
    assert await store.application_by_id("app-caf-lyon") == second
    assert await store.application_by_name("nobody") is None
    assert await store.list_applications() == [second, first]  # by name


async def test_an_update_replaces_the_application_of_the_same_id(store: KeyStore) -> None:
    first = application()
    await store.create_application(first)
    narrowed = msgspec.structs.replace(first, scopes=("dgfip_rfr",))
    await store.update_application(narrowed)
    assert await store.application_by_id(first.id) == narrowed
    with pytest.raises(KeyError):
        await store.update_application(application("unknown"))


async def test_the_lookup_finds_only_usable_keys(store: KeyStore) -> None:
    app = application()
    expired_app = application("ancienne", expires_at=NOW - 1)
    await store.create_application(app)
    await store.create_application(expired_app)
    await store.add_key(key("good", app))
    await store.add_key(key("expired", app, expires_at=NOW - 1))
    await store.add_key(key("later", app, expires_at=NOW + 3600))
    await store.add_key(key("of-expired-app", expired_app))

    match = await store.find_active_key("digest-good", NOW)
    assert match is not None
    assert match.key == key("good", app)
    assert match.application == app
    assert await store.find_active_key("digest-later", NOW) is not None
    assert await store.find_active_key("digest-expired", NOW) is None
    assert await store.find_active_key("digest-of-expired-app", NOW) is None
    assert await store.find_active_key("digest-unknown", NOW) is None

    assert await store.revoke_key("good", NOW) is True
    assert await store.revoke_key("good", NOW + 1) is False  # revoked once, at NOW
    assert await store.find_active_key("digest-good", NOW) is None
    revoked = next(k for k in await store.list_keys() if k.id == "good")
    assert revoked.revoked_at == NOW


async def test_a_legacy_key_is_found_by_its_sha512_then_upgraded(store: KeyStore) -> None:
    app = application()
    await store.create_application(app)
    assert await store.has_imported_keys() is False
    legacy = ApiKey(
        id="legacy", application_id=app.id, digest=None, legacy_sha512="f" * 128, imported=True
    )
    await store.add_key(legacy)
    assert await store.has_imported_keys() is True
    match = await store.find_active_legacy_key("f" * 128, NOW)
    assert match is not None
    assert match.key == legacy
    await store.upgrade_legacy_key("legacy", "digest-new")
    assert await store.find_active_legacy_key("f" * 128, NOW) is None
    upgraded = await store.find_active_key("digest-new", NOW)
    assert upgraded is not None
    assert upgraded.key.imported is True


async def test_keys_are_listed_oldest_first(store: KeyStore) -> None:
    app = application()
    await store.create_application(app)
    for index, key_id in enumerate(["b", "a", "c"]):
        await store.add_key(
            ApiKey(id=key_id, application_id=app.id, digest=key_id, created_at=NOW + index)
        )
    assert [k.id for k in await store.list_keys()] == ["b", "a", "c"]
