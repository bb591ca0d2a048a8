"""The live backend against the simulator, over mutual TLS on 127.0.0.1, through the API."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from api_particulier import ConfigError, ProviderUnavailable
from api_particulier.testing import TestClient, app_client, make_settings
from api_particulier_cnaf.client import SoapBackend
from api_particulier_cnaf.config import CnafConfig
from api_particulier_cnaf.plugin import CnafPlugin
from api_particulier_cnaf.simulator.pki import TestPki
from api_particulier_cnaf.simulator.server import Answer, CnafSimulator
from api_particulier_cnaf.tls import client_context
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_parser import EXPECTED, HEADER_2017, header_for
from .test_routes_sandbox import MAGIC_CASES

pytestmark = pytest.mark.anyio

V2 = "/api/v2/composition-familiale"
ALL_SCOPES = ["cnaf_quotient_familial", "cnaf_allocataires", "cnaf_enfants", "cnaf_adresse"]


def soap_table(simulator: CnafSimulator, pki: TestPki, **extra: Any) -> dict[str, Any]:
    return {
        "backend": "soap",
        "url": simulator.url,
        "client_cert": str(pki.client_cert),
        "client_key": str(pki.client_key),
        "ca": str(pki.ca),
        "read_timeout": 1.0,
        **extra,
    }


@pytest.fixture
async def client(
    tmp_path: Path, simulator: CnafSimulator, pki: TestPki
) -> AsyncIterator[TestClient]:
    settings = make_settings(
        tmp_path, enabled=["cnaf"], plugins={"cnaf": soap_table(simulator, pki)}
    )
    async with app_client(settings, plugins={"cnaf": CnafPlugin()}) as running:
        yield running


async def get(client: TestClient, params: dict[str, str], scopes: list[str]) -> Any:
    key = await client.key(scopes)
    return await client.http.get(V2, params=params, headers={"X-Api-Key": key})


async def test_every_recorded_sample_through_the_api(
    client: TestClient, simulator: CnafSimulator, sample: dict[str, bytes]
) -> None:
    for number, name in enumerate(sorted(EXPECTED), start=1):
        body = sample[name]
        header = HEADER_2017 if name.startswith("ok-2017") else header_for(body)
        simulator.register(f"100000{number}", "75002", Answer(200, header, body))
        params = {"numeroAllocataire": f"100000{number}", "codePostal": "75002"}
        response = await get(client, params, ALL_SCOPES)
        assert response.status_code == 200, (name, response.text)
        assert response.json() == EXPECTED[name], name
    assert simulator.calls == len(EXPECTED)


async def test_the_ko_sample_through_the_api(
    client: TestClient, simulator: CnafSimulator, sample: dict[str, bytes]
) -> None:
    body = sample["ko-code-retour-4.multipart.txt"]
    simulator.register("1000009", "75002", Answer(200, header_for(body), body))
    response = await get(
        client, {"numeroAllocataire": "1000009", "codePostal": "75002"}, ALL_SCOPES
    )
    assert response.status_code == 503
    assert response.json() == {
        "error": "data_provider_error",
        "reason": "Unknown error code 4",
        "message": "Erreur inconnue du fournisseur de donnée CAF",
    }


async def test_a_sandbox_household_served_by_the_simulator(client: TestClient) -> None:
    params = {"numeroAllocataire": "6789012", "codePostal": "44000"}
    response = await get(client, params, ["cnaf_adresse", "cnaf_enfants"])
    assert response.status_code == 200
    assert response.json()["adresse"]["identite"] == "MARTIN MARIE & PIERRE"
    assert [child["nomPrenom"] for child in response.json()["enfants"]] == [
        "MARTIN ÉLISE",
        "MARTIN CHLOÉ",
    ]


async def test_only_cnaf_enfants_over_the_live_backend(client: TestClient) -> None:
    response = await get(
        client, {"numeroAllocataire": "2345678", "codePostal": "75001"}, ["cnaf_enfants"]
    )
    assert response.status_code == 200
    assert set(response.json()) == {"enfants"}
    assert len(response.json()["enfants"]) == 2


@pytest.mark.parametrize(
    ("code_postal", "status", "error"),
    MAGIC_CASES,
)
async def test_magic_identifiers_over_the_wire(
    client: TestClient, code_postal: str, status: int, error: str
) -> None:
    params = {"numeroAllocataire": "1234567", "codePostal": code_postal}
    response = await get(client, params, ALL_SCOPES)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


async def test_an_unknown_household_is_404(client: TestClient) -> None:
    response = await get(
        client, {"numeroAllocataire": "7654321", "codePostal": "75001"}, ALL_SCOPES
    )
    assert response.status_code == 404
    assert (
        response.json()["reason"]
        == "Dossier allocataire inexistant. Le document ne peut être édité."
    )


@pytest.mark.parametrize(
    ("mode", "status"),
    [("fault", 503), ("garbage", 502), ("unavailable", 503), ("hang", 504)],
)
async def test_failure_modes(
    client: TestClient, simulator: CnafSimulator, mode: Any, status: int
) -> None:
    simulator.mode = mode
    response = await get(
        client, {"numeroAllocataire": "2345678", "codePostal": "75001"}, ALL_SCOPES
    )
    assert response.status_code == status
    # Never any upstream text in the answer.
    assert "Internal Error" not in response.text and "<html>" not in response.text


async def test_lf_framing_from_the_simulator(tmp_path: Path, pki: TestPki) -> None:
    with CnafSimulator(pki, line_end=b"\n") as simulator:
        settings = make_settings(
            tmp_path, enabled=["cnaf"], plugins={"cnaf": soap_table(simulator, pki)}
        )
        async with app_client(settings, plugins={"cnaf": CnafPlugin()}) as running:
            params = {"numeroAllocataire": "2345678", "codePostal": "75001"}
            response = await get(running, params, ["cnaf_quotient_familial"])
    assert response.json() == {"quotientFamilial": 1234, "mois": 7, "annee": 2022}


async def test_refusals_never_reach_the_upstream(
    client: TestClient, simulator: CnafSimulator
) -> None:
    bad = await get(client, {"numeroAllocataire": "12", "codePostal": "75001"}, ALL_SCOPES)
    assert bad.status_code == 400
    assert bad.json()["message"] == "Le numéro d'allocataire n'est pas correctement formaté"
    forbidden = await get(
        client, {"numeroAllocataire": "2345678", "codePostal": "75001"}, ["other"]
    )
    assert forbidden.status_code == 403
    assert simulator.calls == 0


async def test_a_client_without_the_right_certificate_is_refused(
    tmp_path: Path, simulator: CnafSimulator, pki: TestPki, foreign_pki: TestPki
) -> None:
    # A certificate from another CA: the simulator refuses the handshake, the API says 503.
    table = soap_table(
        simulator,
        pki,
        client_cert=str(foreign_pki.client_cert),
        client_key=str(foreign_pki.client_key),
    )
    settings = make_settings(tmp_path, enabled=["cnaf"], plugins={"cnaf": table})
    async with app_client(settings, plugins={"cnaf": CnafPlugin()}) as running:
        response = await get(
            running, {"numeroAllocataire": "2345678", "codePostal": "75001"}, ALL_SCOPES
        )
        assert response.status_code == 503
        assert response.json()["error"] == "data_provider_error"
        assert (await running.http.get("/api/caf/ping")).status_code == 503
    assert simulator.calls == 0
    assert simulator.refused >= 1


async def test_a_client_presenting_no_certificate_is_refused(
    simulator: CnafSimulator, pki: TestPki
) -> None:
    import ssl

    bare = ssl.create_default_context(cafile=str(pki.ca))
    backend = SoapBackend(simulator.url, context=bare, read_timeout=1.0)
    await backend.start()
    try:
        with pytest.raises(ProviderUnavailable):
            await backend.lookup("2345678", "75001")
        assert await backend.healthy() is False
    finally:
        await backend.close()
    assert simulator.calls == 0
    assert simulator.refused >= 1


async def test_the_server_certificate_is_verified(
    tmp_path: Path, simulator: CnafSimulator, pki: TestPki, foreign_pki: TestPki
) -> None:
    # Our client certificate, but a trust store that does not know the simulator's CA.
    table = soap_table(simulator, pki, ca=str(foreign_pki.ca))
    settings = make_settings(tmp_path, enabled=["cnaf"], plugins={"cnaf": table})
    async with app_client(settings, plugins={"cnaf": CnafPlugin()}) as running:
        response = await get(
            running, {"numeroAllocataire": "2345678", "codePostal": "75001"}, ALL_SCOPES
        )
        assert response.status_code == 503
    assert simulator.calls == 0


async def test_live_health_probes_the_service(client: TestClient, simulator: CnafSimulator) -> None:
    response = await client.http.get("/api/caf/ping")
    assert response.status_code == 200
    assert response.json() == "pong"
    # The probe asks for the WSDL, never for a household.
    assert simulator.calls == 0


async def test_health_is_false_when_the_service_is_down(tmp_path: Path, pki: TestPki) -> None:
    with CnafSimulator(pki) as simulator:
        table = soap_table(simulator, pki, connect_timeout=0.5)
    settings = make_settings(tmp_path, enabled=["cnaf"], plugins={"cnaf": table})
    async with app_client(settings, plugins={"cnaf": CnafPlugin()}) as running:
        response = await running.http.get("/api/caf/ping")
    assert response.status_code == 503
    assert response.json() == {
        "error": "service_unavailable",
        "reason": "Data provider is not available",
        "message": "Le fournisseur de donnée n'est pas disponible",
    }


def test_certificates_from_environment_variables(
    pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    import msgspec

    monkeypatch.setenv("TEST_CAF_CERTIFICATE", pki.client_cert.read_text())
    monkeypatch.setenv("TEST_CAF_PRIVATE_KEY", pki.client_key.read_text())
    config = msgspec.convert(
        {
            "backend": "soap",
            "client_cert": {"env": "TEST_CAF_CERTIFICATE"},
            "client_key": {"env": "TEST_CAF_PRIVATE_KEY"},
            "ca": str(pki.ca),
        },
        CnafConfig,
    )
    context = client_context(config)
    assert context.verify_mode.name == "CERT_REQUIRED"
    assert context.check_hostname


@pytest.mark.parametrize(
    "table",
    [
        {"backend": "soap"},
        {"backend": "soap", "client_cert": "/nonexistent.pem", "client_key": "/nonexistent.pem"},
    ],
)
def test_unusable_live_configuration_fails_at_boot(tmp_path: Path, table: dict[str, Any]) -> None:
    settings = make_settings(tmp_path, enabled=["cnaf"], plugins={"cnaf": table})
    from api_particulier.app import create_app

    with pytest.raises(ConfigError) as caught:
        create_app(settings, plugins={"cnaf": CnafPlugin()})
    assert "plugins.cnaf" in str(caught.value)


@pytest.mark.parametrize(("status", "expected"), [(401, 502), (403, 502), (500, 503), (404, 503)])
async def test_http_errors_from_cnaf(
    client: TestClient, simulator: CnafSimulator, status: int, expected: int
) -> None:
    # CNAF refusing our certificate at the HTTP level is our problem, not the caller's: 502.
    simulator.register("1000010", "75002", Answer(status, "text/html", b"<html>refus</html>"))
    params = {"numeroAllocataire": "1000010", "codePostal": "75002"}
    response = await get(client, params, ALL_SCOPES)
    assert response.status_code == expected
    assert "refus" not in response.text


# Near misses of valid identifiers: other scripts' digits, a trailing newline, a space
# that is not a space, and plain random text.
_ALMOST = st.sampled_from(["\n", "\r\n", "٢", "２", "\u00a0", "\x00", "a", "%", "+", " "])


def _near(pattern: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=9),
        st.from_regex(pattern, fullmatch=True),
        st.tuples(st.from_regex(pattern, fullmatch=True), _ALMOST, st.integers(0, 7)).map(
            lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
        ),
    )


@dataclass
class LiveSoap:
    portal: BlockingPortal
    client: TestClient
    simulator: CnafSimulator
    key: str


@pytest.fixture(scope="module")
def live_soap(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[LiveSoap]:
    data_dir = tmp_path_factory.mktemp("soap-alphabet")
    with CnafSimulator(pki, hang_seconds=5.0) as simulator:
        settings = make_settings(
            data_dir, enabled=["cnaf"], plugins={"cnaf": soap_table(simulator, pki)}
        )
        with (
            start_blocking_portal("asyncio") as portal,
            portal.wrap_async_context_manager(
                app_client(settings, plugins={"cnaf": CnafPlugin()})
            ) as client,
        ):
            key = portal.call(client.key, ALL_SCOPES)
            yield LiveSoap(portal, client, simulator, key)


@given(numero=_near(r"[0-9]{5,7}"), code=_near(r"[0-9]{5}"))
@settings(max_examples=150)
def test_only_the_documented_alphabet_reaches_cnaf(
    live_soap: LiveSoap, numero: str, code: str
) -> None:
    live_soap.simulator.received.clear()
    response = live_soap.portal.call(
        functools.partial(
            live_soap.client.http.get,
            V2,
            params={"numeroAllocataire": numero, "codePostal": code},
            headers={"X-Api-Key": live_soap.key},
        )
    )
    assert response.status_code in (200, 400, 404, 502, 503, 504), response.text
    for matricule, postal in live_soap.simulator.received:
        assert re.fullmatch(r"[0-9]{5,7}", matricule, re.ASCII), matricule
        assert re.fullmatch(r"[0-9]{5}", postal, re.ASCII), postal
