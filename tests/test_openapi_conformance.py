"""The served API against its own OpenAPI document, with schemathesis and every check.

``api-particulier serve`` runs on its embedded defaults (every bundled plugin, sandbox
data) in a process of its own; schemathesis drives every operation of the generated
document — v1 aliases included — with a key holding every scope, then with keys holding a
single scope, whose masked answers the document must describe too. Any 5xx, any answer
the document does not describe, any invalid input accepted or valid input refused fails.

The one thing JSON Schema cannot say — that a SIRET's Luhn key holds — is declared as the
format ``siret`` and taught to schemathesis by ``openapi_formats.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from api_particulier import admin
from api_particulier.app import create_app
from api_particulier.cli.common import all_scopes
from api_particulier.settings import load_settings
from api_particulier.testing import stop_serving, wait_until_serving

HERE = Path(__file__).parent
# One key per shape of answer: everything, and a single field or group of each provider.
KEYS: dict[str, list[str] | None] = {
    "every-scope": None,
    "revenu-fiscal-only": ["dgfip_revenu_fiscal_reference"],
    "declarant2-nom-only": ["dgfip_declarant2_nom"],
    "enfants-only": ["cnaf_enfants"],
    "quotient-familial-only": ["cnaf_quotient_familial"],
}
EXAMPLES_PER_OPERATION = "40"


@dataclass
class Service:
    url: str
    keys: dict[str, str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _issue_keys(environ: dict[str, str]) -> dict[str, str]:
    app = create_app(load_settings(environ=environ))
    every = all_scopes(app)

    async def issue() -> dict[str, str]:
        await app.key_store.open()
        issued: dict[str, str] = {}
        try:
            for name, scopes in KEYS.items():
                application = await admin.ensure_application(
                    app.key_store, name, every if scopes is None else scopes
                )
                # A quota no run reaches: the rate limit is not what is tested here.
                application = await admin.update_settings(
                    app.key_store, application, {"ratelimit": {"quota": 1_000_000}}
                )
                key = await admin.issue_key(app.key_store, app.pepper, application)
                issued[name] = key.secret
        finally:
            await app.key_store.close()
        return issued

    return anyio.run(issue)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("API_PARTICULIER_CONFIG", "API_PARTICULIER_DISABLE_PLUGINS")
    }
    environ["API_PARTICULIER_DATA_DIR"] = str(tmp_path_factory.mktemp("conformance"))
    environ["API_PARTICULIER_LOG_LEVEL"] = "warning"
    keys = _issue_keys(environ)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api_particulier", "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield Service(url, keys)
    finally:
        stop_serving(process, stop_signal=signal.SIGINT, timeout=20)


@pytest.mark.parametrize("key_name", list(KEYS))
def test_every_answer_is_described_by_the_document(service: Service, key_name: str) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{service.url}/api/open-api.json",
        "--checks",
        "all",
        "--header",
        f"X-Api-Key: {service.keys[key_name]}",
        "--max-examples",
        EXAMPLES_PER_OPERATION,
        "--no-color",
    ]
    if os.environ.get("CI"):
        # As for the property tests: a CI run can be reproduced exactly.
        command += ["--seed", "20261203"]
    environ = {**os.environ, "SCHEMATHESIS_HOOKS": "openapi_formats"}
    run = subprocess.run(
        command, cwd=HERE, env=environ, capture_output=True, text=True, timeout=900
    )
    report = run.stdout[-12000:] + run.stderr[-4000:]
    assert run.returncode == 0, report
    assert "No issues found" in report or "passed" in report, report
