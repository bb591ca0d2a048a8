"""What the core's tests assemble applications from: the test kit's echo provider."""

from __future__ import annotations

from api_particulier.testing.echo import (
    ALL_ECHO_SCOPES,
    CODE_MESSAGE,
    ECHO_FIELDS,
    GOOD_PARAMS,
    NUMERO_MESSAGE,
    EchoBody,
    EchoParams,
    EchoProvider,
    Person,
)

__all__ = [
    "ALL_ECHO_SCOPES",
    "CODE_MESSAGE",
    "ECHO_FIELDS",
    "GOOD_PARAMS",
    "NUMERO_MESSAGE",
    "EchoBody",
    "EchoParams",
    "EchoProvider",
    "Person",
]
