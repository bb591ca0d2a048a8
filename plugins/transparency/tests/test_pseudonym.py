"""The pseudonym: the same for a citizen however their identifiers were typed, by a data
call or by the citizen themself; different for different citizens or secrets."""

from __future__ import annotations

import msgspec
from api_particulier import Call
from api_particulier.params import ParamsValidator
from api_particulier_dgfip.routes import V1_PATH, V2_PATH, build_routes
from api_particulier_dgfip.sandbox import SandboxBackend
from api_particulier_transparency.pseudonym import pseudonym
from hypothesis import given
from hypothesis import strategies as st

ROUTES = build_routes(SandboxBackend())
SECRET = b"s" * 32
_numbers = st.text(alphabet="0123456789", min_size=13, max_size=13)


def spaced(draw: st.DrawFn, value: str) -> str:
    return "".join(char + " " * draw(st.integers(0, 2)) for char in value).strip(" ")


@st.composite
def typed(draw: st.DrawFn) -> tuple[str, str]:
    """A tax number, and the same as someone may type it (spaces anywhere)."""
    number = draw(_numbers)
    return number, spaced(draw, number)


def data_call_pseudonym(path: str, numero: str) -> str:
    route = next(r for r in ROUTES if r.path == path)
    call = Call(
        scope={"type": "http"},
        receive=None,  # type: ignore[arg-type]
        headers={},
        request_id="r",
        route=route,
        route_path=path,
        query={},
        provider="dgfip",
    )
    call.params = ParamsValidator(route.params).validate(
        {"numeroFiscal": numero, "referenceAvis": "1111111111111"}
    )
    return pseudonym(SECRET, call.citizen())


@given(typed(), typed())
def test_the_citizen_and_the_data_call_name_the_same_person_alike(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    number, as_typed = first
    route = ROUTES[0]
    mine = route.citizen_identifiers({"numeroFiscal": as_typed})
    assert mine == {"numeroFiscal": number}
    own = pseudonym(SECRET, mine)
    # Whatever route the administration used, and however it typed the number.
    assert own == data_call_pseudonym(V2_PATH, as_typed) == data_call_pseudonym(V1_PATH, number)
    other, other_typed = second
    assert (data_call_pseudonym(V2_PATH, other_typed) == own) == (other == number)
    # Another deployment's secret gives another pseudonym: nothing links the two journals.
    assert pseudonym(b"t" * 32, mine) != own


@given(st.text(max_size=20))
def test_invalid_identifiers_give_no_pseudonym(text: str) -> None:
    compact = text.replace(" ", "")
    valid = len(compact) == 13 and compact.isascii() and compact.isalnum()
    found = ROUTES[0].citizen_identifiers({"numeroFiscal": text})
    assert (found is not None) == valid


def test_the_reference_of_a_notice_is_not_part_of_the_pseudonym() -> None:
    route = ROUTES[0]
    assert [query for _, query in route.citizen_fields] == ["numeroFiscal"]
    assert [f.encode_name for f in msgspec.structs.fields(route.params)] == [
        "numeroFiscal",
        "referenceAvis",
    ]


def test_what_each_status_tells_the_citizen() -> None:
    from api_particulier import CallRecord
    from api_particulier_transparency.report import outcome

    def record(status: int) -> CallRecord:
        return CallRecord(
            request_id="r", time=0.0, route="/api/v2/avis-imposition", status=status,
            latency_ms=1.0, key_id=None, application_id=None, provider="dgfip",
            cache_hit=False, consent_evidence=None, recipient=None, error=None,
        )  # fmt: skip

    assert [outcome(record(s)) for s in (200, 404, 400, 403, 429, 499, 502, 503)] == [
        "transmitted", "not_found", "refused", "refused", "refused", "failed", "failed",
        "failed",
    ]  # fmt: skip
