from __future__ import annotations

import pytest
from api_particulier import ProviderBadRequest, ProviderUnavailable, SubjectNotFound
from api_particulier_cnaf.codes import CODES, UNKNOWN_CODE_MESSAGE, error_for_code


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_known_code_maps_by_family_with_the_cnaf_sentence(code: int) -> None:
    family, sentence = CODES[code]
    error = error_for_code(code)
    expected = {404: SubjectNotFound, 400: ProviderBadRequest, 500: ProviderUnavailable}[family]
    assert type(error) is expected
    assert error.reason == sentence
    assert error.message == sentence
    assert error.status == {404: 404, 400: 400, 500: 503}[family]
    assert error.error == {404: "not_found", 400: "bad_request", 500: "data_provider_error"}[family]


def test_the_table_is_complete() -> None:
    assert len(CODES) == 36
    assert CODES[133] == (404, "Dossier allocataire inexistant. Le document ne peut être édité.")
    # The sentence of 103 is kept verbatim, trailing space included.
    assert CODES[103][1].endswith("numéro court). ")


@pytest.mark.parametrize("code", [4, 134, 999, 1])
def test_an_unknown_code_is_a_503_with_the_fixed_sentence(code: int) -> None:
    error = error_for_code(code)
    assert isinstance(error, ProviderUnavailable)
    assert error.status == 503
    assert error.error == "data_provider_error"
    assert error.reason == f"Unknown error code {code}"
    assert error.message == UNKNOWN_CODE_MESSAGE == "Erreur inconnue du fournisseur de donnée CAF"
