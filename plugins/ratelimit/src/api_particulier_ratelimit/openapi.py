"""The RateLimit headers in the OpenAPI document, on every authenticated route."""

from __future__ import annotations

from typing import Any

_HEADER_REF = "#/components/headers/{name}"


def _components(quota: int, window: int) -> dict[str, Any]:
    integer = {"type": "integer", "minimum": 0}
    return {
        "RateLimit-Limit": {
            "description": f"Calls admitted per key in any {window}-second window "
            f"(default {quota}; an application may have its own)",
            "schema": integer,
        },
        "RateLimit-Remaining": {
            "description": "Calls still admissible in the current window",
            "schema": integer,
        },
        "RateLimit-Reset": {
            "description": "Seconds from now (not an epoch) until one more call becomes "
            "admissible; 0 when the whole quota is available",
            "schema": integer,
        },
        "RateLimit-Policy": {
            "description": 'The policy (IETF draft RateLimit fields), e.g. `"default";q='
            f'{quota};w={window}`. `"degraded"` while this server counts alone, at its '
            "share of the quota",
            "schema": {"type": "string"},
        },
        "RateLimit": {
            "description": 'The state under the policy, e.g. `"default";r=3;t=1` '
            "(r: remaining calls, t: seconds until one more is admissible)",
            "schema": {"type": "string"},
        },
        "Retry-After": {
            "description": "Seconds to wait before a call is admitted (at least 1)",
            "schema": {"type": "integer", "minimum": 1},
        },
    }


_ON_EVERY_ANSWER = (
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)


def document_headers(
    document: dict[str, Any], quota: int, window: int, *, with_503: bool = False
) -> None:
    components = document.setdefault("components", {})
    components.setdefault("headers", {}).update(_components(quota, window))
    every = {name: {"$ref": _HEADER_REF.format(name=name)} for name in _ON_EVERY_ANSWER}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or not operation.get("security"):
                continue
            responses = operation.get("responses", {})
            if with_503 and "503" not in responses and "401" in responses:
                error = dict(responses["401"])
                error["description"] = (
                    "The rate limit store is unavailable (`service_unavailable`); see `Retry-After`"
                )
                responses["503"] = error
            for status, response in responses.items():
                if status == "401":
                    continue  # no key, no quota
                # A fresh dict: response objects may share their headers mapping.
                headers = {**response.get("headers", {}), **every}
                if status in ("429", "503"):
                    headers["Retry-After"] = {"$ref": _HEADER_REF.format(name="Retry-After")}
                response["headers"] = headers
