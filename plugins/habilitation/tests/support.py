"""What the habilitation tests share: the service with its providers, the outbox, signing
in from an e-mail, a filled form, and the CSRF token of a page."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from api_particulier.app import create_app
from api_particulier.settings import Settings
from api_particulier.store import migrate
from api_particulier.testing import TestClient, make_settings
from api_particulier_cnaf.plugin import CnafPlugin
from api_particulier_dgfip.plugin import DgfipPlugin
from api_particulier_habilitation.plugin import HabilitationPlugin

SIRET = "21750001600019"  # Ville de Paris: passes Luhn
LA_POSTE_SIRET = "35600000000047"
REQUESTER = "agent.cantine@mairie-exemple.fr"
INSTRUCTOR = "instructrice@api-particulier.example"
PERSONAL = ("Camille Martin", "camille.martin@mairie-exemple.fr", "0612345678")


def plugins() -> dict[str, object]:
    return {"dgfip": DgfipPlugin(), "cnaf": CnafPlugin(), "habilitation": HabilitationPlugin()}


def settings_for(tmp_path: Path, store: str = "sqlite", **table: Any) -> Settings:
    return make_settings(
        tmp_path,
        enabled=["dgfip", "cnaf", "habilitation"],
        plugins={"habilitation": {"public_url": "http://testserver", **table}},
        store=store,
    )


@asynccontextmanager
async def service(settings: Settings) -> AsyncIterator[TestClient]:
    """The service with the two providers and this plugin (its tables made first on
    PostgreSQL, as `db upgrade` would)."""
    app = create_app(settings, plugins=plugins())
    if settings.core.store != "sqlite" and str(settings.core.store).startswith("postgres"):
        await migrate(settings, apply=True, plugins=app.migrations)
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield TestClient(app=app, http=http)


def outbox(data_dir: Path) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted((data_dir / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        found.append(message)
    return found


def body(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def links(data_dir: Path, to: str, path: str) -> list[str]:
    """The paths of the links under ``path`` in the e-mails sent to ``to``, oldest first."""
    found = []
    for message in outbox(data_dir):
        if message["To"] == to:
            found += re.findall(
                rf"http://testserver({re.escape(path)}[A-Za-z0-9_\-/]+)", body(message)
            )
    return found


def csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def sign_in(http: httpx.AsyncClient, data_dir: Path, address: str) -> None:
    """Ask for a link, open the one e-mailed, confirm: the client holds the session."""
    page = await http.get("/habilitation/connexion")
    sent = await http.post(
        "/habilitation/connexion",
        data={"csrf": csrf(page), "email": address, "suivant": "/habilitation/demandes"},
    )
    assert sent.status_code == 200, sent.text
    link = links(data_dir, address, "/habilitation/connexion/")[-1]
    confirm = await http.get(link)
    # The page holds the link's token: never kept by a browser or a proxy.
    assert confirm.headers["cache-control"] == "no-store"
    used = await http.post(link, data={"csrf": csrf(confirm)})
    assert used.status_code == 303, used.text


def filled(**changes: Any) -> dict[str, Any]:
    """A complete request form, as a browser posts it."""
    name, address, phone = PERSONAL
    form: dict[str, Any] = {
        "profile": "administration",
        "siret": SIRET,
        "title": "Tarification sociale de la cantine",
        "description": "Calcul du tarif de la cantine scolaire selon le quotient familial.",
        "simplification": "Les familles n'envoient plus leur attestation de quotient familial.",
        "legal_nature": "loi",
        "legal_article": "Article L114-8 du code des relations entre le public et l'administration",
        "legal_url": "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000031367412",
        "scopes": ["cnaf_quotient_familial", "cnaf_allocataires"],
        "recipients": "Service des affaires scolaires",
        "retention_months": "12",
        "volume": "moins_1000",
        "production_date": "2027-01-15",
        "business_name": name,
        "business_email": address,
        "business_phone": phone,
        "technical_name": "Dominique Bernard",
        "technical_email": "dominique.bernard@mairie-exemple.fr",
        "technical_phone": "0123456789",
        "dpo_name": "Alex Petit",
        "dpo_email": "dpo@mairie-exemple.fr",
        "dpo_phone": "+33198765432",
        "terms_accepted": "on",
        "dpo_informed": "on",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def request_id_of(page: httpx.Response) -> str:
    match = re.search(r'name="request_id" value="([0-9a-f]+)"', page.text)
    assert match
    return match.group(1)


def version_of(page: httpx.Response) -> str:
    match = re.search(r'name="version" value="([0-9]+)"', page.text)
    assert match
    return match.group(1)


def merged(*parts: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        out.update(part)
    return out
