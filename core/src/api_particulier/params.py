"""Query-string validation driven by a provider's declared parameter Struct.

A provider declares its parameters as a msgspec Struct whose fields are annotated with
``msgspec.Meta``; two keys of ``Meta.extra`` are understood here:

- ``message``: the French sentence shown when the value is missing or invalid;
- ``remove_spaces``: spaces are removed before validation (identifiers typed by citizens
  from a paper notice often carry them).

Every invalid parameter is reported in one answer, never only the first.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import msgspec

DEFAULT_MESSAGE = "Les paramètres fournis sont invalides"


@dataclass(frozen=True, slots=True)
class FieldRule:
    name: str
    annotation: Any
    message: str
    remove_spaces: bool
    required: bool


class InvalidParams(Exception):
    """Carries the names and messages of every invalid parameter, in declaration order."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(", ".join(name for name, _ in problems))

    @property
    def reason(self) -> str:
        return "Invalid parameters: " + ", ".join(name for name, _ in self.problems)

    @property
    def message(self) -> str:
        # Several sentences in one message: each names one parameter the user must correct.
        return " ; ".join(dict.fromkeys(message for _, message in self.problems))


def _meta_extra(annotation: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, msgspec.Meta) and meta.extra:
            extra.update(meta.extra)
    return extra


def parse_query(raw: bytes) -> dict[str, str]:
    """The query string as a mapping; a name given twice keeps its last value.

    Percent-decoding runs only on the parts that need it: most calls carry plain
    identifiers, and this runs on every request.
    """
    values: dict[str, str] = {}
    if not raw:
        return values
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name, value = unquote_plus(name), unquote_plus(value)
        values[name] = value
    return values


class ParamsValidator:
    """Validates a query mapping into one instance of the declared Struct."""

    def __init__(self, struct: type[msgspec.Struct]) -> None:
        self.struct = struct
        hints = typing.get_type_hints(struct, include_extras=True)
        info = msgspec.structs.fields(struct)
        self.rules = tuple(
            FieldRule(
                name=field.encode_name,
                annotation=hints[field.name],
                message=str(_meta_extra(hints[field.name]).get("message", DEFAULT_MESSAGE)),
                remove_spaces=bool(_meta_extra(hints[field.name]).get("remove_spaces", False)),
                required=field.required,
            )
            for field in info
        )

    def validate(self, query: Mapping[str, str]) -> msgspec.Struct:
        values: dict[str, str] = {}
        for rule in self.rules:
            value = query.get(rule.name)
            if value is None:
                continue
            values[rule.name] = value.replace(" ", "") if rule.remove_spaces else value
        try:
            return msgspec.convert(values, self.struct, strict=False)
        except msgspec.ValidationError:
            raise InvalidParams(self._problems(values)) from None

    def _problems(self, values: Mapping[str, str]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for rule in self.rules:
            if rule.name not in values:
                if rule.required:
                    problems.append((rule.name, rule.message))
                continue
            try:
                msgspec.convert(values[rule.name], rule.annotation, strict=False)
            except msgspec.ValidationError:
                problems.append((rule.name, rule.message))
        # A cross-field check in __post_init__ can fail with every field valid on its own.
        return problems or [("*", DEFAULT_MESSAGE)]
