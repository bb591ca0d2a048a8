"""The access request form: its fields, read from a submitted page, and checked server-side.

A draft needs only a title, and what is filled must be well formed; a submission needs
every required field. Each problem is a French sentence keyed by the field's name, shown
next to the field.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

import msgspec
from api_particulier import is_valid_siret

from .siret import normalise

PROFILES = {
    "administration": "Administration ou collectivité territoriale",
    "editeur": "Éditeur de logiciel agissant pour une administration",
}
LEGAL_NATURES = {
    "loi": "Loi",
    "decret": "Décret",
    "arrete": "Arrêté",
    "deliberation": "Délibération du conseil",
    "reglement_ue": "Règlement européen",
    "autre": "Autre texte",
}
VOLUMES = {
    "moins_1000": "Moins de 1 000 appels par mois",
    "1000_10000": "De 1 000 à 10 000 appels par mois",
    "10000_100000": "De 10 000 à 100 000 appels par mois",
    "plus_100000": "Plus de 100 000 appels par mois",
}
CONTACTS = {
    "business": "Responsable métier",
    "technical": "Contact technique",
    "dpo": "Délégué à la protection des données",
}
RETENTION_JUSTIFIED_ABOVE = 36
INVALID_SIRET = "Ce numéro SIRET n'est pas valide (14 chiffres, clé de contrôle)."
MAX_RETENTION = 1200
EMAIL = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", re.ASCII)
_PHONE = re.compile(r"(\+33|0)[1-9][0-9]{8}", re.ASCII)
_URL = re.compile(r"https?://[^\s<>\"']+\.[^\s<>\"']+", re.ASCII)


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    name: str = ""
    email: str = ""
    phone: str = ""


class RequestForm(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a requester fills; kept as JSON, and as the validated snapshot."""

    profile: str = "administration"
    siret: str = ""
    title: str = ""
    description: str = ""
    simplification: str = ""
    legal_nature: str = ""
    legal_article: str = ""
    legal_url: str = ""
    scopes: tuple[str, ...] = ()
    recipients: str = ""
    retention_months: str = ""
    retention_justification: str = ""
    volume: str = ""
    production_date: str = ""
    business: Contact = Contact()
    technical: Contact = Contact()
    dpo: Contact = Contact()
    entity_siret: str = ""
    entity_eligibility: str = ""
    terms_accepted: bool = False
    dpo_informed: bool = False

    @property
    def is_publisher(self) -> bool:
        return self.profile == "editeur"


# Bounds on free text, so that a form cannot fill the store.
_LIMITS = {
    "title": 200,
    "description": 5000,
    "simplification": 5000,
    "legal_article": 500,
    "legal_url": 1000,
    "recipients": 2000,
    "retention_justification": 2000,
    "entity_eligibility": 2000,
}


def request_form(data: Mapping[str, Any], getlist: Callable[[str], list[Any]]) -> RequestForm:
    """The form as submitted (``data`` a page's fields); nothing checked yet."""

    def text(name: str) -> str:
        value = data.get(name)
        return value.strip() if isinstance(value, str) else ""

    def contact(prefix: str) -> Contact:
        return Contact(
            name=text(f"{prefix}_name"),
            email=text(f"{prefix}_email"),
            phone=re.sub(r"[\s.\-]", "", text(f"{prefix}_phone")),
        )

    profile = text("profile")
    return RequestForm(
        profile=profile if profile in PROFILES else "administration",
        siret=normalise(text("siret")),
        title=text("title"),
        description=text("description"),
        simplification=text("simplification"),
        legal_nature=text("legal_nature"),
        legal_article=text("legal_article"),
        legal_url=text("legal_url"),
        scopes=tuple(sorted({s for s in getlist("scopes") if isinstance(s, str)})),
        recipients=text("recipients"),
        retention_months=text("retention_months"),
        retention_justification=text("retention_justification"),
        volume=text("volume"),
        production_date=text("production_date"),
        business=contact("business"),
        technical=contact("technical"),
        dpo=contact("dpo"),
        entity_siret=normalise(text("entity_siret")),
        entity_eligibility=text("entity_eligibility"),
        terms_accepted=data.get("terms_accepted") == "on",
        dpo_informed=data.get("dpo_informed") == "on",
    )


def problems(
    form: RequestForm,
    known_scopes: Collection[str],
    *,
    complete: bool,
    has_document: bool = False,
    today: datetime.date | None = None,
) -> dict[str, str]:
    """Field name → French message. ``complete``: checked for a submission, else as a
    draft (a title, and what is filled well formed)."""
    found: dict[str, str] = {}
    today = today or datetime.date.today()

    def need(name: str, value: str, message: str) -> None:
        if complete and not value:
            found.setdefault(name, message)

    if not form.title:
        found["title"] = "Indiquez l'intitulé de votre démarche."
    for name, limit in _LIMITS.items():
        if len(getattr(form, name)) > limit:
            found[name] = f"Ce texte dépasse {limit} caractères."

    if form.siret and not is_valid_siret(form.siret):
        found["siret"] = INVALID_SIRET
    need("siret", form.siret, "Indiquez le numéro SIRET de votre organisation.")
    need("description", form.description, "Décrivez votre démarche.")
    need(
        "simplification",
        form.simplification,
        "Expliquez en quoi l'accès aux données simplifie la démarche des usagers.",
    )

    if form.legal_nature and form.legal_nature not in LEGAL_NATURES:
        found["legal_nature"] = "Choisissez la nature du texte dans la liste."
    need("legal_nature", form.legal_nature, "Choisissez la nature du texte.")
    need("legal_article", form.legal_article, "Indiquez la référence du texte et son article.")
    if form.legal_url and not _URL.fullmatch(form.legal_url):
        found["legal_url"] = "Indiquez une adresse web commençant par https:// ou http://."
    if complete and not form.legal_url and not has_document:
        found.setdefault(
            "legal_url", "Indiquez l'adresse du texte ou joignez-le en PDF (10 Mo au plus)."
        )

    unknown = [s for s in form.scopes if s not in known_scopes]
    if unknown:
        found["scopes"] = "Certaines données cochées n'existent pas : rechargez la page."
    elif complete and not form.scopes:
        found["scopes"] = "Cochez au moins une donnée."

    need(
        "recipients", form.recipients, "Indiquez qui, dans votre organisation, reçoit les données."
    )
    retention = _months(form.retention_months)
    if form.retention_months and retention is None:
        found["retention_months"] = f"Indiquez un nombre de mois entre 0 et {MAX_RETENTION}."
    need("retention_months", form.retention_months, "Indiquez la durée de conservation en mois.")
    if (
        retention is not None
        and retention > RETENTION_JUSTIFIED_ABOVE
        and not form.retention_justification
    ):
        found["retention_justification"] = (
            f"Justifiez une conservation de plus de {RETENTION_JUSTIFIED_ABOVE} mois."
        )

    if form.volume and form.volume not in VOLUMES:
        found["volume"] = "Choisissez une volumétrie dans la liste."
    need("volume", form.volume, "Indiquez la volumétrie attendue.")
    if form.production_date:
        date = _date(form.production_date)
        if date is None:
            found["production_date"] = "Indiquez une date au format JJ/MM/AAAA."
        elif date < today - datetime.timedelta(days=366):
            found["production_date"] = "Cette date est trop ancienne."
    need("production_date", form.production_date, "Indiquez la date de mise en production.")

    for prefix, label in CONTACTS.items():
        person: Contact = getattr(form, prefix)
        if person.email and not EMAIL.fullmatch(person.email):
            found[f"{prefix}_email"] = "Cette adresse électronique n'est pas valide."
        if person.phone and not _PHONE.fullmatch(person.phone):
            found[f"{prefix}_phone"] = (
                "Ce numéro de téléphone n'est pas valide (10 chiffres, ou +33 et 9 chiffres)."
            )
        if len(person.name) > 200:
            found[f"{prefix}_name"] = "Ce nom dépasse 200 caractères."
        need(f"{prefix}_name", person.name, f"Indiquez le nom du {label.lower()}.")
        need(
            f"{prefix}_email", person.email, f"Indiquez l'adresse électronique du {label.lower()}."
        )
        need(f"{prefix}_phone", person.phone, f"Indiquez le téléphone du {label.lower()}.")

    if form.is_publisher:
        if form.entity_siret and not is_valid_siret(form.entity_siret):
            found["entity_siret"] = (
                "Ce numéro SIRET n'est pas valide (14 chiffres, clé de contrôle)."
            )
        need("entity_siret", form.entity_siret, "Indiquez le SIRET de l'administration cliente.")
        need(
            "entity_eligibility",
            form.entity_eligibility,
            "Expliquez pourquoi l'administration cliente est éligible.",
        )

    if complete and not form.terms_accepted:
        found["terms_accepted"] = "Acceptez les conditions générales d'utilisation."
    if complete and not form.dpo_informed:
        found["dpo_informed"] = "Confirmez que le délégué à la protection des données est informé."
    return found


def retention(form: RequestForm) -> int | None:
    return _months(form.retention_months)


def _months(text: str) -> int | None:
    if not re.fullmatch(r"[0-9]{1,4}", text, re.ASCII):
        return None
    value = int(text)
    return value if value <= MAX_RETENTION else None


def _date(text: str) -> datetime.date | None:
    for shape in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(text, shape).date()
        except ValueError:
            continue
    return None


def legal_basis(form: RequestForm) -> str:
    """The legal basis as one line, for the application."""
    nature = LEGAL_NATURES.get(form.legal_nature, "")
    parts = [p for p in (nature, form.legal_article, form.legal_url) if p]
    return " — ".join(parts)


def contact_line(person: Contact) -> str:
    return ", ".join(p for p in (person.name, person.email, person.phone) if p)
