"""The citizen page refuses what it cannot read, as the JSON route does: a form too large
(whether or not it says its length) or that cannot be parsed is refused before FranceConnect
is asked; a refusal that says when to come back says it on the page too; a token shaped
unlike a bearer token is never sent; configured, the service needs its FranceConnect
client; the sandbox FranceConnect does not grow with the tokens it hands out."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_particulier import ConfigError
from api_particulier.testing import app_client, chunked, make_settings
from api_particulier_consent.franceconnect import well_formed
from api_particulier_consent.simulator import MAX_TOKENS, IntrospectionSimulator
from api_particulier_transparency.plugin import TransparencyPlugin
from api_particulier_transparency.routes import MAX_FORM_BYTES

from .support import MARIE, service

pytestmark = pytest.mark.anyio
MARIE_CAF = {"numeroAllocataire": "2345678", "codePostal": "75001"}


async def test_forms_it_cannot_read_are_refused_before_anyone_is_asked(tmp_path: Path) -> None:
    async with service(tmp_path) as svc:
        http = svc.client.http
        declared = await http.post("/mes-donnees", data={"token": "a" * MAX_FORM_BYTES})
        assert declared.status_code == 413
        assert declared.json()["error"] == "payload_too_large"
        unsized = await http.post(
            "/mes-donnees",
            content=chunked(MAX_FORM_BYTES * 64, prefix=b"token="),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert unsized.status_code == 413
        malformed = await http.post(
            "/mes-donnees",
            content=b"x",
            headers={"content-type": "multipart/form-data; boundary=zzz"},
        )
        assert malformed.status_code == 400
        assert malformed.json()["error"] == "bad_request"
        assert svc.fc.requests == 0


async def test_the_page_says_when_to_come_back(tmp_path: Path) -> None:
    async with service(tmp_path, max_attempts=1, attempts_window=60) as svc:
        token = svc.token(MARIE)
        first = await svc.client.http.post("/mes-donnees", data={"token": token, **MARIE_CAF})
        assert first.status_code == 200
        refused = await svc.client.http.post("/mes-donnees", data={"token": token, **MARIE_CAF})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["cache-control"] == "no-store"


def test_only_bearer_shaped_tokens_are_sent() -> None:
    assert well_formed("abc.DEF-123_~+/")
    assert well_formed("abc==")
    assert well_formed("a" * 4096)
    for token in ("", "a" + "=" * 3, "a" * 4097, "abc\n", "ab c", "é", "a" + "=" * 3_000_000):
        assert not well_formed(token), token[:20]


async def test_a_configured_deployment_needs_its_franceconnect_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_TRANSPARENCY_SECRET", "s" * 40)
    monkeypatch.setenv("TEST_FC_SECRET", "fc-secret")
    settings = make_settings(
        tmp_path,
        enabled=("transparency",),
        plugins={
            "transparency": {
                "secret": {"env": "TEST_TRANSPARENCY_SECRET"},
                "franceconnect": {
                    "introspection_url": "http://127.0.0.1:9/introspect",
                    "client_id": "api-particulier",
                    "client_secret": {"env": "TEST_FC_SECRET"},
                },
            }
        },
    )
    with pytest.raises(ConfigError, match="client_id"):
        async with app_client(settings, plugins={"transparency": TransparencyPlugin()}):
            pass


def test_the_sandbox_forgets_tokens_past_its_bound() -> None:
    clock = [0.0]
    simulator = IntrospectionSimulator(clock=lambda: clock[0])
    for _ in range(MAX_TOKENS):
        simulator.issue(["openid"], lifetime=10)
    clock[0] = 20.0  # every one expired
    live = simulator.issue(["openid"], lifetime=10)
    assert list(simulator.tokens) == [live]
    for _ in range(MAX_TOKENS * 2):
        simulator.issue(["openid"], lifetime=100)
    assert len(simulator.tokens) <= MAX_TOKENS


def test_attempts_are_counted_per_ipv4_address_and_per_ipv6_64() -> None:
    from api_particulier_transparency.routes import counted_address
    from starlette.requests import Request

    def seen(host: str) -> str:
        return counted_address(Request({"type": "http", "client": (host, 1234)}))

    assert seen("203.0.113.7") == "203.0.113.7"
    assert seen("::ffff:203.0.113.7") == "203.0.113.7"
    assert seen("2001:db8:1:2:aaaa::1") == seen("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert seen("2001:db8:1:3::1") != seen("2001:db8:1:2::1")
    assert seen("testclient") == "testclient"


async def test_another_sites_form_is_refused(tmp_path: Path) -> None:
    """Posted from another site in a visitor's browser, the form would spend the visitor's
    attempts: browsers say so (Sec-Fetch-Site), and it is refused before it counts."""
    async with service(tmp_path, max_attempts=1) as svc:
        http = svc.client.http
        form = {"token": svc.token(MARIE), **MARIE_CAF}
        for _ in range(3):
            refused = await http.post(
                "/mes-donnees", data=form, headers={"sec-fetch-site": "cross-site"}
            )
            assert refused.status_code == 403
            assert refused.json()["error"] == "access_denied"
        assert svc.fc.requests == 0
        same = await http.post("/mes-donnees", data=form, headers={"sec-fetch-site": "same-origin"})
        assert same.status_code == 200
