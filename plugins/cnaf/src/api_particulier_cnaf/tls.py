"""The TLS context of the live backend: our client certificate, and a verified server.

Server verification cannot be switched off: the historic service ran without it for years,
which let anyone on the path pose as the CNAF.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path

from api_particulier import ConfigError, Secret

from .config import CnafConfig


def client_context(config: CnafConfig) -> ssl.SSLContext:
    """An SSLContext presenting the client certificate; raises ConfigError when unusable."""
    if config.client_cert is None or config.client_key is None:
        raise ConfigError(['[plugins.cnaf]: backend "soap" needs client_cert and client_key'])
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=config.ca)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            [f"[plugins.cnaf]: ca cannot be loaded ({exc.__class__.__name__})"]
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="api-particulier-cnaf-") as scratch:
        cert = _pem_path(config.client_cert, Path(scratch) / "cert.pem")
        key = _pem_path(config.client_key, Path(scratch) / "key.pem")
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            # The exception names no file content, only its kind.
            kind = exc.__class__.__name__
            problem = f"[plugins.cnaf]: client_cert/client_key cannot be loaded ({kind})"
            raise ConfigError([problem]) from None
    return context


def _pem_path(source: str | Secret, scratch: Path) -> str:
    """A path OpenSSL can read: the configured one, or a private copy of an env var's PEM."""
    if isinstance(source, str):
        return source
    # load_cert_chain reads files only; the copy lives in a 0700 directory until it is loaded.
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(source.reveal())
    return str(scratch)
