"""Receipts end to end, over the app's HTTP interface."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from api_particulier_consent.signing import sign_receipt

from .support import (
    ALL_SCOPES,
    PARAMS,
    SIRET,
    Harness,
    ed25519,
    harness,
    leaves,
    p256,
    receipt_policy,
)

pytestmark = pytest.mark.anyio
RFR = "dgfip_revenu_fiscal_reference"


def _body(response: Any) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict)
    return body


async def test_receipt_policy_done_when(tmp_path: Path) -> None:
    """No receipt: 403 consent_required; a valid one: 200 with only the consented field;
    the same one again: 403 consent_invalid; the provider is asked exactly once."""
    signer = ed25519()
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("k1", signer)))
        missing = await h.get(key)
        assert missing.status_code == 403
        assert _body(missing)["error"] == "consent_required"
        assert h.provider.calls == 0

        receipt = sign_receipt(signer, kid="k1", params=PARAMS, scopes=[RFR], purpose="cantine")
        first = await h.get(key, headers={"X-Consent-Receipt": receipt})
        assert first.status_code == 200, first.text
        assert leaves(_body(first)) == {RFR}
        assert _body(first)["declarant1"] == {}
        assert h.provider.calls == 1

        again = await h.get(key, headers={"X-Consent-Receipt": receipt})
        assert again.status_code == 403
        assert _body(again) == {
            "error": "consent_invalid",
            "reason": "Consent receipt has already been used",
            "message": "Ce consentement de l'usager a déjà été utilisé",
        }
        assert h.provider.calls == 1


async def test_es256_receipt_and_key_rotation(tmp_path: Path) -> None:
    old, new = ed25519(), p256()
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("old", old), ("new", new)))
        for kid, signer in (("old", old), ("new", new)):
            receipt = sign_receipt(signer, kid=kid, params=PARAMS, scopes=ALL_SCOPES, purpose="p")
            response = await h.get(key, headers={"X-Consent-Receipt": receipt})
            assert response.status_code == 200, response.text
            assert leaves(_body(response)) == ALL_SCOPES


async def test_effective_scopes_are_key_and_consent(tmp_path: Path) -> None:
    signer = ed25519()
    held = {RFR, "dgfip_nombre_parts"}
    async with harness(tmp_path) as h:
        key = await h.client.key(held, settings=receipt_policy(("k", signer)))
        receipt = sign_receipt(
            signer, kid="k", params=PARAMS, scopes=[RFR, "dgfip_declarant1_nom"], purpose="p"
        )
        response = await h.get(key, headers={"X-Consent-Receipt": receipt})
        assert response.status_code == 200
        assert leaves(_body(response)) == {RFR}


async def test_journal_records_evidence_id_never_the_receipt(tmp_path: Path) -> None:
    signer = ed25519()
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("k", signer)))
        receipt = sign_receipt(
            signer, kid="k", params=PARAMS, scopes=[RFR], purpose="p", jti="receipt-0001"
        )
        response = await h.get(
            key,
            params={**PARAMS, "recipient": SIRET},
            headers={"X-Consent-Receipt": receipt},
        )
        assert response.status_code == 200
        record = h.recorder.records[-1]
        assert record.consent_evidence == "receipt:receipt-0001"
        assert record.recipient == SIRET
        assert receipt not in repr(record)


async def test_default_policy_keeps_historic_behaviour(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES)
        response = await h.get(key)
        assert response.status_code == 200
        assert leaves(_body(response)) == ALL_SCOPES
        assert h.recorder.records[-1].consent_evidence == "identifiers"
        assert h.recorder.records[-1].recipient is None
        # A receipt sent to an application that does not ask for one changes nothing.
        ignored = await h.get(key, headers={"X-Consent-Receipt": "not even a jws"})
        assert ignored.status_code == 200


async def test_identifiers_as_fallback_still_checks_a_sent_receipt(tmp_path: Path) -> None:
    signer = ed25519()
    async with harness(tmp_path) as h:
        policy = receipt_policy(("k", signer), evidence=["receipt", "identifiers"])
        key = await h.client.key(ALL_SCOPES, settings=policy)
        assert (await h.get(key)).status_code == 200
        assert h.recorder.records[-1].consent_evidence == "identifiers"
        bad = await h.get(key, headers={"X-Consent-Receipt": "a.b.c"})
        assert bad.status_code == 403
        assert _body(bad)["error"] == "consent_invalid"


async def test_replay_refused_across_two_app_instances(tmp_path: Path) -> None:
    """Two workers sharing the data directory share the replay memory (SQLite file)."""
    signer = ed25519()
    async with harness(tmp_path) as first, harness(tmp_path) as second:
        key = await first.client.key(ALL_SCOPES, settings=receipt_policy(("k", signer)))
        receipt = sign_receipt(signer, kid="k", params=PARAMS, scopes=[RFR], purpose="p")
        assert (await first.get(key, headers={"X-Consent-Receipt": receipt})).status_code == 200
        replayed = await second.get(key, headers={"X-Consent-Receipt": receipt})
        assert replayed.status_code == 403
        assert _body(replayed)["reason"] == "Consent receipt has already been used"
        assert second.provider.calls == 0


async def test_introspect_needs_no_consent(tmp_path: Path) -> None:
    signer = ed25519()
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("k", signer)))
        response = await h.client.http.get("/api/introspect", headers={"X-Api-Key": key})
        assert response.status_code == 200


async def test_misconfigured_policy_fails_closed(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings={"consent": {"evidence": ["receipt"]}})
        response = await h.get(key)
        assert response.status_code == 500
        assert _body(response)["error"] == "internal_error"
        assert h.provider.calls == 0


async def _call_with(h: Harness, key: str, receipt: str) -> dict[str, Any]:
    response = await h.get(key, headers={"X-Consent-Receipt": receipt})
    assert response.status_code == 403, response.text
    return _body(response)


async def test_clock_is_the_plugins(tmp_path: Path) -> None:
    """Expiry is judged on the server's clock, with the configured skew."""
    signer = ed25519()
    now = [time.time()]
    async with harness(tmp_path, {"clock_skew": 30}, clock=lambda: now[0]) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("k", signer)))
        receipt = sign_receipt(signer, kid="k", params=PARAMS, scopes=[RFR], purpose="p", ttl=60)
        now[0] += 60 + 31
        body = await _call_with(h, key, receipt)
        assert body["reason"] == "Consent receipt has expired"
        now[0] -= 2
        response = await h.get(key, headers={"X-Consent-Receipt": receipt})
        assert response.status_code == 200
