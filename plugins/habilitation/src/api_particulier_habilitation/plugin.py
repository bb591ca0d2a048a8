"""The habilitation plugin: access requests, from an administration's request to its key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from api_particulier import ConfigError, PluginContext, WebRoute, hookimpl
from starlette.requests import Request
from starlette.responses import Response

from .catalogue import Catalogue
from .cli import habilitation
from .config import HabilitationConfig
from .datapass import DataPassWebhook
from .mail import Mailer
from .repository import Repository
from .sessions import Sessions
from .web import Site
from .workflow import Workflow


def build_workflow(
    config: HabilitationConfig,
    context: PluginContext,
) -> Workflow:
    smtp = config.smtp_url
    mailer = Mailer(
        sender=config.mail_from,
        smtp_url=smtp if isinstance(smtp, str) or smtp is None else smtp.reveal(),
        outbox=context.data_dir / "outbox",
        log=context.log,
    )
    return Workflow(
        Repository(context.database),
        context.credentials,
        mailer,
        config,
        Catalogue(context.providers),
        context.log,
    )


class HabilitationPlugin:
    def __init__(self) -> None:
        self.site = Site()
        self.webhook: DataPassWebhook | None = None

    @hookimpl
    def config_schema(self) -> type[HabilitationConfig]:
        return HabilitationConfig

    @hookimpl
    def store_migrations(self) -> Path:
        return Path(__file__).parent / "migrations"

    @hookimpl
    def register_routes(
        self, register: Callable[[WebRoute], None], config: HabilitationConfig
    ) -> None:
        for route in self.site.routes():
            register(route)
        register(WebRoute(path="/api/datapass/webhook", endpoint=self._webhook, methods=("POST",)))

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        cli.add_command(habilitation)

    @hookimpl
    async def startup(self, context: PluginContext) -> None:
        config: HabilitationConfig = context.config
        workflow = build_workflow(config, context)
        if config.session_secret is not None:
            secret = config.session_secret.reveal()
            if len(secret) < 32:
                raise ConfigError(
                    ["[plugins.habilitation] session_secret must hold at least 32 characters"]
                )
        else:
            secret = await workflow.repository.secret("session")
        sessions = Sessions(
            secret,
            max_age=config.session_hours * 3600,
            secure=config.public_url.startswith("https://"),
        )
        self.site.bind(workflow, sessions, workflow.catalogue)
        self.webhook = DataPassWebhook(workflow, config.datapass_secret)

    async def _webhook(self, request: Request) -> Response:
        assert self.webhook is not None
        return await self.webhook(request)
