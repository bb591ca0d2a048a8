"""What the core lends a plugin that grants access itself: ``context.credentials`` (save an
application, issue a key, revoke its keys at once), ``context.providers`` with their scope
labels, and ``context.database.execute_all`` (several statements, all or none)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from api_particulier import Application, ConfigError, PluginContext, Provider, hookimpl
from api_particulier.app import create_app
from api_particulier.testing import app_client, make_settings

from .support import EchoProvider

pytestmark = pytest.mark.anyio


class Granting:
    """Keeps its context, as a plugin granting access would."""

    context: PluginContext

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        self.context = context


class LabelledEcho(EchoProvider):
    def __init__(self, labels: dict[str, str]) -> None:
        super().__init__()
        self.labels = labels

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None]) -> None:
        def labelled(provider: Provider) -> None:
            register(dataclasses.replace(provider, scope_labels=self.labels))

        super().register_providers(labelled)


def application(scopes: tuple[str, ...]) -> Application:
    return Application(
        id=str(uuid.uuid4()),
        name=f"Mairie {uuid.uuid4()}",
        scopes=scopes,
        siret="21750001600019",
        created_at=time.time(),
    )


async def test_a_plugin_issues_a_key_and_revokes_it_at_once(tmp_path: Path) -> None:
    granting = Granting()
    # A long cache: the revocation must not wait for it.
    settings = make_settings(tmp_path, enabled=["echo", "granting"], auth={"cache_ttl": 300})
    async with app_client(settings, plugins={"echo": EchoProvider(), "granting": granting}) as c:
        credentials = granting.context.credentials
        saved = await credentials.save_application(application(("echo_nom",)))
        issued = await credentials.issue_key(saved.id, expires_at=time.time() + 3600)
        headers = {"x-api-key": issued.secret}
        answer = await c.http.get("/api/introspect", headers=headers)
        assert answer.status_code == 200
        assert answer.json()["scopes"] == ["echo_nom"]

        # New scopes apply at once, though the key was cached.
        wider = msgspec.structs.replace(saved, scopes=("echo_age", "echo_nom"))
        await credentials.save_application(wider)
        answer = await c.http.get("/api/introspect", headers=headers)
        assert answer.json()["scopes"] == ["echo_age", "echo_nom"]

        assert await credentials.revoke_keys(saved.id) == 1
        assert (await c.http.get("/api/introspect", headers=headers)).status_code == 401
        assert await credentials.revoke_keys(saved.id) == 0
        with pytest.raises(KeyError):
            await credentials.issue_key("no-such-application")


async def test_providers_and_their_scope_labels_reach_plugins(tmp_path: Path) -> None:
    granting = Granting()
    labels = {"echo_nom": "Nom", "echo_age": "Âge"}
    settings = make_settings(tmp_path, enabled=["echo", "granting"])
    plugins = {"echo": LabelledEcho(labels), "granting": granting}
    async with app_client(settings, plugins=plugins):
        (provider,) = granting.context.providers
        assert provider.name == "echo"
        assert provider.scopes == {"echo_nom", "echo_age", "echo_revenu"}
        assert provider.scope_labels == labels


def test_a_label_for_an_unknown_scope_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, enabled=["echo"])
    with pytest.raises(ConfigError, match="labels for unknown scopes echo_typo"):
        create_app(settings, plugins={"echo": LabelledEcho({"echo_typo": "?"})})


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        (tmp_path / "store").mkdir()
        return f"sqlite:///{tmp_path / 'store'}"
    return str(request.getfixturevalue("postgres_url"))


async def test_execute_all_is_all_or_nothing(store: str, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, store=store), plugins={})
    database = app.database
    try:
        await database.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, label TEXT)")
        insert = "INSERT INTO things (id, label) VALUES (:id, :label)"
        assert await database.execute_all(
            [(insert, {"id": 1, "label": "one"}), (insert, {"id": 2, "label": "two"})]
        ) == [1, 1]
        with pytest.raises(sa.exc.IntegrityError):
            await database.execute_all(
                [(insert, {"id": 3, "label": "three"}), (insert, {"id": 1, "label": "again"})]
            )
        rows = await database.fetch_all("SELECT id, label FROM things ORDER BY id")
        assert [tuple(row) for row in rows] == [(1, "one"), (2, "two")]
    finally:
        await database.close()
