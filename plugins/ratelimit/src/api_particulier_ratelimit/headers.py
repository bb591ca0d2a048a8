"""What a decision looks like on the wire: the RateLimit headers and the refusals.

``RateLimit-Reset`` and the ``t`` parameter are both *seconds from now* (delta-seconds,
as the draft's ``t`` and the historic triplet up to draft-06), rounded up: the number of
seconds until one more call becomes admissible, 0 when the whole quota is available.
"""

from __future__ import annotations

import math

from api_particulier import Denial

from .window import Decision


def whole_seconds(seconds: float) -> int:
    """Rounded up, so that waiting that long is always enough."""
    return max(math.ceil(seconds), 0)


def rate_limit_headers(decision: Decision, window: int) -> dict[str, str]:
    """The five headers every authenticated answer carries."""
    remaining = decision.remaining
    reset = whole_seconds(decision.reset)
    return {
        "ratelimit-limit": str(decision.limit),
        "ratelimit-remaining": str(remaining),
        "ratelimit-reset": str(reset),
        "ratelimit-policy": f'"{decision.policy}";q={decision.limit};w={window}',
        "ratelimit": f'"{decision.policy}";r={remaining};t={reset}',
    }


def retry_after(decision: Decision) -> int:
    """Integer seconds, at least 1, after which a call is admissible (absent other calls
    of the same key in between)."""
    return max(whole_seconds(decision.reset), 1)


def _seconds(count: int) -> str:
    return f"{count} seconde" if count == 1 else f"{count} secondes"


def refusal(decision: Decision, window: int) -> Denial:
    wait = retry_after(decision)
    if decision.unavailable:
        return Denial(
            status=503,
            error="service_unavailable",
            reason="The rate limit store is unavailable",
            message=(
                "Le service est momentanément indisponible. "
                f"Veuillez réessayer dans {_seconds(wait)}."
            ),
            headers={"retry-after": str(wait)},
        )
    per = "par seconde" if window == 1 else f"par période de {_seconds(window)}"
    return Denial(
        status=429,
        error="too_many_requests",
        reason=f"Rate limit exceeded: {decision.limit} calls per {window} s for this key",
        message=(
            f"Vous avez effectué trop de requêtes : ce jeton est limité à {decision.limit} "
            f"appels {per}. Veuillez réessayer dans {_seconds(wait)}."
        ),
        headers={"retry-after": str(wait)},
    )
