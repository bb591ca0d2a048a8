"""FranceConnect tokens, checked at a real local introspection server (127.0.0.1)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from api_particulier.testing import FakeClock
from api_particulier_consent.denials import Invalid
from api_particulier_consent.franceconnect import token_digest
from api_particulier_consent.simulator import IntrospectionSimulator

from .support import ALL_SCOPES, CAMILLE, PARAMS, SIRET, Harness, harness

pytestmark = pytest.mark.anyio
RFR = "dgfip_revenu_fiscal_reference"
SECRET_ENV = "CONSENT_TEST_FC_SECRET"
FC_POLICY = {"consent": {"evidence": ["franceconnect"]}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=time.time())


@pytest.fixture
async def fc(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[IntrospectionSimulator]:
    monkeypatch.setenv(SECRET_ENV, "introspection-secret")
    async with IntrospectionSimulator(clock=clock) as simulator:
        yield simulator


def fc_config(simulator: IntrospectionSimulator, **changes: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "introspection_url": simulator.url + "/introspect",
        "client_id": "api-particulier",
        "client_secret": {"env": SECRET_ENV},
        # FranceConnect's own name for the RFR scope, mapped to the API's.
        "scopes": {"revenu_fiscal_reference": [RFR]},
        "cache_ttl": 60,
        "read_timeout": 0.5,
    }
    table.update(changes)
    return {"franceconnect": table}


async def get(h: Harness, key: str, token: str | None, recipient: str | None = SIRET) -> Any:
    params = {**PARAMS, **({"recipient": recipient} if recipient else {})}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await h.get(key, params=params, headers=headers)


async def test_franceconnect_done_when(
    tmp_path: Path, fc: IntrospectionSimulator, clock: FakeClock
) -> None:
    async with harness(tmp_path, fc_config(fc), clock=clock) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        token = fc.issue(["openid", "revenu_fiscal_reference"], identity=CAMILLE)

        no_recipient = await get(h, key, token, recipient=None)
        assert no_recipient.status_code == 400
        assert no_recipient.json()["error"] == "bad_request"

        response = await get(h, key, token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["revenuFiscalReference"] == 24_500
        assert body["declarant1"] == {} and "nombreParts" not in body
        record = h.recorder.records[-1]
        assert record.consent_evidence == f"franceconnect:{token_digest(token)}"
        assert record.recipient == SIRET
        assert token not in repr(record)
        assert h.provider.calls == 1


async def test_no_token_is_consent_required(tmp_path: Path, fc: IntrospectionSimulator) -> None:
    async with harness(tmp_path, fc_config(fc)) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        response = await get(h, key, None)
        assert response.status_code == 403
        assert response.json()["error"] == "consent_required"
        assert fc.requests == 0


async def _refused(h: Harness, key: str, token: str, why: Invalid) -> None:
    calls = h.provider.calls
    response = await get(h, key, token)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "consent_invalid"
    assert response.json()["reason"] == why.value
    assert h.provider.calls == calls


async def test_inactive_tokens(
    tmp_path: Path, fc: IntrospectionSimulator, clock: FakeClock
) -> None:
    async with harness(tmp_path, fc_config(fc), clock=clock) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        await _refused(h, key, "unknown-token", Invalid.FC_INACTIVE)
        revoked = fc.issue(["revenu_fiscal_reference"], identity=CAMILLE)
        fc.revoke(revoked)
        await _refused(h, key, revoked, Invalid.FC_INACTIVE)
        expired = fc.issue(["revenu_fiscal_reference"], lifetime=-1, identity=CAMILLE)
        await _refused(h, key, expired, Invalid.FC_INACTIVE)


async def test_malformed_token_never_reaches_the_endpoint(
    tmp_path: Path, fc: IntrospectionSimulator
) -> None:
    async with harness(tmp_path, fc_config(fc)) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        await _refused(h, key, "not a token!", Invalid.FC_MALFORMED)
        assert fc.requests == 0


async def test_scope_not_covered(tmp_path: Path, fc: IntrospectionSimulator) -> None:
    async with harness(tmp_path, fc_config(fc)) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        await _refused(h, key, fc.issue(["openid", "email"], identity=CAMILLE), Invalid.SCOPE)


async def test_token_bound_to_the_applications_client(
    tmp_path: Path, fc: IntrospectionSimulator
) -> None:
    async with harness(tmp_path, fc_config(fc)) as h:
        policy = {"consent": {"evidence": ["franceconnect"], "franceconnect_client_id": "mine"}}
        key = await h.client.key(ALL_SCOPES, settings=policy)
        await _refused(
            h, key, fc.issue([RFR], client_id="theirs", identity=CAMILLE), Invalid.FC_CLIENT
        )
        assert (
            await get(h, key, fc.issue([RFR], client_id="mine", identity=CAMILLE))
        ).status_code == 200


async def test_answers_cached_never_past_the_tokens_expiry(
    tmp_path: Path, fc: IntrospectionSimulator, clock: FakeClock
) -> None:
    async with harness(tmp_path, fc_config(fc), clock=clock) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        token = fc.issue([RFR], lifetime=30, identity=CAMILLE)
        for _ in range(3):
            assert (await get(h, key, token)).status_code == 200
        assert fc.requests == 1
        clock.advance(31)
        response = await get(h, key, token)
        assert response.status_code == 403
        assert response.json()["reason"] == Invalid.FC_INACTIVE.value


async def test_revocation_applies_after_the_cache_time(
    tmp_path: Path, fc: IntrospectionSimulator, clock: FakeClock
) -> None:
    async with harness(tmp_path, fc_config(fc, cache_ttl=5), clock=clock) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        token = fc.issue([RFR], lifetime=600, identity=CAMILLE)
        assert (await get(h, key, token)).status_code == 200
        fc.revoke(token)
        clock.advance(6)
        assert (await get(h, key, token)).status_code == 403
        assert fc.requests == 2


async def test_checktoken_shape(tmp_path: Path, fc: IntrospectionSimulator) -> None:
    config = fc_config(fc, shape="checktoken", introspection_url=fc.url + "/api/v1/checktoken")
    async with harness(tmp_path, config) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        response = await get(
            h, key, fc.issue(["revenu_fiscal_reference", "openid"], identity=CAMILLE)
        )
        assert response.status_code == 200
        assert response.json()["revenuFiscalReference"] == 24_500
        await _refused(h, key, "unknown-token", Invalid.FC_INACTIVE)


@pytest.mark.parametrize(
    ("trouble", "status", "error"),
    [
        ({"fail_status": 500}, 503, "provider_unavailable"),
        ({"fail_status": 401}, 503, "provider_unavailable"),
        ({"delay": 2.0}, 504, "timeout_error"),
    ],
)
async def test_introspection_trouble(
    tmp_path: Path, fc: IntrospectionSimulator, trouble: dict[str, Any], status: int, error: str
) -> None:
    async with harness(tmp_path, fc_config(fc)) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        token = fc.issue([RFR], identity=CAMILLE)
        for name, value in trouble.items():
            setattr(fc, name, value)
        response = await get(h, key, token)
        assert response.status_code == status
        assert response.json()["error"] == error
        assert h.provider.calls == 0


async def test_wrong_client_secret_is_not_the_callers_fault(
    tmp_path: Path, fc: IntrospectionSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(tmp_path, fc_config(fc)) as h:
        monkeypatch.setenv(SECRET_ENV, "wrong")
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        response = await get(h, key, fc.issue([RFR], identity=CAMILLE))
        assert response.status_code == 503


async def test_bearer_with_key_refused_without_franceconnect_policy(
    tmp_path: Path, fc: IntrospectionSimulator
) -> None:
    async with harness(tmp_path, fc_config(fc)) as h:
        key = await h.client.key(ALL_SCOPES)
        response = await get(h, key, fc.issue([RFR], identity=CAMILLE))
        assert response.status_code == 401
        assert response.json()["error"] == "too_many_credentials_provided"


@pytest.mark.parametrize("shape", ["rfc7662", "checktoken"])
async def test_the_token_holders_identity_is_read_in_both_shapes(
    fc: IntrospectionSimulator, shape: str
) -> None:
    import msgspec
    from api_particulier_consent.config import FranceConnectConfig
    from api_particulier_consent.franceconnect import Identity, Introspector

    path = "/introspect" if shape == "rfc7662" else "/api/v1/checktoken"
    table = {**fc_config(fc)["franceconnect"], "introspection_url": fc.url + path}
    introspector = Introspector(msgspec.convert({**table, "shape": shape}, FranceConnectConfig))
    await introspector.open()
    try:
        identity = {"given_name": "Marie", "family_name": "Dupont", "birthdate": "1988-11-12"}
        info = await introspector.check(fc.issue([RFR], identity=identity))
        assert info.identity == Identity(**identity)
        # A token issued without one: none in RFC 7662, the simulator's default citizen in
        # FranceConnect's historic shape (which always names the holder).
        info = await introspector.check(fc.issue([RFR]))
        if shape == "rfc7662":
            assert info.identity is None
        else:
            assert info.identity is not None and info.identity.family_name == "Martin"
    finally:
        await introspector.close()


@pytest.mark.parametrize(
    ("shape", "answer"),
    [
        ("rfc7662", b'{"active": true, "scope": "x", "exp": 1' + b"0" * 400 + b"}"),
        ("rfc7662", b'{"active": true, "scope": "x", "exp": -1}'),
        ("checktoken", b'{"scope": ["x"], "token_lifetime": 1' + b"0" * 400 + b"}"),
    ],
)
async def test_an_unusable_expiry_is_the_introspections_fault(shape: str, answer: bytes) -> None:
    """A number no clock can hold, from the introspection endpoint: 503, never a 500."""
    import msgspec
    from api_particulier import ProviderError
    from api_particulier.testing import UpstreamServer
    from api_particulier_consent.config import FranceConnectConfig
    from api_particulier_consent.franceconnect import Introspector

    async with UpstreamServer() as server:
        server.answer("POST", "/introspect", body=answer, content_type="application/json")
        table = {"introspection_url": server.url + "/introspect", "shape": shape}
        introspector = Introspector(msgspec.convert(table, FranceConnectConfig))
        await introspector.open()
        try:
            with pytest.raises(ProviderError):
                await introspector.check("a-well-formed-token")
        finally:
            await introspector.close()


async def test_a_token_opens_only_its_holders_data(
    tmp_path: Path, fc: IntrospectionSimulator
) -> None:
    """Contract §2: consent evidence is bound to the citizen the parameters name. A token
    of another citizen, or one that names nobody, opens nothing: the answer is withheld."""
    async with harness(tmp_path, fc_config(fc)) as h:
        key = await h.client.key(ALL_SCOPES, settings=FC_POLICY)
        someone_else = {**CAMILLE, "birthdate": "1990-02-02"}
        for identity in (someone_else, {**CAMILLE, "given_name": "Claude"}):
            response = await get(h, key, fc.issue([RFR], identity=identity))
            assert response.status_code == 403, response.text
            body = response.json()
            assert body["error"] == "consent_invalid"
            assert "revenuFiscalReference" not in response.text
            assert h.recorder.records[-1].status == 403
        # Accents, case and punctuation aside, the holder is recognised.
        holder = {"given_name": "CAMILLE", "family_name": "martin", "birthdate": "1980-01-01"}
        assert (await get(h, key, fc.issue([RFR], identity=holder))).status_code == 200
        # A token without the holder's identity cannot be bound: refused before the provider.
        await _refused(h, key, fc.issue([RFR]), Invalid.FC_NO_IDENTITY)
