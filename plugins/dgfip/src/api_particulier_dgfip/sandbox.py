"""The sandbox backend: answers from the shipped fictional data set, never calls DGFiP.

Keeps the historic sandbox's conventions so integrators' test suites keep working:
``numeroFiscal`` = ``referenceAvis`` = ``1111111111111`` is a single-declarant taxable
household, and ``1111111111404``, ``…502``, ``…503``, ``…504``, ``…509`` (the same value in
both parameters) answer that status with its contract body. As on the real service, only
the notices of the two most recent tax years are served; older ones answer 404.
"""

from __future__ import annotations

from collections.abc import Callable

from api_particulier import ProviderError, Upstream

from . import errors
from .dataset import DataSet, Notice, load, lookup_key
from .model import AvisImposition

MAGIC_ERRORS: dict[str, Callable[[], ProviderError]] = {
    "1111111111404": errors.not_found,
    "1111111111502": errors.bad_response,
    "1111111111503": errors.unavailable,
    "1111111111504": errors.timeout,
    "1111111111509": errors.rate_limited,
}


class SandboxBackend:
    def __init__(self, data: DataSet | None = None, current_year: int | None = None) -> None:
        data = data if data is not None else load()
        self.notices: dict[tuple[str, str], Notice] = {n.key: n for n in data.notices}
        years = [n.tax_year for n in data.notices]
        self.current_year = current_year if current_year is not None else max(years)
        self.calls = 0
        # Answers come from memory: nothing to wait on, no deadline to keep.
        self.deadline = None

    @property
    def upstreams(self) -> tuple[Upstream, ...]:
        return ()

    async def lookup(self, numero_fiscal: str, reference_avis: str) -> AvisImposition:
        self.calls += 1
        if numero_fiscal == reference_avis and numero_fiscal in MAGIC_ERRORS:
            raise MAGIC_ERRORS[numero_fiscal]()
        notice = self.notices.get(lookup_key(numero_fiscal, reference_avis))
        if notice is None or not self.is_recent(notice):
            raise errors.not_found()
        return notice.avis

    def is_recent(self, notice: Notice) -> bool:
        return self.current_year - 1 <= notice.tax_year <= self.current_year

    async def healthy(self) -> bool:
        return True

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None
