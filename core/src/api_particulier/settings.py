"""Configuration: one TOML file plus environment variables, converted to strict Structs.

Every problem found is collected and raised together as a :class:`ConfigError`, so a deployer
fixes a file in one pass. Plugin tables are converted once their plugins have registered
their Structs (see :func:`Settings.bind_plugin_schemas`).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from .errors import ConfigError

ENV_PREFIX = "API_PARTICULIER_"
# What a configuration-less start enables: the plugins this project ships in its bundle.
BUNDLED_PLUGINS = (
    "dgfip",
    "cnaf",
    "consent",
    "ratelimit",
    "cache",
    "habilitation",
    "metrics",
    "status",
    "stats",
    "documentation",
    "transparency",
)


class Secret(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A secret referenced by environment variable: ``pepper = { env = "MY_PEPPER" }``.

    Only the variable's name is ever stored, dumped or logged.
    """

    env: str

    def reveal(self) -> str:
        try:
            return os.environ[self.env]
        except KeyError:
            raise ConfigError([f"environment variable {self.env} is not set"]) from None


class JournalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # "batched": rows are written by a background task, off the request path.
    # "required": no 2xx answer leaves before its row is committed.
    mode: Literal["batched", "required"] = "batched"
    retention_days: Annotated[int, msgspec.Meta(ge=1)] = 365
    flush_interval: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.2
    batch_size: Annotated[int, msgspec.Meta(ge=1)] = 500
    # Bound on rows waiting in memory; beyond it requests wait rather than rows being dropped.
    max_pending: Annotated[int, msgspec.Meta(ge=1)] = 50_000
    # Rows chained by hash as they are written (api_particulier.chain). false: written
    # outside the chain — the journal is then not tamper-evident, and `journal verify`
    # names each such row; for measuring what the chain costs, or a journal kept in an
    # append-only store of its own.
    chain: bool = True
    # Seconds between two signed checkpoints of the chain's head (api_particulier.chain).
    checkpoint_interval: Annotated[float, msgspec.Meta(ge=1, le=86400)] = 300.0
    # The Ed25519 private key signing them (PEM, or its 32 bytes in base64). Unset: the
    # embedded mode generates one in the data directory; a configured deployment without
    # one (nor API_PARTICULIER_JOURNAL_SIGNING_KEY) chains its rows but signs nothing.
    signing_key: Secret | None = None


class AuthConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # How long a verified key is trusted without asking the store again (revocation delay).
    cache_ttl: Annotated[float, msgspec.Meta(ge=0, le=300)] = 5.0
    cache_size: Annotated[int, msgspec.Meta(ge=0)] = 10_000
    # The pepper keying the stored key hashes. Unset in embedded mode: one is generated in
    # the data directory (with a warning), which does not suit several hosts.
    pepper: Secret | None = None


class HttpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bounds of the HTTP server, per process (see api_particulier.http_protocol)."""

    # Bytes of the request target (path and query string); beyond, 414.
    max_request_line: Annotated[int, msgspec.Meta(ge=1024, le=65536)] = 8192
    # Bytes of the request line and headers together; beyond, 431.
    max_header_bytes: Annotated[int, msgspec.Meta(ge=4096, le=1_048_576)] = 32768
    # Seconds to receive a request's headers, from the connection's opening or the first
    # byte of the request; beyond, the connection is closed.
    header_timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    # Seconds an idle kept-alive connection stays open between two requests.
    keep_alive_timeout: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0
    # Open connections per process; one more is answered 503 and closed.
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 2048
    # Addresses or networks of the proxies in front of the service (a load balancer):
    # from them only, X-Forwarded-For and X-Forwarded-Proto are believed, and the client's
    # address is the nearest one not among them. Empty: the address of the connection.
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {proxy!r} is not an IP address or network"
                ) from None


class RedisConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The deployment's one Redis (rate limit, consent replay memory, cache…)."""

    # redis://[user:password@]host[:port][/db], rediss://… (TLS) or unix:///path[?db=N]; as
    # text when it holds no password, else { env = "NAME" }. API_PARTICULIER_REDIS_URL wins.
    url: str | Secret | None = None
    # TLS (rediss://): a CA bundle replacing the system's, and a client certificate.
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    # Sentinel: "host:port" of each sentinel, and the name of the watched primary. The url
    # then gives only the credentials and the database (redis://:password@/0).
    sentinels: list[str] = msgspec.field(default_factory=list)
    service_name: str | None = None
    # Seconds to connect, and to wait for any answer: a slow Redis is a failing one.
    connect_timeout: Annotated[float, msgspec.Meta(gt=0, le=30)] = 1.0
    timeout: Annotated[float, msgspec.Meta(gt=0, le=30)] = 1.0
    # Connections per process. A call waits for a free one (within its own bound) rather
    # than opening one more: a burst of calls does not open a burst of connections.
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 32

    def __post_init__(self) -> None:
        if self.sentinels and not self.service_name:
            raise ValueError("sentinels need service_name (the primary's name)")
        if self.sentinels and any(":" not in s for s in self.sentinels):
            raise ValueError('each sentinel is "host:port"')


class PostgresConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The connection pool of a PostgreSQL store, per process."""

    min_connections: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 1
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10


class CoreConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    data_dir: str | None = None
    # "sqlite" (files in the data directory), a sqlite:/// directory, or
    # postgresql://user@host:port/db — as text when it holds no password, else
    # { env = "NAME" }. API_PARTICULIER_DATABASE_URL wins.
    store: str | Secret = "sqlite"
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    workers: Annotated[int, msgspec.Meta(ge=1)] = 1
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Demo application created in an empty store at first `serve`.
    create_demo_key: bool = True
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    journal: JournalConfig = msgspec.field(default_factory=JournalConfig)
    http: HttpConfig = msgspec.field(default_factory=HttpConfig)
    redis: RedisConfig = msgspec.field(default_factory=RedisConfig)
    postgresql: PostgresConfig = msgspec.field(default_factory=PostgresConfig)


class _FileLayout(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: list[str] | None = None
    core: dict[str, Any] = msgspec.field(default_factory=dict)
    plugins: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "api-particulier"


@dataclass
class Settings:
    """The validated configuration of one application instance."""

    core: CoreConfig = field(default_factory=CoreConfig)
    # None: no file was given, the embedded defaults apply (the bundled plugins).
    enabled: tuple[str, ...] | None = None
    disabled: frozenset[str] = frozenset()
    plugin_tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: Path | None = None
    _plugin_configs: dict[str, msgspec.Struct] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        if self.core.data_dir:
            return Path(self.core.data_dir).expanduser()
        return default_data_dir()

    @property
    def embedded(self) -> bool:
        return self.source is None

    def is_enabled(self, name: str) -> bool:
        if name in self.disabled:
            return False
        if self.enabled is None:
            return name in BUNDLED_PLUGINS
        return name in self.enabled

    def bind_plugin_schemas(self, schemas: Mapping[str, type[msgspec.Struct]]) -> None:
        """Convert every plugin table with its registered Struct; raise all errors at once."""
        problems: list[str] = []
        for name in sorted(self.plugin_tables):
            # A table kept for a plugin switched off by API_PARTICULIER_DISABLE_PLUGINS is
            # not a typo: keep it so the plugin can be switched back on.
            if name not in schemas and name not in self.disabled:
                problems.append(f"[plugins.{name}]: no enabled plugin declares this table")
        for name, schema in sorted(schemas.items()):
            table = self.plugin_tables.get(name, {})
            try:
                self._plugin_configs[name] = msgspec.convert(table, schema)
            except msgspec.ValidationError:
                problems.extend(f"[plugins.{name}]: {p}" for p in table_problems(table, schema))
        if problems:
            raise ConfigError(problems)

    def plugin_config(self, name: str) -> Any:
        """The converted configuration Struct of plugin ``name``."""
        return self._plugin_configs[name]

    def dump(self) -> dict[str, Any]:
        """The effective configuration; secrets appear as their variable names only."""
        return {
            "source": str(self.source) if self.source else None,
            "enabled": list(self.enabled) if self.enabled is not None else None,
            "disabled": sorted(self.disabled),
            "core": msgspec.to_builtins(self.core),
            "plugins": {
                name: msgspec.to_builtins(conf)
                for name, conf in sorted(self._plugin_configs.items())
            },
        }


def table_problems(table: Mapping[str, Any], schema: type[msgspec.Struct]) -> list[str]:
    """Every problem of ``table`` against ``schema``, not only the first msgspec meets.

    Each key is checked on its own (msgspec stops at the first error); then the whole table,
    for what only shows as a whole (a required key missing).
    """
    problems: list[str] = []
    for key, value in table.items():
        try:
            msgspec.convert({key: value}, schema)
        except msgspec.ValidationError as exc:
            if "missing required field" not in str(exc):
                problems.append(str(exc))
    if not problems:
        try:
            msgspec.convert(dict(table), schema)
        except msgspec.ValidationError as exc:
            problems.append(str(exc))
    return problems


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if data_dir := environ.get(ENV_PREFIX + "DATA_DIR"):
        overrides["data_dir"] = data_dir
    if log_format := environ.get(ENV_PREFIX + "LOG_FORMAT"):
        overrides["log_format"] = log_format
    if log_level := environ.get(ENV_PREFIX + "LOG_LEVEL"):
        overrides["log_level"] = log_level.lower()
    if workers := environ.get(ENV_PREFIX + "WORKERS"):
        overrides["workers"] = int(workers) if workers.isdigit() else workers
    return overrides


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the file at ``path`` (or ``$API_PARTICULIER_CONFIG``) and the environment.

    With neither, the embedded defaults apply.
    """
    environ = os.environ if environ is None else environ
    if path is None:
        path = environ.get(ENV_PREFIX + "CONFIG") or None
    layout = _FileLayout()
    source: Path | None = None
    problems: list[str] = []
    if path is not None:
        source = Path(path)
        try:
            raw = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"{source}: no such configuration file"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{source}: cannot be read ({exc.__class__.__name__})"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{source}: not valid TOML ({exc})"]) from None
        try:
            layout = msgspec.convert(raw, _FileLayout)
        except msgspec.ValidationError as exc:
            raise ConfigError([f"{source}: {exc}"]) from None

    if source is not None and layout.enabled is None:
        # A file says exactly what is enabled: silence must not switch data sources on.
        problems.append(f"{source}: no `enabled = [...]` list (write `enabled = []` for none)")
    core_table = {**layout.core, **_env_overrides(environ)}
    core = CoreConfig()
    try:
        core = msgspec.convert(core_table, CoreConfig)
    except msgspec.ValidationError:
        problems.extend(f"[core]: {p}" for p in table_problems(core_table, CoreConfig))
    if problems:
        raise ConfigError(problems)

    disabled = frozenset(
        name.strip()
        for name in environ.get(ENV_PREFIX + "DISABLE_PLUGINS", "").split(",")
        if name.strip()
    )
    return Settings(
        core=core,
        enabled=tuple(layout.enabled) if layout.enabled is not None else None,
        disabled=disabled,
        plugin_tables=layout.plugins,
        source=source,
    )
