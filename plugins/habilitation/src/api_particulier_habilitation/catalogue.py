"""The data one may ask for: every scope of the enabled providers, grouped by provider,
each with the French label its provider declares (its name when it declares none)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from api_particulier import Provider

# How the form titles each provider's group.
PROVIDER_TITLES = {
    "dgfip": "Direction générale des Finances publiques (avis d'impôt)",
    "cnaf": "Caisse nationale des allocations familiales (quotient familial)",
}


class ScopeChoice(msgspec.Struct, frozen=True):
    name: str
    label: str


class ScopeGroup(msgspec.Struct, frozen=True):
    provider: str
    title: str
    scopes: tuple[ScopeChoice, ...]


class Catalogue:
    def __init__(self, providers: Iterable[Provider]) -> None:
        self.groups = tuple(
            ScopeGroup(
                provider=provider.name or "",
                title=PROVIDER_TITLES.get(provider.name or "", provider.name or ""),
                scopes=tuple(
                    ScopeChoice(scope, provider.scope_labels.get(scope, scope))
                    for scope in _ordered(provider)
                ),
            )
            for provider in providers
            if provider.scopes
        )
        self.labels = {c.name: c.label for group in self.groups for c in group.scopes}

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.labels)

    def label(self, scope: str) -> str:
        return self.labels.get(scope, scope)


def _ordered(provider: Provider) -> list[str]:
    """The provider's scopes in the order its labels declare them, then the rest."""
    declared = [s for s in provider.scope_labels if s in provider.scopes]
    return declared + sorted(provider.scopes - set(declared))
