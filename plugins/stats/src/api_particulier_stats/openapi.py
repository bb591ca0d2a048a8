"""``GET /api/stats/daily`` in the service's OpenAPI document."""

from __future__ import annotations

from typing import Any

import msgspec

from .daily import Daily

PREFIX = "StatsDaily"


def document_daily(document: dict[str, Any], max_days: int) -> None:
    (schema,), components = msgspec.json.schema_components(
        [Daily], ref_template="#/components/schemas/" + PREFIX + "{name}"
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update({PREFIX + name: value for name, value in components.items()})
    error = {"$ref": "#/components/schemas/Error"} if "Error" in schemas else {"type": "object"}
    document.setdefault("paths", {})["/api/stats/daily"] = {
        "get": {
            "summary": "Successful data calls per day and per provider",
            "description": "From the journal's daily aggregate, every day of the period "
            "listed (UTC days, the last one today), every enabled provider with it.",
            "operationId": "stats_daily",
            "tags": ["service"],
            "parameters": [
                {
                    "name": "days",
                    "in": "query",
                    "required": False,
                    "description": f"The period's length in days (1 to {max_days}; 30 when "
                    "omitted)",
                    "schema": {"type": "integer", "minimum": 1, "maximum": max_days},
                }
            ],
            "responses": {
                "200": {
                    "description": "The figures",
                    "content": {"application/json": {"schema": schema}},
                },
                "400": {
                    "description": "days is not a number of days",
                    "content": {"application/json": {"schema": error}},
                },
                "503": {
                    "description": "The store is not available",
                    "content": {"application/json": {"schema": error}},
                },
            },
        }
    }
