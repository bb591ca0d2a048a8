"""The ASGI application built from the environment, for ASGI servers with several workers:
``uvicorn api_particulier.asgi:app``."""

from __future__ import annotations

import gc

from .app import create_app
from .logs import configure_logging
from .settings import load_settings

_settings = load_settings()
configure_logging(_settings.core.log_format, _settings.core.log_level)
app = create_app(_settings)
# What was built lives as long as the process: keep it out of the cyclic collector's way,
# so that its full passes stay short under load.
gc.freeze()
