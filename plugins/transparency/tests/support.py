"""What the transparency tests share: the bundled providers on their sandbox data, the
plugin with its sandbox FranceConnect, applications as administrations declare them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import api_particulier.admin as admin
import msgspec
from api_particulier.store.postgresql import run_migrations
from api_particulier.testing import TestClient, app_client, make_settings
from api_particulier_cnaf.plugin import CnafPlugin
from api_particulier_cnaf.sandbox import SandboxBackend as CnafSandbox
from api_particulier_consent.simulator import IntrospectionSimulator
from api_particulier_dgfip.plugin import DgfipPlugin
from api_particulier_dgfip.sandbox import SandboxBackend as DgfipSandbox
from api_particulier_transparency.plugin import TransparencyPlugin

DGFIP_SCOPES = ("dgfip_revenu_fiscal_reference", "dgfip_nombre_parts")
CNAF_SCOPES = ("cnaf_allocataires", "cnaf_quotient_familial")
MARIE = {"given_name": "Marie", "family_name": "Dupont", "birthdate": "1988-11-12"}
SOPHIE = {"given_name": "Sophie", "family_name": "Roussel", "birthdate": "1990-06-21"}


class CountingCnaf(CnafSandbox):
    """The CNAF sandbox, counting the lookups it answers."""

    def __init__(self) -> None:
        self.lookups = 0

    async def lookup(self, numero_allocataire: str, code_postal: str) -> dict[str, Any]:
        self.lookups += 1
        return await super().lookup(numero_allocataire, code_postal)


@dataclass
class Service:
    client: TestClient
    plugin: TransparencyPlugin
    cnaf: CountingCnaf
    dgfip: DgfipSandbox  # counts its lookups in .calls

    @property
    def fc(self) -> IntrospectionSimulator:
        simulator = self.plugin.sandbox
        assert simulator is not None
        return simulator

    def token(self, identity: Mapping[str, str] | None = None) -> str:
        return self.fc.issue(["openid"], identity=identity, client_id=self.fc.client_id)

    async def administration(self, name: str, scopes: Iterable[str], **details: str) -> str:
        """A key of a new application with its declared details."""
        store = self.client.app.key_store
        application = await admin.ensure_application(store, name, scopes)
        await store.update_application(msgspec.structs.replace(application, **details))
        issued = await admin.issue_key(store, self.client.app.pepper, application)
        return issued.secret

    async def report(self, token: str | None, **identifiers: str) -> Any:
        await self.client.app.journal.flush()
        sent = {}
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        return await self.client.http.get(
            "/api/citizen/access-log", params=identifiers, headers=sent
        )


@asynccontextmanager
async def service(
    tmp_path: Path, *, store: str | None = None, redis: str | None = None, **transparency: Any
) -> AsyncIterator[Service]:
    """The service on SQLite in ``tmp_path``, or on the PostgreSQL database ``store``; with
    the deployment's Redis at ``redis`` when given."""
    plugin = TransparencyPlugin()
    cnaf, dgfip = CountingCnaf(), DgfipSandbox()
    if store is not None:
        await run_migrations(store, apply=True)
    core: dict[str, Any] = {"store": store} if store is not None else {}
    if redis is not None:
        core["redis"] = {"url": redis}
    settings = make_settings(
        tmp_path,
        enabled=("dgfip", "cnaf", "transparency"),
        plugins={"transparency": {"max_attempts": 1000, **transparency}},
        **core,
    )
    plugins = {"dgfip": DgfipPlugin(dgfip), "cnaf": CnafPlugin(cnaf), "transparency": plugin}
    async with app_client(settings, plugins=plugins) as client:
        yield Service(client, plugin, cnaf, dgfip)
