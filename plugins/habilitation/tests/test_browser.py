"""The whole path in a real browser (Debian's Chromium): eligibility, the form refused
with its errors, submitted; the instructor signs in from the e-mail and asks for changes;
the requester edits and resubmits; the instructor validates; the requester sees the key
once, and that key calls ``/api/introspect`` with exactly the scopes granted. Each page is
kept as a screenshot for docs/habilitation.md."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from api_particulier.cli import main
from api_particulier.testing import assert_images_have_text_alternative, save_screenshot
from playwright.sync_api import Page, expect

from .support import INSTRUCTOR, PERSONAL, REQUESTER, links, plugins, settings_for


def sign_in(page: Page, url: str, data_dir: Path, address: str, start: str) -> None:
    """From ``start`` (a page that asks to sign in), through the e-mailed link."""
    page.goto(f"{url}{start}")
    settle(page)
    settle(page)
    page.get_by_label("Adresse électronique").fill(address)
    page.get_by_role("button", name="Recevoir un lien de connexion").click()
    settle(page)
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre messagerie")
    link = links(data_dir, address, "/habilitation/connexion/")[-1]
    page.goto(f"{url}{link}")
    settle(page)
    settle(page)
    page.get_by_role("button", name="Me connecter").click()
    settle(page)


def settle(page: Page) -> None:
    """Let the page load everything it asks for before the next step leaves it."""
    page.wait_for_load_state("networkidle")


def tick(page: Page, label: str) -> None:
    """Tick (or untick) a DSFR radio or checkbox: its label is what one clicks."""
    page.locator("label", has_text=label).first.click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    settle(page)
    settle(page)


def test_the_whole_path_in_a_browser(
    tmp_path: Path,
    live_server: Callable[..., str],
    browser_page: Page,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = browser_page
    settings = settings_for(tmp_path, sign_in_limit=20)
    url = live_server(settings, plugins=plugins())
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("API_PARTICULIER_CONFIG", raising=False)
    # The operator's command (in a thread: Playwright's loop runs in this one).
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(main, ["habilitation", "instructor", "add", INSTRUCTOR]).result() == 0

    # Eligibility: an individual is not eligible, an administration is.
    page.goto(f"{url}/habilitation")
    settle(page)
    assert_images_have_text_alternative(page)
    # By keyboard alone: the skip link first, then the choice and the button.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#contenu"
    page.locator("#profil-particulier").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Vérifier mon éligibilité"
    page.keyboard.press("Enter")
    settle(page)
    expect(page.locator("#resultat")).to_contain_text("Vous n'êtes pas éligible")
    tick(page, "Une administration ou une collectivité territoriale")
    page.get_by_role("button", name="Vérifier mon éligibilité").click()
    settle(page)
    expect(page.locator("#resultat")).to_contain_text("Vous êtes éligible")
    save_screenshot(page, "habilitation-eligibilite")
    start = "/habilitation/demandes/nouvelle?profil=administration"

    # Signing in on the way to the form.
    page.get_by_role("link", name="Commencer ma demande").click()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    save_screenshot(page, "habilitation-connexion")
    sign_in(page, url, tmp_path, REQUESTER, start)
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouvelle demande d'habilitation")

    # The form refused, each error next to its field and linked to it.
    page.get_by_label("Intitulé de la démarche").fill("Tarification sociale de la cantine")
    page.get_by_label("Numéro SIRET de l'organisation").fill("21750001600018")
    page.get_by_role("button", name="Soumettre la demande").click()
    settle(page)
    siret = page.get_by_label("Numéro SIRET de l'organisation")
    expect(siret).to_have_attribute("aria-invalid", "true")
    described = siret.get_attribute("aria-describedby") or ""
    assert "siret-error" in described
    expect(page.locator("#siret-error")).to_contain_text("n'est pas valide")
    expect(page.locator("#scopes-error")).to_contain_text("Cochez au moins une donnée")
    save_screenshot(page, "habilitation-formulaire-erreurs")

    # Filled in full and submitted.
    name, address, phone = PERSONAL
    siret.fill("21750001600019")
    page.get_by_label("Description de la démarche").fill("Tarif de la cantine selon le QF.")
    page.get_by_label("En quoi l'accès aux données simplifie").fill(
        "Les familles n'envoient plus d'attestation."
    )
    page.get_by_label("Volumétrie attendue").select_option("moins_1000")
    page.get_by_label("Date de mise en production prévue").fill("2027-01-15")
    page.get_by_label("Nature du texte").select_option("loi")
    page.get_by_label("Référence du texte et article").fill("Article L114-8 du CRPA")
    page.get_by_label("Adresse du texte").fill("https://www.legifrance.gouv.fr/codes/id/L114-8")
    tick(page, "Quotient familial, avec son mois et son année")
    tick(page, "Adresse déclarée à la CAF")
    page.get_by_label("Destinataires des données").fill("Service des affaires scolaires")
    page.get_by_label("Durée de conservation, en mois").fill("12")
    for prefix, person in (
        ("business", (name, address, phone)),
        ("technical", ("Dominique Bernard", "dominique.bernard@mairie-exemple.fr", "0123456789")),
        ("dpo", ("Alex Petit", "dpo@mairie-exemple.fr", "0198765432")),
    ):
        page.locator(f"#{prefix}_name").fill(person[0])
        page.locator(f"#{prefix}_email").fill(person[1])
        page.locator(f"#{prefix}_phone").fill(person[2])
    tick(page, "J'accepte les conditions générales")
    tick(page, "Le délégué à la protection des données de mon organisation")
    page.get_by_role("button", name="Soumettre la demande").click()
    settle(page)
    expect(page.get_by_role("status")).to_contain_text("transmise à l'équipe d'instruction")
    request_path = page.url.removeprefix(url).split("?")[0]
    request_id = request_path.rsplit("/", 1)[1]
    save_screenshot(page, "habilitation-demande-soumise")
    sign_out(page)

    # The instructor, from the e-mail, asks for changes.
    assert links(tmp_path, INSTRUCTOR, "/habilitation/instruction/demandes/")
    instruction_path = f"/habilitation/instruction/demandes/{request_id}"
    sign_in(page, url, tmp_path, INSTRUCTOR, f"/habilitation/connexion?suivant={instruction_path}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(request_id)
    page.goto(f"{url}/habilitation/instruction")
    settle(page)
    save_screenshot(page, "habilitation-instruction")
    page.get_by_role("link", name=request_id).click()
    settle(page)
    page.get_by_label("Modifications attendues").fill(
        "Le quotient familial suffit : retirez l'adresse."
    )
    save_screenshot(page, "habilitation-instruction-demande")
    page.get_by_role("button", name="Demander des modifications").click()
    settle(page)
    expect(page.locator(".fr-badge").first).to_have_text("Modifications demandées")
    sign_out(page)

    # The requester edits and resubmits.
    sign_in(page, url, tmp_path, REQUESTER, f"/habilitation/connexion?suivant={request_path}")
    expect(page.locator("#historique + ol")).to_contain_text("retirez l'adresse")
    tick(page, "Adresse déclarée à la CAF")
    save_screenshot(page, "habilitation-modifications")
    page.get_by_role("button", name="Soumettre la demande").click()
    settle(page)
    expect(page.get_by_role("status")).to_contain_text("transmise")
    sign_out(page)

    # The instructor validates.
    sign_in(page, url, tmp_path, INSTRUCTOR, f"/habilitation/connexion?suivant={instruction_path}")
    page.get_by_role("button", name="Valider").click()
    settle(page)
    expect(page.locator(".fr-badge").first).to_have_text("Validée")
    sign_out(page)

    # The requester sees the key, once.
    sign_in(page, url, tmp_path, REQUESTER, f"/habilitation/connexion?suivant={request_path}")
    save_screenshot(page, "habilitation-validee")
    page.get_by_role("button", name="Afficher ma clé d'API").click()
    settle(page)
    key = page.get_by_label("Clé d'API").input_value()
    assert key.startswith("apip_")
    save_screenshot(page, "habilitation-cle")
    page.goto(f"{url}{request_path}")
    settle(page)
    expect(page.get_by_role("button", name="Afficher ma clé d'API")).to_have_count(0)
    assert key not in page.content()

    answer = httpx.get(f"{url}/api/introspect", headers={"x-api-key": key})
    assert answer.status_code == 200
    assert answer.json()["scopes"] == ["cnaf_quotient_familial"]
    settle(page)
