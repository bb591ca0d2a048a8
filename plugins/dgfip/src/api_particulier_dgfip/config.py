"""The ``[plugins.dgfip]`` table."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

DEFAULT_URL = "https://cfsmsp.impots.gouv.fr/secavis/"


class DgfipConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # "sandbox": the fictional data set shipped with the plugin; "svair": DGFiP's live form.
    backend: Literal["sandbox", "svair"] = "sandbox"
    # Base of the SVAIR service; the form is at ``faces/commun/index.jsf`` under it.
    url: Annotated[str, Meta(pattern=r"^https?://")] = DEFAULT_URL
    # Together they make the deadline of one lookup (10 s by default).
    connect_timeout: Annotated[float, Meta(gt=0, le=60)] = 3.0
    read_timeout: Annotated[float, Meta(gt=0, le=120)] = 7.0
    # Lookups in flight toward SVAIR; beyond it callers get a 503 with Retry-After.
    max_concurrency: Annotated[int, Meta(ge=1, le=10000)] = 100
    # Bytes an SVAIR answer may hold; a larger one is a 502. Real pages weigh about 4 KB.
    max_answer_bytes: Annotated[int, Meta(ge=16 * 1024, le=10 * 2**20)] = 512 * 1024
    # Seconds one form ViewState is reused across lookups (0: fetch the form every time).
    viewstate_reuse: Annotated[float, Meta(ge=0, le=3600)] = 10.0
    # The sandbox serves the notices of this tax year and the one before; by default the
    # most recent year of its data set, so answers do not change with the calendar.
    sandbox_current_year: Annotated[int, Meta(ge=2000, le=2100)] | None = None

    @property
    def deadline(self) -> float:
        return self.connect_timeout + self.read_timeout
