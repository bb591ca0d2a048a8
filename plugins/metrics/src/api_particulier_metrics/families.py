"""The figures kept in memory by each worker, in Prometheus's multi-process file layout.

A request only adds to dictionaries (a few hundred nanoseconds); a background task writes
the totals to the worker's files every ``flush_interval`` seconds, and a scrape adds up the
files of every worker (``prometheus_client.multiprocess.MultiProcessCollector``). Label
values come from the service's own vocabulary only — route paths as declared, provider
names, status and error codes, phase outcomes — never a key, an application's name or
anything a caller sent.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.utils import floatToGoString

# (sample name, label names, label values, value)
Sample = tuple[str, tuple[str, ...], tuple[str, ...], float]

# Seconds: from a cached answer (~1 ms) to an upstream's deadline (10 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Counter:
    """A counter per label values; ``file`` is the multi-process file it is written to."""

    file = "counter"

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.totals: dict[tuple[str, ...], float] = {}

    def inc(self, values: tuple[str, ...], amount: float = 1.0) -> None:
        self.totals[values] = self.totals.get(values, 0.0) + amount

    def set_total(self, values: tuple[str, ...], total: float) -> None:
        """For a count kept elsewhere (the core's faults): its current total."""
        self.totals[values] = total

    def samples(self) -> Iterator[Sample]:
        for values, total in self.totals.items():
            yield self.name + "_total", self.labels, values, total


class Gauge:
    """A gauge per label values, added up (``livesum``) or maxed (``livemax``) over the
    live workers."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...], mode: str) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.file = f"gauge_{mode}"
        self.values: dict[tuple[str, ...], float] = {}

    def set(self, values: tuple[str, ...], value: float) -> None:
        self.values[values] = value

    def samples(self) -> Iterator[Sample]:
        for values, value in self.values.items():
            yield self.name, self.labels, values, value


class Histogram:
    """Observations per label values, counted by bucket (not cumulated: the collector
    cumulates the buckets of every worker), with their sum."""

    file = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, ...],
        buckets: tuple[float, ...] = LATENCY_BUCKETS,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.buckets = buckets
        self._bounds = (*(floatToGoString(b) for b in buckets), "+Inf")
        # Per label values: one count per bucket (the last one +Inf), then the sum.
        self.series: dict[tuple[str, ...], list[float]] = {}

    def observe(self, values: tuple[str, ...], value: float) -> None:
        series = self.series.get(values)
        if series is None:
            series = self.series[values] = [0.0] * (len(self.buckets) + 2)
        series[bisect_left(self.buckets, value)] += 1
        series[-1] += value

    def samples(self) -> Iterator[Sample]:
        bucket_labels = (*self.labels, "le")
        for values, series in self.series.items():
            for bound, count in zip(self._bounds, series, strict=False):
                yield self.name + "_bucket", bucket_labels, (*values, bound), count
            yield self.name + "_sum", self.labels, values, series[-1]


Family = Counter | Gauge | Histogram
