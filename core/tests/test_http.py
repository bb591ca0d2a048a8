"""End-to-end tests of every core route and error body, over ASGI."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
import yaml
from api_particulier import (
    Call,
    Denial,
    ProviderBadResponse,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    SubjectNotFound,
    admin,
    hookimpl,
)
from api_particulier.testing import HookRecorder, TestClient, app_client, make_settings
from openapi_spec_validator import validate

from .support import (
    ALL_ECHO_SCOPES,
    CODE_MESSAGE,
    GOOD_PARAMS,
    NUMERO_MESSAGE,
    EchoProvider,
    Person,
)

pytestmark = pytest.mark.anyio

ACCESS_DENIED_BODY = (
    b'{"error":"access_denied","reason":"Token not found or inactive",'
    b'"message":"Votre jeton d\'API n\'a pas \xc3\xa9t\xc3\xa9 trouv\xc3\xa9 ou n\'est pas actif"}'
)


@pytest.fixture
async def echo(tmp_path: Path) -> AsyncIterator[tuple[TestClient, EchoProvider, HookRecorder]]:
    provider = EchoProvider()
    recorder = HookRecorder()
    settings = make_settings(tmp_path, enabled=["echo", "recorder"])
    async with app_client(settings, plugins={"echo": provider, "recorder": recorder}) as client:
        yield client, provider, recorder


async def journal_rows(client: TestClient, count: int) -> list[Any]:
    """Wait (bounded) until the batched journal holds ``count`` rows."""
    with anyio.fail_after(5):
        while True:
            rows = await client.app.journal_store.recent_calls(1000)
            if len(rows) >= count:
                return rows
            await anyio.sleep(0.01)


async def test_ping_and_request_id(echo: Any) -> None:
    client, _, _ = echo
    response = await client.http.get("/api/ping")
    assert response.status_code == 200
    assert response.json() == "pong"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    made = response.headers["x-request-id"]
    assert str(uuid.UUID(made)) == made
    assert uuid.UUID(made).version == 4 and uuid.UUID(made).variant == uuid.RFC_4122

    echoed = await client.http.get("/api/ping", headers={"X-Request-Id": "abc-123-def"})
    assert echoed.headers["x-request-id"] == "abc-123-def"
    refused = await client.http.get("/api/ping", headers={"X-Request-Id": "a\tb;<script>"})
    assert refused.headers["x-request-id"] != "a\tb;<script>"


async def test_introspect(echo: Any) -> None:
    client, _, _ = echo
    key = await client.key(["echo_nom", "echo_age"], name="mairie")
    response = await client.http.get("/api/introspect", headers={"x-api-key": key})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "mairie"
    assert body["scopes"] == ["echo_age", "echo_nom"]
    keys = await client.app.key_store.list_keys()
    assert body["_id"] == keys[0].id
    assert key not in response.text


async def test_every_401_is_byte_identical(echo: Any) -> None:
    client, provider, _ = echo
    key = await client.key(ALL_ECHO_SCOPES)
    revoked = await client.key(ALL_ECHO_SCOPES)
    expired = await client.key(ALL_ECHO_SCOPES, expires_at=time.time() - 1)
    (revoked_id,) = [k.id for k in await client.app.key_store.list_keys() if k.hint == revoked[-4:]]
    await client.app.key_store.revoke_key(revoked_id, time.time())
    bad_checksum = key[:-1] + ("A" if key[-1] != "A" else "B")
    candidates: list[dict[str, str]] = [
        {},
        {"X-Api-Key": ""},
        {"X-Api-Key": "not-a-key"},
        {"X-Api-Key": bad_checksum},
        {"X-Api-Key": "apip_" + "0" * 49},
        {"X-Api-Key": revoked},
        {"X-Api-Key": expired},
    ]
    for path in ("/api/introspect", "/api/v2/echo"):
        for headers in candidates:
            response = await client.http.get(path, params=GOOD_PARAMS, headers=headers)
            assert response.status_code == 401, headers
            assert response.content == ACCESS_DENIED_BODY
    assert provider.calls == []


async def test_revocation_applies_after_the_cache_ttl(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"cache_ttl": 0.05})
    async with app_client(settings) as client:
        key = await client.key(["x"])
        assert (await client.http.get("/api/introspect", headers={"X-Api-Key": key})).is_success
        (row,) = await client.app.key_store.list_keys()
        await client.app.key_store.revoke_key(row.id, time.time())
        await anyio.sleep(0.1)
        response = await client.http.get("/api/introspect", headers={"X-Api-Key": key})
        assert response.status_code == 401


async def test_expired_application_is_refused(echo: Any) -> None:
    client, _, _ = echo
    application = await admin.ensure_application(
        client.app.key_store, "old", ["echo_nom"], expires_at=time.time() - 10
    )
    issued = await admin.issue_key(client.app.key_store, client.app.pepper, application)
    response = await client.http.get("/api/introspect", headers={"X-Api-Key": issued.secret})
    assert response.content == ACCESS_DENIED_BODY


async def test_key_in_query_string_is_refused(echo: Any) -> None:
    client, provider, _ = echo
    key = await client.key(ALL_ECHO_SCOPES)
    for name in ("token", "API-Key"):
        response = await client.http.get("/api/v2/echo", params={**GOOD_PARAMS, name: key})
        assert response.status_code == 401
        assert response.json()["error"] == "access_denied"
        assert "X-Api-Key" in response.json()["message"]
        assert key not in response.text
    assert provider.calls == []


async def test_key_and_bearer_together_are_refused(echo: Any) -> None:
    client, provider, _ = echo
    key = await client.key(ALL_ECHO_SCOPES)
    response = await client.http.get(
        "/api/v2/echo",
        params=GOOD_PARAMS,
        headers={"X-Api-Key": key, "Authorization": "Bearer citizen-token"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "too_many_credentials_provided"
    assert provider.calls == []


async def test_bearer_accepted_when_a_plugin_allows_it(tmp_path: Path) -> None:
    class AllowBearer:
        @hookimpl
        def allows_citizen_bearer(self, principal: Any) -> bool:
            return True

    provider = EchoProvider()
    plugins = {"echo": provider, "fc": AllowBearer()}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        response = await client.http.get(
            "/api/v2/echo",
            params=GOOD_PARAMS,
            headers={"X-Api-Key": key, "Authorization": "Bearer citizen-token"},
        )
        assert response.status_code == 200


async def test_historic_key_is_upgraded_on_first_use(echo: Any) -> None:
    client, _, _ = echo
    historic = "3f" * 20
    application = await admin.ensure_application(client.app.key_store, "historic", ["echo_nom"])
    await admin.import_legacy_key(
        client.app.key_store, application, hashlib.sha512(historic.encode()).hexdigest()
    )
    client.app.pm.get_plugin("keyauth")._imported_checked = 0.0
    for _ in range(2):
        response = await client.http.get("/api/introspect", headers={"X-Api-Key": historic})
        assert response.status_code == 200
        assert response.json()["name"] == "historic"
    (row,) = await client.app.key_store.list_keys()
    assert row.legacy_sha512 is None and row.digest is not None
    wrong = await client.http.get("/api/introspect", headers={"X-Api-Key": "3e" * 20})
    assert wrong.content == ACCESS_DENIED_BODY


async def test_scope_check_comes_before_validation(echo: Any) -> None:
    client, provider, _ = echo
    key = await client.key(["other_scope"])
    response = await client.http.get("/api/v2/echo", params={}, headers={"X-Api-Key": key})
    assert response.status_code == 403
    assert response.json() == {
        "error": "access_denied",
        "reason": "Votre jeton est valide mais vos privilèges sont insuffisants. "
        "Listez vos privilèges sur /api/introspect",
        "message": "Votre jeton est valide mais vos privilèges sont insuffisants. "
        "Listez vos privilèges sur /api/introspect",
    }
    assert provider.calls == []


async def test_invalid_parameters_are_all_reported(echo: Any) -> None:
    client, provider, _ = echo
    key = await client.key(ALL_ECHO_SCOPES)
    both = await client.http.get("/api/v2/echo", headers={"X-Api-Key": key})
    assert both.status_code == 400
    assert both.json() == {
        "error": "bad_request",
        "reason": "Invalid parameters: numero, code",
        "message": f"{NUMERO_MESSAGE} ; {CODE_MESSAGE}",
    }
    one = await client.http.get(
        "/api/v2/echo", params={"numero": "1234", "code": "AB"}, headers={"X-Api-Key": key}
    )
    assert one.json()["message"] == NUMERO_MESSAGE
    assert provider.calls == []
    spaced = await client.http.get(
        "/api/v2/echo", params={"numero": "12 345", "code": "AB"}, headers={"X-Api-Key": key}
    )
    assert spaced.status_code == 200
    assert provider.calls == [{"numero": "12345", "code": "AB"}]


async def test_masking_follows_the_scopes(echo: Any) -> None:
    client, _, _ = echo
    all_scopes = await client.key(ALL_ECHO_SCOPES)
    full = await client.http.get(
        "/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": all_scopes}
    )
    assert full.json() == {"personne": {"nom": "MARTIN", "age": 42}, "revenu": None}
    only_revenu = await client.key(["echo_revenu"])
    masked = await client.http.get(
        "/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": only_revenu}
    )
    assert masked.json() == {"personne": {}, "revenu": None}
    assert "do not show" not in full.text + masked.text


class Exact(msgspec.Struct, frozen=True):
    """Declares exactly the echo field tree: seen with every scope, it is encoded as it is."""

    personne: Person
    revenu: int | None


class ExactProvider(EchoProvider):
    name = "exact"
    path = "/api/v2/exact"
    response = Exact


async def test_masking_when_the_response_struct_is_encoded_as_it_is(tmp_path: Path) -> None:
    provider = ExactProvider()
    async with app_client(make_settings(tmp_path), plugins={"exact": provider}) as client:
        every = await client.key(ALL_ECHO_SCOPES)
        some = await client.key(["echo_nom"])
        provider.outcome = lambda call: Exact(personne=Person(nom="MARTIN", age=42), revenu=7)
        full = await client.http.get(
            "/api/v2/exact", params=GOOD_PARAMS, headers={"X-Api-Key": every}
        )
        assert full.content == b'{"personne":{"nom":"MARTIN","age":42},"revenu":7}'
        part = await client.http.get(
            "/api/v2/exact", params=GOOD_PARAMS, headers={"X-Api-Key": some}
        )
        assert part.json() == {"personne": {"nom": "MARTIN"}}
        # A provider that puts something else than the declared Struct inside is masked
        # field by field: what it added is not shown.
        provider.outcome = lambda call: Exact(
            personne={"nom": "MARTIN", "age": 42, "secret": "do not show"},  # type: ignore[arg-type]
            revenu=7,
        )
        smuggled = await client.http.get(
            "/api/v2/exact", params=GOOD_PARAMS, headers={"X-Api-Key": every}
        )
        assert smuggled.json() == {"personne": {"nom": "MARTIN", "age": 42}, "revenu": 7}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (SubjectNotFound(), 404, "not_found"),
        (ProviderRateLimited(), 509, "rate_limited"),
        (ProviderBadResponse(), 502, "invalid_response"),
        (ProviderUnavailable(retry_after=7), 503, "data_provider_error"),
        (ProviderTimeout(), 504, "timeout_error"),
    ],
)
async def test_provider_errors_map_to_the_contract(
    echo: Any, error: Exception, status: int, code: str
) -> None:
    client, provider, recorder = echo

    def fail(call: Call) -> Any:
        raise error

    provider.outcome = fail
    key = await client.key(ALL_ECHO_SCOPES)
    response = await client.http.get("/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key})
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "reason", "message"}
    assert body["error"] == code
    if status == 503:
        assert response.headers["retry-after"] == "7"
    assert [r.status for r in recorder.records] == [status]


async def test_unexpected_provider_exception_is_contained(echo: Any) -> None:
    client, provider, recorder = echo

    def explode(call: Call) -> Any:
        raise RuntimeError("upstream said: MARTIN Jean 1234567890123")

    provider.outcome = explode
    key = await client.key(ALL_ECHO_SCOPES)
    response = await client.http.get("/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key})
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "reason": "Internal server error",
        "message": "Une erreur interne s'est produite, l'équipe a été prévenue.",
    }
    assert [r.status for r in recorder.records] == [500]


async def test_unknown_route_and_wrong_method(echo: Any) -> None:
    client, _, _ = echo
    missing = await client.http.get("/api/v3/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert "x-request-id" in missing.headers
    wrong = await client.http.post("/api/ping")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["allow"]
    assert set(wrong.json()) == {"error", "reason", "message"}
    assert "x-request-id" in wrong.headers


async def test_health_route_is_cached(echo: Any) -> None:
    client, provider, _ = echo
    provider.healthy = False
    for _ in range(3):
        response = await client.http.get("/api/echo/ping")
        assert response.status_code == 503
        assert response.json() == {
            "error": "service_unavailable",
            "reason": "Data provider is not available",
            "message": "Le fournisseur de donnée n'est pas disponible",
        }
    assert provider.health_calls == 1


async def test_journal_and_stats(echo: Any) -> None:
    client, _, _ = echo
    key = await client.key(ALL_ECHO_SCOPES)
    for _ in range(3):
        await client.http.get("/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key})
    await client.http.get("/api/v2/echo", params={}, headers={"X-Api-Key": key})
    await client.http.get("/api/introspect", headers={"X-Api-Key": key})
    await client.http.get("/api/ping")  # before authentication: not journaled
    rows = await journal_rows(client, 5)
    assert len(rows) == 5
    assert len({row.request_id for row in rows}) == 5
    statuses = sorted(row.status for row in rows)
    assert statuses == [200, 200, 200, 200, 400]
    for row in rows:
        assert row.key_id is not None
        assert "12345" not in repr(row)
    stats = await client.http.get("/api/stats")
    assert stats.json() == 3


async def test_required_journal_refuses_data_it_cannot_record(tmp_path: Path) -> None:
    provider = EchoProvider()
    settings = make_settings(tmp_path, journal={"mode": "required"})
    async with app_client(settings, plugins={"echo": provider}) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        ok = await client.http.get("/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key})
        assert ok.status_code == 200
        # The row is durable before the answer: readable at once, without waiting.
        rows = await client.app.journal_store.recent_calls(10)
        assert [row.request_id for row in rows] == [ok.headers["x-request-id"]]

        async def broken(records: Any) -> None:
            raise OSError("disk full")

        client.app.journal_store.write_calls = broken  # type: ignore[method-assign]
        refused = await client.http.get(
            "/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key}
        )
        assert refused.status_code == 503
        assert refused.json()["error"] == "provider_unavailable"
        assert "MARTIN" not in refused.text

        # Once the store works again, the refused call's row says what the caller got.
        del client.app.journal_store.write_calls
        rows = await journal_rows(client, 2)
        latest = [row for row in rows if row.request_id == refused.headers["x-request-id"]]
        assert [(row.status, row.error) for row in latest] == [(503, "provider_unavailable")]


async def test_openapi_documents_every_route(echo: Any) -> None:
    client, _, _ = echo
    as_json = (await client.http.get("/api/open-api.json")).json()
    as_yaml = yaml.safe_load((await client.http.get("/api/open-api.yml")).text)
    assert as_json == as_yaml
    validate(as_json)
    operation = as_json["paths"]["/api/v2/echo"]["get"]
    # The recorder implements the consent and rate-limit phases, so 429 is possible too.
    assert set(operation["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "429",
        "500",
        "502",
        "503",
        "504",
    }
    assert [p["name"] for p in operation["parameters"]] == ["numero", "code"]
    assert as_json["components"]["securitySchemes"]["apiKey"]["name"] == "X-Api-Key"
    assert {"/api/ping", "/api/introspect", "/api/stats", "/api/echo/ping"} <= set(as_json["paths"])


async def test_plugins_route_shows_the_plan(echo: Any) -> None:
    client, _, _ = echo
    body = (await client.http.get("/api/plugins")).json()
    assert body["registered"] == ["echo", "keyauth", "recorder"]
    phases = [step["phase"] for step in body["plan"]]
    assert phases.index("authenticate") < phases.index("record_call")


async def test_record_call_runs_once_even_when_refused(echo: Any) -> None:
    client, _, recorder = echo
    await client.http.get("/api/introspect")
    await client.http.get("/api/introspect", headers={"X-Api-Key": "nope"})
    assert [name for name, _ in recorder.calls].count("record_call") == 2
    assert [r.status for r in recorder.records] == [401, 401]


async def test_denial_headers_and_response_headers(tmp_path: Path) -> None:
    class Limiter:
        @hookimpl
        def check_rate_limit(self, call: Call) -> Denial | None:
            if call.request.headers.get("x-over"):
                return Denial(
                    status=429,
                    error="too_many_requests",
                    reason="r",
                    message="m",
                    headers={"retry-after": "1"},
                )
            return None

        @hookimpl
        def response_headers(self, call: Call, status: int) -> None:
            call.response_headers["ratelimit-limit"] = "20"
            call.response_headers["X-Added"] = "1"
            call.response_headers["retry-after"] = "99"

    provider = EchoProvider()
    async with app_client(
        make_settings(tmp_path), plugins={"echo": provider, "limit": Limiter()}
    ) as client:
        key = await client.key(["other"])
        forbidden = await client.http.get("/api/v2/echo", headers={"X-Api-Key": key})
        assert forbidden.status_code == 403
        assert forbidden.headers["ratelimit-limit"] == "20"
        over = await client.http.get("/api/introspect", headers={"X-Api-Key": key, "x-over": "1"})
        assert over.status_code == 429
        # The denial's own header wins over a plugin's.
        assert over.headers.get_list("retry-after") == ["1"]
        assert over.headers["x-added"] == "1"
        fine = await client.http.get("/api/introspect", headers={"X-Api-Key": key})
        assert fine.headers["x-added"] == "1" and fine.headers["retry-after"] == "99"
        anonymous = await client.http.get("/api/introspect")
        assert "ratelimit-limit" not in anonymous.headers
        assert "x-added" not in anonymous.headers


async def test_a_reused_request_id_still_gets_one_row_per_request(echo: Any) -> None:
    client, _, _ = echo
    key = await client.key(ALL_ECHO_SCOPES)
    headers = {"X-Api-Key": key, "X-Request-Id": "client-chosen-id"}
    for _ in range(2):
        response = await client.http.get("/api/introspect", headers=headers)
        assert response.headers["x-request-id"] == "client-chosen-id"
    rows = await journal_rows(client, 2)
    assert [row.request_id for row in rows] == ["client-chosen-id"] * 2


async def test_the_provider_contract_suite_passes_on_a_well_behaved_provider(
    tmp_path: Path,
) -> None:
    from api_particulier.testing import check_provider_contract

    await check_provider_contract(EchoProvider(), name="echo", data_dir=tmp_path)


def test_logged_failures_carry_no_message_nor_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plugin failure is logged by type and frames: its text could name a citizen."""
    import json

    from api_particulier.logs import configure_logging

    configure_logging("json", "info")
    provider = EchoProvider()

    def explode(call: Call) -> Any:
        secret_local = "DUPONT-1234567890123"  # noqa: F841 - a variable of the failing frame
        raise RuntimeError("upstream said: MARTIN Jean 1234567890123")

    provider.outcome = explode

    async def scenario() -> int:
        async with app_client(make_settings(tmp_path), plugins={"echo": provider}) as client:
            key = await client.key(ALL_ECHO_SCOPES)
            response = await client.http.get(
                "/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key}
            )
            return response.status_code

    try:
        assert anyio.run(scenario) == 500
    finally:
        structlog_reset()
    logged = capsys.readouterr().err
    assert "MARTIN" not in logged and "DUPONT" not in logged and "1234567890123" not in logged
    assert "numero" not in logged  # nor the query string
    failures = [json.loads(line) for line in logged.splitlines() if "plugin_failed" in line]
    assert failures and failures[0]["exception"][0]["type"] == "builtins.RuntimeError"
    assert failures[0]["plugin"] == "echo" and failures[0]["phase"] == "fetch"


def structlog_reset() -> None:
    import structlog

    structlog.reset_defaults()


async def test_a_fault_of_the_core_is_a_500_recorded_as_such(echo: Any) -> None:
    client, _, recorder = echo
    key = await client.key(ALL_ECHO_SCOPES)

    def broken(query: Any) -> Any:
        raise RuntimeError("validator bug")

    (endpoint,) = [
        route.app.endpoint
        for route in client.app.routes
        if getattr(route, "path", None) == "/api/v2/echo"
    ]
    endpoint.validator.validate = broken
    response = await client.http.get("/api/v2/echo", params=GOOD_PARAMS, headers={"X-Api-Key": key})
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert [(r.status, r.error) for r in recorder.records] == [(500, "internal_error")]


def test_generated_request_ids_are_canonical_uuid4() -> None:
    from api_particulier.responses import new_request_id

    made = [new_request_id() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


async def test_request_headers_may_come_as_any_iterable(echo: Any) -> None:
    # ASGI promises an iterable of pairs, not a list: a server may pass a generator.
    client, _, _ = echo
    key = await client.key(ALL_ECHO_SCOPES)
    pairs = [(b"x-api-key", key.encode()), (b"x-request-id", b"from-a-generator")]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v2/echo",
        "raw_path": b"/api/v2/echo",
        "query_string": b"numero=12345&code=AB",
        "headers": (pair for pair in pairs),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await client.app(scope, receive, send)
    assert sent[0]["status"] == 200
    assert (b"x-request-id", b"from-a-generator") in sent[0]["headers"]
