"""The provider contract suite: what every provider plugin must do, checked against the
plugin itself, driven by the examples each of its routes declares (``RouteExamples``).

``await check_provider_contract(MyPlugin(), name="mine", data_dir=tmp_path)`` builds a
service holding only that plugin (in its default, sandbox configuration, or ``table``),
runs it, asks every route, and raises :class:`ContractFailure` naming every fault found:

- the plugin cannot be served (a field tree naming what the response lacks, a path taken…);
- a route declares no examples;
- no key is not a 401, a key without the route's scopes not a 403, no parameters not a 400;
- the invalid example is not refused with a 400 before the provider is asked;
- the found example is not a 200 holding the fields the response declares, or the provider
  returns fields its response does not have (wrong keys);
- a single scope unmasks more than its own fields, or a container is missing;
- the not-found example is not a 404 ``not_found``;
- the health route does not answer ``"pong"``;
- the OpenAPI document is not valid OpenAPI 3.1;
- an upstream or an HTTP session is left open once the service stopped.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import msgspec
from openapi_spec_validator import validate

from .. import admin
from ..app import ApiApp, create_app
from ..errors import ConfigError
from ..params import InvalidParams, ParamsValidator
from ..providers import struct_of
from ..types import Call, ProviderRoute
from .app import make_settings
from .recording import HookRecorder

RECORDER = "contract_recorder"


class ContractFailure(AssertionError):
    """A provider breaks the contract; each line of the message names one fault."""


async def check_provider_contract(
    plugin: object,
    *,
    name: str,
    data_dir: Path,
    table: Mapping[str, Any] | None = None,
) -> None:
    """Check ``plugin`` (registered as ``name``) against the contract; see the module."""
    settings = make_settings(data_dir, plugins={name: table} if table is not None else None)
    recorder = HookRecorder()
    try:
        app = create_app(settings, plugins={name: plugin, RECORDER: recorder})
    except ConfigError as exc:
        raise ContractFailure(
            "\n".join(f"the plugin cannot be served: {p}" for p in exc.problems)
        ) from None
    faults: list[str] = []
    upstreams = [upstream for provider in app.providers for upstream in provider.upstreams]
    try:
        validate(app.openapi())
    except Exception as exc:
        faults.append(f"the OpenAPI document is invalid: {str(exc).splitlines()[0]}")
    sessions_before = _open_sessions()
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://contract") as http:
            for provider in app.providers:
                faults += [
                    f"the scope {scope!r} has no French label (Provider.scope_labels): people "
                    "choosing scopes and citizens reading what was fetched see its code"
                    for scope in sorted(provider.scopes - set(provider.scope_labels))
                ]
                for route in provider.routes:
                    faults += await _route_faults(app, http, recorder, route)
                if provider.health_path:
                    health = await http.get(provider.health_path)
                    if health.status_code != 200 or health.json() != "pong":
                        faults.append(
                            f"{provider.health_path}: the health route answers "
                            f'{health.status_code}, not "pong", in this configuration'
                        )
    faults += [f"the upstream {u.name!r} is left open" for u in upstreams if u.is_open]
    if _open_sessions() - sessions_before:
        faults.append("an HTTP session is left open once the service stopped")
    if faults:
        raise ContractFailure("\n".join(dict.fromkeys(faults)))


def _open_sessions() -> set[int]:
    """The aiohttp sessions alive and not closed (what an upstream client holds)."""
    return {
        id(o) for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession) and not o.closed
    }


async def _route_faults(
    app: ApiApp, http: httpx.AsyncClient, recorder: HookRecorder, route: ProviderRoute
) -> list[str]:
    path = route.path
    examples = route.examples
    if examples is None:
        return [f"{path}: declares no examples (RouteExamples: found, not_found, invalid)"]
    faults: list[str] = []
    found = dict(examples.found)
    every = await _key(app, sorted(route.scopes))
    outsider = await _key(app, ["scope_of_nothing"])

    anonymous = await http.get(path, params=found)
    if anonymous.status_code != 401:
        faults.append(f"{path}: answers {anonymous.status_code} without a key, not 401")
    refused = await http.get(path, params=found, headers={"X-Api-Key": outsider})
    if refused.status_code != 403:
        faults.append(f"{path}: answers {refused.status_code} to a key without its scopes")
    empty = await http.get(path, headers={"X-Api-Key": every})
    if empty.status_code != 400 or set(empty.json()) != {"error", "reason", "message"}:
        faults.append(f"{path}: answers {empty.status_code} without parameters, not 400")

    if examples.invalid is None:
        faults.append(f"{path}: declares no invalid example")
    else:
        asked = recorder.calls.count(("check_consent", path))
        invalid = await http.get(path, params=dict(examples.invalid), headers={"X-Api-Key": every})
        if invalid.status_code != 400:
            faults.append(
                f"{path}: answers {invalid.status_code} to the invalid example, not 400: "
                "its parameters are not validated"
            )
        elif recorder.calls.count(("check_consent", path)) != asked:
            faults.append(f"{path}: the provider is asked about the invalid example")

    answer = await http.get(path, params=found, headers={"X-Api-Key": every})
    if answer.status_code != 200:
        faults.append(f"{path}: answers {answer.status_code} to the found example, not 200")
    else:
        faults += _body_faults(path, answer.json(), route)
        faults += await _payload_faults(path, route, found)
        faults += await _masking_faults(app, http, route, found)

    if examples.not_found is None:
        faults.append(f"{path}: declares no not-found example")
    else:
        missing = await http.get(
            path, params=dict(examples.not_found), headers={"X-Api-Key": every}
        )
        if missing.status_code != 404 or missing.json().get("error") != "not_found":
            faults.append(
                f"{path}: answers {missing.status_code} to the not-found example: a subject "
                "the provider does not know must be a 404 not_found"
            )
    return faults


async def _key(app: ApiApp, scopes: list[str]) -> str:
    application = await admin.ensure_application(
        app.key_store, f"contract-{'-'.join(scopes)[:80]}-{len(scopes)}", scopes
    )
    issued = await admin.issue_key(app.key_store, app.pepper, application)
    return issued.secret


def _body_faults(path: str, body: Any, route: ProviderRoute) -> list[str]:
    """With every scope, the answer holds a field at least, and every field the response
    Struct requires and the tree shows."""
    if not isinstance(body, dict) or not _leaves_present(body, route.fields):
        return [f"{path}: answers no field at all to the found example"]
    missing = sorted(_required_leaves(route.fields, route.response) - _paths(body))
    if missing:
        shown = ", ".join(".".join(p) for p in missing)
        return [f"{path}: the answer to the found example lacks declared fields: {shown}"]
    return []


async def _payload_faults(path: str, route: ProviderRoute, found: dict[str, str]) -> list[str]:
    """What the provider itself returns: fields its response Struct does not have (a wrong
    key would never be shown, silently)."""
    try:
        params = ParamsValidator(route.params).validate(found)
    except InvalidParams:
        return [f"{path}: the found example is not valid for the route's own parameters"]
    call = Call(
        scope={"type": "http", "path": path, "headers": []},
        receive=_nothing,
        headers={},
        request_id="contract",
        route=route,
        route_path=path,
        query=found,
    )
    call.params = params
    call.scopes = route.scopes
    payload = await route.fetch(call)
    unknown = sorted(_unknown_keys(payload, route.response, route.fields))
    if unknown:
        shown = ", ".join(".".join(p) for p in unknown)
        return [f"{path}: the provider returns fields its response does not have: {shown}"]
    return []


async def _nothing() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def _masking_faults(
    app: ApiApp, http: httpx.AsyncClient, route: ProviderRoute, found: dict[str, str]
) -> list[str]:
    faults = []
    containers = set(_containers(route.fields))
    by_scope: dict[str, list[tuple[str, ...]]] = {}
    for leaf, scope in _leaves(route.fields):
        by_scope.setdefault(scope, []).append(leaf)
    for scope, leaves in by_scope.items():
        key = await _key(app, [scope])
        response = await http.get(route.path, params=found, headers={"X-Api-Key": key})
        if response.status_code != 200:
            faults.append(f"{route.path}: a key holding only {scope} gets {response.status_code}")
            continue
        shown = _paths(response.json())
        extra = {
            p
            for p in shown
            if p not in containers and not any(p[: len(leaf)] == leaf for leaf in leaves)
        }
        if extra:
            faults.append(
                f"{route.path}: {scope} unmasks more than its fields: "
                + ", ".join(".".join(p) for p in sorted(extra))
            )
        if not containers <= shown:
            faults.append(f"{route.path}: with {scope} only, a container is missing")
    return faults


def _leaves(
    tree: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], str]]:
    found: list[tuple[tuple[str, ...], str]] = []
    for key, node in tree.items():
        if isinstance(node, Mapping):
            found.extend(_leaves(node, (*prefix, key)))
        else:
            found.append(((*prefix, key), node))
    return found


def _containers(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for key, node in tree.items():
        if isinstance(node, Mapping):
            found.append((*prefix, key))
            found.extend(_containers(node, (*prefix, key)))
    return found


def _paths(body: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            found.add((*prefix, key))
            found |= _paths(value, (*prefix, key))
    return found


def _leaves_present(body: dict[str, Any], tree: Mapping[str, Any]) -> bool:
    paths = _paths(body)
    return any(leaf in paths for leaf, _ in _leaves(tree))


def _required_leaves(
    tree: Mapping[str, Any], struct: type[msgspec.Struct], prefix: tuple[str, ...] = ()
) -> set[tuple[str, ...]]:
    fields = {info.encode_name: info for info in msgspec.structs.fields(struct)}
    found: set[tuple[str, ...]] = set()
    for key, node in tree.items():
        info = fields.get(key)
        if info is None:
            continue
        if isinstance(node, Mapping):
            inner = struct_of(info.type)
            if inner is not None:
                found |= _required_leaves(node, inner, (*prefix, key))
        elif info.required:
            found.add((*prefix, key))
    return found


def _unknown_keys(
    payload: Any,
    struct: type[msgspec.Struct],
    tree: Mapping[str, Any],
    prefix: tuple[str, ...] = (),
) -> set[tuple[str, ...]]:
    """Keys of a payload given as a dict that its Struct does not have, at the levels the
    field tree describes (what a leaf holds is its own business)."""
    if not isinstance(payload, dict):
        return set()
    fields = {info.encode_name: info for info in msgspec.structs.fields(struct)}
    found = {(*prefix, key) for key in payload if key not in fields}
    for key, node in tree.items():
        inner = struct_of(fields[key].type) if key in fields else None
        if isinstance(node, Mapping) and inner is not None:
            found |= _unknown_keys(payload.get(key), inner, node, (*prefix, key))
    return found
