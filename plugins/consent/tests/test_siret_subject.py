"""The receipt subject."""

from __future__ import annotations

from api_particulier_consent.subject import canonical_subject, subject_digest
from hypothesis import given
from hypothesis import strategies as st


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
