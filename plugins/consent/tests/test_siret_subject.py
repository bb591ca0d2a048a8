"""SIRET validation and the receipt subject."""

from __future__ import annotations

import pytest
from api_particulier_consent.siret import is_valid_siret, luhn_valid
from api_particulier_consent.subject import canonical_subject, subject_digest
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    "siret",
    [
        "13002526500013",  # a State administration
        "35600000000048",  # La Poste's head office: passes Luhn too
        "35600000049837",  # a La Poste establishment: digits add up to 45, Luhn fails
    ],
)
def test_valid(siret: str) -> None:
    assert is_valid_siret(siret)


@pytest.mark.parametrize(
    "siret",
    ["", "1300252650001", "130025265000130", "13002526500014", "35600000000049", "1300252650001a"],
)
def test_invalid(siret: str) -> None:
    assert not is_valid_siret(siret)


@given(st.text(alphabet="0123456789", min_size=14, max_size=14))
def test_rule_on_any_fourteen_digits(siret: str) -> None:
    la_poste = siret.startswith("356000000") and sum(map(int, siret)) % 5 == 0
    assert is_valid_siret(siret) == (luhn_valid(siret) or la_poste)


@given(st.text(max_size=40))
def test_anything_else_is_refused_quietly(text: str) -> None:
    if not (len(text) == 14 and text.isascii() and text.isdigit()):
        assert not is_valid_siret(text)


def test_worked_examples_of_the_docs() -> None:
    dgfip = {"referenceAvis": "2345678901234", "numeroFiscal": "1234567890123"}
    assert canonical_subject(dgfip) == "numeroFiscal=1234567890123&referenceAvis=2345678901234"
    assert subject_digest(dgfip) == "KGwa3kP-MlPyG66WcB-FiancgAkPq7YztW61ea_HtVI"
    cnaf = {"numeroAllocataire": "0012345", "codePostal": "75002"}
    assert canonical_subject(cnaf) == "codePostal=75002&numeroAllocataire=0012345"
    assert subject_digest(cnaf) == "ewPrktxBNVDeJFn9dJsv_V4agBo1r2enttIAm-DWhsc"


@given(st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=4))
def test_subject_ignores_order(params: dict[str, str]) -> None:
    reordered = dict(reversed(list(params.items())))
    digest = subject_digest(params)
    assert digest == subject_digest(reordered)
    assert len(digest) == 43 and "=" not in digest
