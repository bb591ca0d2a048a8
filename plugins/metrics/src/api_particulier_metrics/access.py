"""Who may read ``/metrics``: a bearer token, client networks, or anyone (the default)."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

import msgspec
from api_particulier import ConfigError
from starlette.requests import Request
from starlette.responses import Response

_encode = msgspec.json.Encoder().encode
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    found: list[Network] = []
    problems: list[str] = []
    for entry in entries:
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            problems.append(f"[plugins.metrics] allow_from: {entry!r} is not a network")
    if problems:
        raise ConfigError(problems)
    return tuple(found)


class Access:
    def __init__(self, token: str | None, allowed: tuple[Network, ...]) -> None:
        self._token = token.encode() if token is not None else None
        self._allowed = allowed

    def refusal(self, request: Request) -> Response | None:
        """The answer refusing ``request``, or None when it may read the metrics."""
        if self._allowed and not self._address_allowed(request):
            return _error(
                403,
                "access_denied",
                "The metrics are not served to this address",
                "Les métriques ne sont pas servies à cette adresse",
            )
        if self._token is not None:
            given = request.headers.get("authorization", "")
            scheme, _, credentials = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                credentials.strip().encode(), self._token
            ):
                return _error(
                    401,
                    "access_denied",
                    "The metrics need the bearer token of [plugins.metrics]",
                    "Les métriques demandent un jeton d'accès",
                    {"www-authenticate": 'Bearer realm="metrics"'},
                )
        return None

    def _address_allowed(self, request: Request) -> bool:
        client = request.client
        if client is None:
            return False
        try:
            address = ipaddress.ip_address(client.host)
        except ValueError:
            return False
        return any(address in network for network in self._allowed)


def _error(
    status: int, error: str, reason: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = _encode({"error": error, "reason": reason, "message": message})
    return Response(
        body, status_code=status, media_type="application/json; charset=utf-8", headers=headers
    )
