"""The SVAIR page parsers on the recorded samples, on edge cases and on mutated pages."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest
from api_particulier.errors import (
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    SubjectNotFound,
)
from api_particulier_dgfip.model import AvisImposition
from api_particulier_dgfip.svair import values
from api_particulier_dgfip.svair.form import FormState, parse_form_page
from api_particulier_dgfip.svair.parser import parse_result_page
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).parent / "data"


def sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# What each recorded sample must give, from the samples' README.
_EXPECTED = json.loads((Path(__file__).parent / "expected.json").read_text(encoding="utf-8"))
EXPECTED: dict[str, dict[str, Any]] = _EXPECTED["results"]
ERRORS: dict[str, type[ProviderError]] = {
    name: {
        "SubjectNotFound": SubjectNotFound,
        "ProviderRateLimited": ProviderRateLimited,
        "ProviderBadResponse": ProviderBadResponse,
    }[kind]
    for name, kind in _EXPECTED["errors"].items()
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_result_pages(name: str) -> None:
    parsed = msgspec.to_builtins(parse_result_page(sample(name)))
    assert parsed == EXPECTED[name]
    # The body as received, undecoded, gives the same notice.
    assert parse_result_page(sample(name).encode("utf-8")) == parse_result_page(sample(name))


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_recorded_error_pages(name: str) -> None:
    with pytest.raises(ERRORS[name]):
        parse_result_page(sample(name))
    with pytest.raises(ERRORS[name]):
        parse_result_page(sample(name).encode("utf-8"))


def test_error_texts_follow_the_contract() -> None:
    with pytest.raises(SubjectNotFound) as not_found:
        parse_result_page(sample("error-not-found-nontrouve.html"))
    assert not_found.value.reason == not_found.value.message
    assert not_found.value.message.startswith("Les paramètres fournis sont incorrects")
    with pytest.raises(ProviderBadResponse) as bad:
        parse_result_page(sample("error-invalid-format-no-table.html"))
    assert bad.value.message == "La réponse du fournisseur de donnée est inexploitable"


def test_blocked_page_wins_over_everything_else() -> None:
    page = sample("avis-single-person.html").replace("<body>", '<body><p class="interdit">')
    with pytest.raises(ProviderRateLimited):
        parse_result_page(page)


def test_form_page_gives_view_state_and_field_names() -> None:
    state = parse_form_page(sample("get-form-index-page.html"))
    assert state.view_state == (
        "RxJe/1JKTJSr3aiM3H9DqZq0DrwqEXsY7Rw4eLRgE74BWUCa/+j2CDznhw1/3bxJteY6ZCui66yNevhkej4xuy"
        "rFMte5KQnKORt9JZrOQ=="
    )
    assert state.body("A" * 13, "B" * 14) == {
        "j_id_7:spi": "A" * 13,
        "j_id_7:num_facture": "B" * 14,
        "j_id_7:j_id_l": "Valider",
        "j_id_7_SUBMIT": "1",
        "javax.faces.ViewState": state.view_state,
    }
    assert state.action == "/secavis/faces/commun/index.jsf"


def test_form_names_follow_the_page_when_ids_drift() -> None:
    page = sample("get-form-index-page.html").replace("j_id_7", "j_id6").replace("j_id_l", "j_id18")
    state = parse_form_page(page)
    assert state.spi == "j_id6:spi"
    assert state.reference == "j_id6:num_facture"
    assert state.submit == ("j_id6:j_id18", "Valider")
    assert ("j_id6_SUBMIT", "1") in state.hidden


def test_form_names_fall_back_to_known_ones() -> None:
    page = '<html><body><input type="hidden" name="javax.faces.ViewState" value="abc"/></body>'
    state = parse_form_page(page)
    assert (state.spi, state.reference, state.view_state) == (
        "j_id_7:spi",
        "j_id_7:num_facture",
        "abc",
    )


_FIELD_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    view_state=_FIELD_TEXT,
    spi=_FIELD_TEXT,
    reference=_FIELD_TEXT,
    submit=st.tuples(_FIELD_TEXT, _FIELD_TEXT),
    hidden=st.lists(st.tuples(_FIELD_TEXT, _FIELD_TEXT), max_size=3),
    numero_fiscal=_FIELD_TEXT,
    reference_avis=_FIELD_TEXT,
)
def test_encoded_body_is_the_urlencoded_form(
    view_state: str,
    spi: str,
    reference: str,
    submit: tuple[str, str],
    hidden: list[tuple[str, str]],
    numero_fiscal: str,
    reference_avis: str,
) -> None:
    """Same bytes as urlencode, whatever the names (even colliding ones) and values."""
    state = FormState(
        view_state=view_state, spi=spi, reference=reference, submit=submit, hidden=tuple(hidden)
    )
    for _ in range(2):  # the second time from the kept template
        encoded = state.encode(numero_fiscal, reference_avis)
        assert encoded == urlencode(state.body(numero_fiscal, reference_avis)).encode("ascii")


def test_form_page_errors() -> None:
    with pytest.raises(ProviderBadResponse):
        parse_form_page("<html>maintenance</html>")
    with pytest.raises(ProviderRateLimited):
        parse_form_page(sample("error-rate-limited-acces-interdit.html"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("17\u00a0580 €", 17580),
        ("1 665 €", 1665),
        ("32&nbsp;810 €", 32810),
        ("32&#160;810 €", 32810),
        ("32&#xA0;810 €", 32810),
        ("-15\u00a0237 €", -15237),
        ("0 €", 0),
        ("Non imposable", None),
        ("  non  imposable \n", None),
        ("", None),
        (" ", None),
        ("\n\t\t", None),
    ],
)
def test_money(text: str, value: int | None) -> None:
    assert values.money(text) == value


def test_money_garbage_is_a_bad_response() -> None:
    with pytest.raises(ProviderBadResponse):
        values.money("12-34 €")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("29/03/1984", "29/03/1984"),
        ("1/2/2015", "01/02/2015"),
        ("-", "-"),
        ("2015", "2015"),
        ("31/02/2015", "31/02/2015"),
        ("", ""),
        ("en cours", "en cours"),
    ],
)
def test_dates(text: str, value: str) -> None:
    assert values.date_or_text(text) == value


@pytest.mark.parametrize(("text", "value"), [("1.00", 1), ("2.50", 2.5), ("1,25", 1.25)])
def test_parts(text: str, value: float) -> None:
    assert values.parts(text) == value


def test_address_of_any_number_of_lines() -> None:
    page = sample("avis-single-person.html")
    extra = (
        '<tr><td class="labelPair"></td><td colspan="2" class="labelPair">BAT B\n</td></tr>'
        '<tr><td class="labelPair"></td><td colspan="2" class="labelPair">ESC 4\n</td></tr>'
    )
    marker = '<td class="espace"></td>'
    index = page.index(marker)
    row_start = page.rindex("<tr>", 0, index)
    page = page[:row_start] + extra + page[row_start:]
    parsed = parse_result_page(page)
    assert parsed.foyerFiscal.adresse == "34 RUE DE L'EGLISE 75009 PARIS BAT B ESC 4"


def test_recovery_date_dash_is_kept() -> None:
    page = sample("avis-single-person.html").replace(">31/07/2015", ">-")
    assert parse_result_page(page).dateRecouvrement == "-"


SAMPLES = sorted([*EXPECTED, *ERRORS])


def _mutate(page: str, data: st.DataObject) -> str:
    """Cut, duplicate, delete or replace a slice of the page."""
    for _ in range(data.draw(st.integers(1, 4))):
        if not page:
            break
        start = data.draw(st.integers(0, len(page) - 1))
        end = data.draw(st.integers(start, min(len(page), start + 400)))
        action = data.draw(st.sampled_from(["delete", "duplicate", "replace", "truncate"]))
        if action == "delete":
            page = page[:start] + page[end:]
        elif action == "duplicate":
            page = page[:end] + page[start:end] + page[end:]
        elif action == "truncate":
            page = page[:start]
        else:
            noise = data.draw(
                st.text(
                    alphabet=st.sampled_from(list("<>/=\"' &;#0123456789-€tdrNon imposable\u00a0")),
                    max_size=30,
                )
            )
            page = page[:start] + noise + page[end:]
    return page


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), data=st.data())
def test_mutated_pages_raise_only_provider_errors(name: str, data: st.DataObject) -> None:
    page = _mutate(sample(name), data)
    with contextlib.suppress(ProviderError):
        assert_a_notice(parse_result_page(page))
    with contextlib.suppress(ProviderError):
        state = parse_form_page(page)
        assert state.view_state and state.spi.endswith(":spi")


def assert_a_notice(avis: AvisImposition) -> None:
    """What a parse that did not refuse the page gives: a whole, valid notice."""
    assert isinstance(avis, AvisImposition)
    # Every field has its declared type (msgspec checks the Struct whole).
    assert msgspec.convert(msgspec.to_builtins(avis), AvisImposition) == avis
    assert avis.declarant1.nom
    assert avis.anneeImpots == "" or avis.anneeImpots.isdigit()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_garbage_raises_only_provider_errors(page: str) -> None:
    with contextlib.suppress(ProviderError):
        assert_a_notice(parse_result_page(page))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_undecodable_bodies_raise_only_provider_errors(page: bytes) -> None:
    with contextlib.suppress(ProviderError):
        assert_a_notice(parse_result_page(page))


def test_windows_1252_body_is_read_like_its_utf8_decoding() -> None:
    """A body that is not UTF-8 is read as the client used to decode it: bad bytes replaced."""
    body = sample("avis-single-person.html").encode("cp1252")
    decoded = body.decode("utf-8", errors="replace")
    # Its accented labels are unreadable: both end as the same provider error.
    with pytest.raises(ProviderBadResponse):
        parse_result_page(decoded)
    with pytest.raises(ProviderBadResponse):
        parse_result_page(body)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_cell_values_raise_only_provider_errors(text: str) -> None:
    for convert in (values.money, values.parts, values.integer, values.date_or_text):
        with contextlib.suppress(ProviderError):
            convert(text)
