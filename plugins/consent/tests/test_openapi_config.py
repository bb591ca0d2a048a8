"""The configuration table and the OpenAPI additions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from api_particulier.app import create_app
from api_particulier.errors import ConfigError
from api_particulier_consent.config import ConsentConfig
from api_particulier_consent.plugin import ConsentPlugin
from openapi_spec_validator import validate

from .support import PATH, harness, settings_for


def test_defaults() -> None:
    config = msgspec.convert({}, ConsentConfig)
    assert config.audience == "api-particulier"
    assert config.max_lifetime == 900
    assert config.default_policy == ["identifiers"]
    assert config.replay.backend == "store"
    assert config.franceconnect is None


@pytest.mark.parametrize(
    "table",
    [
        {"audiance": "x"},
        {"max_lifetime": 86400},
        {"clock_skew": 3600},
        {"default_policy": []},
        {"default_policy": ["sms"]},
        # The replay memory uses the deployment's Redis ([core.redis]), not one of its own.
        {"replay": {"backend": "redis", "redis_url": {"env": "REDIS"}}},
        {"franceconnect": {"shape": "checktoken"}},
        {"franceconnect": {"introspection_url": "http://x", "client_secret": "in clear"}},
    ],
)
def test_strict_table(tmp_path: Path, table: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        create_app(settings_for(tmp_path, table), plugins={"consent": ConsentPlugin()})


@pytest.mark.anyio
async def test_a_redis_replay_memory_needs_the_deployments_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_PARTICULIER_REDIS_URL", raising=False)
    settings = settings_for(tmp_path, {"replay": {"backend": "redis"}})
    app = create_app(settings, plugins={"consent": ConsentPlugin()})
    with pytest.raises(ConfigError) as caught:
        async with app.running():
            pass
    assert "[core.redis]" in "; ".join(caught.value.problems)


@pytest.mark.anyio
async def test_openapi_documents_recipient_receipt_and_refusals(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        document = (await h.client.http.get("/api/open-api.json")).json()
    validate(document)
    operation = document["paths"][PATH]["get"]
    names = {(p["name"], p["in"]) for p in operation["parameters"]}
    assert {("recipient", "query"), ("X-Consent-Receipt", "header")} <= names
    examples = operation["responses"]["403"]["content"]["application/json"]["examples"]
    assert {"consent_required", "consent_invalid"} <= set(examples)
    assert (
        "invalid_recipient"
        in operation["responses"]["400"]["content"]["application/json"]["examples"]
    )
    assert "franceConnect" in document["components"]["securitySchemes"]
    assert "parameters" not in document["paths"]["/api/introspect"]["get"]
