"""What the service refuses at its edges: rewritten paths, odd identifiers, request ids a
key could hide in, keys that no longer work, and a schema that would reject valid answers."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from api_particulier import admin, hookimpl
from api_particulier.params import InvalidParams, ParamsValidator
from api_particulier.testing import HookRecorder, TestClient, app_client, make_settings
from hypothesis import given
from hypothesis import strategies as st

from .support import ALL_ECHO_SCOPES, GOOD_PARAMS, NUMERO_MESSAGE, EchoParams, EchoProvider

pytestmark = pytest.mark.anyio
ECHO = "/api/v2/echo"


@pytest.fixture
async def echo(tmp_path: Path) -> AsyncIterator[tuple[TestClient, EchoProvider]]:
    provider = EchoProvider()
    async with app_client(make_settings(tmp_path), plugins={"echo": provider}) as client:
        yield client, provider


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "location" not in response.headers
    made = response.headers["x-request-id"]
    assert str(uuid.UUID(made)) == made


@pytest.mark.parametrize(
    "path",
    [
        f"{ECHO}/",
        f"/{ECHO}",
        "/api//v2/echo",
        "/api/v2%2Fecho",
        "/api/v2%2fecho",
        "/api/ping/",
        "//api/ping",
        "/api/introspect/",
        "/api/open-api.json/",
    ],
)
async def test_rewritten_paths_are_404_never_redirects(echo: Any, path: str) -> None:
    client, provider = echo
    key = await client.key(ALL_ECHO_SCOPES)
    response = await client.http.get(
        path,
        params=GOOD_PARAMS,
        headers={"X-Api-Key": key, "Host": "attacker.example"},
        follow_redirects=False,
    )
    assert_not_found(response)
    assert "12345" not in response.text
    assert provider.calls == []


@pytest.mark.parametrize(
    "numero",
    [
        "١٢٣٤٥",  # Arabic-Indic digits
        "１２３４５",  # fullwidth digits
        "12345\n",
        "12345\r\n",
        "12345\x00",
        "\n12345",
        "１2345",
        "12345\u00a0",
    ],
)
async def test_identifiers_are_ascii_and_whole(echo: Any, numero: str) -> None:
    client, provider = echo
    key = await client.key(ALL_ECHO_SCOPES)
    response = await client.http.get(
        ECHO, params={**GOOD_PARAMS, "numero": numero}, headers={"X-Api-Key": key}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "reason": "Invalid parameters: numero",
        "message": NUMERO_MESSAGE,
    }
    assert provider.calls == []


@pytest.mark.parametrize(
    "query",
    [
        "numero=99999&numero=12345&code=AB",  # an invalid value first, a valid one last
        "numero=12345&numero=12345&code=AB",  # even the same value twice
        "code=AB&numero=12345&code=AB&numero=12346",
    ],
)
async def test_a_parameter_given_twice_is_refused(echo: Any, query: str) -> None:
    """Which of two values would be read is not the caller's to guess: a proxy checking
    the first while the service read the last would be fooled."""
    client, provider = echo
    key = await client.key(ALL_ECHO_SCOPES)
    response = await client.http.get(f"{ECHO}?{query}", headers={"X-Api-Key": key})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    assert body["reason"].startswith("Invalid parameters: numero")
    assert NUMERO_MESSAGE in body["message"]
    assert provider.calls == []
    # A name the route does not declare may come twice: it is not read.
    other = await client.http.get(
        f"{ECHO}?numero=12345&code=AB&utm=a&utm=b", headers={"X-Api-Key": key}
    )
    assert other.status_code == 200


class Free(msgspec.Struct, frozen=True):
    nom: str


def test_a_control_character_is_refused_even_without_a_pattern() -> None:
    validator = ParamsValidator(Free)
    assert validator.validate({"nom": "Éloïse Dupont"}) == Free(nom="Éloïse Dupont")
    for bad in ("a\nb", "a\x1bb", "a\x85b"):
        with pytest.raises(InvalidParams):
            validator.validate({"nom": bad})


@given(st.text(max_size=12))
def test_a_validated_identifier_holds_only_its_documented_alphabet(value: str) -> None:
    validator = ParamsValidator(EchoParams)
    try:
        params = validator.validate({"numero": value, "code": "AB"})
    except InvalidParams:
        return
    assert isinstance(params, EchoParams)
    assert len(params.numero) == 5
    assert all(c in "0123456789" for c in params.numero)


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ("abc-123-def", True),
        ("5f0c6a5e-3b1d-4c1e-9d7a-2f8e1c0b9a77", True),
        ("trace:42.7", True),
        ("a" * 64, False),  # no separator: the shape of a historic key
        ("0123456789abcdef0123456789abcdef", False),  # 32 hex digits
        ("apip_" + "A" * 49, False),  # this service's keys hold "_"
        ("with_underscore-1", False),
        ("a-" + "b" * 63, False),  # over 64 characters
        ("a-b", False),  # under 8
        ("a\tb;<script>", False),
        ("abc-123-dé", False),
    ],
)
async def test_request_ids_a_key_cannot_take(echo: Any, sent: str, echoed: bool) -> None:
    client, _ = echo
    key = await client.key(ALL_ECHO_SCOPES)
    response = await client.http.get(
        ECHO,
        params=GOOD_PARAMS,
        headers={"X-Api-Key": key, "X-Request-Id": sent.encode("latin-1")},
    )
    assert (response.headers["x-request-id"] == sent) is echoed
    if not echoed:
        made = response.headers["x-request-id"]
        assert str(uuid.UUID(made)) == made


async def test_unusable_keys_are_filtered_by_the_lookup_itself(echo: Any) -> None:
    """A revoked or expired key, or one of an expired application, gives no row: refusing
    it costs the same lookup as an unknown key, no application is decoded."""
    client, _ = echo
    store = client.app.key_store
    pepper = client.app.pepper
    now = time.time()
    application = await admin.ensure_application(store, "ville", ALL_ECHO_SCOPES)
    live = await admin.issue_key(store, pepper, application)
    revoked = await admin.issue_key(store, pepper, application)
    await store.revoke_key(revoked.key.id, now - 1)
    expired = await admin.issue_key(store, pepper, application, expires_at=now - 1)
    old_application = await admin.ensure_application(
        store, "ancienne", ALL_ECHO_SCOPES, expires_at=now - 1
    )
    of_expired_application = await admin.issue_key(store, pepper, old_application)

    assert await store.find_active_key(live.key.digest or "", now) is not None
    for issued in (revoked, expired, of_expired_application):
        assert await store.find_active_key(issued.key.digest or "", now) is None
    for issued in (revoked, expired, of_expired_application):
        response = await client.http.get(
            ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": issued.secret}
        )
        assert response.status_code == 401


async def test_the_schema_requires_only_what_masking_always_leaves(echo: Any) -> None:
    client, _ = echo
    components = client.app.openapi()["components"]["schemas"]
    body = components["EchoBody"]
    # Containers are always present; leaves only with their scope; "secret" never.
    assert body["required"] == ["personne"]
    assert set(body["properties"]) == {"personne", "revenu"}
    assert "required" not in components["Person"]
    key = await client.key(["echo_revenu"])
    response = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": key})
    assert response.json() == {"personne": {}, "revenu": None}


async def test_the_route_deadline_bounds_the_whole_fetch(tmp_path: Path) -> None:
    provider = EchoProvider()
    provider.deadline = 0.2
    cancelled = []

    async def stuck(call: Any) -> Any:
        try:
            await anyio.sleep(30)
        except BaseException:
            cancelled.append(True)
            raise

    provider.outcome = stuck
    async with app_client(make_settings(tmp_path), plugins={"echo": provider}) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        with anyio.fail_after(10):
            response = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": key})
    assert response.status_code == 504
    assert response.json()["error"] == "timeout_error"
    assert cancelled == [True]


async def test_a_client_gone_mid_fetch_leaves_one_row_with_499(tmp_path: Path) -> None:
    provider = EchoProvider()
    recorder = HookRecorder()
    cancelled = anyio.Event()
    fetching = anyio.Event()

    async def slow(call: Any) -> Any:
        fetching.set()
        try:
            await anyio.sleep(30)
        finally:
            cancelled.set()

    provider.outcome = slow
    plugins = {"echo": provider, "recorder": recorder}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        sent: list[Any] = []
        disconnect = anyio.Event()
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> Any:
            if messages:
                return messages.pop()
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": ECHO,
            "raw_path": ECHO.encode(),
            "query_string": b"numero=12345&code=AB",
            "headers": [(b"x-api-key", key.encode())],
            "http_version": "1.1",
            "scheme": "http",
            "root_path": "",
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 1234),
        }
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(client.app, scope, receive, send)
                await fetching.wait()
                disconnect.set()
            await cancelled.wait()
    assert [(r.status, r.error) for r in recorder.records] == [(499, "client_closed_request")]


class BindsTo:
    """A consent policy binding every call to one citizen, as a FranceConnect token does."""

    def __init__(self, citizen: Any) -> None:
        self.citizen = citizen

    @hookimpl
    def check_consent(self, call: Any) -> None:
        call.bound_to = self.citizen


async def test_an_answer_bound_to_a_citizen_is_withheld_when_not_about_them(
    tmp_path: Path,
) -> None:
    """The echo route does not say whom its answers are about: a call bound to a citizen
    cannot be checked, so its answer is never sent (403), and the row says so."""
    from api_particulier import CitizenIdentity

    camille = CitizenIdentity(given_name="Camille", family_name="Martin", birthdate="1980-01-01")
    provider = EchoProvider()
    plugins = {"echo": provider, "binds": BindsTo(camille)}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)
        answer = await client.http.get(ECHO, params=GOOD_PARAMS, headers={"X-Api-Key": key})
        assert answer.status_code == 403
        assert answer.json()["error"] == "consent_invalid"
        assert "nom" not in answer.json()
        await client.app.journal.flush()
        (row,) = await client.app.journal_store.recent_calls(1)
        assert row.status == 403
