"""What this plugin adds to the OpenAPI document of every provider route."""

from __future__ import annotations

from typing import Any

from .denials import (
    CONSENT_REQUIRED,
    INVALID_RECIPIENT,
    MISSING_RECIPIENT,
    RECEIPT_TOO_LONG,
    Invalid,
    consent_invalid,
)

RECIPIENT_PARAMETER: dict[str, Any] = {
    "name": "recipient",
    "in": "query",
    "required": False,
    "description": "SIRET of the administration receiving the data (14 digits, valid Luhn key; "
    "La Poste establishments: digit sum multiple of 5). Recorded in the journal. Required "
    "when the application's consent policy says so, and always with FranceConnect.",
    "schema": {
        "type": "string",
        "format": "siret",
        "pattern": "^[0-9 ]{14,20}$",
        "description": "Format `siret`: 14 digits, spaces ignored, whose Luhn key holds (La "
        "Poste establishments: digit sum multiple of 5). The pattern says only the shape: a "
        "JSON Schema cannot express the key, so a value matching the pattern but not the "
        "format is refused with 400 `bad_request`.",
        "examples": ["13002526500013"],
    },
}
RECEIPT_HEADER: dict[str, Any] = {
    "name": "X-Consent-Receipt",
    "in": "header",
    "required": False,
    "description": "The citizen's consent receipt: a compact JWS (EdDSA with Ed25519, or "
    "ES256) signed with a key registered for the application, whose claims bind it to this "
    "deployment (aud), to the citizen named by the parameters (sub), to the scopes agreed "
    "(scope), to a purpose, to a short lifetime (iat, exp) and to a single use (jti). "
    "Required when the application's policy is `receipt`.",
    "schema": {"type": "string", "maxLength": 4096},
}
FRANCECONNECT_SCHEME: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": "The citizen's FranceConnect access token, sent with X-Api-Key by "
    "applications whose consent policy accepts `franceconnect`.",
}


def _body(denial: Any) -> dict[str, Any]:
    return {"error": denial.error, "reason": denial.reason, "message": denial.message}


def _with_examples(response: dict[str, Any], description: str, examples: dict[str, Any]) -> None:
    response["description"] = description
    content = dict(response.get("content", {}))
    media = dict(content.get("application/json", {}))
    media["examples"] = {**media.get("examples", {}), **examples}
    content["application/json"] = media
    response["content"] = content


def amend(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["franceConnect"] = FRANCECONNECT_SCHEME
    for item in document.get("paths", {}).values():
        operation = item.get("get")
        # Provider routes are the ones with parameters; core routes need no consent.
        if not isinstance(operation, dict) or "parameters" not in operation:
            continue
        operation["parameters"] = [*operation["parameters"], RECIPIENT_PARAMETER, RECEIPT_HEADER]
        operation["security"] = [
            *operation.get("security", []),
            {"apiKey": [], "franceConnect": []},
        ]
        responses = operation.setdefault("responses", {})
        forbidden = dict(responses.get("403", {}))
        _with_examples(
            forbidden,
            "The key holds no scope of this endpoint (`access_denied`); consent evidence is "
            "missing (`consent_required`) or invalid (`consent_invalid`, the reason says why)",
            {
                "consent_required": {"value": _body(CONSENT_REQUIRED)},
                "consent_invalid": {"value": _body(consent_invalid(Invalid.REPLAYED))},
            },
        )
        responses["403"] = forbidden
        bad = dict(responses.get("400", {}))
        _with_examples(
            bad,
            "Invalid parameters, a missing or invalid `recipient`, or an `X-Consent-Receipt` "
            "over 4096 characters (`bad_request`)",
            {
                "invalid_recipient": {"value": _body(INVALID_RECIPIENT)},
                "missing_recipient": {"value": _body(MISSING_RECIPIENT)},
                "receipt_too_long": {"value": _body(RECEIPT_TOO_LONG)},
            },
        )
        responses["400"] = bad
