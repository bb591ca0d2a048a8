"""What a command of ``api-particulier`` works with: :class:`CommandContext`.

Every command — the core's and the plugins' (``register_commands(cli)``) — receives it with
``click.pass_obj``. It reads the configuration once (``--config`` or the environment) and
opens the stores for the duration of a command's work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import anyio

from .settings import Settings, load_settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .app import ApiApp
    from .credentials import Credentials
    from .store import JournalStore, KeyStore, StoreDatabase
    from .types import Provider


@dataclass(frozen=True)
class Stores:
    """The stores, open for a command's work: applications and keys, the journal, the
    plugins' own tables (``database``) and :class:`Credentials` to make and revoke keys."""

    keys: KeyStore
    journal: JournalStore
    database: StoreDatabase
    credentials: Credentials
    # The enabled providers (their scopes and scope labels).
    providers: tuple[Provider, ...] = ()


class CommandContext:
    """The configuration and the stores, for a command."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def settings(self) -> Settings:
        """The validated configuration (a problem raises ``ConfigError``: one line, 2)."""
        return load_settings(self.config_path)

    @cached_property
    def app(self) -> ApiApp:
        """The application the configuration describes (plugins loaded, not started)."""
        from .app import create_app

        return create_app(self.settings)

    def plugin_config(self, name: str) -> Any:
        """The converted ``[plugins.<name>]`` table of an enabled plugin."""
        self.app  # noqa: B018 - building the application converts every table
        return self.settings.plugin_config(name)

    @property
    def redis(self) -> Redis | None:
        """The deployment's Redis client (``[core.redis]``), or None without one; close it
        with ``await client.aclose()`` at the end of the command's work."""
        return self.app.redis

    @asynccontextmanager
    async def stores(self) -> AsyncIterator[Stores]:
        """The stores, open until the block ends."""
        app = self.app
        await app.connect_stores()  # StartupError (one line, status 2) when it cannot serve
        try:
            yield Stores(
                app.key_store, app.journal_store, app.database, app.credentials, app.providers
            )
        finally:
            await app.database.close()
            await app.journal_store.close()
            await app.key_store.close()

    def run(self, work: Callable[[Stores], Awaitable[int]]) -> int:
        """Run ``work(stores)`` with the stores open; its result is the exit status."""

        async def main() -> int:
            async with self.stores() as stores:
                return await work(stores)

        return anyio.run(main)
