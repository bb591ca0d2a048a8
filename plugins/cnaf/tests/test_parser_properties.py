"""Whatever CNAF (or anything posing as it) sends, the parser raises only provider errors,
and what it returns has the contract's shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, tostring

import msgspec
from api_particulier import ProviderError
from api_particulier_cnaf.households import households
from api_particulier_cnaf.models import CompositionFamiliale
from api_particulier_cnaf.parser import parse_answer, parse_document
from api_particulier_cnaf.simulator import wire
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).parent / "data"
SAMPLES = [path.read_bytes() for path in sorted(DATA.glob("*.multipart.txt"))]
DOCUMENT_BODY = next(iter(households().values())).body
DOCUMENTS = [wire.drt_document(h.body) for h in list(households().values())[:4]]

CHECKS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_contract_shape(result: dict[str, Any]) -> None:
    msgspec.convert(result, CompositionFamiliale)
    assert list(result) == [
        "allocataires",
        "enfants",
        "adresse",
        "quotientFamilial",
        "mois",
        "annee",
    ]
    assert result["allocataires"]


def outcome_of_answer(body: bytes, content_type: str | None) -> None:
    try:
        result = parse_answer(body, content_type)
    except ProviderError:
        return
    assert_contract_shape(result)


def outcome_of_document(document: str) -> None:
    try:
        result = parse_document(document)
    except ProviderError:
        return
    assert_contract_shape(result)


@st.composite
def mutated(draw: st.DrawFn, original: bytes | str) -> Any:
    """``original`` with a few random deletions, insertions, replacements or a truncation."""
    binary = isinstance(original, bytes)
    # Bytes are mutated as latin-1 text: one character per byte, any byte reachable.
    data = original.decode("latin-1") if isinstance(original, bytes) else original
    pieces = st.text(
        # Text comes from decoded bytes: only what UTF-8 can carry (no lone surrogates).
        alphabet=st.characters(max_codepoint=255) if binary else st.characters(codec="utf-8"),
        min_size=1,
        max_size=8,
    )
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace", "truncate"]))
        piece = draw(pieces)
        if action == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif action == "insert":
            data = data[:at] + piece + data[at:]
        elif action == "replace":
            data = data[:at] + piece + data[at + len(piece) :]
        else:
            data = data[:at]
    return data.encode("latin-1") if binary else data


@CHECKS
@given(data=st.data(), header=st.booleans())
def test_mutated_recorded_answers_raise_only_provider_errors(
    data: st.DataObject, header: bool
) -> None:
    original = data.draw(st.sampled_from(SAMPLES))
    body = data.draw(mutated(original))
    boundary = original.split(b"\n", 1)[0].strip()[2:].decode()
    content_type = f'multipart/related; boundary="{boundary}"' if header else None
    outcome_of_answer(body, content_type)


@CHECKS
@given(st.binary(max_size=2000), st.one_of(st.none(), st.text(max_size=200)))
def test_arbitrary_bytes_raise_only_provider_errors(body: bytes, content_type: str | None) -> None:
    outcome_of_answer(body, content_type)


@CHECKS
@given(data=st.data())
def test_mutated_inner_documents_raise_only_provider_errors(data: st.DataObject) -> None:
    document = data.draw(mutated(data.draw(st.sampled_from(DOCUMENTS))))
    outcome_of_document(document)
    # The same document, carried as CNAF carries it: escaped text inside the envelope.
    raw, content_type = wire.mtom(wire.envelope(0, document))
    outcome_of_answer(raw, content_type)


@CHECKS
@given(data=st.data())
def test_mutated_envelopes_around_a_valid_document_raise_only_provider_errors(
    data: st.DataObject,
) -> None:
    envelope = data.draw(mutated(wire.success_envelope(DOCUMENT_BODY)))
    raw, content_type = wire.mtom(envelope)
    outcome_of_answer(raw, content_type)


TAGS = [
    "drtData",
    "adresse",
    *(f"LIBLIG{n}ADR" for n in range(1, 8)),
    "identeEnfants",
    "UNENFANT",
    "identePersonnes",
    "UNEPERSONNE",
    "QUAL",
    "NOMPRENOM",
    "DATNAISS",
    "SEXE",
    "quotients",
    "QFMOIS",
    "DUMOIS",
    "DELANNEE",
    "QUOTIENTF",
]
TEXTS = st.one_of(
    st.sampled_from(["", "M", "F", "0", "12", "2025", "01012000", "31022000", "-5", "A & B"]),
    st.text(max_size=12),
)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> Element:
    element = Element(draw(st.sampled_from(TAGS)) if depth else "drtData")
    text = draw(TEXTS)
    # XML 1.0 cannot carry most control characters: keep the document well-formed.
    element.text = "".join(c for c in text if c.isprintable()) or None
    if depth < 4:
        for child in draw(st.lists(trees(depth + 1), max_size=4)):
            element.append(child)
    return element


@CHECKS
@given(trees())
def test_random_drt_trees_raise_only_provider_errors(tree: Element) -> None:
    outcome_of_document(tostring(tree, encoding="unicode"))


@CHECKS
@given(
    names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=3),
    line=st.text(max_size=40),
)
def test_any_text_in_names_and_lines_round_trips(names: list[str], line: str) -> None:
    clean = ["".join(c for c in name if c.isprintable()).strip() for name in names]
    clean = [name for name in clean if name]
    line = "".join(c for c in line if c.isprintable()).strip()
    if not clean:
        return
    body = {
        "allocataires": [
            {"nomPrenom": name, "dateDeNaissance": "01012000", "sexe": "F"} for name in clean
        ],
        "enfants": [],
        "adresse": {"identite": line} if line else {},
        "quotientFamilial": 1,
        "mois": 1,
        "annee": 2025,
    }
    raw, content_type = wire.mtom(wire.success_envelope(body))
    assert parse_answer(raw, content_type) == body
