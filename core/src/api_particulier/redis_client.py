"""The deployment's shared Redis client (``[core.redis]``), built with redis-py.

One client per application, handed to plugins as ``context.redis``: the rate limit, the
consent replay memory and the response cache share its connection pool. It speaks plain
TCP, TLS (``rediss://``, with a CA bundle and a client certificate) or a Unix socket, or
finds the primary through Sentinel. The URL may hold a password: it is read from
``API_PARTICULIER_REDIS_URL`` or a secret reference, and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel

from .errors import ConfigError
from .settings import ENV_PREFIX, RedisConfig, Secret

REDIS_URL_ENV = ENV_PREFIX + "REDIS_URL"


def redis_url(config: RedisConfig, environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    url = environ.get(REDIS_URL_ENV) or config.url
    return url.reveal() if isinstance(url, Secret) else url


def open_redis(config: RedisConfig, environ: Mapping[str, str] | None = None) -> Redis | None:
    """The client of ``config``, or None when no Redis is configured. It connects at its
    first command, not here."""
    url = redis_url(config, environ)
    if url is None and not config.sentinels:
        return None
    options: dict[str, Any] = {
        "socket_connect_timeout": config.connect_timeout,
        "socket_timeout": config.timeout,
        "health_check_interval": 30,
        "max_connections": config.max_connections,
    }
    if config.ca_file or config.cert_file:
        options.update(
            ssl_ca_certs=config.ca_file, ssl_certfile=config.cert_file, ssl_keyfile=config.key_file
        )
    try:
        if config.sentinels:
            return _through_sentinel(config, url, options)
        assert url is not None
        pool = BlockingConnectionPool.from_url(url, timeout=config.timeout, **options)
        return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it
    except ValueError:
        # The message never repeats the URL: it may hold a password.
        raise ConfigError(
            ["[core.redis] url: not a Redis URL (redis://, rediss:// or unix://)"]
        ) from None


def _through_sentinel(config: RedisConfig, url: str | None, options: dict[str, Any]) -> Redis:
    credentials: dict[str, Any] = {}
    if url:
        probe = Redis.from_url(url)
        kwargs = probe.connection_pool.connection_kwargs
        credentials = {k: kwargs[k] for k in ("username", "password", "db") if kwargs.get(k)}
    hosts = [(host, int(port)) for host, port in (s.rsplit(":", 1) for s in config.sentinels)]
    # redis-py's Sentinel carries no type annotations.
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        hosts, sentinel_kwargs={"socket_timeout": config.timeout}, **options
    )
    assert config.service_name is not None
    client: Redis = sentinel.master_for(config.service_name, **credentials)
    return client


async def close_redis(client: Redis) -> None:
    """Close the client, and the Sentinel connections it found its primary through."""
    await client.aclose()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    for watcher in getattr(manager, "sentinels", ()):
        await watcher.aclose()
