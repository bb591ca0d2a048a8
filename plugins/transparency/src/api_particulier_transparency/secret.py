"""The pseudonyms' secret: configured, or generated in the data directory in embedded
mode (as the core's pepper)."""

from __future__ import annotations

from pathlib import Path

import structlog
from api_particulier import ConfigError, Secret, local_secret

log = structlog.get_logger("api_particulier_transparency")

SECRET_FILE = "transparency-secret"  # noqa: S105 - a file name


def load_secret(configured: Secret | None, embedded: bool, data_dir: Path) -> bytes:
    if configured is not None:
        value = configured.reveal()
        if len(value) < 32:
            raise ConfigError(["[plugins.transparency] secret must hold at least 32 characters"])
        return value.encode("utf-8")
    if not embedded:
        raise ConfigError(['[plugins.transparency] secret = { env = "NAME" } is required'])
    path = data_dir / SECRET_FILE
    secret, made = local_secret(path)
    if made:
        log.warning(
            "transparency_secret_generated",
            path=str(path),
            advice="embedded mode only; in production set [plugins.transparency] secret",
        )
    return secret.encode("utf-8")
