"""The citizen's route in the OpenAPI document (the service's public JSON routes are)."""

from __future__ import annotations

from typing import Any

from api_particulier import openapi_error

from .routes import ACCESS_LOG_PATH


def _identifier(name: str, description: str, pattern: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "pattern": pattern},
    }


CALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "date": {"type": "string", "format": "date-time"},
        "administration": {
            "type": "object",
            "properties": {
                "name": {"type": ["string", "null"]},
                "siret": {"type": ["string", "null"]},
            },
        },
        "provider": {"type": ["string", "null"]},
        "providerLabel": {
            "type": ["string", "null"],
            "description": "What people read for the provider (its label, in French)",
        },
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"scope": {"type": "string"}, "label": {"type": "string"}},
            },
        },
        "outcome": {"enum": ["transmitted", "not_found", "refused", "failed"]},
        "outcomeLabel": {"type": "string"},
        "legalBasis": {"type": ["string", "null"]},
        "recipients": {"type": ["string", "null"]},
        "recipientSiret": {"type": ["string", "null"]},
    },
}


def amend(document: dict[str, Any]) -> None:
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["citizenFranceConnect"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The citizen's own FranceConnect access token.",
    }
    document.setdefault("paths", {})[ACCESS_LOG_PATH] = {
        "get": {
            "summary": "The calls made about me (citizen's access report)",
            "description": "For the citizen themself: with their FranceConnect access token and "
            "their identifiers (numeroFiscal with the referenceAvis of one of their notices; "
            "or numeroAllocataire and codePostal), the calls "
            "the journal holds about them, newest first. A wrong token, identifiers that are "
            "not the token holder's, and too many attempts answer an error that says nothing "
            "of whether any call exists.",
            "operationId": "citizen_access_log",
            "tags": ["citizens"],
            "security": [{"citizenFranceConnect": []}],
            "parameters": [
                _identifier(
                    "numeroFiscal",
                    "Tax number (13 letters or digits once spaces are removed)",
                    "^[0-9A-Za-z ]+$",
                ),
                _identifier(
                    "referenceAvis",
                    "Reference of one of the citizen's tax notices, with numeroFiscal "
                    "(13 or 14 letters or digits once spaces are removed)",
                    "^[0-9A-Za-z ]+$",
                ),
                _identifier("numeroAllocataire", "CAF number", "^[0-9]{5,7}$"),
                _identifier("codePostal", "Postcode, with numeroAllocataire", "^[0-9]{5}$"),
            ],
            "responses": {
                "200": {
                    "description": "The calls about the citizen",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "calls": {"type": "array", "items": CALL_SCHEMA},
                                    "count": {"type": "integer", "minimum": 0},
                                },
                            }
                        }
                    },
                },
                "400": openapi_error("No identifier, or an invalid one"),
                "401": openapi_error("Not identified: token, or identifiers not the holder's"),
                "429": openapi_error("Too many attempts (Retry-After)"),
                "503": openapi_error("FranceConnect or the provider could not answer"),
            },
        }
    }
