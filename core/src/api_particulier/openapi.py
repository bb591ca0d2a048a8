"""The OpenAPI 3.1 document, generated from the enabled providers and plugins.

Each route documents every status it can answer: those of the core (401, 403, 400, 500),
those of the policy phases that have implementations (403 consent, 429), and those the
provider declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from . import __version__, hooks
from .params import ParamsValidator
from .plan import Phase
from .types import ErrorBody, ProviderRoute

if TYPE_CHECKING:
    from .app import ApiApp

_REF = "#/components/schemas/{name}"
_STATUS_TEXT = {
    400: "Invalid parameters (`bad_request`)",
    401: "Missing, unknown, revoked or expired key (`access_denied`), or several credentials",
    403: "The key holds no scope of this endpoint, or consent evidence is missing or invalid",
    404: "The data provider knows no such subject (`not_found`)",
    429: "Over the rate limit (`too_many_requests`); see `Retry-After`",
    500: "Internal error (`internal_error`)",
    502: "The data provider's answer could not be used (`invalid_response`)",
    503: "The data provider is unavailable (`data_provider_error`); see `Retry-After`",
    504: "The data provider did not answer in time (`timeout_error`)",
    509: "The data provider refused after too many failed lookups (`rate_limited`)",
}
_REQUEST_ID_HEADER = {
    "X-Request-Id": {
        "description": "The request id (the caller's when well formed, else a new UUID)",
        "schema": {"type": "string"},
    }
}


def _error(status: int) -> dict[str, Any]:
    return openapi_error(_STATUS_TEXT.get(status, "Error"))


def openapi_error(description: str) -> dict[str, Any]:
    """For a plugin's own route in the OpenAPI document (``amend_openapi``): a response
    whose body is the contract's error body, with its ``X-Request-Id``."""
    return {
        "description": description,
        "headers": _REQUEST_ID_HEADER,
        "content": {"application/json": {"schema": {"$ref": _REF.format(name="Error")}}},
    }


def openapi_schema(document: dict[str, Any], kind: type, *, prefix: str) -> dict[str, Any]:
    """For a plugin's own route: add the JSON Schema of ``kind`` (a msgspec Struct) and of
    the types it refers to to ``document``'s components, each name prefixed by ``prefix``
    (so that two plugins' types never collide), and return the reference to use in a
    response's content."""
    template = _REF.format(name=prefix + "{name}")
    (schema,), components = msgspec.json.schema_components([kind], ref_template=template)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update({prefix + name: value for name, value in components.items()})
    return schema


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _REQUEST_ID_HEADER,
        "content": {"application/json": {"schema": schema}},
    }


def _parameters(
    route: ProviderRoute, components: dict[str, Any], names: dict[type, str]
) -> list[dict[str, Any]]:
    validator = ParamsValidator(route.params)
    struct_schema = components[names[route.params]]
    properties = struct_schema.get("properties", {})
    return [
        {
            "name": rule.name,
            "in": "query",
            "required": rule.required,
            "description": rule.message,
            "schema": properties.get(rule.name, {"type": "string"}),
        }
        for rule in validator.rules
    ]


def _component_name(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    prefix = _REF.format(name="")
    if isinstance(ref, str) and ref.startswith(prefix):
        return ref[len(prefix) :]
    return None


def _mask_schemas(
    routes: list[ProviderRoute], components: dict[str, Any], names: dict[type, str]
) -> None:
    """Make the response schemas say what masking does to an answer.

    A leaf of a route's field tree is present only when its scope is held: it is never
    ``required``. A container is always present: it stays required. A field the tree does
    not declare is never shown: it leaves the schema. A component reached by several trees
    keeps every field one of them shows, and requires only what all of them require.
    """
    shown: dict[str, set[str]] = {}
    required: dict[str, set[str]] = {}

    def walk(name: str, tree: Mapping[str, Any]) -> None:
        schema = components.get(name)
        if schema is None:
            return
        containers = {key for key, node in tree.items() if isinstance(node, Mapping)}
        shown.setdefault(name, set()).update(tree)
        before = required.get(name)
        now = containers & set(schema.get("required", []))
        required[name] = now if before is None else before & now
        for key in containers:
            inner = _component_name(schema.get("properties", {}).get(key, {}))
            if inner is not None:
                walk(inner, tree[key])

    for route in routes:
        walk(names[route.response], route.fields)
    for name, keys in shown.items():
        schema = components[name]
        properties = schema.get("properties", {})
        schema["properties"] = {k: v for k, v in properties.items() if k in keys}
        kept = [k for k in schema.get("required", []) if k in required[name]]
        if kept:
            schema["required"] = kept
        else:
            schema.pop("required", None)


def build_openapi(app: ApiApp) -> dict[str, Any]:
    routes = [(p.name, r) for p in app.providers for r in p.routes]
    types: list[Any] = [ErrorBody]
    for _, route in routes:
        types.extend([route.params, route.response])
    refs, components = msgspec.json.schema_components(types, ref_template=_REF)
    # Each type's component name, as msgspec chose it: the class name, or its module path
    # too when two plugins declare classes of the same name.
    names = {kind: _component_name(ref) or "" for kind, ref in zip(types, refs, strict=True)}
    _mask_schemas([route for _, route in routes], components, names)
    components["Error"] = components.pop("ErrorBody")
    components["Introspection"] = {
        "type": "object",
        "required": ["_id", "name", "scopes"],
        "properties": {
            "_id": {"type": "string", "description": "The key id"},
            "name": {"type": "string", "description": "The application's name"},
            "scopes": {"type": "array", "items": {"type": "string"}},
            "expiresAt": {
                "anyOf": [{"type": "number"}, {"type": "null"}],
                "description": "When the key stops working (epoch seconds)",
            },
        },
    }

    policy_statuses: set[int] = set()
    if app.plan.for_phase(Phase.check_consent):
        policy_statuses.update({400, 403})
    if app.plan.for_phase(Phase.check_rate_limit):
        policy_statuses.add(429)
    security: list[dict[str, list[str]]] = [{"apiKey": []}]

    paths: dict[str, Any] = {
        "/api/ping": {
            "get": {
                "summary": "Is the service up",
                "operationId": "ping",
                "tags": ["service"],
                "responses": {"200": _ok('Always `"pong"`', {"const": "pong"})},
            }
        },
        "/api/stats": {
            "get": {
                "summary": "Successful data calls over the last 30 days (paper documents avoided)",
                "operationId": "stats",
                "tags": ["service"],
                "responses": {
                    "200": _ok("A bare integer", {"type": "integer", "minimum": 0}),
                    "500": _error(500),
                },
            }
        },
        "/api/plugins": {
            "get": {
                "summary": "Installed and enabled plugins, providers and the frozen plan",
                "operationId": "plugins",
                "tags": ["service"],
                "responses": {"200": _ok("The plugins and the plan", {"type": "object"})},
            }
        },
        "/api/open-api.json": {
            "get": {
                "summary": "This document, as JSON",
                "operationId": "openapi_json",
                "tags": ["service"],
                "responses": {"200": _ok("OpenAPI 3.1", {"type": "object"})},
            }
        },
        "/api/open-api.yml": {
            "get": {
                "summary": "This document, as YAML",
                "operationId": "openapi_yaml",
                "tags": ["service"],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "headers": _REQUEST_ID_HEADER,
                        "content": {"application/yaml": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/introspect": {
            "get": {
                "summary": "The calling key's identity and scopes",
                "operationId": "introspect",
                "tags": ["service"],
                "security": security,
                "responses": {
                    "200": _ok("The key", {"$ref": _REF.format(name="Introspection")}),
                    **{str(s): _error(s) for s in sorted({401, 500} | (policy_statuses & {429}))},
                },
            }
        },
    }
    for provider in app.providers:
        for route in provider.routes:
            statuses = {400, 401, 403, 500} | policy_statuses | set(route.provider_statuses)
            scopes = sorted(route.scopes)
            paths[route.path] = {
                "get": {
                    "summary": route.summary,
                    "description": (route.description + "\n\n" if route.description else "")
                    + "Scopes (each unmasks one part of the answer): "
                    + ", ".join(f"`{s}`" for s in scopes),
                    "operationId": route.path.strip("/").replace("/", "_").replace("-", "_"),
                    "tags": list(route.tags) or [provider.name],
                    "deprecated": route.deprecated,
                    "security": security,
                    "parameters": _parameters(route, components, names),
                    "responses": {
                        "200": _ok(
                            "The data, masked to the scopes held",
                            {"$ref": _REF.format(name=names[route.response])},
                        ),
                        **{str(s): _error(s) for s in sorted(statuses)},
                    },
                }
            }
        if provider.health_path:
            paths[provider.health_path] = {
                "get": {
                    "summary": f"Health of the {provider.name} data provider",
                    "operationId": f"{provider.name}_ping",
                    "tags": [provider.name],
                    "responses": {"200": _ok('`"pong"`', {"const": "pong"}), "503": _error(503)},
                }
            }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "API Particulier",
            "version": __version__,
            "description": "Certified citizen data for administrations, fetched at the source "
            "(DGFiP, CNAF) with the citizen's agreement.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
    }
    hooks.collect(app.plan.for_phase(Phase.amend_openapi), document=document)
    return document
