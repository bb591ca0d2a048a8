"""The live backend: CNAF's ``demanderDocumentWeb`` SOAP service over mutual TLS.

Transport (timeouts, concurrency cap, TLS and connection failures) is the core's
:class:`~api_particulier.upstream.Upstream`; this module only speaks the protocol: it POSTs
the envelope of :mod:`.envelope` and hands the answer to :mod:`.parser`.
"""

from __future__ import annotations

import ssl
from typing import Any

import structlog
from api_particulier import (
    ProviderBadResponse,
    ProviderError,
    ProviderUnavailable,
    Upstream,
    UpstreamResponse,
)

from .envelope import CONTENT_TYPE, request_envelope
from .parser import MAX_BODY_BYTES, parse_answer

log = structlog.get_logger("api_particulier_cnaf")

TRANSPORT_MESSAGE = "Une erreur est survenue lors de l'appel au fournisseur de donnée"


class SoapBackend:
    def __init__(
        self,
        url: str,
        *,
        context: ssl.SSLContext,
        connect_timeout: float = 3.0,
        read_timeout: float = 7.0,
        max_concurrency: int = 100,
    ) -> None:
        self.url = url
        self.upstream = Upstream(
            "cnaf",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_concurrency=max_concurrency,
            ssl=context,
            max_body_bytes=MAX_BODY_BYTES,
        )
        self.deadline = self.upstream.deadline

    @property
    def upstreams(self) -> tuple[Upstream, ...]:
        return (self.upstream,)

    async def start(self) -> None:
        await self.upstream.open()

    async def close(self) -> None:
        await self.upstream.close()

    async def lookup(self, numero_allocataire: str, code_postal: str) -> dict[str, Any]:
        response = await self.upstream.request(
            "POST",
            self.url,
            data=request_envelope(numero_allocataire, code_postal),
            headers={"Content-Type": CONTENT_TYPE},
            operation="demanderDocumentWeb",
        )
        return answer_body(response)

    async def healthy(self) -> bool:
        """A cheap real probe: the WSDL over the same mutual-TLS connection, no citizen data."""
        try:
            response = await self.upstream.request("GET", self.url + "?wsdl", operation="wsdl")
        except ProviderError:
            return False
        return response.status == 200


def answer_body(response: UpstreamResponse) -> dict[str, Any]:
    """The body for an HTTP answer of the service, or the provider error it means."""
    if response.status in (401, 403):
        # Our certificate was refused: the caller can do nothing about it (contract §5).
        raise ProviderBadResponse()
    content_type = response.headers.get("Content-Type")
    if not 200 <= response.status < 300:
        # A SOAP fault (Axis2 sends them with HTTP 500) or a failing gateway: CNAF's trouble.
        log.info("cnaf_answer", outcome="http_error", status=response.status)
        raise ProviderUnavailable(f"CNAF answered HTTP {response.status}", TRANSPORT_MESSAGE)
    outcome = "ok"
    try:
        return parse_answer(response.body, content_type)
    except ProviderError as exc:
        outcome = exc.error
        raise
    finally:
        log.info("cnaf_answer", outcome=outcome)
