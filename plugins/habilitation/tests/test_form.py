"""Server-side checks of the request form: a draft needs a title and well formed values;
a submission needs everything, with the message next to each field."""

from __future__ import annotations

import datetime

from api_particulier_habilitation.form import RequestForm, problems, request_form
from starlette.datastructures import FormData, UploadFile

from .support import filled

SCOPES = frozenset({"cnaf_quotient_familial", "cnaf_allocataires", "cnaf_adresse"})
TODAY = datetime.date(2026, 12, 3)


def form_of(fields: dict[str, object]) -> RequestForm:
    items: list[tuple[str, str | UploadFile]] = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((name, str(one)))
    data = FormData(items)
    return request_form(data, data.getlist)


def check(form: RequestForm, *, complete: bool = True) -> dict[str, str]:
    return problems(form, SCOPES, complete=complete, today=TODAY)


def test_a_complete_form_passes() -> None:
    assert check(form_of(filled())) == {}


def test_a_draft_needs_only_a_title() -> None:
    assert check(RequestForm(title="Cantine"), complete=False) == {}
    assert set(check(RequestForm(), complete=False)) == {"title"}
    missing = check(RequestForm(title="Cantine"))
    for field in (
        "siret",
        "description",
        "simplification",
        "legal_nature",
        "legal_article",
        "legal_url",
        "scopes",
        "recipients",
        "retention_months",
        "volume",
        "production_date",
        "business_name",
        "technical_email",
        "dpo_phone",
        "terms_accepted",
        "dpo_informed",
    ):
        assert field in missing, field


def test_each_malformed_value_is_named() -> None:
    found = check(
        form_of(
            filled(
                siret="21750001600018",
                business_email="pas-une-adresse",
                technical_phone="12345",
                legal_url="ftp://ailleurs",
                scopes=["cnaf_inconnu"],
                retention_months="1201",
                volume="infini",
                production_date="31/02/2027",
                legal_nature="coutume",
            )
        ),
        complete=False,
    )
    assert set(found) == {
        "siret",
        "business_email",
        "technical_phone",
        "legal_url",
        "scopes",
        "retention_months",
        "volume",
        "production_date",
        "legal_nature",
    }


def test_a_long_retention_needs_a_justification() -> None:
    assert "retention_justification" in check(form_of(filled(retention_months="48")))
    assert (
        check(form_of(filled(retention_months="48", retention_justification="Contentieux"))) == {}
    )
    assert check(form_of(filled(retention_months="36"))) == {}


def test_a_pdf_replaces_the_url() -> None:
    without_url = form_of(filled(legal_url=""))
    assert "legal_url" in check(without_url)
    assert problems(without_url, SCOPES, complete=True, has_document=True, today=TODAY) == {}


def test_a_publisher_names_the_administration_it_acts_for() -> None:
    found = check(form_of(filled(profile="editeur")))
    assert set(found) == {"entity_siret", "entity_eligibility"}
    assert (
        check(
            form_of(
                filled(
                    profile="editeur",
                    entity_siret="35600000000047",
                    entity_eligibility="Commune cliente",
                )
            )
        )
        == {}
    )


def test_phones_and_sirets_are_read_as_people_type_them() -> None:
    form = form_of(filled(siret="217 500 016 00019", dpo_phone="01.23.45.67.89"))
    assert form.siret == "21750001600019"
    assert form.dpo.phone == "0123456789"
    assert check(form) == {}
