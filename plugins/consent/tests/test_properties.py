"""Property tests: scope intersection and masking over HTTP, and untrusted input never
turning into anything but a refusal."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from api_particulier_consent.denials import EvidenceRefused
from api_particulier_consent.receipt import ReceiptRules, verify_receipt
from api_particulier_consent.signing import sign_receipt
from api_particulier_consent.subject import subject_digest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc.jwk import OKPKey

from .support import ALL_SCOPES, PARAMS, Harness, ed25519, harness, leaves, public

SCOPE_LIST = sorted(ALL_SCOPES)
# Scopes of other providers may sit in a key or a receipt; they must change nothing here.
FOREIGN = ["cnaf_quotient_familial", "cnaf_enfants"]
scope_sets = st.frozensets(st.sampled_from(SCOPE_LIST + FOREIGN))


@dataclass
class Running:
    portal: BlockingPortal
    h: Harness
    signer: OKPKey

    def key(self, scopes: frozenset[str]) -> str:
        policy = {
            "consent": {
                "evidence": ["receipt"],
                "public_keys": [{"kid": "k", "jwk": public(self.signer)}],
            }
        }
        return self.portal.call(functools.partial(self.h.client.key, scopes, settings=policy))

    def get(self, key: str, receipt: str) -> Any:
        return self.portal.call(
            functools.partial(self.h.get, key, headers={"X-Consent-Receipt": receipt})
        )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("consent-properties")
    with (
        start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(
            harness(data_dir, {"replay": {"backend": "memory"}})
        ) as h,
    ):
        yield Running(portal, h, ed25519())


@settings(max_examples=40)
@given(held=scope_sets, consented=scope_sets)
def test_body_shows_exactly_key_and_consent(
    running: Running, held: frozenset[str], consented: frozenset[str]
) -> None:
    if not held & ALL_SCOPES:
        return  # the core refuses a key without any scope of the route before consent runs
    key = running.key(held)
    receipt = sign_receipt(running.signer, kid="k", params=PARAMS, scopes=consented, purpose="p")
    response = running.get(key, receipt)
    allowed = held & consented & ALL_SCOPES
    if not allowed:
        assert response.status_code == 403
        assert response.json()["error"] == "consent_invalid"
        return
    assert response.status_code == 200
    body = response.json()
    assert leaves(body) == allowed
    # Nothing outside the declared, allowed leaves: containers hold allowed leaves only.
    assert set(body) <= {
        "declarant1",
        "foyerFiscal",
        *{k for k in body if not isinstance(body[k], dict)},
    }


header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=300
)


@settings(max_examples=60)
@given(garbage=header_text)
def test_garbage_receipt_header_is_a_refusal(running: Running, garbage: str) -> None:
    key = running.key(ALL_SCOPES)
    response = running.get(key, garbage)
    assert response.status_code == 403
    assert response.json()["error"] in {"consent_invalid", "consent_required"}


RULES = ReceiptRules(audience="api-particulier", max_lifetime=900, clock_skew=60)
SIGNER = ed25519()
KEYS = {"k": OKPKey.import_key(public(SIGNER))}
VALID = sign_receipt(SIGNER, kid="k", params=PARAMS, scopes=SCOPE_LIST, purpose="p", now=1_000_000)


def _verify(text: str) -> None:
    verify_receipt(text, keys=KEYS, rules=RULES, subject=subject_digest(PARAMS), now=1_000_010)


def test_the_valid_receipt_verifies() -> None:
    _verify(VALID)


@given(st.text(max_size=2000))
def test_any_text_is_refused_cleanly(text: str) -> None:
    with pytest.raises(EvidenceRefused):
        _verify(text)


@given(
    position=st.integers(min_value=0, max_value=len(VALID) - 1),
    char=st.sampled_from("AZaz09-_.=+/"),
)
def test_mutated_receipts_are_refused_cleanly(position: int, char: str) -> None:
    mutated = VALID[:position] + char + VALID[position + 1 :]
    if mutated == VALID:
        return
    try:
        _verify(mutated)
    except EvidenceRefused:
        return
    # Base64url leaves slack bits in a segment's last character: such a mutation decodes to
    # the very same bytes, and only then may the receipt still verify.
    assert [_decoded(s) for s in mutated.split(".")] == [_decoded(s) for s in VALID.split(".")]


def _decoded(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@given(
    st.lists(
        st.sampled_from(
            ["e30", "eyJhbGciOiJFZERTQSJ9", "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ", "AAAA", "", "%%"]
        ),
        min_size=1,
        max_size=5,
    )
)
def test_assembled_segments_are_refused_cleanly(parts: list[str]) -> None:
    with pytest.raises(EvidenceRefused):
        _verify(".".join(parts))
