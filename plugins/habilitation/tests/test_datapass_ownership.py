"""A request of DataPass's belongs to DataPass: nobody can file one under its number, its
applicant cannot change it here, DataPass's revocation always revokes, and an application's
keys can be revoked whatever became of its request since."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_particulier.settings import Settings
from api_particulier_habilitation.form import RequestForm
from api_particulier_habilitation.repository import Repository
from api_particulier_habilitation.states import Event, NotAllowed, Role, State

from .support import (
    INSTRUCTOR,
    csrf,
    filled,
    request_id_of,
    service,
    settings_for,
    sign_in,
    version_of,
)
from .test_datapass import SECRET, delivery, signed

pytestmark = pytest.mark.anyio
APPLICANT = "demandeur@departement-exemple.fr"
WEBHOOK = "/api/datapass/webhook"


def _settings(tmp_path: Path, store: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TEST_DATAPASS_SECRET", SECRET)
    return settings_for(tmp_path, store, datapass_secret={"env": "TEST_DATAPASS_SECRET"})


async def test_nobody_files_a_request_under_a_datapass_number(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service(_settings(tmp_path, store, monkeypatch)) as c:
        http = c.http
        await sign_in(http, tmp_path, "quelquun@exemple.fr")
        page = await http.get("/habilitation/demandes/nouvelle?profil=administration")
        squatted = await http.post(
            "/habilitation/demandes/nouvelle",
            data={"csrf": csrf(page), "request_id": "dp-4242", "title": "x", "action": "brouillon"},
        )
        assert squatted.status_code == 400
        repository = Repository(c.app.database)
        assert await repository.get("dp-4242") is None

        # Even a local request holding that number (written before this rule) is never
        # approved in DataPass's name.
        await repository.create("dp-4242", "quelquun@exemple.fr", RequestForm(), time.time())
        raw, headers = signed(delivery("approve", ["cnaf_quotient_familial"]))
        answer = await http.post(WEBHOOK, content=raw, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "unprocessable"
        local = await repository.get("dp-4242")
        assert local is not None
        assert local.application_id is None
        assert await c.app.key_store.list_applications() == []


async def test_the_applicant_cannot_change_a_datapass_request_and_revocation_holds(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with service(_settings(tmp_path, store, monkeypatch)) as c:
        http = c.http
        payload = delivery("approve", ["cnaf_quotient_familial"])
        payload["data"]["applicant"]["email"] = "Demandeur@Departement-Exemple.fr"
        raw, headers = signed(payload)
        approved = await http.post(WEBHOOK, content=raw, headers=headers)
        assert approved.status_code == 200
        application_id = approved.json()["token_id"]
        key = (await c.app.credentials.issue_key(application_id)).secret

        # The applicant (signing in lower-cases the address DataPass gave in capitals) sees
        # the request but may neither reopen, edit nor archive it.
        await sign_in(http, tmp_path, APPLICANT)
        page = await http.get("/habilitation/demandes/dp-4242")
        assert page.status_code == 200
        assert "/reouverture" not in page.text
        for action in ("reouverture", "archivage"):
            refused = await http.post(
                f"/habilitation/demandes/dp-4242/{action}",
                data={"csrf": csrf(page), "version": version_of(page)},
            )
            assert refused.status_code == 409
            assert "DataPass" in refused.text
        edited = await http.post(
            "/habilitation/demandes/dp-4242",
            data=filled(csrf=csrf(page), scopes=["dgfip_revenu_fiscal_reference"]),
        )
        assert edited.status_code == 409
        record = await Repository(c.app.database).get("dp-4242")
        assert record is not None
        assert record.form.scopes == ("cnaf_quotient_familial",)

        # DataPass revokes: the key is refused at once.
        raw, headers = signed(delivery("revoke", []))
        assert (await http.post(WEBHOOK, content=raw, headers=headers)).status_code == 200
        assert (await http.get("/api/introspect", headers={"x-api-key": key})).status_code == 401


async def test_keys_are_revoked_after_a_reopened_request_is_archived(
    store: str, tmp_path: Path
) -> None:
    async with service(settings_for(tmp_path, store)) as c:
        await Repository(c.app.database).add_instructor(INSTRUCTOR, time.time())
        http = c.http
        await sign_in(http, tmp_path, "mairie@exemple.fr")
        page = await http.get("/habilitation/demandes/nouvelle?profil=administration")
        request_id = request_id_of(page)
        submitted = await http.post(
            "/habilitation/demandes/nouvelle",
            data=filled(csrf=csrf(page), request_id=request_id, action="soumettre"),
        )
        assert submitted.status_code == 303, submitted.text
        repository = Repository(c.app.database)
        record = await repository.get(request_id)
        assert record is not None
        plugin = c.app.pm.get_plugin("habilitation")
        assert plugin is not None
        workflow = plugin.webhook.workflow

        validated = await workflow.act(record, Event.approve, Role.instructor, INSTRUCTOR)
        assert validated.application_id is not None
        key = (await c.app.credentials.issue_key(validated.application_id)).secret

        # The requester reopens it for an update, then drops the update.
        reopened = await workflow.act(validated, Event.reopen, Role.requester, "mairie@exemple.fr")
        archived = await workflow.act(reopened, Event.archive, Role.requester, "mairie@exemple.fr")
        assert archived.state is State.archived
        assert (await http.get("/api/introspect", headers={"x-api-key": key})).status_code == 200

        await sign_in(http, tmp_path, INSTRUCTOR)
        page = await http.get(f"/habilitation/instruction/demandes/{request_id}")
        assert "/revocation" in page.text
        revoked = await http.post(
            f"/habilitation/instruction/demandes/{request_id}/revocation",
            data={"csrf": csrf(page), "version": version_of(page), "message": "Clé perdue"},
        )
        assert revoked.status_code == 303, revoked.text
        assert (await http.get("/api/introspect", headers={"x-api-key": key})).status_code == 401

        # A request that never had an application has nothing to revoke.
        page = await http.get("/habilitation/demandes/nouvelle?profil=administration")
        other = request_id_of(page)
        await http.post(
            "/habilitation/demandes/nouvelle",
            data={"csrf": csrf(page), "request_id": other, "title": "x", "action": "brouillon"},
        )
        draft = await repository.get(other)
        assert draft is not None
        with pytest.raises(NotAllowed, match="Aucune habilitation"):
            await workflow.act(draft, Event.revoke, Role.instructor, INSTRUCTOR, message="x")
        page = await http.get(f"/habilitation/instruction/demandes/{other}")
        assert "/revocation" not in page.text
