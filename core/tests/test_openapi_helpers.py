"""The helpers a plugin documents its own JSON route with."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from api_particulier import hookimpl, openapi_error, openapi_schema
from api_particulier.testing import app_client, make_settings
from openapi_spec_validator import validate


class Opening(msgspec.Struct):
    day: str
    hours: str


class Hours(msgspec.Struct):
    office: str
    opening: list[Opening]


class HoursDocs:
    @hookimpl
    def amend_openapi(self, document: dict[str, object]) -> None:
        schema = openapi_schema(document, Hours, prefix="Horaires")
        paths = document["paths"]
        assert isinstance(paths, dict)
        paths["/api/horaires"] = {
            "get": {
                "operationId": "opening_hours",
                "responses": {
                    "200": {
                        "description": "The hours",
                        "content": {"application/json": {"schema": schema}},
                    },
                    "503": openapi_error("The store is not available"),
                },
            }
        }


@pytest.mark.anyio
async def test_a_plugin_route_documented_with_the_helpers(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path), plugins={"hours": HoursDocs()}) as client:
        document = (await client.http.get("/api/open-api.json")).json()
    validate(document)
    schemas = document["components"]["schemas"]
    assert {"HorairesHours", "HorairesOpening"} <= set(schemas)
    assert "Hours" not in schemas and "Opening" not in schemas
    operation = document["paths"]["/api/horaires"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/HorairesHours"}
    items = schemas["HorairesHours"]["properties"]["opening"]["items"]
    assert items == {"$ref": "#/components/schemas/HorairesOpening"}
    refused = operation["responses"]["503"]
    assert refused["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "X-Request-Id" in refused["headers"]
