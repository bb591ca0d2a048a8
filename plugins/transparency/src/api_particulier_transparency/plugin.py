"""The transparency plugin: the citizen's pseudonym in each journal row, and the report of
the calls about them (``GET /api/citizen/access-log``, and the page ``/mes-donnees``)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from api_particulier import Call, ConfigError, PluginContext, WebRoute, hookimpl
from api_particulier_consent.config import FranceConnectConfig
from api_particulier_consent.franceconnect import Introspector
from api_particulier_consent.simulator import IntrospectionSimulator

from . import openapi
from .attempts import attempts_counter
from .config import TransparencyConfig
from .pseudonym import pseudonym
from .report import AccessLog
from .routes import CitizenRoutes
from .secret import load_secret

# The sandbox FranceConnect's client (embedded mode only).
SANDBOX_CLIENT = "api-particulier-sandbox"


class TransparencyPlugin:
    def __init__(self) -> None:
        self.config = TransparencyConfig()
        self._secret: bytes | None = None
        self._introspector: Introspector | None = None
        self._simulator: IntrospectionSimulator | None = None
        self.routes = CitizenRoutes()

    @property
    def sandbox(self) -> IntrospectionSimulator | None:
        """The sandbox FranceConnect of the embedded mode, while the service runs."""
        return self._simulator

    # -- boot ------------------------------------------------------------------------------

    @hookimpl
    def config_schema(self) -> type[TransparencyConfig]:
        return TransparencyConfig

    @hookimpl
    def register_routes(self, register: Callable[[WebRoute], None]) -> None:
        for route in self.routes.web_routes():
            register(route)

    @hookimpl
    def amend_openapi(self, document: dict[str, Any]) -> None:
        openapi.amend(document)

    # -- lifespan --------------------------------------------------------------------------

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        config: TransparencyConfig = context.config
        self.config = config
        self._secret = load_secret(config.secret, context.embedded, context.data_dir)
        fc_config = config.franceconnect
        if fc_config is not None and config.client_id is None:
            raise ConfigError(
                ["[plugins.transparency] client_id: the FranceConnect client citizens sign in "
                 "to for their report is required, so that a token issued to another "
                 "service is refused"]
            )  # fmt: skip
        if fc_config is None:
            if not context.embedded:
                raise ConfigError(
                    ["[plugins.transparency] franceconnect: the introspection endpoint that "
                     "checks citizens' tokens is required (introspection_url, client_id, "
                     "client_secret)"]
                )  # fmt: skip
            # Embedded mode: a sandbox FranceConnect in the process, whose tokens the page
            # hands out.
            simulator = IntrospectionSimulator(
                client_id=SANDBOX_CLIENT, client_secret=secrets.token_urlsafe(24)
            )
            await simulator.start()
            self._simulator = simulator
            fc_config = FranceConnectConfig(
                introspection_url=simulator.url + "/introspect",
                client_id=SANDBOX_CLIENT,
                client_secret=None,
            )
        introspector = Introspector(
            fc_config,
            client_secret=self._simulator.client_secret if self._simulator else None,
        )
        await introspector.open()
        self._introspector = introspector
        self.routes.attach(
            AccessLog(
                providers=context.providers,
                secret=self._secret,
                introspector=introspector,
                client_id=SANDBOX_CLIENT if self._simulator is not None else config.client_id,
                keys=context.key_store,
                journal=context.journal_store,
                max_calls=config.max_calls,
            ),
            attempts_counter(config, context, self._secret),
            self._simulator,
        )

    @hookimpl
    async def shutdown(self) -> None:
        introspector, self._introspector = self._introspector, None
        simulator, self._simulator = self._simulator, None
        self.routes.detach()
        if introspector is not None:
            await introspector.close()
        if simulator is not None:
            await simulator.stop()

    # -- requests --------------------------------------------------------------------------

    @hookimpl
    def journal_subject(self, call: Call) -> str | None:
        secret = self._secret
        if secret is None:
            return None
        identifiers = call.citizen()
        return pseudonym(secret, identifiers) if identifiers else None
