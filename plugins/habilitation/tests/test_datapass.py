"""DataPass's webhook, with signed deliveries: approve makes the application (its key behind
a single-use link e-mailed to the technical contact), a replayed delivery changes nothing,
revoke revokes the key at once, a test delivery answers 200, and a delivery whose signature
is missing, wrong or made for another body answers 401 with the error body."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from api_particulier.testing import chunked
from api_particulier_habilitation.datapass import signature
from api_particulier_habilitation.repository import Repository

from .support import INSTRUCTOR, body, csrf, outbox, service, settings_for, sign_in

pytestmark = pytest.mark.anyio
SECRET = "datapass-shared-secret-for-tests"
TECHNICAL = "tech@departement-exemple.fr"


def delivery(event: str, scopes: list[str], *, fired_at: int | None = None) -> dict[str, Any]:
    return {
        "event": event,
        "fired_at": fired_at or int(time.time()),
        "model_type": "authorization_request/api_particulier",
        "data": {
            "id": 4242,
            "public_id": "b4d7c0de",
            "state": "validated",
            "form_uid": "api-particulier-cantine",
            "organization": {"id": 7, "name": "Département d'exemple", "siret": "21750001600019"},
            "applicant": {
                "id": 9,
                "email": "demandeur@departement-exemple.fr",
                "given_name": "Claude",
                "family_name": "Durand",
            },
            "data": {
                "intitule": "Aide sociale à l'enfance",
                "scopes": scopes,
                "contact_technique_given_name": "Sam",
                "contact_technique_family_name": "Leroy",
                "contact_technique_email": TECHNICAL,
                "contact_technique_phone_number": "0601020304",
            },
        },
    }


def signed(payload: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = msgspec.json.encode(payload)
    return raw, {
        "content-type": "application/json",
        "x-hub-signature-256": signature(secret, raw),
        "x-app-environment": "production",
    }


async def test_signed_deliveries(
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEST_DATAPASS_SECRET", SECRET)
    settings = settings_for(tmp_path, store, datapass_secret={"env": "TEST_DATAPASS_SECRET"})
    async with service(settings) as c:
        http = c.http

        async def post(raw: bytes, headers: dict[str, str]) -> httpx.Response:
            return await http.post("/api/datapass/webhook", content=raw, headers=headers)

        # The test delivery.
        raw, headers = signed({"test": True, "timestamp": "2026-12-03T12:00:00Z"})
        assert (
            await http.post("/api/datapass/webhook", content=raw, headers=headers)
        ).status_code == 200

        # Approve: an application, its id as token_id.
        raw, headers = signed(delivery("approve", ["cnaf_quotient_familial", "unknown_scope"]))
        answer = await http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert answer.status_code == 200, answer.text
        token_id = answer.json()["token_id"]
        application = await c.app.key_store.application_by_id(token_id)
        assert application is not None
        assert application.scopes == ("cnaf_quotient_familial",)
        assert application.authorization_ref == "4242"
        assert application.siret == "21750001600019"

        # DataPass retries: the same answer, nothing done twice.
        replay = await http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert replay.status_code == 200
        assert replay.json() == {"token_id": token_id}
        mails = [m for m in outbox(tmp_path) if m["To"] == TECHNICAL]
        assert len(mails) == 1
        assert len(await c.app.key_store.list_applications()) == 1
        record = await Repository(c.app.database).by_datapass("4242")
        assert record is not None
        events = [e.event.value for e in await Repository(c.app.database).events(record.id)]
        assert events == ["create", "submit", "approve"]

        # The key, once, behind the e-mailed link (never in the e-mail).
        (path,) = re.findall(
            r"http://testserver(/habilitation/cle/[A-Za-z0-9_\-]+)", body(mails[0])
        )
        page = await http.get(path)
        assert page.status_code == 200
        shown = await http.post(path, data={"csrf": csrf(page)})
        key = re.findall(r'value="(apip_[0-9A-Za-z]+)"', shown.text)[0]
        assert key not in str(mails[0])
        assert (await http.post(path, data={"csrf": csrf(page)})).status_code == 410
        assert (await http.get(path)).status_code == 410
        introspected = await http.get("/api/introspect", headers={"x-api-key": key})
        assert introspected.json()["scopes"] == ["cnaf_quotient_familial"]

        # A new approval (DataPass reopened and validated it again): the key is kept.
        raw, headers = signed(
            delivery("approve", ["cnaf_quotient_familial", "cnaf_adresse"], fired_at=2_000_000_000)
        )
        again = await http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert again.json() == {"token_id": token_id}
        introspected = await http.get("/api/introspect", headers={"x-api-key": key})
        assert introspected.json()["scopes"] == ["cnaf_adresse", "cnaf_quotient_familial"]
        assert len([m for m in outbox(tmp_path) if m["To"] == TECHNICAL]) == 1

        # Revoke: the key is refused at once.
        raw, headers = signed(delivery("revoke", []))
        assert (
            await http.post("/api/datapass/webhook", content=raw, headers=headers)
        ).status_code == 200
        assert (await http.get("/api/introspect", headers={"x-api-key": key})).status_code == 401

        # Other events are acknowledged and change nothing.
        raw, headers = signed(delivery("submit", []))
        assert (await http.post("/api/datapass/webhook", content=raw, headers=headers)).json() == {}

    # The deliveries were logged without the people they name.
    logged = "".join(capsys.readouterr())
    assert "datapass_approved" in logged and "datapass_delivery_replayed" in logged
    for value in (TECHNICAL, "demandeur@", "Claude", "Durand", "Leroy", "0601020304", key):
        assert value not in logged, value


async def test_unsigned_tampered_and_foreign_deliveries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DATAPASS_SECRET", SECRET)
    settings = settings_for(tmp_path, datapass_secret={"env": "TEST_DATAPASS_SECRET"})
    async with service(settings) as c:
        raw, headers = signed(delivery("approve", ["cnaf_quotient_familial"]))
        tampered = raw.replace(b"cnaf_quotient_familial", b"cnaf_adresse\x20\x20\x20\x20\x20")
        missing = {k: v for k, v in headers.items() if k != "x-hub-signature-256"}
        _, other_secret = signed(delivery("approve", ["cnaf_quotient_familial"]), "not-the-secret")
        for content, sent in (
            (tampered, headers),
            (raw, missing),
            (raw, other_secret),
            (raw, {**headers, "x-hub-signature-256": "sha256=zz"}),
        ):
            answer = await c.http.post("/api/datapass/webhook", content=content, headers=sent)
            assert answer.status_code == 401
            assert answer.json()["error"] == "access_denied"
            assert set(answer.json()) == {"error", "reason", "message"}
            # The contract's error answer, as every route of the service gives it.
            assert answer.headers["content-type"] == "application/json; charset=utf-8"
            assert answer.headers["x-request-id"]
        assert await c.app.key_store.list_applications() == []
        # A well signed body that is not a delivery.
        raw, headers = signed({"event": "approve"})
        answer = await c.http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["error"] == "bad_request"


async def test_without_a_secret_every_delivery_is_refused(tmp_path: Path) -> None:
    async with service(settings_for(tmp_path)) as c:
        raw, headers = signed({"test": True, "timestamp": "2026-12-03T12:00:00Z"})
        answer = await c.http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert answer.status_code == 401


async def test_an_unusable_technical_contact_gets_no_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DATAPASS_SECRET", SECRET)
    settings = settings_for(tmp_path, datapass_secret={"env": "TEST_DATAPASS_SECRET"})
    async with service(settings) as c:
        payload = delivery("approve", ["cnaf_quotient_familial"])
        payload["data"]["data"]["contact_technique_email"] = "tech@exemple.fr\nBcc: x@ailleurs.fr"
        raw, headers = signed(payload)
        answer = await c.http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert answer.status_code == 200
        assert "token_id" in answer.json()
        assert outbox(tmp_path) == []


async def test_a_link_from_datapass_is_shown_as_a_link_only_when_it_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DATAPASS_SECRET", SECRET)
    settings = settings_for(tmp_path, datapass_secret={"env": "TEST_DATAPASS_SECRET"})
    async with service(settings) as c:
        payload = delivery("approve", ["cnaf_quotient_familial"])
        payload["data"]["data"]["cadre_juridique_url"] = "javascript:alert(1)"
        raw, headers = signed(payload)
        assert (
            await c.http.post("/api/datapass/webhook", content=raw, headers=headers)
        ).status_code == 200
        await Repository(c.app.database).add_instructor(INSTRUCTOR, time.time())
        await sign_in(c.http, tmp_path, INSTRUCTOR)
        page = await c.http.get("/habilitation/instruction/demandes/dp-4242")
        assert page.status_code == 200
        assert "javascript:alert(1)" in page.text
        assert 'href="javascript:' not in page.text


async def test_a_body_past_the_bound_is_refused_as_it_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunked, a body says no length: it is refused once it passes the bound, before any
    signature is checked, and the pages' forms likewise."""
    monkeypatch.setenv("TEST_DATAPASS_SECRET", SECRET)
    settings = settings_for(tmp_path, datapass_secret={"env": "TEST_DATAPASS_SECRET"})

    async with service(settings) as c:
        refused = await c.http.post(
            "/api/datapass/webhook",
            content=chunked(64 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
        assert refused.status_code == 413
        assert refused.json()["error"] == "payload_too_large"
        page = await c.http.post(
            "/habilitation/connexion",
            content=chunked(64 * 1024 * 1024),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert page.status_code == 413


async def test_a_delivery_older_than_those_remembered_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signed delivery replayed once its digest is forgotten must not undo what came
    after it; one without its firing time cannot be told apart, and is malformed."""
    from api_particulier_habilitation.repository import DELIVERIES_KEPT

    monkeypatch.setenv("TEST_DATAPASS_SECRET", SECRET)
    settings = settings_for(tmp_path, datapass_secret={"env": "TEST_DATAPASS_SECRET"})
    async with service(settings) as c:
        old = delivery("approve", ["cnaf_quotient_familial"])
        old["fired_at"] = int(time.time() - DELIVERIES_KEPT)
        raw, headers = signed(old)
        refused = await c.http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert refused.status_code == 422
        assert refused.json()["error"] == "unprocessable"
        del old["fired_at"]
        raw, headers = signed(old)
        malformed = await c.http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert malformed.status_code == 400
        assert await c.app.key_store.list_applications() == []


async def test_the_key_link_reaches_the_technical_contact_after_a_mail_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mail server fails on the first copy: DataPass gets a 500, retries, and the retry
    sends a link that shows the key, without a second approval in the history."""
    from api_particulier_habilitation.mail import Mailer

    monkeypatch.setenv("TEST_DATAPASS_SECRET", SECRET)
    settings = settings_for(tmp_path, datapass_secret={"env": "TEST_DATAPASS_SECRET"})
    sent = Mailer.send
    failures = [OSError("mail server down")]

    async def failing_once(self: Mailer, *args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        await sent(self, *args, **kwargs)

    monkeypatch.setattr(Mailer, "send", failing_once)
    async with service(settings) as c:
        raw, headers = signed(delivery("approve", ["cnaf_quotient_familial"]))
        first = await c.http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert first.status_code == 500
        assert [m for m in outbox(tmp_path) if m["To"] == TECHNICAL] == []
        retry = await c.http.post("/api/datapass/webhook", content=raw, headers=headers)
        assert retry.status_code == 200, retry.text
        (mail,) = [m for m in outbox(tmp_path) if m["To"] == TECHNICAL]
        (path,) = re.findall(r"http://testserver(/habilitation/cle/[A-Za-z0-9_\-]+)", body(mail))
        page = await c.http.get(path)
        shown = await c.http.post(path, data={"csrf": csrf(page)})
        assert re.findall(r'value="(apip_[0-9A-Za-z]+)"', shown.text)
        record = await Repository(c.app.database).by_datapass("4242")
        assert record is not None
        events = [e.event.value for e in await Repository(c.app.database).events(record.id)]
        assert events == ["create", "submit", "approve"]
