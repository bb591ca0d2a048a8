"""The ``[plugins.cnaf]`` table.

::

    [plugins.cnaf]
    backend = "soap"                                  # "sandbox" (default) or "soap"
    url = "https://pep.caf.fr/sgmap/wswdd/v1"
    client_cert = "/etc/api-particulier/caf.crt"      # a PEM path, or { env = "CAF_CERTIFICATE" }
    client_key = { env = "CAF_PRIVATE_KEY" }          # a PEM path, or an env var holding the PEM
    ca = "/etc/ssl/certs/ca-certificates.crt"         # optional: trust only this bundle
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from api_particulier import Secret

DEFAULT_URL = "https://pep.caf.fr/sgmap/wswdd/v1"

Positive = Annotated[float, msgspec.Meta(gt=0)]


class CnafConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    backend: Literal["sandbox", "soap"] = "sandbox"
    url: str = DEFAULT_URL
    # A path to a PEM file, or an environment variable holding the PEM text itself (the
    # historic deployment passed CAF_CERTIFICATE / CAF_PRIVATE_KEY that way).
    client_cert: str | Secret | None = None
    client_key: str | Secret | None = None
    # CA bundle (PEM path) that replaces the system trust store; the server is always verified.
    ca: str | None = None
    # Connect + read = 10 s, the historic client's timeout.
    connect_timeout: Positive = 3.0
    read_timeout: Positive = 7.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 100
