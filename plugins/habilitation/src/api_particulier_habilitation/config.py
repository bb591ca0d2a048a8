"""The ``[plugins.habilitation]`` table."""

from __future__ import annotations

from typing import Annotated

import msgspec
from api_particulier import Secret


class HabilitationConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Where the service is reached from a browser: links in e-mails start with it.
    public_url: str = "http://127.0.0.1:8000"
    mail_from: str = "API Particulier <ne-pas-repondre@api-particulier.localhost>"
    # smtp://[user:password@]host[:port] (STARTTLS when offered), smtps://… (TLS from the
    # start). None: every message is written under <data dir>/outbox/ as an .eml file.
    smtp_url: str | Secret | None = None
    # The secret shared with DataPass for its webhook's X-Hub-Signature-256; without it,
    # every delivery is refused.
    datapass_secret: Secret | None = None
    # Signs session cookies; without it, a secret generated once and kept in the store.
    session_secret: Secret | None = None
    # How long a key made by a validation is valid.
    key_validity_months: Annotated[int, msgspec.Meta(ge=1, le=120)] = 18
    # Sign-in links asked per address and per client address, per 15 minutes.
    sign_in_limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    # How long a session lasts without signing in again.
    session_hours: Annotated[float, msgspec.Meta(gt=0, le=720)] = 12.0
