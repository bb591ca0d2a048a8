"""Reference servers the service is measured against, in the same run.

- ``raw_app``: a bare ASGI callable, the limit of Python + uvicorn on this machine;
- ``starlette_app``: one Starlette endpoint answering ``JSONResponse(notice)``, the reference
  every ratio is computed against. It is the endpoint of the performance budget the targets
  were set with ("Starlette routing + ``Request`` + ``JSONResponse``"): like the service, it
  encodes the notice on every request;
- ``starlette_bytes_app``: the same endpoint answering bytes encoded once at import, a
  stricter reference kept for information;
- ``proxy_app``: Starlette + one aiohttp call to an upstream, then ``JSONResponse(notice)``,
  the baseline of live endpoints (upstream URL in ``$BENCH_UPSTREAM``);
- ``lookup_app``: Starlette + the DGFiP plugin's live backend (the same POST, the same
  parse of the SVAIR page) with no pipeline around it: what the service's live endpoint
  costs minus key auth, consent, rate limit, validation, masking and journal (SVAIR base
  URL in ``$BENCH_UPSTREAM``). It runs with the service's process settings
  (``api_particulier.runtime``), which matter for the HTML parser's allocations, and its
  log level in the benchmark (warning): only the pipeline differs.

Each answers the same JSON body as the service's sandbox notice, byte for byte, so the
comparison is fair.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BODY = (
    b'{"declarant1":{"nom":"MARTIN","nomNaissance":"MARTIN","prenoms":"Jean",'
    b'"dateNaissance":"29/03/1984"},"declarant2":{"nom":"","nomNaissance":"","prenoms":"",'
    b'"dateNaissance":""},"foyerFiscal":{"adresse":"34 RUE DE L\'EGLISE 75009 PARIS",'
    b'"annee":2025},"dateRecouvrement":"31/07/2025","dateEtablissement":"09/07/2025",'
    b'"nombreParts":1,"situationFamille":"C\xc3\xa9libataire","nombrePersonnesCharge":0,'
    b'"revenuBrutGlobal":17580,"revenuImposable":17580,'
    b'"impotRevenuNetAvantCorrections":1665,"montantImpot":1665,'
    b'"revenuFiscalReference":17580,"anneeImpots":"2025","anneeRevenus":"2024"}'
)
NOTICE = json.loads(BODY)
_HEADERS = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"content-length", str(len(BODY)).encode()),
]


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def _json(request: Request) -> Response:
    return JSONResponse(NOTICE)


async def _bytes(request: Request) -> Response:
    return Response(BODY, media_type="application/json; charset=utf-8")


starlette_app = Starlette(routes=[Route("/", _json)])
starlette_bytes_app = Starlette(routes=[Route("/", _bytes)])


def _proxy() -> Starlette:
    import aiohttp

    upstream = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:1/")
    sessions: list[aiohttp.ClientSession] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=2000)
        sessions.append(aiohttp.ClientSession(connector=connector))
        yield
        await sessions.pop().close()

    async def proxied(request: Request) -> Response:
        async with sessions[0].get(upstream) as answer:
            await answer.read()
        return JSONResponse(NOTICE)

    return Starlette(routes=[Route("/", proxied)], lifespan=lifespan)


proxy_app = _proxy()


def _lookup() -> Starlette:
    import msgspec
    from api_particulier.logs import configure_logging
    from api_particulier.runtime import prepare_for_serving
    from api_particulier_dgfip.config import DgfipConfig
    from api_particulier_dgfip.svair.client import SvairBackend

    config = DgfipConfig(
        backend="svair",
        url=os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:1/"),
        max_concurrency=2000,
        viewstate_reuse=60,
    )
    backends: list[SvairBackend] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Here rather than at import: importing this module must not reconfigure logging.
        configure_logging("json", "warning")
        backend = SvairBackend(config)
        await backend.open()
        backends.append(backend)
        prepare_for_serving()
        yield
        await backends.pop().close()

    async def looked_up(request: Request) -> Response:
        query = request.query_params
        notice = await backends[0].lookup(query["numeroFiscal"], query["referenceAvis"])
        return Response(msgspec.json.encode(notice), media_type="application/json")

    return Starlette(routes=[Route("/", looked_up)], lifespan=lifespan)


lookup_app = _lookup()
