"""The whole path over HTTP, on SQLite and PostgreSQL: a request drafted, refused at
submission with its errors, submitted, sent back for changes, edited, resubmitted,
validated; its key shown once and calling the API with exactly the scopes granted; reopened
and validated again with its key kept; revoked, and the key refused at once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from api_particulier.app import ApiApp
from api_particulier_habilitation.repository import Repository

from .support import (
    INSTRUCTOR,
    PERSONAL,
    REQUESTER,
    csrf,
    filled,
    links,
    outbox,
    request_id_of,
    service,
    settings_for,
    sign_in,
    version_of,
)

pytestmark = pytest.mark.anyio


async def add_instructor(app: ApiApp, address: str) -> None:
    await Repository(app.database).add_instructor(address, time.time())


def new_client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=http._transport, base_url="http://testserver")


async def test_from_request_to_key(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path, store)
    async with service(settings) as c:
        await add_instructor(c.app, INSTRUCTOR)
        requester = c.http
        await sign_in(requester, tmp_path, REQUESTER)

        # A draft needs only a title; a submission needs every field.
        page = await requester.get("/habilitation/demandes/nouvelle?profil=administration")
        assert page.status_code == 200
        request_id = request_id_of(page)
        token = csrf(page)
        draft = await requester.post(
            "/habilitation/demandes/nouvelle",
            data={
                "csrf": token,
                "request_id": request_id,
                "title": "Cantine",
                "action": "brouillon",
            },
        )
        assert draft.status_code == 303
        shown = await requester.get(f"/habilitation/demandes/{request_id}")
        refused = await requester.post(
            f"/habilitation/demandes/{request_id}",
            data=filled(
                csrf=token,
                siret="21750001600018",
                phone=None,
                action="soumettre",
                version=version_of(shown),
                dpo_phone="12",
            ),
        )
        assert refused.status_code == 422
        assert "Ce numéro SIRET n&#39;est pas valide" in refused.text
        assert 'aria-describedby="siret-hint siret-error"' in refused.text
        assert 'id="dpo_phone-error"' in refused.text

        submitted = await requester.post(
            f"/habilitation/demandes/{request_id}",
            data=filled(csrf=token, action="soumettre", version=version_of(shown)),
        )
        assert submitted.status_code == 303, submitted.text
        # The instructors are told; the message names no one.
        assert links(tmp_path, INSTRUCTOR, "/habilitation/instruction/demandes/")

        # The instructor asks for changes.
        instructor = new_client(requester)
        await sign_in(instructor, tmp_path, INSTRUCTOR)
        page = await instructor.get(f"/habilitation/instruction/demandes/{request_id}")
        assert page.status_code == 200
        asked = await instructor.post(
            f"/habilitation/instruction/demandes/{request_id}/modifications",
            data={
                "csrf": csrf(page),
                "version": version_of(page),
                "message": "Ne demandez que le quotient familial.",
            },
        )
        assert asked.status_code == 303
        # Posted twice: nothing more happens.
        again = await instructor.post(
            f"/habilitation/instruction/demandes/{request_id}/modifications",
            data={"csrf": csrf(page), "version": version_of(page), "message": "encore"},
        )
        assert again.status_code == 200
        assert "rien n&#39;a été refait" in again.text

        # The requester edits and resubmits.
        page = await requester.get(f"/habilitation/demandes/{request_id}")
        assert "Ne demandez que le quotient familial." in page.text
        resubmitted = await requester.post(
            f"/habilitation/demandes/{request_id}",
            data=filled(
                csrf=token,
                action="soumettre",
                version=version_of(page),
                scopes=["cnaf_quotient_familial"],
            ),
        )
        assert resubmitted.status_code == 303

        page = await instructor.get(f"/habilitation/instruction/demandes/{request_id}")
        validated = await instructor.post(
            f"/habilitation/instruction/demandes/{request_id}/validation",
            data={"csrf": csrf(page), "version": version_of(page)},
        )
        assert validated.status_code == 303

        # The key, once.
        page = await requester.get(f"/habilitation/demandes/{request_id}")
        assert "Afficher ma clé" in page.text
        key_page = await requester.post(
            f"/habilitation/demandes/{request_id}/cle", data={"csrf": csrf(page)}
        )
        assert key_page.status_code == 200
        assert key_page.headers["cache-control"] == "no-store"
        key = key_page.text.split('id="cle" type="text" readonly value="')[1].split('"')[0]
        assert key.startswith("apip_")
        twice = await requester.post(
            f"/habilitation/demandes/{request_id}/cle", data={"csrf": csrf(page)}
        )
        assert twice.status_code == 410
        assert key not in twice.text
        # Never in an e-mail.
        assert all(key not in str(m) for m in outbox(tmp_path))

        answer = await requester.get("/api/introspect", headers={"x-api-key": key})
        assert answer.status_code == 200
        assert answer.json()["scopes"] == ["cnaf_quotient_familial"]
        (application,) = await c.app.key_store.list_applications()
        assert answer.json()["name"] == application.name
        assert application.authorization_ref == request_id
        assert application.siret == "21750001600019"
        assert application.recipients == "Service des affaires scolaires"

        # Reopened to add a scope, validated again: same key, new scopes.
        page = await requester.get(f"/habilitation/demandes/{request_id}")
        reopened = await requester.post(
            f"/habilitation/demandes/{request_id}/reouverture",
            data={"csrf": csrf(page), "version": version_of(page)},
        )
        assert reopened.status_code == 303
        # Until validated again, the key keeps its scopes.
        page = await requester.get(f"/habilitation/demandes/{request_id}")
        await requester.post(
            f"/habilitation/demandes/{request_id}",
            data=filled(
                csrf=token,
                action="soumettre",
                version=version_of(page),
                scopes=["cnaf_quotient_familial", "cnaf_adresse"],
            ),
        )
        answer = await requester.get("/api/introspect", headers={"x-api-key": key})
        assert answer.json()["scopes"] == ["cnaf_quotient_familial"]
        page = await instructor.get(f"/habilitation/instruction/demandes/{request_id}")
        await instructor.post(
            f"/habilitation/instruction/demandes/{request_id}/validation",
            data={"csrf": csrf(page), "version": version_of(page)},
        )
        answer = await requester.get("/api/introspect", headers={"x-api-key": key})
        assert answer.json()["scopes"] == ["cnaf_adresse", "cnaf_quotient_familial"]
        page = await requester.get(f"/habilitation/demandes/{request_id}")
        assert "Afficher ma clé" not in page.text

        # Revoked: refused at once.
        page = await instructor.get(f"/habilitation/instruction/demandes/{request_id}")
        revoked = await instructor.post(
            f"/habilitation/instruction/demandes/{request_id}/revocation",
            data={"csrf": csrf(page), "version": version_of(page), "message": "Fin du service"},
        )
        assert revoked.status_code == 303
        answer = await requester.get("/api/introspect", headers={"x-api-key": key})
        assert answer.status_code == 401
        await instructor.aclose()

    # What the service logged along the way names no one.
    logged = "".join(capsys.readouterr())
    assert "habilitation_event" in logged and "mail_written" in logged
    personal = [
        REQUESTER,
        INSTRUCTOR,
        *PERSONAL,
        "Dominique Bernard",
        "Alex Petit",
        "dominique.bernard",
        "dpo@mairie-exemple.fr",
        "0123456789",
        "+33198765432",
    ]
    for value in personal:
        assert value not in logged, value
    assert "/habilitation/connexion/" not in logged  # nor a sign-in link
