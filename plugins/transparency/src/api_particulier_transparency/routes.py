"""The citizen's routes: the JSON report, and the page that asks for the same proof.

``GET /api/citizen/access-log``: ``Authorization: Bearer <FranceConnect token>`` and the
identifiers in the query. ``/mes-donnees``: the same as a form (POST, so that neither the
token nor the identifiers land in a URL or a browser's history). In embedded mode, the page
also hands out tokens of the sandbox FranceConnect.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import structlog
from api_particulier import Denial, Pages, WebRoute, denial_response, read_form
from api_particulier_consent.franceconnect import well_formed
from api_particulier_consent.simulator import IntrospectionSimulator
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .answers import NOT_IDENTIFIED, Refusal, json_answer, too_many
from .attempts import Counter
from .report import AccessLog

log = structlog.get_logger("api_particulier_transparency")

ACCESS_LOG_PATH = "/api/citizen/access-log"
PAGE_PATH = "/mes-donnees"
SANDBOX_TOKEN_PATH = "/mes-donnees/jeton-de-demonstration"  # noqa: S105 - a path
# What the page and the JSON route read: the citizen's identifiers, and the reference of one
# of their tax notices, with which the DGFiP confirms the tax number is theirs.
IDENTIFIER_NAMES = ("numeroFiscal", "referenceAvis", "numeroAllocataire", "codePostal")
# The page's form: a token (4 KiB at most) and four short identifiers, with room to spare.
MAX_FORM_BYTES = 16 * 1024
# The sandbox's citizen: an allocataire of the CNAF sandbox data set.
SANDBOX_IDENTITY = {"given_name": "Marie", "family_name": "Dupont", "birthdate": "1988-11-12"}
SANDBOX_IDENTIFIERS = {"numeroAllocataire": "2345678", "codePostal": "75001"}
CROSS_SITE = Denial(
    status=403,
    error="access_denied",
    reason="Cross-site form",
    message="Ce formulaire ne peut être envoyé que depuis cette page",
)
_UNAVAILABLE = Denial(
    status=503,
    error="provider_unavailable",
    reason="The report is not available",
    message="Le service est momentanément indisponible, veuillez réessayer",
    headers={"retry-after": "1"},
)


class CitizenRoutes:
    def __init__(self) -> None:
        self.pages = Pages(Path(__file__).parent / "templates")
        self._log: AccessLog | None = None
        self._attempts: Counter | None = None
        self._sandbox: IntrospectionSimulator | None = None

    def attach(
        self, access_log: AccessLog, attempts: Counter, sandbox: IntrospectionSimulator | None
    ) -> None:
        self._log, self._attempts, self._sandbox = access_log, attempts, sandbox

    def detach(self) -> None:
        self._log = self._attempts = self._sandbox = None

    def web_routes(self) -> list[WebRoute]:
        return [
            WebRoute(path=ACCESS_LOG_PATH, endpoint=self.access_log, name="citizen_access_log"),
            WebRoute(
                path=PAGE_PATH,
                endpoint=self.page,
                methods=("GET", "POST"),
                menu_label="Qui a consulté mes données ?",
            ),
            WebRoute(path=SANDBOX_TOKEN_PATH, endpoint=self.sandbox_token, methods=("POST",)),
        ]

    async def _report(self, request: Request, token: str, given: dict[str, str]) -> list[Any]:
        access_log, attempts = self._log, self._attempts
        if access_log is None or attempts is None:
            raise Refusal(_UNAVAILABLE)
        if not well_formed(token):
            # Refused before it counts: nothing is asked of anyone for it.
            raise Refusal(NOT_IDENTIFIED)
        wait = await attempts.admit(counted_address(request))
        if wait is not None:
            log.info("citizen_attempts_exceeded")
            raise Refusal(too_many(wait))
        pseudonyms = await access_log.prove(token, given, request)
        return await access_log.calls(pseudonyms)

    async def access_log(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        given = {name: request.query_params.get(name, "") for name in IDENTIFIER_NAMES}
        try:
            calls = await self._report(request, token, given)
        except Refusal as refusal:
            return refusal.response()
        return json_answer({"calls": calls, "count": len(calls)})

    async def page(self, request: Request) -> Response:
        context: dict[str, Any] = {
            "sandbox": self._sandbox is not None,
            "sandbox_identity": SANDBOX_IDENTITY,
            "values": {name: "" for name in (*IDENTIFIER_NAMES, "token")},
            "calls": None,
            "refusal": None,
        }
        if request.method == "GET":
            return self.pages.render(request, "mes-donnees.html", context)
        if request.headers.get("sec-fetch-site") == "cross-site":
            # Another site's form, posted from a visitor's browser: it would spend the
            # visitor's attempts. (Browsers say where a request comes from; the page's own
            # form is same-origin.)
            return denial_response(CROSS_SITE, {"cache-control": "no-store"})
        form = await read_form(request, MAX_FORM_BYTES, max_fields=len(IDENTIFIER_NAMES) + 1)
        values = {name: str(form.get(name, "")) for name in (*IDENTIFIER_NAMES, "token")}
        context["values"] = values
        given = {name: values[name] for name in IDENTIFIER_NAMES}
        headers = {"cache-control": "no-store"}
        try:
            context["calls"] = await self._report(request, values["token"].strip(), given)
            status = 200
        except Refusal as refusal:
            context["refusal"] = refusal.denial
            status = refusal.denial.status
            headers |= refusal.denial.headers  # Retry-After, as on the JSON route
        return self.pages.render(
            request, "mes-donnees.html", context, status_code=status, headers=headers
        )

    async def sandbox_token(self, request: Request) -> Response:
        """Embedded mode: a token of the sandbox FranceConnect for its citizen."""
        sandbox = self._sandbox
        if sandbox is None:
            # Outside embedded mode the route does not exist: the core's 404 body.
            raise HTTPException(404)
        token = sandbox.issue(
            ["openid", "identite_pivot"], identity=SANDBOX_IDENTITY, client_id=sandbox.client_id
        )
        values = {name: "" for name in IDENTIFIER_NAMES} | SANDBOX_IDENTIFIERS | {"token": token}
        return self.pages.render(
            request,
            "mes-donnees.html",
            {
                "sandbox": True,
                "sandbox_identity": SANDBOX_IDENTITY,
                "values": values,
                "calls": None,
                "refusal": None,
                "issued": True,
            },
            headers={"cache-control": "no-store"},
        )


def counted_address(request: Request) -> str:
    """Whose attempt this is: the client's IPv4 address, or its IPv6 network's /64 (one
    subscriber's line holds a whole /64, to pick addresses from at will)."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
