"""The access report: who fetched a citizen's data, once they proved who they are.

The proof: a FranceConnect access token that is active, together with identifiers (a tax
number; or a CAF number and postcode) checked by the provider's own rules and, where the
provider can be asked with them alone and names the persons it answers about, found to be
the token holder's. Only then are the journal's rows of their pseudonyms read.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import msgspec
import structlog
from api_particulier import (
    Application,
    Call,
    CallRecord,
    JournalStore,
    KeyStore,
    Provider,
    ProviderError,
    ProviderRoute,
    SubjectNotFound,
    is_among,
)
from api_particulier_consent.denials import EvidenceRefused
from api_particulier_consent.franceconnect import Introspector, TokenInfo, well_formed
from starlette.requests import Request

from .answers import BAD_IDENTIFIERS, NOT_IDENTIFIED, UNAVAILABLE, Refusal
from .pseudonym import pseudonym

log = structlog.get_logger("api_particulier_transparency")

OUTCOMES = {
    "transmitted": "Données transmises",
    "not_found": "Aucune donnée trouvée",
    "refused": "Demande refusée",
    "failed": "Échec technique, aucune donnée transmise",
}


@dataclass(frozen=True)
class Kind:
    """One way a citizen is named (the same query names on several routes)."""

    names: frozenset[str]
    # A route that checks and normalises them; one able to check the holder, if any (its
    # other parameters, a notice's reference, are asked of the citizen too).
    route: ProviderRoute
    checking: tuple[str, ProviderRoute] | None


def kinds_of(providers: Sequence[Provider]) -> list[Kind]:
    found: dict[frozenset[str], Kind] = {}
    for provider in providers:
        for route in provider.routes:
            names = frozenset(query for _, query in route.citizen_fields)
            if not names:
                continue
            checking = (provider.name or "", route) if route.holders is not None else None
            known = found.get(names)
            if known is None or (known.checking is None and checking is not None):
                found[names] = Kind(names, route, checking)
    return sorted(found.values(), key=lambda kind: sorted(kind.names))


# The journal's status for a call whose client closed the connection before the answer.
CLIENT_CLOSED = 499


def outcome(record: CallRecord) -> str:
    if 200 <= record.status < 300:
        return "transmitted"
    if record.status == 404:
        return "not_found"
    if record.status < 500 and record.status != CLIENT_CLOSED:
        return "refused"
    # 5xx, and the administration gone before the answer (whatever the provider said,
    # nothing reached it).
    return "failed"


class AccessLog:
    def __init__(
        self,
        *,
        providers: Sequence[Provider],
        secret: bytes,
        introspector: Introspector,
        client_id: str | None,
        keys: KeyStore,
        journal: JournalStore,
        max_calls: int,
    ) -> None:
        self._kinds = kinds_of(providers)
        self._labels: dict[str, str] = {}
        self._provider_labels: dict[str, str] = {}
        for provider in providers:
            self._labels.update(provider.scope_labels)
            if provider.name is not None:
                self._provider_labels[provider.name] = provider.display_name
        self._secret = secret
        self._introspector = introspector
        self._client_id = client_id
        self._keys = keys
        self._journal = journal
        self._max_calls = max_calls

    def identifiers(self, given: Mapping[str, str]) -> list[tuple[Kind, dict[str, str]]]:
        """The kinds of identifiers given, checked and normalised; BAD_IDENTIFIERS when
        none is given whole or one given is invalid."""
        found = []
        for kind in self._kinds:
            present = [name for name in kind.names if given.get(name)]
            if not present:
                continue
            checked = kind.route.citizen_identifiers(given)
            if checked is None:
                raise Refusal(BAD_IDENTIFIERS)
            found.append((kind, checked))
        if not found:
            raise Refusal(BAD_IDENTIFIERS)
        return found

    async def prove(self, token: str, given: Mapping[str, str], request: Request) -> list[str]:
        """The pseudonyms the token's holder may see; a Refusal otherwise. The token first
        (a malformed one is refused without asking FranceConnect), then the identifiers,
        and last the provider: whoever holds no valid token learns nothing, not even
        whether their identifiers are well formed."""
        if not well_formed(token):
            raise Refusal(NOT_IDENTIFIED)
        info = await self._token(token)
        named = self.identifiers(given)
        for kind, _ in named:
            if kind.checking is not None:
                # The route's every parameter: the citizen's own and the document's.
                query = kind.checking[1].checked_query(given)
                if query is None:
                    raise Refusal(BAD_IDENTIFIERS)
                await self._check_holder(info, kind.checking, query, request)
        return [pseudonym(self._secret, identifiers) for _, identifiers in named]

    async def _token(self, token: str) -> TokenInfo:
        try:
            info = await self._introspector.check(token)
        except ProviderError:
            raise Refusal(UNAVAILABLE) from None
        except EvidenceRefused:  # a token the introspector refuses to send
            raise Refusal(NOT_IDENTIFIED) from None
        if not info.active or (info.expires_at is not None and info.expires_at <= time.time()):
            raise Refusal(NOT_IDENTIFIED)
        if self._client_id is not None and info.client_id != self._client_id:
            raise Refusal(NOT_IDENTIFIED)
        return info

    async def _check_holder(
        self,
        info: TokenInfo,
        checking: tuple[str, ProviderRoute],
        query: dict[str, str],
        request: Request,
    ) -> None:
        if info.identity is None:
            raise Refusal(NOT_IDENTIFIED)
        provider, route = checking
        call = Call(
            scope=request.scope,
            receive=request.receive,
            headers={},
            # Its own id: a caller's header is not trusted into a provider's logs.
            request_id=str(uuid.uuid4()),
            route=route,
            route_path=route.path,
            query=query,
            provider=provider,
        )
        call.params = msgspec.convert(query, route.params, strict=False)
        try:
            with anyio.fail_after(route.deadline or 10.0):
                payload = await route.fetch(call)
        except SubjectNotFound:
            raise Refusal(NOT_IDENTIFIED) from None
        except ProviderError as error:
            if error.status == 404:
                raise Refusal(NOT_IDENTIFIED) from None
            raise Refusal(UNAVAILABLE) from None
        except TimeoutError:
            raise Refusal(UNAVAILABLE) from None
        assert route.holders is not None
        if not is_among(info.identity.citizen(), route.holders(payload)):
            log.info("citizen_identity_mismatch", provider=provider)
            raise Refusal(NOT_IDENTIFIED)

    async def calls(self, pseudonyms: Sequence[str]) -> list[dict[str, Any]]:
        """The calls about these pseudonyms, newest first, as the report shows them."""
        records = await self._journal.calls_about(pseudonyms, 0.0, self._max_calls)
        applications: dict[str, Application | None] = {}
        shown = []
        for record in records:
            application_id = record.application_id or ""
            if application_id not in applications:
                applications[application_id] = await self._keys.application_by_id(application_id)
            application = applications[application_id]
            scopes = (record.scopes or "").split()
            result = outcome(record)
            shown.append(
                {
                    "date": dt.datetime.fromtimestamp(record.time, dt.UTC).isoformat(
                        timespec="seconds"
                    ),
                    "administration": {
                        "name": application.name if application else None,
                        "siret": application.siret if application else None,
                    },
                    "provider": record.provider,
                    "providerLabel": self._provider_labels.get(
                        record.provider or "", record.provider
                    ),
                    "data": [
                        {"scope": scope, "label": self._labels.get(scope, scope)}
                        for scope in scopes
                    ],
                    "outcome": result,
                    "outcomeLabel": OUTCOMES[result],
                    "legalBasis": application.legal_basis if application else None,
                    "recipients": application.recipients if application else None,
                    "recipientSiret": record.recipient,
                }
            )
        return shown
