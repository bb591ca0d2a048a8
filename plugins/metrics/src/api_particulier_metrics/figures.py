"""What is measured, and how one call is turned into figures."""

from __future__ import annotations

from api_particulier import Call, CallRecord

from .families import Counter, Family, Gauge, Histogram

NO_PROVIDER = "none"  # core routes (/api/introspect): Prometheus drops empty labels

# Call.upstream_outcome (api_particulier.upstream) → the outcome operators follow.
_UPSTREAM_OUTCOMES = {
    "ok": "ok",
    "upstream_error": "5xx",
    "timeout": "timeout",
    "connect_error": "unreachable",
    "tls_error": "unreachable",
    "transport_error": "unreachable",
    "body_too_large": "invalid_answer",
    "circuit_open": "refused",
    "overloaded": "refused",
}


def upstream_outcome(record: CallRecord, call: Call) -> str | None:
    """ok, 5xx, timeout, invalid_answer, unreachable or refused (the circuit open, the
    concurrency cap); None when no upstream was asked."""
    if record.provider is None:
        return None
    if record.error == "invalid_response":
        # Whatever the transport said, the answer could not be used.
        return "invalid_answer"
    if record.error == "timeout_error":
        # The route's deadline as well as the upstream client's own timeout.
        return "timeout"
    if call.upstream_outcome is None:
        return None
    return _UPSTREAM_OUTCOMES.get(call.upstream_outcome)


class Figures:
    """Every family of one worker."""

    def __init__(self) -> None:
        self.requests = Counter(
            "api_particulier_requests",
            "Requests through the pipeline, by route, status and provider.",
            ("route", "status", "provider"),
        )
        self.duration = Histogram(
            "api_particulier_request_duration_seconds",
            "Service time of requests through the pipeline, by provider.",
            ("provider",),
        )
        self.upstream_duration = Histogram(
            "api_particulier_upstream_duration_seconds",
            "Time spent waiting on the provider's upstreams, per request, by provider.",
            ("provider",),
        )
        self.upstream_outcomes = Counter(
            "api_particulier_upstream_outcomes",
            "Outcomes of upstream calls by provider: ok, 5xx, timeout, invalid_answer, "
            "unreachable, refused.",
            ("provider", "outcome"),
        )
        self.rate_limited = Counter(
            "api_particulier_rate_limit_refusals",
            "Requests refused by the rate limit, by provider.",
            ("provider",),
        )
        self.consent_refused = Counter(
            "api_particulier_consent_refusals",
            "Requests refused by the consent phase, by kind (the refusal's error code).",
            ("kind",),
        )
        self.auth_refused = Counter(
            "api_particulier_authentication_refusals",
            "Requests refused by authentication, by error code.",
            ("error",),
        )
        self.faults = Counter(
            "api_particulier_dependency_faults",
            "Faults of the store and of Redis that the service caught and carried on.",
            ("dependency",),
        )
        self.journal_uncommitted = Gauge(
            "api_particulier_journal_uncommitted_rows",
            "Journal rows taken and not yet committed to the store (all workers).",
            (),
            "livesum",
        )
        self.journal_lag = Gauge(
            "api_particulier_journal_lag_seconds",
            "Seconds the oldest journal row not yet committed has waited (worst worker).",
            (),
            "livemax",
        )

    def families(self) -> tuple[Family, ...]:
        return (
            self.requests,
            self.duration,
            self.upstream_duration,
            self.upstream_outcomes,
            self.rate_limited,
            self.consent_refused,
            self.auth_refused,
            self.faults,
            self.journal_uncommitted,
            self.journal_lag,
        )

    def record(self, record: CallRecord, call: Call) -> None:
        """Count one call (on the request's path: dictionary updates only)."""
        provider = record.provider or NO_PROVIDER
        self.requests.inc((record.route, str(record.status), provider))
        self.duration.observe((provider,), record.latency_ms / 1000)
        refused_in = call.refused_in
        if refused_in is not None:
            error = record.error or "unknown"
            if refused_in == "check_rate_limit":
                self.rate_limited.inc((provider,))
            elif refused_in == "check_consent":
                self.consent_refused.inc((error,))
            elif refused_in == "authenticate":
                self.auth_refused.inc((error,))
            return
        if call.upstream_ms is not None:
            self.upstream_duration.observe((provider,), call.upstream_ms / 1000)
        outcome = upstream_outcome(record, call)
        if outcome is not None:
            self.upstream_outcomes.inc((provider, outcome))
