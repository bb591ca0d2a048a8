"""``GET /api/stats/daily`` in the service's OpenAPI document."""

from __future__ import annotations

from typing import Any

from api_particulier import openapi_error, openapi_schema

from .daily import Daily

PREFIX = "StatsDaily"


def document_daily(document: dict[str, Any], max_days: int) -> None:
    schema = openapi_schema(document, Daily, prefix=PREFIX)
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
                    "description": f"The period's length in days (1 to {max_days}; "
                    f"{min(30, max_days)} when omitted)",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": max_days,
                        "default": min(30, max_days),
                    },
                }
            ],
            "responses": {
                "200": {
                    "description": "The figures",
                    "content": {"application/json": {"schema": schema}},
                },
                "400": openapi_error("days is not a number of days"),
                "503": openapi_error("The store is not available"),
            },
        }
    }
