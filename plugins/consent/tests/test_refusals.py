"""Every refusal: its status, its body, and that the provider was never asked."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from api_particulier_consent.denials import Invalid, consent_invalid
from api_particulier_consent.signing import sign_receipt
from joserfc import jws
from joserfc.jwk import OctKey, OKPKey

from .support import ALL_SCOPES, LA_POSTE_SIRET, PARAMS, SIRET, ed25519, harness, receipt_policy

pytestmark = pytest.mark.anyio
RFR = "dgfip_revenu_fiscal_reference"
SIGNER = ed25519()
STRANGER = ed25519()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned() -> str:
    good = sign_receipt(SIGNER, kid="k", params=PARAMS, scopes=[RFR], purpose="p")
    return _b64(b'{"alg":"none"}') + "." + good.split(".")[1] + "."


def _hmac() -> str:
    return jws.serialize_compact(
        {"alg": "HS256", "kid": "k"}, b"{}", OctKey.generate_key(256), algorithms=["HS256"]
    )


def _tampered() -> str:
    head, _, signature = sign_receipt(
        SIGNER, kid="k", params=PARAMS, scopes=[RFR], purpose="p"
    ).split(".")
    forged = sign_receipt(SIGNER, kid="k", params=PARAMS, scopes=ALL_SCOPES, purpose="p")
    return f"{head}.{forged.split('.')[1]}.{signature}"


def _receipt(key: OKPKey = SIGNER, kid: str = "k", **changes: object) -> Callable[[], str]:
    def make() -> str:
        options: dict[str, object] = {
            "params": PARAMS,
            "scopes": [RFR],
            "purpose": "inscription à la cantine",
        }
        options.update(changes)
        return sign_receipt(key, kid=kid, **options)  # type: ignore[arg-type]

    return make


CASES: list[tuple[str, Callable[[], str], Invalid]] = [
    ("malformed", lambda: "not-a-jws", Invalid.MALFORMED),
    ("unsigned", _unsigned, Invalid.ALGORITHM),
    ("hmac", _hmac, Invalid.ALGORITHM),
    ("unknown key", _receipt(kid="other"), Invalid.UNKNOWN_KEY),
    ("bad signature", _receipt(key=STRANGER), Invalid.BAD_SIGNATURE),
    ("tampered", _tampered, Invalid.BAD_SIGNATURE),
    ("bad jti", _receipt(jti="has a space"), Invalid.CLAIMS),
    ("no purpose", _receipt(purpose=""), Invalid.CLAIMS),
    ("audience", _receipt(audience="another-api"), Invalid.AUDIENCE),
    ("future", _receipt(now=time.time() + 3600), Invalid.NOT_YET_VALID),
    ("expired", _receipt(now=time.time() - 3600), Invalid.EXPIRED),
    ("lifetime", _receipt(ttl=3600), Invalid.TOO_LONG),
    ("subject", _receipt(params={**PARAMS, "referenceAvis": "9999999999999"}), Invalid.SUBJECT),
    ("scope", _receipt(scopes=["cnaf_quotient_familial"]), Invalid.SCOPE),
]


@pytest.mark.parametrize(("make", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_invalid_receipt(tmp_path: Path, make: Callable[[], str], reason: Invalid) -> None:
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("k", SIGNER)))
        response = await h.get(key, headers={"X-Consent-Receipt": make()})
        assert response.status_code == 403
        body = response.json()
        assert body["error"] == "consent_invalid"
        assert body["reason"] == reason.value
        assert body["message"] == consent_invalid(reason).message
        assert h.provider.calls == 0
        assert h.recorder.records[-1].error == "consent_invalid"
        assert h.recorder.records[-1].consent_evidence is None


async def test_a_refused_receipt_is_not_spent(tmp_path: Path) -> None:
    """The jti is claimed only once every other check passed."""
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("k", SIGNER)))
        receipt = _receipt(jti="once-only")()
        wrong = await h.get(
            key,
            params={**PARAMS, "referenceAvis": "9999999999999"},
            headers={"X-Consent-Receipt": receipt},
        )
        assert wrong.status_code == 403
        right = await h.get(key, headers={"X-Consent-Receipt": receipt})
        assert right.status_code == 200


@pytest.mark.parametrize(
    "recipient", ["1234", "13002526500014", "1300252650001A", "١٣٠٠٢٥٢٦٥٠٠٠١٣", "35600000000049"]
)
async def test_invalid_recipient(tmp_path: Path, recipient: str) -> None:
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES)
        response = await h.get(key, params={**PARAMS, "recipient": recipient})
        assert response.status_code == 400
        assert response.json() == {
            "error": "bad_request",
            "reason": "Invalid recipient: expected a SIRET (14 digits with a valid check digit)",
            "message": "Le paramètre recipient n'est pas un siret valide",
        }
        assert h.provider.calls == 0


async def test_recipient_required_by_policy(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings={"consent": {"recipient_required": True}})
        missing = await h.get(key)
        assert missing.status_code == 400
        assert missing.json()["message"] == "Le paramètre recipient est obligatoire"
        for siret in (SIRET, LA_POSTE_SIRET, "130 025 265 00013"):
            ok = await h.get(key, params={**PARAMS, "recipient": siret})
            assert ok.status_code == 200
            assert h.recorder.records[-1].recipient == siret.replace(" ", "")
        assert h.provider.calls == 3


async def test_invalid_recipient_answers_before_missing_consent(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("k", SIGNER)))
        response = await h.get(key, params={**PARAMS, "recipient": "123"})
        assert response.status_code == 400


async def test_invalid_parameters_answer_before_consent(tmp_path: Path) -> None:
    """Contract §2: validation comes before consent, so a bad parameter is a 400."""
    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, settings=receipt_policy(("k", SIGNER)))
        response = await h.get(key, params={**PARAMS, "numeroFiscal": "12"})
        assert response.status_code == 400


@pytest.mark.parametrize("policy", ["identifiers", "receipt"])
async def test_a_receipt_over_4096_characters_is_refused_whatever_the_policy(
    tmp_path: Path, policy: str
) -> None:
    async with harness(tmp_path) as h:
        settings = receipt_policy(("k", SIGNER)) if policy == "receipt" else None
        key = await h.client.key(ALL_SCOPES, settings=settings)
        response = await h.get(key, headers={"X-Consent-Receipt": "a" * 4097})
        assert response.status_code == 400
        assert response.json()["reason"] == "X-Consent-Receipt holds more than 4096 characters"
        assert h.provider.calls == 0
