"""``GET /api/status`` in the service's OpenAPI document."""

from __future__ import annotations

from typing import Any

import msgspec

from .report import Report

PREFIX = "Status"


def document_status(document: dict[str, Any]) -> None:
    (schema,), components = msgspec.json.schema_components(
        [Report], ref_template="#/components/schemas/" + PREFIX + "{name}"
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update({PREFIX + name: value for name, value in components.items()})
    error = {"$ref": "#/components/schemas/Error"} if "Error" in schemas else {"type": "object"}
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
                "503": {
                    "description": "The store is not available",
                    "content": {"application/json": {"schema": error}},
                },
            },
        }
    }
