"""The ASGI application built from the environment, for ASGI servers with several workers:
``uvicorn api_particulier.asgi:app``."""

from __future__ import annotations

from .app import create_app
from .logs import configure_logging
from .runtime import prepare_for_serving
from .settings import load_settings

_settings = load_settings()
configure_logging(_settings.core.log_format, _settings.core.log_level)
app = create_app(_settings)
prepare_for_serving()
