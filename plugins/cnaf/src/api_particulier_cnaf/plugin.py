"""The CNAF provider: ``GET /api/v2/composition-familiale`` and its v1 alias (contract §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api_particulier import Call, Holder, Provider, ProviderRoute, RouteExamples, hookimpl

from .backend import CnafBackend
from .client import SoapBackend
from .config import CnafConfig
from .models import FIELDS, SCOPE_LABELS, CompositionFamiliale, CompositionFamilialeParams
from .sandbox import SandboxBackend
from .tls import client_context

# Sandbox households: a family, an unknown dossier (CNAF code 133, 404), a bad number.
EXAMPLES = RouteExamples(
    found={"numeroAllocataire": "2345678", "codePostal": "75001"},
    not_found={"numeroAllocataire": "9999999", "codePostal": "75001"},
    invalid={"numeroAllocataire": "23456X8", "codePostal": "75001"},
)

DESCRIPTION = (
    "Composition familiale d'un allocataire de la CNAF : allocataires, enfants, adresse "
    "postale et quotient familial du dernier mois connu. Chaque groupe n'est présent que si "
    "le jeton détient le scope correspondant."
)


def build_backend(config: CnafConfig) -> CnafBackend:
    if config.backend == "sandbox":
        return SandboxBackend()
    return SoapBackend(
        config.url,
        context=client_context(config),
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        max_concurrency=config.max_concurrency,
    )


class CnafPlugin:
    """The plugin; the core builds it without arguments.

    ``backend`` replaces the configured one (an embedding application, or a test counting
    calls); without it the ``[plugins.cnaf]`` table decides.
    """

    def __init__(self, backend: CnafBackend | None = None) -> None:
        self._given = backend
        self.backend: CnafBackend | None = backend

    @hookimpl
    def config_schema(self) -> type[CnafConfig]:
        return CnafConfig

    @hookimpl
    def register_providers(self, register: Callable[[Provider], None], config: CnafConfig) -> None:
        self.backend = self._given or build_backend(config)
        register(
            Provider(
                label="Quotient familial et composition familiale (CNAF)",
                routes=(
                    self._route("/api/v2/composition-familiale", deprecated=False),
                    self._route("/api/caf/famille", deprecated=True),
                ),
                health_path="/api/caf/ping",
                health=self._health,
                upstreams=self.backend.upstreams,
                # Anything a given backend holds besides its upstreams.
                open=self.backend.start,
                close=self.backend.close,
                scope_labels=SCOPE_LABELS,
            )
        )

    def _route(self, path: str, *, deprecated: bool) -> ProviderRoute:
        summary = "Composition familiale (CNAF)"
        return ProviderRoute(
            path=path,
            params=CompositionFamilialeParams,
            response=CompositionFamiliale,
            fields=FIELDS,
            fetch=self._fetch,
            summary=summary + (" — alias v1 déprécié" if deprecated else ""),
            description=DESCRIPTION,
            tags=("CNAF",),
            deprecated=deprecated,
            provider_statuses=(400, 404, 502, 503, 504),
            subject_params=("codePostal", "numeroAllocataire"),
            deadline=self.backend.deadline if self.backend is not None else None,
            examples=EXAMPLES,
            # A day, as the historic service: CNAF's quota of calls is small.
            cache_ttl=86400.0,
            holders=holders,
        )

    async def _fetch(self, call: Call) -> dict[str, Any]:
        params = call.params
        assert isinstance(params, CompositionFamilialeParams)
        assert self.backend is not None
        return await self.backend.lookup(params.numeroAllocataire, params.codePostal)

    async def _health(self) -> bool:
        return self.backend is not None and await self.backend.healthy()


def holders(payload: Any) -> list[Holder]:
    """The allocataires of an answer (``dateDeNaissance`` is ``DDMMYYYY``)."""
    found = []
    for person in payload.get("allocataires") or () if isinstance(payload, dict) else ():
        born = str(person.get("dateDeNaissance", ""))
        if len(born) == 8:
            found.append(
                Holder(str(person.get("nomPrenom", "")), f"{born[4:]}-{born[2:4]}-{born[:2]}")
            )
    return found
