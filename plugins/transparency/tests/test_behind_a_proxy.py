"""Behind a load balancer, every citizen arrives from the balancer's address: with
``[core.http] trusted_proxies``, ``serve`` takes the client's address from the balancer's
X-Forwarded-For, so the citizen page's attempts are counted per citizen, not for everyone
at once; without it, X-Forwarded-For is nobody's word and is ignored."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_particulier.testing import stop_serving, wait_until_serving

CONFIG = """
enabled = ["dgfip", "transparency"]
[core]
data_dir = "{data}"
[core.http]
trusted_proxies = {proxies}
[plugins.transparency]
secret = {{ env = "TEST_TRANSPARENCY_SECRET" }}
client_id = "mes-donnees"
max_attempts = 1
[plugins.transparency.franceconnect]
# Nothing listens there: an attempt let through answers 503, one stopped answers 429.
introspection_url = "http://127.0.0.1:9/introspect"
client_id = "api-particulier"
client_secret = {{ env = "TEST_FC_SECRET" }}
"""
FORM = {"token": "abcdef", "numeroFiscal": "1111111111111", "referenceAvis": "1111111111111"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("proxies", "expected"),
    [('["127.0.0.1"]', [503, 503, 429]), ("[]", [503, 429, 429])],
    ids=["behind a trusted proxy", "no proxy trusted"],
)
def test_attempts_are_counted_per_forwarded_address(
    tmp_path: Path, proxies: str, expected: list[int]
) -> None:
    config = tmp_path / "api-particulier.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data", proxies=proxies))
    port = _free_port()
    env = {
        **os.environ,
        "API_PARTICULIER_PEPPER": "p" * 40,
        "TEST_TRANSPARENCY_SECRET": "s" * 40,
        "TEST_FC_SECRET": "fc-secret",
    }
    env.pop("API_PARTICULIER_DISABLE_PLUGINS", None)
    command = [sys.executable, "-m", "api_particulier", "--config", str(config), "serve"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process)
        statuses = [
            httpx.post(
                url + "/mes-donnees", data=FORM, headers={"x-forwarded-for": address}
            ).status_code
            for address in ("203.0.113.1", "203.0.113.2", "203.0.113.1")
        ]
        assert statuses == expected
    finally:
        stop_serving(process, stop_signal=signal.SIGINT, timeout=20)
