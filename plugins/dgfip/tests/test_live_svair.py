"""The live SVAIR backend over real HTTP on 127.0.0.1, against the SVAIR simulator."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from api_particulier.testing import TestClient, app_client, make_settings
from api_particulier_dgfip.config import DgfipConfig
from api_particulier_dgfip.dataset import load
from api_particulier_dgfip.plugin import DgfipPlugin
from api_particulier_dgfip.routes import FIELDS
from api_particulier_dgfip.simulator.server import SvairSimulator
from api_particulier_dgfip.svair.client import SvairBackend
from hypothesis import given, settings
from hypothesis import strategies as st

HERE = Path(__file__).parent
V2 = "/api/v2/avis-imposition"
V1 = "/api/impots/svair"
ALL_SCOPES = sorted(
    leaf
    for node in FIELDS.values()
    for leaf in (node.values() if isinstance(node, dict) else [node])
)
MAGIC = "1111111111111"
EXPECTED: dict[str, Any] = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
STATUS = {"SubjectNotFound": 404, "ProviderRateLimited": 509, "ProviderBadResponse": 502}


@asynccontextmanager
async def live(
    tmp_path: Path, simulator: SvairSimulator | None = None, **config: Any
) -> AsyncIterator[tuple[TestClient, SvairSimulator]]:
    simulator = simulator or SvairSimulator(hang_seconds=3)
    async with simulator:
        table = {"backend": "svair", "url": simulator.base_url, **config}
        settings = make_settings(tmp_path, enabled=["dgfip"], plugins={"dgfip": table})
        async with app_client(settings, plugins={"dgfip": DgfipPlugin()}) as client:
            yield client, simulator


async def get(client: TestClient, key: str, path: str = V2, **params: str) -> Any:
    return await client.http.get(path, params=params, headers={"X-Api-Key": key})


def backend_for(url: str, **config: Any) -> SvairBackend:
    return SvairBackend(msgspec.convert({"backend": "svair", "url": url, **config}, DgfipConfig))


@pytest.mark.anyio
async def test_every_data_set_notice_round_trips_through_the_html(tmp_path: Path) -> None:
    async with live(tmp_path) as (client, simulator):
        key = await client.key(ALL_SCOPES)
        for notice in load().notices:
            params = {"numeroFiscal": notice.numeroFiscal, "referenceAvis": notice.referenceAvis}
            response = await get(client, key, **params)
            assert response.status_code == 200, notice.case
            assert response.json() == msgspec.to_builtins(notice.avis), notice.case
    assert simulator.posts == len(load().notices)


@pytest.mark.anyio
async def test_recorded_samples_through_the_live_backend(tmp_path: Path) -> None:
    names = [*EXPECTED["results"], *EXPECTED["errors"]]
    identifiers = {name: (f"{index:013d}", f"{index:013d}") for index, name in enumerate(names, 1)}
    pages = {identifiers[name]: (HERE / "data" / name).read_text("utf-8") for name in names}
    simulator = SvairSimulator(pages=pages)
    async with live(tmp_path, simulator) as (client, _):
        key = await client.key(ALL_SCOPES)
        for name in names:
            spi, reference = identifiers[name]
            response = await get(client, key, numeroFiscal=spi, referenceAvis=reference)
            if name in EXPECTED["results"]:
                assert response.status_code == 200, name
                assert response.json() == EXPECTED["results"][name], name
            else:
                assert response.status_code == STATUS[EXPECTED["errors"][name]], name


@pytest.mark.anyio
async def test_only_reference_income_scope(tmp_path: Path) -> None:
    async with live(tmp_path) as (client, _):
        key = await client.key(["dgfip_revenu_fiscal_reference"])
        response = await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)
    assert response.json() == {
        "declarant1": {},
        "declarant2": {},
        "foyerFiscal": {},
        "revenuFiscalReference": 17580,
    }


@pytest.mark.anyio
async def test_refused_calls_never_reach_the_upstream(tmp_path: Path) -> None:
    async with live(tmp_path) as (client, simulator):
        outsider = await client.key(["cnaf_enfants"])
        insider = await client.key(ALL_SCOPES)
        for path in (V2, V1):
            denied = await get(client, outsider, path, numeroFiscal=MAGIC, referenceAvis=MAGIC)
            assert denied.status_code == 403
            invalid = await get(client, insider, path, numeroFiscal="12", referenceAvis="x")
            assert invalid.status_code == 400
            assert "Le numéro fiscal n'est pas correctement formaté" in invalid.json()["message"]
            assert (
                "La référence de l'avis n'est pas correctement formatée"
                in (invalid.json()["message"])
            )
    assert (simulator.gets, simulator.posts) == (0, 0)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("404", "not_found"),
        ("502", "invalid_response"),
        ("503", "data_provider_error"),
        ("504", "timeout_error"),
        ("509", "rate_limited"),
    ],
)
async def test_upstream_outcomes_map_to_contract_errors(
    tmp_path: Path, code: str, error: str
) -> None:
    magic = f"1111111111{code}"
    async with live(tmp_path, read_timeout=0.5) as (client, _):
        key = await client.key(ALL_SCOPES)
        response = await get(client, key, numeroFiscal=magic, referenceAvis=magic)
    assert response.status_code == int(code)
    assert response.json()["error"] == error


@pytest.mark.anyio
async def test_view_state_is_reused_within_its_window(tmp_path: Path) -> None:
    async with live(tmp_path) as (client, simulator):
        key = await client.key(ALL_SCOPES)
        for _ in range(3):
            assert (await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)).is_success
    assert (simulator.gets, simulator.posts) == (1, 3)


@pytest.mark.anyio
async def test_view_state_fetched_each_time_when_reuse_is_off(tmp_path: Path) -> None:
    async with live(tmp_path, viewstate_reuse=0) as (client, simulator):
        key = await client.key(ALL_SCOPES)
        for _ in range(3):
            assert (await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)).is_success
    assert (simulator.gets, simulator.posts) == (3, 3)


@pytest.mark.anyio
async def test_refused_view_state_is_renewed_once(tmp_path: Path) -> None:
    async with live(tmp_path) as (client, simulator):
        key = await client.key(ALL_SCOPES)
        assert (await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)).is_success
        simulator._issued.clear()  # the upstream forgot every state it issued
        response = await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)
    assert response.status_code == 200
    assert (simulator.gets, simulator.posts) == (2, 3)


@pytest.mark.anyio
async def test_posted_form_uses_page_names_and_keeps_14_characters() -> None:
    async with SvairSimulator() as simulator:
        backend = backend_for(simulator.base_url)
        await backend.open()
        try:
            avis = await backend.lookup("3999000000014", "2599000000014D")
        finally:
            await backend.close()
    assert avis.declarant1.nom == "BOYER"
    assert set(simulator.last_form) == {
        "j_id_7:spi",
        "j_id_7:num_facture",
        "j_id_7:j_id_l",
        "j_id_7_SUBMIT",
        "javax.faces.ViewState",
    }
    assert simulator.last_form["j_id_7:num_facture"] == "2599000000014D"


@pytest.mark.anyio
async def test_anti_bruteforce_block_after_failures(tmp_path: Path) -> None:
    async with live(tmp_path, SvairSimulator(block_after=2)) as (client, _):
        key = await client.key(ALL_SCOPES)
        statuses = [
            (
                await get(client, key, numeroFiscal=MAGIC, referenceAvis=f"99999999999{i:02d}")
            ).status_code
            for i in range(3)
        ]
        after = await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)
    assert statuses == [404, 404, 509]
    assert after.status_code == 509


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.anyio
async def test_unreachable_upstream_is_503_and_unhealthy(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/secavis/"
    settings = make_settings(
        tmp_path, enabled=["dgfip"], plugins={"dgfip": {"backend": "svair", "url": url}}
    )
    async with app_client(settings, plugins={"dgfip": DgfipPlugin()}) as client:
        key = await client.key(ALL_SCOPES)
        response = await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)
        ping = await client.http.get("/api/impots/ping")
    assert response.status_code == 503
    assert response.json()["error"] == "data_provider_error"
    assert ping.status_code == 503
    assert ping.json() == {
        "error": "service_unavailable",
        "reason": "Data provider is not available",
        "message": "Le fournisseur de donnée n'est pas disponible",
    }


@pytest.mark.anyio
async def test_health_probes_the_form_page(tmp_path: Path) -> None:
    async with live(tmp_path) as (client, simulator):
        ping = await client.http.get("/api/impots/ping")
    assert (ping.status_code, ping.json()) == (200, "pong")
    assert (simulator.gets, simulator.posts) == (1, 0)


@pytest.mark.anyio
async def test_whole_lookup_has_one_deadline() -> None:
    async with SvairSimulator(latency=0.4) as simulator:
        backend = backend_for(simulator.base_url, connect_timeout=0.2, read_timeout=0.5)
        await backend.open()
        started = time.perf_counter()
        try:
            with pytest.raises(Exception) as caught:
                await backend.lookup(MAGIC, MAGIC)
        finally:
            await backend.close()
    # GET and POST each fit the read timeout, but not both the 0.7 s deadline.
    assert type(caught.value).__name__ == "ProviderTimeout"
    assert time.perf_counter() - started < 1.5


@pytest.mark.anyio
async def test_simulator_command_serves_the_form() -> None:
    port = _free_port()
    command = [sys.executable, "-c", "from api_particulier_dgfip.simulator.cli import main; main()"]
    process = subprocess.Popen(  # noqa: ASYNC220
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/secavis/") as response:
                        page = await response.text()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the simulator did not start")
    finally:
        process.terminate()
        process.wait(timeout=5)
    assert 'name="javax.faces.ViewState"' in page


def padded(page: str, size: int, filler: str = "<!-- padding -->") -> str:
    """``page`` grown to about ``size`` bytes by ``filler`` before ``</body>``."""
    return page.replace("</body>", filler * (size // len(filler)) + "</body>")


@pytest.mark.anyio
async def test_an_answer_over_the_size_cap_is_a_502(tmp_path: Path) -> None:
    result = (HERE / "data" / "avis-single-person.html").read_text("utf-8")
    pages = {("0000000000001", "0000000000001"): padded(result, 9_900_000)}
    async with live(tmp_path, SvairSimulator(pages=pages)) as (client, _):
        key = await client.key(ALL_SCOPES)
        response = await get(
            client, key, numeroFiscal="0000000000001", referenceAvis="0000000000001"
        )
    assert response.status_code == 502
    assert response.json()["error"] == "invalid_response"


@pytest.mark.anyio
async def test_a_large_page_is_parsed_off_the_event_loop_and_still_read(tmp_path: Path) -> None:
    from api_particulier_dgfip.svair.client import INLINE_PARSE_BYTES

    result = (HERE / "data" / "avis-single-person.html").read_text("utf-8")
    rows = "<table><tr><td>x</td><td>y</td></tr></table>"
    pages = {
        # Larger than what is parsed on the event loop, below the size cap: still a notice.
        ("0000000000001", "0000000000001"): padded(result, 4 * INLINE_PARSE_BYTES),
        # As large, but made of thousands of rows: not a notice, and not walked row by row.
        ("0000000000002", "0000000000002"): padded(result, 4 * INLINE_PARSE_BYTES, rows),
    }
    async with live(tmp_path, SvairSimulator(pages=pages)) as (client, _):
        key = await client.key(ALL_SCOPES)
        read = await get(client, key, numeroFiscal="0000000000001", referenceAvis="0000000000001")
        rowful = await get(client, key, numeroFiscal="0000000000002", referenceAvis="0000000000002")
    assert read.status_code == 200
    assert read.json() == EXPECTED["results"]["avis-single-person.html"]
    assert rowful.status_code == 502


@pytest.mark.anyio
async def test_an_upstream_failing_in_a_row_opens_the_circuit(tmp_path: Path) -> None:
    failing = "1111111111503"
    async with live(tmp_path) as (client, simulator):
        key = await client.key(ALL_SCOPES)
        statuses = []
        for _ in range(8):
            response = await get(client, key, numeroFiscal=failing, referenceAvis=failing)
            statuses.append(response.status_code)
        posts = simulator.posts
        refused = await get(client, key, numeroFiscal=MAGIC, referenceAvis=MAGIC)
        plugins = (await client.http.get("/api/plugins")).json()
    assert statuses == [503] * 8
    assert posts == 5  # the circuit opened after five failures in a row
    assert refused.status_code == 503
    assert refused.json()["error"] == "data_provider_error"
    assert int(refused.headers["retry-after"]) >= 1
    assert simulator.posts == posts
    (dgfip,) = [p for p in plugins["providers"] if p["name"] == "dgfip"]
    assert dgfip["upstreams"][0]["circuit"]["state"] == "open"


# Near misses of a valid identifier: other scripts' digits, a trailing newline, a space
# that is not a space, and plain random text.
_ALMOST = st.sampled_from(["\n", "\r\n", "٣", "３", "\u00a0", "\x00", "é", "%", "+"])
_IDENTIFIERS = st.one_of(
    st.text(max_size=16),
    st.tuples(
        st.from_regex(r"[0-9A-Za-z]{12,14}", fullmatch=True), _ALMOST, st.integers(0, 14)
    ).map(lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]),
    st.from_regex(r"[0-9A-Za-z ]{13,16}", fullmatch=True),
)


@dataclass
class LiveSvair:
    portal: BlockingPortal
    client: TestClient
    simulator: SvairSimulator
    key: str


@pytest.fixture(scope="module")
def live_svair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSvair]:
    data_dir = tmp_path_factory.mktemp("svair-alphabet")
    with (
        start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(live(data_dir)) as (client, simulator),
    ):
        key = portal.call(client.key, ALL_SCOPES)
        yield LiveSvair(portal, client, simulator, key)


@given(numero=_IDENTIFIERS, reference=_IDENTIFIERS)
@settings(max_examples=150)
def test_only_the_documented_alphabet_reaches_svair(
    live_svair: LiveSvair, numero: str, reference: str
) -> None:
    live_svair.simulator.received.clear()
    response = live_svair.portal.call(
        functools.partial(
            get, live_svair.client, live_svair.key, numeroFiscal=numero, referenceAvis=reference
        )
    )
    assert response.status_code in (200, 400, 404), response.text
    for spi, ref in live_svair.simulator.received:
        assert re.fullmatch(r"[0-9A-Za-z]{13}", spi, re.ASCII), spi
        assert re.fullmatch(r"[0-9A-Za-z]{13,14}", ref, re.ASCII), ref
