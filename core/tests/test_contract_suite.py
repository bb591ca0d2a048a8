"""The provider contract suite catches broken providers, each fault named: a provider
answering ``{}`` to everyone, one never answering 404, one without parameter validation, a
field tree with a typo, wrong response keys, an always unhealthy health route, an invalid
OpenAPI document, an HTTP session left open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from api_particulier import PluginContext, Provider, hookimpl
from api_particulier.testing import ContractFailure, check_provider_contract

from .support import ECHO_FIELDS, EchoBody, EchoProvider, Person

pytestmark = pytest.mark.anyio


class Free(msgspec.Struct, frozen=True, kw_only=True):
    numero: str
    code: str


class EmptyForEveryone(EchoProvider):
    def __init__(self) -> None:
        super().__init__()
        self.outcome = lambda call: {}


class NeverNotFound(EchoProvider):
    def __init__(self) -> None:
        super().__init__()
        self.outcome = lambda call: EchoBody(personne=Person(nom="N", age=1), revenu=1, secret="")


class NoValidation(EchoProvider):
    @hookimpl
    def register_providers(self, register: Callable[[Provider], None]) -> None:
        captured: list[Provider] = []
        super().register_providers(captured.append)
        (provider,) = captured
        (route,) = provider.routes
        register(
            Provider(
                routes=(_replace(route, params=Free),),
                health_path="/api/echo/ping",
                health=self.health,
            )
        )


class TypoInTheTree(EchoProvider):
    @hookimpl
    def register_providers(self, register: Callable[[Provider], None]) -> None:
        captured: list[Provider] = []
        super().register_providers(captured.append)
        (route,) = captured[0].routes
        fields = {**ECHO_FIELDS, "revneu": "echo_revenu"}
        register(Provider(routes=(_replace(route, fields=fields),)))


class WrongKeys(EchoProvider):
    def __init__(self) -> None:
        super().__init__()
        self.outcome = lambda call: {"personne": {"Nom": "MARTIN", "age": 42}, "revenu": 1}


class AlwaysUnhealthy(EchoProvider):
    def __init__(self) -> None:
        super().__init__()
        self.healthy = False


class BadDocument(EchoProvider):
    @hookimpl
    def amend_openapi(self, document: dict[str, Any]) -> None:
        document["paths"]["/api/v2/echo"]["get"]["responses"]["200"] = {"schema": 12}


class LeavesASessionOpen(EchoProvider):
    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        self.session = aiohttp.ClientSession()


class UnlabelledScope(EchoProvider):
    @hookimpl
    def register_providers(self, register: Callable[[Provider], None]) -> None:
        def without_a_label(provider: Provider) -> None:
            labels = {k: v for k, v in provider.scope_labels.items() if k != "echo_age"}
            register(_replace(provider, scope_labels=labels))

        super().register_providers(without_a_label)


def _replace(route: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(route, **changes)


@pytest.mark.parametrize(
    ("plugin", "fault"),
    [
        (EmptyForEveryone, "answers no field at all to the found example"),
        (NeverNotFound, "to the not-found example"),
        (NoValidation, "its parameters are not validated"),
        (TypoInTheTree, "'revneu' is not a field of EchoBody"),
        (WrongKeys, "returns fields its response does not have: personne.Nom"),
        (AlwaysUnhealthy, "the health route answers 503"),
        (BadDocument, "the OpenAPI document is invalid"),
        (LeavesASessionOpen, "an HTTP session is left open"),
        (UnlabelledScope, "the scope 'echo_age' has no French label"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
async def test_each_broken_provider_fails_naming_its_fault(
    tmp_path: Path, plugin: type, fault: str
) -> None:
    instance = plugin()
    try:
        with pytest.raises(ContractFailure) as caught:
            await check_provider_contract(instance, name="echo", data_dir=tmp_path)
    finally:
        session = getattr(instance, "session", None)
        if session is not None:
            await session.close()  # what the broken plugin should have done
    assert fault in str(caught.value), str(caught.value)


async def test_a_well_behaved_provider_passes(tmp_path: Path) -> None:
    await check_provider_contract(EchoProvider(), name="echo", data_dir=tmp_path)
