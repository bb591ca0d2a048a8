"""The cache in front of a live backend: the DGFiP plugin's SVAIR client against the SVAIR
simulator, which counts what it receives. A hundred concurrent calls about one citizen make
one upstream lookup; the next call is served from the cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from api_particulier.testing import app_client, make_settings
from api_particulier_cache.plugin import CachePlugin
from api_particulier_dgfip.dataset import load
from api_particulier_dgfip.plugin import DgfipPlugin
from api_particulier_dgfip.routes import FIELDS
from api_particulier_dgfip.simulator.server import SvairSimulator

pytestmark = pytest.mark.anyio


def scopes(tree: dict[str, object]) -> list[str]:
    found: list[str] = []
    for node in tree.values():
        found += scopes(node) if isinstance(node, dict) else [str(node)]
    return found


async def test_a_hundred_concurrent_misses_make_one_svair_lookup(tmp_path: Path) -> None:
    notice = load().notices[0]
    params = {"numeroFiscal": notice.numeroFiscal, "referenceAvis": notice.referenceAvis}
    async with SvairSimulator(latency=0.3) as simulator:
        settings = make_settings(
            tmp_path,
            enabled=["dgfip", "cache"],
            plugins={"dgfip": {"backend": "svair", "url": simulator.base_url}},
        )
        plugins = {"dgfip": DgfipPlugin(), "cache": CachePlugin()}
        async with app_client(settings, plugins=plugins) as client:
            key = await client.key(scopes(FIELDS))
            headers = {"X-Api-Key": key}
            answers = await asyncio.gather(
                *(
                    client.http.get("/api/v2/avis-imposition", params=params, headers=headers)
                    for _ in range(100)
                )
            )
            assert {a.status_code for a in answers} == {200}
            assert {a.text for a in answers} == {answers[0].text}
            assert answers[0].json() == msgspec.to_builtins(notice.avis)
            assert simulator.posts == 1
            again = await client.http.get("/api/v2/avis-imposition", params=params, headers=headers)
            assert again.headers["x-response-cached"] == "true"
            assert int(again.headers["x-cache-expires-in"]) <= 3600
            assert simulator.posts == 1
