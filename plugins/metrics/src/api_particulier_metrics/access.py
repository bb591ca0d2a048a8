"""Who may read ``/metrics``: a bearer token, client networks, or anyone (the default)."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from api_particulier import ConfigError, Denial, denial_response
from starlette.requests import Request
from starlette.responses import Response

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ADDRESS_REFUSED = Denial(
    status=403,
    error="access_denied",
    reason="The metrics are not served to this address",
    message="Les métriques ne sont pas servies à cette adresse",
)
TOKEN_REQUIRED = Denial(
    status=401,
    error="access_denied",
    reason="The metrics need the bearer token of [plugins.metrics]",
    message="Les métriques demandent un jeton d'accès",
    headers={"www-authenticate": 'Bearer realm="metrics"'},
)


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
            return denial_response(ADDRESS_REFUSED)
        if self._token is not None:
            given = request.headers.get("authorization", "")
            scheme, _, credentials = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                credentials.strip().encode(), self._token
            ):
                return denial_response(TOKEN_REQUIRED)
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
