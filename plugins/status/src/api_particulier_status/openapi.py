"""``GET /api/status`` in the service's OpenAPI document."""

from __future__ import annotations

from typing import Any

from api_particulier import openapi_error, openapi_schema

from .report import Report

PREFIX = "Status"


def document_status(document: dict[str, Any]) -> None:
    schema = openapi_schema(document, Report, prefix=PREFIX)
    document.setdefault("paths", {})["/api/status"] = {
        "get": {
            "summary": "Each provider's state, uptime over 24 h / 30 d / 90 d and incidents",
            "operationId": "status",
            "tags": ["service"],
            "responses": {
                "200": {
                    "description": "The status",
                    "content": {"application/json": {"schema": schema}},
                },
                "503": openapi_error("The store is not available"),
            },
        }
    }
