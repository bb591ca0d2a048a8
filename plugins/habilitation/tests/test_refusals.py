"""Every refusal, each with nothing changed: a form without its CSRF token, another
requester's request, the instruction space to a requester, a sign-in link used twice or
expired, too many sign-in links, a file that is not a PDF or too large, an action the state
does not allow, a new request posted twice."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from api_particulier.app import ApiApp, StartupError
from api_particulier_habilitation.repository import Repository

from .support import (
    INSTRUCTOR,
    REQUESTER,
    csrf,
    filled,
    links,
    request_id_of,
    service,
    settings_for,
    sign_in,
    version_of,
)

pytestmark = pytest.mark.anyio
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def other_client(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=http._transport, base_url="http://testserver")


async def draft(http: httpx.AsyncClient, **changes: object) -> str:
    page = await http.get("/habilitation/demandes/nouvelle?profil=administration")
    request_id = request_id_of(page)
    answer = await http.post(
        "/habilitation/demandes/nouvelle",
        data=filled(csrf=csrf(page), request_id=request_id, action="brouillon", **changes),
    )
    assert answer.status_code == 303, answer.text
    return request_id


async def requests_of(app: ApiApp) -> int:
    return len(await Repository(app.database).list_requests())


async def test_forms_and_pages_refused(tmp_path: Path) -> None:
    async with service(settings_for(tmp_path)) as c:
        http = c.http
        # Signed out: sent to sign in, back afterwards.
        answer = await http.get("/habilitation/demandes/nouvelle?profil=administration")
        assert answer.status_code == 303
        assert answer.headers["location"] == (
            "/habilitation/connexion?suivant=/habilitation/demandes/nouvelle%3Fprofil%3Dadministration"
        )
        # Not an eligible profile.
        await sign_in(http, tmp_path, REQUESTER)
        answer = await http.get("/habilitation/demandes/nouvelle?profil=particulier")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/habilitation?profil=particulier"

        # No CSRF token, or another session's: refused, nothing made.
        page = await http.get("/habilitation/demandes/nouvelle?profil=administration")
        for token in (None, "0" * 64):
            data = filled(request_id=request_id_of(page), action="brouillon")
            if token:
                data["csrf"] = token
            answer = await http.post("/habilitation/demandes/nouvelle", data=data)
            assert answer.status_code == 403
            assert "Formulaire expiré" in answer.text
        assert await requests_of(c.app) == 0

        # The same new request posted twice: one request.
        data = filled(csrf=csrf(page), request_id=request_id_of(page), action="brouillon")
        for _ in range(2):
            assert (
                await http.post("/habilitation/demandes/nouvelle", data=data)
            ).status_code == 303
        assert await requests_of(c.app) == 1
        request_id = request_id_of(page)

        # A file that is not a PDF; one too large.
        page = await http.get(f"/habilitation/demandes/{request_id}")
        fields = filled(csrf=csrf(page), version=version_of(page), action="brouillon")
        answer = await http.post(
            f"/habilitation/demandes/{request_id}",
            data=fields,
            files={"legal_document": ("texte.pdf", b"<html>not a pdf</html>", "application/pdf")},
        )
        assert answer.status_code == 422
        assert "n&#39;est pas un PDF" in answer.text
        assert 'aria-describedby="legal_document-hint legal_document-error"' in answer.text
        big = PDF[:-6] + b"0" * (10 * 1024 * 1024) + b"%%EOF\n"
        answer = await http.post(
            f"/habilitation/demandes/{request_id}",
            data=fields,
            files={"legal_document": ("texte.pdf", big, "application/pdf")},
        )
        assert answer.status_code == 422
        assert "Le document dépasse 10 Mo." in answer.text
        # Far too large: refused before it is read.
        huge = big + b"0" * (1024 * 1024)
        answer = await http.post(
            f"/habilitation/demandes/{request_id}",
            data=fields,
            files={"legal_document": ("texte.pdf", huge, "application/pdf")},
        )
        assert answer.status_code == 413
        assert await Repository(c.app.database).documents(request_id) == []
        answer = await http.post(
            f"/habilitation/demandes/{request_id}",
            data={**fields, "legal_url": ""},
            files={"legal_document": ("délibération.pdf", PDF, "application/pdf")},
        )
        assert answer.status_code == 303
        (document,) = await Repository(c.app.database).documents(request_id)
        download = await http.get(f"/habilitation/demandes/{request_id}/documents/{document.id}")
        assert download.content == PDF
        assert download.headers["content-type"] == "application/pdf"

        # Submitted twice (a double click): the second changes nothing.
        page = await http.get(f"/habilitation/demandes/{request_id}")
        sent = filled(csrf=csrf(page), version=version_of(page), action="soumettre", legal_url="")
        assert (
            await http.post(f"/habilitation/demandes/{request_id}", data=sent)
        ).status_code == 303
        twice = await http.post(f"/habilitation/demandes/{request_id}", data=sent)
        assert twice.status_code == 200
        assert "rien n&#39;a été refait" in twice.text
        events = await Repository(c.app.database).events(request_id)
        assert [e.event.value for e in events] == ["create", "submit"]

        # Another requester sees nothing of it.
        stranger = other_client(http)
        await sign_in(stranger, tmp_path, "autre@ailleurs.fr")
        for path in (
            f"/habilitation/demandes/{request_id}",
            f"/habilitation/demandes/{request_id}/documents/{document.id}",
        ):
            assert (await stranger.get(path)).status_code == 404
        page = await stranger.get("/habilitation/demandes")
        answer = await stranger.post(
            f"/habilitation/demandes/{request_id}",
            data=filled(csrf=csrf(page), action="soumettre", title="Détournée"),
        )
        assert answer.status_code == 404
        # Nor the instruction space.
        assert (await stranger.get("/habilitation/instruction")).status_code == 403
        answer = await stranger.post(
            f"/habilitation/instruction/demandes/{request_id}/validation",
            data={"csrf": csrf(page), "version": "1"},
        )
        assert answer.status_code == 403
        record = await Repository(c.app.database).get(request_id)
        assert record is not None and record.form.title != "Détournée"
        await stranger.aclose()

        # Validating a draft: refused with the reason, nothing changed.
        await Repository(c.app.database).add_instructor(INSTRUCTOR, time.time())
        instructor = other_client(http)
        await sign_in(instructor, tmp_path, INSTRUCTOR)
        other_draft = await draft(http)
        page = await instructor.get(f"/habilitation/instruction/demandes/{other_draft}")
        answer = await instructor.post(
            f"/habilitation/instruction/demandes/{other_draft}/validation",
            data={"csrf": csrf(page), "version": version_of(page)},
        )
        assert answer.status_code == 409
        assert "Action impossible : la demande est dans l&#39;état « Brouillon »" in answer.text
        record = await Repository(c.app.database).get(other_draft)
        assert record is not None and record.state.value == "draft" and record.version == 1
        # A refusal without its reason.
        page = await instructor.get(f"/habilitation/instruction/demandes/{request_id}")
        answer = await instructor.post(
            f"/habilitation/instruction/demandes/{request_id}/refus",
            data={"csrf": csrf(page), "version": version_of(page), "message": "  "},
        )
        assert answer.status_code == 409
        assert "Indiquez le motif du refus" in answer.text
        # Validated, then edited: refused.
        await instructor.post(
            f"/habilitation/instruction/demandes/{request_id}/validation",
            data={"csrf": csrf(page), "version": version_of(page)},
        )
        page = await http.get(f"/habilitation/demandes/{request_id}")
        answer = await http.post(
            f"/habilitation/demandes/{request_id}",
            data=filled(csrf=csrf(page), action="brouillon", title="Changée"),
        )
        assert answer.status_code == 409
        assert "ne peut plus être modifiée" in answer.text
        record = await Repository(c.app.database).get(request_id)
        assert record is not None and record.state.value == "validated"
        assert record.form.title != "Changée"
        await instructor.aclose()


async def test_sign_in_links(tmp_path: Path) -> None:
    async with service(settings_for(tmp_path, sign_in_limit=3)) as c:
        http = c.http
        await sign_in(http, tmp_path, REQUESTER)
        link = links(tmp_path, REQUESTER, "/habilitation/connexion/")[-1]
        # Used once already.
        page = await http.get(link)
        answer = await http.post(link, data={"csrf": csrf(page)})
        assert answer.status_code == 410
        # Expired after 15 minutes.
        fresh = other_client(http)
        page = await fresh.get("/habilitation/connexion")
        await fresh.post(
            "/habilitation/connexion",
            data={"csrf": csrf(page), "email": REQUESTER, "suivant": "//ailleurs.example/"},
        )
        link = links(tmp_path, REQUESTER, "/habilitation/connexion/")[-1]
        await c.app.database.execute(
            "UPDATE habilitation_sign_in_links SET expires_at = :past", {"past": time.time() - 1}
        )
        confirm = await fresh.get(link)
        assert (await fresh.post(link, data={"csrf": csrf(confirm)})).status_code == 410
        # A malformed address, its message tied to the field.
        page = await fresh.get("/habilitation/connexion")
        answer = await fresh.post(
            "/habilitation/connexion", data={"csrf": csrf(page), "email": "pas une adresse"}
        )
        assert answer.status_code == 422
        assert 'aria-describedby="email-hint email-error"' in answer.text
        # The third link within 15 minutes is the last.
        answer = await fresh.post(
            "/habilitation/connexion", data={"csrf": csrf(page), "email": REQUESTER}
        )
        assert answer.status_code == 200
        answer = await fresh.post(
            "/habilitation/connexion", data={"csrf": csrf(page), "email": REQUESTER}
        )
        assert answer.status_code == 429
        # Another address, from the same client (an office behind one proxy), still may.
        answer = await fresh.post(
            "/habilitation/connexion", data={"csrf": csrf(page), "email": "collegue@mairie.fr"}
        )
        assert answer.status_code == 200
        # The unsafe return address asked for was replaced by the requester's page.
        rows = await c.app.database.fetch_all(
            "SELECT DISTINCT next_path FROM habilitation_sign_in_links"
        )
        assert {row[0] for row in rows} == {"/habilitation/demandes"}
        await fresh.aclose()


async def test_the_session_cookie(tmp_path: Path) -> None:
    async with service(settings_for(tmp_path)) as c:
        page = await c.http.get("/habilitation/connexion")
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        # A forged cookie is a new anonymous session.
        forged = other_client(c.http)
        forged.cookies.set("habilitation_session", "eyJlIjoiYWdlbnRAZXhlbXBsZS5mciJ9.forged")
        answer = await forged.get("/habilitation/demandes")
        assert answer.status_code == 303
        await forged.aclose()


async def test_signing_out_ends_every_copy_of_the_session(store: str, tmp_path: Path) -> None:
    """A session is a signed cookie: signing out must also end a copy of it kept elsewhere
    (another browser, a stolen cookie), on every host."""
    async with service(settings_for(tmp_path, store)) as c:
        await sign_in(c.http, tmp_path, REQUESTER)
        copy = other_client(c.http)
        copy.cookies.set("habilitation_session", c.http.cookies["habilitation_session"])
        assert (await copy.get("/habilitation/demandes")).status_code == 200
        page = await c.http.get("/habilitation/demandes")
        signed_out = await c.http.post("/habilitation/deconnexion", data={"csrf": csrf(page)})
        assert signed_out.status_code == 303
        assert (await c.http.get("/habilitation/demandes")).status_code == 303
        assert (await copy.get("/habilitation/demandes")).status_code == 303  # sign in again
        # Signing in again opens a new session, which the earlier sign-out does not end.
        await sign_in(c.http, tmp_path, REQUESTER)
        assert (await c.http.get("/habilitation/demandes")).status_code == 200
        await copy.aclose()


async def test_a_short_session_secret_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SESSION_SECRET", "short")
    settings = settings_for(tmp_path, session_secret={"env": "TEST_SESSION_SECRET"})
    with pytest.raises(StartupError, match="session_secret must hold at least 32"):
        async with service(settings):
            pass


async def test_an_instructor_archives(tmp_path: Path) -> None:
    async with service(settings_for(tmp_path)) as c:
        await sign_in(c.http, tmp_path, REQUESTER)
        request_id = await draft(c.http)
        await Repository(c.app.database).add_instructor(INSTRUCTOR, time.time())
        instructor = other_client(c.http)
        await sign_in(instructor, tmp_path, INSTRUCTOR)
        page = await instructor.get(f"/habilitation/instruction/demandes/{request_id}")
        assert "Archiver" in page.text and "Valider" not in page.text
        answer = await instructor.post(
            f"/habilitation/instruction/demandes/{request_id}/archivage",
            data={"csrf": csrf(page), "version": version_of(page)},
        )
        assert answer.status_code == 303
        record = await Repository(c.app.database).get(request_id)
        assert record is not None and record.state.value == "archived"
        # An archived request is edited no more.
        page = await c.http.get(f"/habilitation/demandes/{request_id}")
        answer = await c.http.post(
            f"/habilitation/demandes/{request_id}",
            data=filled(csrf=csrf(page), action="brouillon", title="Autre"),
        )
        assert answer.status_code == 409
        await instructor.aclose()
