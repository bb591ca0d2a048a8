"""/metrics end to end: figures parsed by prometheus-client's own parser after real
requests, upstream outcomes against a real local upstream, access restriction, and a real
two-worker service counting each worker once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_particulier import (
    Call,
    Denial,
    ProviderBadResponse,
    ProviderUnavailable,
    Upstream,
    hookimpl,
)
from api_particulier.testing import (
    ALL_ECHO_SCOPES,
    GOOD_PARAMS,
    EchoProvider,
    TestClient,
    UpstreamServer,
    app_client,
    make_settings,
    stop_serving,
    wait_until_serving,
)
from api_particulier_metrics.plugin import MetricsPlugin
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.anyio

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class Refusals:
    """Consent and rate-limit refusals asked for by header."""

    @hookimpl
    def check_consent(self, call: Call) -> Denial | None:
        if "x-no-consent" in call.headers:
            return Denial(status=403, error="consent_required", reason="r", message="m")
        return None

    @hookimpl
    def check_rate_limit(self, call: Call) -> Denial | None:
        if "x-too-many" in call.headers:
            return Denial(status=429, error="too_many_requests", reason="r", message="m")
        return None


async def scrape(client: TestClient, **headers: str) -> Samples:
    answer = await client.http.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


async def test_counts_match_what_was_sent(tmp_path: Path) -> None:
    plugins = {"echo": EchoProvider, "refusals": Refusals, "metrics": MetricsPlugin}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES, name="Mairie de Quimper")
        auth = {"X-Api-Key": key}
        path = EchoProvider.path
        for _ in range(3):
            await client.http.get(path, params=GOOD_PARAMS, headers=auth)
        await client.http.get(path, params={"numero": "00000", "code": "AB"}, headers=auth)
        await client.http.get(path, params=GOOD_PARAMS)  # no key
        await client.http.get(path, params=GOOD_PARAMS, headers={**auth, "x-no-consent": "1"})
        for _ in range(2):
            await client.http.get(path, params=GOOD_PARAMS, headers={**auth, "x-too-many": "1"})
        await client.http.get("/api/introspect", headers=auth)
        text = (await client.http.get("/metrics")).text
    samples = parse(text)
    requests = "api_particulier_requests_total"
    assert value(samples, requests, route=path, status="200", provider="echo") == 3
    assert value(samples, requests, route=path, status="404", provider="echo") == 1
    assert value(samples, requests, route=path, status="401", provider="echo") == 1
    assert value(samples, requests, route=path, status="403", provider="echo") == 1
    assert value(samples, requests, route=path, status="429", provider="echo") == 2
    assert value(samples, requests, route="/api/introspect", status="200", provider="none") == 1
    assert value(samples, "api_particulier_rate_limit_refusals_total", provider="echo") == 2
    assert value(samples, "api_particulier_consent_refusals_total", kind="consent_required") == 1
    refused = "api_particulier_authentication_refusals_total"
    assert value(samples, refused, error="access_denied") == 1
    duration = "api_particulier_request_duration_seconds"
    assert value(samples, duration + "_count", provider="echo") == 8
    assert value(samples, duration + "_bucket", provider="echo", le="+Inf") == 8
    assert value(samples, duration + "_sum", provider="echo") > 0
    assert ("api_particulier_journal_uncommitted_rows", ()) in samples
    builds = [labels for name, labels in samples if name == "api_particulier_build_info"]
    assert len(builds) == 1 and dict(builds[0])["version"]
    # No label holds a key, an application's name or what the caller sent (label values
    # only: a sample's value may hold any digits).
    label_values = " ".join(label for _, labels in samples for _, label in labels)
    for forbidden in (key, "Quimper", "12345", "00000"):
        assert forbidden not in label_values
    assert key not in text


async def test_upstream_outcomes_and_time_per_provider(
    tmp_path: Path, upstream: UpstreamServer
) -> None:
    upstream.answer("GET", "/ok", json={})
    upstream.answer("GET", "/garbled", body=b"<html>", content_type="text/html")
    upstream.answer("GET", "/down", status=500)
    upstream.answer("GET", "/slow", json={}, delay=2.0)
    client_of: dict[str, Upstream] = {}
    routes = {"11111": "/ok", "22222": "/garbled", "33333": "/down", "44444": "/slow"}

    async def ask(call: Call) -> Any:
        path = routes[call.subject()["numero"]]
        answer = await client_of["u"].request("GET", upstream.url + path)
        if answer.status >= 500:
            raise ProviderUnavailable()
        if not answer.headers.get("content-type", "").startswith("application/json"):
            raise ProviderBadResponse()
        return EchoProvider().outcome(call)

    provider = EchoProvider()
    provider.outcome = ask
    plugins = {"echo": provider, "metrics": MetricsPlugin}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        client_of["u"] = Upstream("test", connect_timeout=1.0, read_timeout=0.2)
        await client_of["u"].open()
        try:
            key = await client.key(ALL_ECHO_SCOPES)
            for numero in ("11111", "11111", "22222", "33333", "44444"):
                await client.http.get(
                    EchoProvider.path,
                    params={"numero": numero, "code": "AB"},
                    headers={"X-Api-Key": key},
                )
            samples = await scrape(client)
        finally:
            await client_of["u"].close()
    outcomes = "api_particulier_upstream_outcomes_total"
    assert value(samples, outcomes, provider="echo", outcome="ok") == 2
    assert value(samples, outcomes, provider="echo", outcome="invalid_answer") == 1
    assert value(samples, outcomes, provider="echo", outcome="5xx") == 1
    assert value(samples, outcomes, provider="echo", outcome="timeout") == 1
    upstream_time = "api_particulier_upstream_duration_seconds"
    assert value(samples, upstream_time + "_count", provider="echo") == 5
    # The timeout waited its 0.2 s read timeout.
    assert value(samples, upstream_time + "_sum", provider="echo") >= 0.2


async def test_faults_and_journal_backlog_are_reported(tmp_path: Path) -> None:
    plugins = {"echo": EchoProvider, "metrics": MetricsPlugin}
    async with app_client(make_settings(tmp_path), plugins=plugins) as client:
        key = await client.key(ALL_ECHO_SCOPES)

        async def broken(records: Any) -> None:
            raise OSError("disk full")

        client.app.journal_store.write_calls = broken  # type: ignore[method-assign]
        await client.http.get(EchoProvider.path, params=GOOD_PARAMS, headers={"X-Api-Key": key})
        await client.app.journal.flush()
        samples = await scrape(client)
        del client.app.journal_store.write_calls
    assert value(samples, "api_particulier_dependency_faults_total", dependency="store") >= 1
    assert value(samples, "api_particulier_journal_uncommitted_rows") >= 1
    assert value(samples, "api_particulier_journal_lag_seconds") > 0


async def test_access_by_token_and_by_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_TOKEN", "a-long-scrape-token-0123456789")
    table = {"metrics": {"token": {"env": "METRICS_TOKEN"}}}
    settings = make_settings(tmp_path, plugins=table)
    async with app_client(settings, plugins={"metrics": MetricsPlugin}) as client:
        refused = await client.http.get("/metrics")
        wrong = await client.http.get("/metrics", headers={"Authorization": "Bearer nope"})
        allowed = await client.http.get(
            "/metrics", headers={"Authorization": "Bearer a-long-scrape-token-0123456789"}
        )
    assert (refused.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)
    assert refused.json()["error"] == "access_denied"
    assert "a-long-scrape-token" not in refused.text

    # The in-process client's address is "testclient": no network holds it.
    settings = make_settings(tmp_path / "b", plugins={"metrics": {"allow_from": ["10.0.0.0/8"]}})
    async with app_client(settings, plugins={"metrics": MetricsPlugin}) as client:
        elsewhere = await client.http.get("/metrics")
    assert elsewhere.status_code == 403


def test_a_network_that_is_not_one_is_a_configuration_error(tmp_path: Path) -> None:
    from api_particulier import ConfigError
    from api_particulier.app import create_app

    settings = make_settings(tmp_path, plugins={"metrics": {"allow_from": ["10.0.0.300/8"]}})
    with pytest.raises(ConfigError, match="allow_from"):
        create_app(settings, plugins={"metrics": MetricsPlugin})


# -- two worker processes ------------------------------------------------------------------

NOTICE = "/api/v2/avis-imposition"
CLI = (sys.executable, "-m", "api_particulier")
FOUND = {"numeroFiscal": "1111111111111", "referenceAvis": "1111111111111"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    config = tmp_path / "config.toml"
    metrics_dir = tmp_path / "metrics"
    config.write_text(
        f"""
enabled = ["dgfip", "metrics"]

[core]
data_dir = "{tmp_path}"
create_demo_key = false
log_level = "info"

[plugins.metrics]
directory = "{metrics_dir}"
flush_interval = 0.1
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_PARTICULIER_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(API_PARTICULIER_CONFIG=str(config), API_PARTICULIER_PEPPER="p" * 48)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        # Generous: two workers importing every plugin on a busy machine.
        wait_until_serving(url, process, timeout=180, log=tmp_path / "serve.log")
        yield url, env, metrics_dir
    finally:
        stop_serving(process)


def test_two_workers_are_each_counted_once(two_workers: tuple[str, dict[str, str], Path]) -> None:
    url, env, metrics_dir = two_workers
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "api_particulier",
            "keys",
            "create",
            "--name",
            "m",
            "--scope",
            "dgfip_annee_impot",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = made.stdout.splitlines()[-1]

    # Both workers (and the trial start before them) said they started.
    log = metrics_dir.parent / "serve.log"
    deadline = time.monotonic() + 180  # busy machines start workers slowly
    while log.read_text().count('"started"') < 3:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)
    # The kernel hands each new connection to either worker: send, one connection each,
    # until both have served some (each writes its own file).
    sent = 0
    pids: set[str] = set()
    while len(pids) < 2 and sent < 400:
        for _ in range(20):
            answer = httpx.get(url + NOTICE, params=FOUND, headers={"X-Api-Key": key}, timeout=10)
            assert answer.status_code == 200
        sent += 20
        time.sleep(0.3)  # flush intervals: every worker has written its figures
        pids = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("counter_*.db")}
    assert len(pids) == 2, "both workers served requests"
    # Whichever worker answers the scrape, every worker is counted once.
    for _ in range(6):
        samples = parse(httpx.get(url + "/metrics", timeout=10).text)
        total = value(
            samples, "api_particulier_requests_total", route=NOTICE, status="200", provider="dgfip"
        )
        assert total == sent
        served = "api_particulier_request_duration_seconds_count"
        assert value(samples, served, provider="dgfip") == sent


async def test_an_empty_token_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variable set but empty would let any "Authorization: Bearer" through."""
    from api_particulier import ConfigError

    monkeypatch.setenv("TEST_METRICS_TOKEN", " ")
    settings = make_settings(
        tmp_path,
        enabled=("metrics",),
        plugins={"metrics": {"token": {"env": "TEST_METRICS_TOKEN"}}},
    )
    with pytest.raises(ConfigError, match="token"):
        async with app_client(settings, plugins={"metrics": MetricsPlugin()}):
            pass
