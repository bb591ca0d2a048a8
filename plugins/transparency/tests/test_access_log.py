"""The citizen's access report over the real providers' sandboxes: exactly the calls
about them, and refusals that tell nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .support import CNAF_SCOPES, DGFIP_SCOPES, MARIE, SOPHIE, Service, service

pytestmark = pytest.mark.anyio

NOTICE = {"numeroFiscal": "1111111111111", "referenceAvis": "1111111111111"}
OTHER_NOTICE = {"numeroFiscal": "3999000000002", "referenceAvis": "2500000000002"}
# Marie's own notice: she is an allocataire of the CNAF sandbox and a DGFiP declarant.
MARIE_NOTICE = {"numeroFiscal": "3999000000024", "referenceAvis": "2500000000024"}
# The declarant of NOTICE, and of the sandbox's notice 3999000000009.
JEAN = {"given_name": "Jean", "family_name": "Martin", "birthdate": "1984-03-29"}
JEAN_HONORE = {"given_name": "Jean", "family_name": "Honoré", "birthdate": "1969-12-31"}
MARIE_CAF = {"numeroAllocataire": "2345678", "codePostal": "75001"}
SOPHIE_CAF = {"numeroAllocataire": "0012345", "codePostal": "13001"}
NOT_IDENTIFIED = {
    "error": "access_denied",
    "reason": "The citizen could not be identified",
    "message": "Votre identité n'a pas pu être vérifiée : reconnectez-vous avec FranceConnect "
    "et vérifiez vos identifiants",
}


async def fetch(svc: Service, key: str, path: str, params: dict[str, str]) -> None:
    answer = await svc.client.http.get(path, params=params, headers={"x-api-key": key})
    assert answer.status_code in (200, 404), answer.text


async def two_administrations(svc: Service) -> None:
    lyon = await svc.administration(
        "Mairie de Lyon",
        DGFIP_SCOPES + CNAF_SCOPES,
        siret="21690123100011",
        legal_basis="Article L114-8 du code des relations entre le public et l'administration",
        recipients="Service des affaires scolaires",
    )
    ccas = await svc.administration(
        "CCAS de Nantes",
        DGFIP_SCOPES,
        siret="26440109900017",
        legal_basis="Article R123-5 du code de l'action sociale et des familles",
        recipients="Instructeurs des aides facultatives",
    )
    await fetch(svc, lyon, "/api/v2/avis-imposition", NOTICE)
    await fetch(svc, lyon, "/api/v2/composition-familiale", MARIE_CAF)
    await fetch(svc, lyon, "/api/v2/composition-familiale", SOPHIE_CAF)
    # The same citizen typed with spaces, through the older route: the same person.
    spaced = {"numeroFiscal": "1111 111 111 111", "referenceAvis": "1111111111111"}
    await fetch(svc, ccas, "/api/impots/svair", spaced)
    await fetch(svc, ccas, "/api/v2/avis-imposition", OTHER_NOTICE)
    # A notice that does not exist is a call about that tax number too.
    await fetch(svc, ccas, "/api/v2/avis-imposition", {**NOTICE, "referenceAvis": "1111111111404"})
    await fetch(svc, ccas, "/api/v2/avis-imposition", MARIE_NOTICE)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


async def test_a_citizen_sees_exactly_the_calls_about_them(
    tmp_path: Path, store: str | None
) -> None:
    async with service(tmp_path, store=store) as svc:
        await two_administrations(svc)
        # Jean, proven by his FranceConnect identity against one of his notices.
        answer = await svc.report(svc.token(JEAN), **NOTICE)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        body = answer.json()
        calls: list[dict[str, Any]] = body["calls"]
        assert body["count"] == 3
        assert [c["administration"]["name"] for c in calls] == [
            "CCAS de Nantes",
            "CCAS de Nantes",
            "Mairie de Lyon",
        ]
        assert {c["provider"] for c in calls} == {"dgfip"}
        assert [c["outcome"] for c in calls] == ["not_found", "transmitted", "transmitted"]
        lyon = calls[-1]
        assert lyon["administration"] == {"name": "Mairie de Lyon", "siret": "21690123100011"}
        assert lyon["legalBasis"].startswith("Article L114-8")
        assert lyon["recipients"] == "Service des affaires scolaires"
        assert lyon["data"] == [
            {"scope": "dgfip_nombre_parts", "label": "Nombre de parts"},
            {"scope": "dgfip_revenu_fiscal_reference", "label": "Revenu fiscal de référence"},
        ]
        assert lyon["outcomeLabel"] == "Données transmises"

        # Marie, proven by her FranceConnect identity against the CAF's answer.
        answer = await svc.report(svc.token(MARIE), **MARIE_CAF)
        assert answer.status_code == 200, answer.text
        (call,) = answer.json()["calls"]
        assert call["provider"] == "cnaf"
        assert call["administration"]["name"] == "Mairie de Lyon"
        assert [d["label"] for d in call["data"]] == [
            "Allocataires (noms, prénoms, dates de naissance)",
            "Quotient familial, avec son mois et son année",
        ]

        # Both kinds together: the union, newest first.
        answer = await svc.report(svc.token(MARIE), **MARIE_NOTICE, **MARIE_CAF)
        assert [c["provider"] for c in answer.json()["calls"]] == ["dgfip", "cnaf"]


async def test_the_journal_holds_pseudonyms_never_identifiers(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        await two_administrations(svc)
        await svc.client.app.journal.flush()
        rows = await svc.client.app.journal_store.recent_calls(100)
        assert all(row.subject for row in rows if row.provider is not None)
        text = repr(rows)
        for identifier in ("1111111111111", "3999000000002", "2345678", "75001", "0012345"):
            assert identifier not in text
        tax = {row.subject for row in rows if row.route.endswith(("avis-imposition", "svair"))}
        assert len(tax) == 3  # three tax numbers, whatever the route or the spaces


async def test_someone_with_no_call_gets_an_empty_report(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        await two_administrations(svc)
        honore = {"numeroFiscal": "3999000000009", "referenceAvis": "2500000000009"}
        answer = await svc.report(svc.token(JEAN_HONORE), **honore)
        assert answer.status_code == 200
        assert answer.json() == {"calls": [], "count": 0}


async def test_a_wrong_token_reveals_nothing_and_asks_no_provider(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        await two_administrations(svc)
        cnaf, dgfip = svc.cnaf.lookups, svc.dgfip.calls
        for token in ("unknown-token", "a" * 40, None, "not a token!", ""):
            for identifiers in (NOTICE, MARIE_CAF):
                answer = await svc.report(token, **identifiers)
                assert answer.status_code == 401, (token, answer.text)
                assert answer.json() == NOT_IDENTIFIED
        expired = svc.fc.issue(["openid"], identity=MARIE, lifetime=-1, client_id=svc.fc.client_id)
        revoked = svc.token(MARIE)
        svc.fc.revoke(revoked)
        other_client = svc.fc.issue(["openid"], identity=MARIE, client_id="another-client")
        for token in (expired, revoked, other_client):
            answer = await svc.report(token, **MARIE_CAF)
            assert (answer.status_code, answer.json()) == (401, NOT_IDENTIFIED)
        assert (svc.cnaf.lookups, svc.dgfip.calls) == (cnaf, dgfip)


async def test_identifiers_that_are_not_the_holders_reveal_nothing(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        await two_administrations(svc)
        # Sophie's CAF file holds calls; Marie's token does not open it, and the answer is
        # the one a wrong token gets.
        before = svc.cnaf.lookups
        answer = await svc.report(svc.token(MARIE), **SOPHIE_CAF)
        assert (answer.status_code, answer.json()) == (401, NOT_IDENTIFIED)
        assert svc.cnaf.lookups == before + 1  # the provider says who the file is about
        # A CAF number that exists nowhere: the same answer.
        answer = await svc.report(svc.token(MARIE), numeroAllocataire="7654321", codePostal="75001")
        assert (answer.status_code, answer.json()) == (401, NOT_IDENTIFIED)
        # A token that names nobody cannot open a CAF file.
        answer = await svc.report(svc.token(), **MARIE_CAF)
        assert (answer.status_code, answer.json()) == (401, NOT_IDENTIFIED)
        # Sophie herself does see it.
        answer = await svc.report(svc.token(SOPHIE), **SOPHIE_CAF)
        assert answer.json()["count"] == 1

        # A tax number is opened only by one of its declarants, proven by one of its
        # notices: Marie's token does not open Jean's, whatever notice she names.
        before = svc.dgfip.calls
        for notice in (NOTICE, {**NOTICE, "referenceAvis": "2500000000002"}):
            answer = await svc.report(svc.token(MARIE), **notice)
            assert (answer.status_code, answer.json()) == (401, NOT_IDENTIFIED)
        assert svc.dgfip.calls == before + 2  # the DGFiP says whom each notice names
        # Nor does a token that names nobody, nor one naming Jean born another day.
        for identity in (None, {**JEAN, "birthdate": "1984-03-30"}):
            answer = await svc.report(svc.token(identity), **NOTICE)
            assert (answer.status_code, answer.json()) == (401, NOT_IDENTIFIED)


async def test_missing_or_invalid_identifiers_are_refused_before_the_provider_is_asked(
    tmp_path: Path,
) -> None:
    async with service(tmp_path) as svc:
        token = svc.token(MARIE)
        for identifiers in (
            {},
            {"numeroFiscal": "12"},
            {"numeroAllocataire": "2345678"},
            {"numeroAllocataire": "2345678", "codePostal": "7500"},
            {"numeroFiscal": "1111111111111", "codePostal": "75001"},
            {"numeroFiscal": "1111111111111"},  # a tax number is proven with a notice
            {"numeroFiscal": "1111111111111", "referenceAvis": "12"},
        ):
            answer = await svc.report(token, **identifiers)
            assert answer.status_code == 400, identifiers
            assert answer.json()["error"] == "bad_request"
            # Without a valid token, nothing tells whether they were well formed.
            answer = await svc.report("unknown-token", **identifiers)
            assert (answer.status_code, answer.json()) == (401, NOT_IDENTIFIED)
        assert (svc.cnaf.lookups, svc.dgfip.calls) == (0, 0)


@pytest.mark.parametrize("counted", ["per process", "across the deployment"])
async def test_too_many_attempts_are_stopped_before_franceconnect(
    counted: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis = None
    if counted == "across the deployment":
        redis = request.getfixturevalue("redis_server").url
    async with service(tmp_path, redis=redis, max_attempts=3, attempts_window=60) as svc:
        token = svc.token(MARIE)
        for _ in range(3):
            answer = await svc.report(token, **MARIE_CAF)
            assert answer.status_code == 200
        asked, looked_up = svc.fc.requests, svc.cnaf.lookups
        answer = await svc.report(token, **MARIE_CAF)
        assert answer.status_code == 429
        assert answer.json()["error"] == "too_many_requests"
        assert 1 <= int(answer.headers["retry-after"]) <= 60
        answer = await svc.report("wrong", **NOTICE)
        assert answer.status_code == 429
        assert (svc.fc.requests, svc.cnaf.lookups) == (asked, looked_up)
    if redis is not None:
        from redis.asyncio import Redis

        client = Redis.from_url(redis)
        try:
            keys = await client.keys("api-particulier:transparency:attempts:*")
        finally:
            await client.aclose()
        assert len(keys) == 1


async def test_the_route_is_in_the_openapi_document(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        document = (await svc.client.http.get("/api/open-api.json")).json()
        operation = document["paths"]["/api/citizen/access-log"]["get"]
        assert operation["security"] == [{"citizenFranceConnect": []}]
        assert set(operation["responses"]) == {"200", "400", "401", "429", "503"}
        # Every identifier the route reads is documented, and what it accepts conforms.
        from api_particulier_transparency.routes import IDENTIFIER_NAMES

        documented = {p["name"]: p["schema"]["pattern"] for p in operation["parameters"]}
        assert set(documented) == set(IDENTIFIER_NAMES)
        accepted = {**NOTICE, **MARIE_CAF, "numeroFiscal": "1111 111 111 111"}
        for name, value in accepted.items():
            assert re.fullmatch(documented[name], value), name


async def test_a_configured_deployment_must_give_its_secret_and_franceconnect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from api_particulier.app import StartupError
    from api_particulier.testing import app_client, make_settings
    from api_particulier_transparency.plugin import TransparencyPlugin

    def configured(table: dict[str, Any]) -> Any:
        settings = make_settings(
            tmp_path, enabled=("transparency",), plugins={"transparency": table}
        )
        # As read from a file: not the embedded mode, nothing generated.
        return dataclasses.replace(settings, source=tmp_path / "config.toml")

    monkeypatch.setenv("TRANSPARENCY_SECRET", "s" * 40)
    monkeypatch.setenv("API_PARTICULIER_PEPPER", "p" * 40)
    for table, problem in (
        ({}, "secret"),
        ({"secret": {"env": "TRANSPARENCY_SECRET"}}, "franceconnect"),
    ):
        with pytest.raises(StartupError) as refused:
            async with app_client(
                configured(table), plugins={"transparency": TransparencyPlugin()}
            ):
                pass
        assert problem in refused.value.problems[0]
    assert not (tmp_path / "transparency-secret").exists()


async def test_refusals_are_never_cached(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        refused = await svc.report("unknown-token", **MARIE_CAF)
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["content-type"] == "application/json; charset=utf-8"
    assert refused.headers["x-request-id"]


async def test_the_demonstration_token_exists_only_in_embedded_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from api_particulier.testing import app_client, make_settings
    from api_particulier_transparency.plugin import TransparencyPlugin

    monkeypatch.setenv("TRANSPARENCY_SECRET", "s" * 40)
    monkeypatch.setenv("API_PARTICULIER_PEPPER", "p" * 40)
    table = {
        "secret": {"env": "TRANSPARENCY_SECRET"},
        "client_id": "mairie",
        # Never asked here: no citizen reports.
        "franceconnect": {"introspection_url": "http://127.0.0.1:9/introspect"},
    }
    settings = make_settings(tmp_path, enabled=("transparency",), plugins={"transparency": table})
    configured = dataclasses.replace(settings, source=tmp_path / "config.toml")
    async with app_client(configured, plugins={"transparency": TransparencyPlugin()}) as client:
        demo = await client.http.post("/mes-donnees/jeton-de-demonstration")
        unknown = await client.http.get("/nulle-part")
    # A configured deployment has no sandbox FranceConnect: the route answers as an
    # unknown path does.
    assert demo.status_code == 404
    assert demo.json() == unknown.json()
    assert demo.headers["x-request-id"]
