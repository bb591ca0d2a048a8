r"""Query-string validation driven by a provider's declared parameter Struct.

A provider declares its parameters as a msgspec Struct whose fields are annotated with
``msgspec.Meta``; two keys of ``Meta.extra`` are understood here:

- ``message``: the French sentence shown when the value is missing or invalid;
- ``remove_spaces``: spaces are removed before validation (identifiers typed by citizens
  from a paper notice often carry them).

A ``Meta.pattern`` must match the **whole** value, read as ASCII: the core checks it with
``re.fullmatch`` and ``re.ASCII`` on top of msgspec's own check (which searches, so ``$``
would accept a trailing newline and ``\d`` would accept any script's digits). No text
parameter may hold an unprintable character (a control character, a newline, a separator
other than the space), with or without a pattern. A value that reaches a
provider therefore holds only what its pattern documents.

Every invalid parameter is reported in one answer, never only the first.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

DEFAULT_MESSAGE = "Les paramètres fournis sont invalides"


@dataclass(frozen=True, slots=True)
class FieldRule:
    name: str
    annotation: Any
    message: str
    remove_spaces: bool
    required: bool
    # The declared pattern, compiled to match the whole value in ASCII.
    pattern: re.Pattern[str] | None = None

    def accepts(self, value: str) -> bool:
        """Whether ``value`` (spaces already removed) is valid for this parameter."""
        if not _strictly_valid(self, value):
            return False
        try:
            msgspec.convert(value, self.annotation, strict=False)
        except msgspec.ValidationError:
            return False
        return True


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


def _metas(annotation: Any) -> list[msgspec.Meta]:
    """The ``msgspec.Meta`` of a field, also inside ``Optional[Annotated[...]]``."""
    found = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, msgspec.Meta)]
    for arg in typing.get_args(annotation):
        found.extend(m for m in getattr(arg, "__metadata__", ()) if isinstance(m, msgspec.Meta))
    return found


def _meta_extra(annotation: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for meta in _metas(annotation):
        if meta.extra:
            extra.update(meta.extra)
    return extra


def _whole_ascii_pattern(annotation: Any) -> re.Pattern[str] | None:
    patterns = [meta.pattern for meta in _metas(annotation) if meta.pattern]
    if not patterns:
        return None
    if len(patterns) > 1:
        raise TypeError("a parameter declares one pattern at most")
    return re.compile(patterns[0], re.ASCII)


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
                pattern=_whole_ascii_pattern(hints[field.name]),
            )
            for field in info
        )

    def refuse_repeated(self, pairs: Iterable[tuple[str, str]]) -> None:
        """:class:`InvalidParams` for the declared parameters given more than once: which of
        the values would be read is not the caller's to guess (a proxy that checks the
        first while the service reads the last)."""
        seen: set[str] = set()
        repeated: set[str] = set()
        for name, _ in pairs:
            (repeated if name in seen else seen).add(name)
        problems = [(rule.name, rule.message) for rule in self.rules if rule.name in repeated]
        if problems:
            raise InvalidParams(problems)

    def validate(self, query: Mapping[str, str]) -> msgspec.Struct:
        values: dict[str, str] = {}
        strict = True
        for rule in self.rules:
            value = query.get(rule.name)
            if value is None:
                continue
            if rule.remove_spaces:
                value = value.replace(" ", "")
            # _strictly_valid, written out: this runs for every parameter of every call.
            pattern = rule.pattern
            if not value.isprintable() or (pattern is not None and not pattern.fullmatch(value)):
                strict = False
            values[rule.name] = value
        if strict:
            try:
                return msgspec.convert(values, self.struct, strict=False)
            except msgspec.ValidationError:
                pass
        raise InvalidParams(self._problems(values))

    def _problems(self, values: Mapping[str, str]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        for rule in self.rules:
            if rule.name not in values:
                if rule.required:
                    problems.append((rule.name, rule.message))
                continue
            if not rule.accepts(values[rule.name]):
                problems.append((rule.name, rule.message))
        # A cross-field check in __post_init__ can fail with every field valid on its own.
        return problems or [("*", DEFAULT_MESSAGE)]


def _strictly_valid(rule: FieldRule, value: str) -> bool:
    """The checks msgspec does not make: nothing unprintable (control characters, a
    newline, a NUL, separators other than the space — none belongs in a parameter, and sent
    on to an upstream they could change what it reads), and the whole value matching the
    pattern in ASCII. (msgspec's conversion runs once, for the whole Struct.)"""
    if not value.isprintable():
        return False
    pattern = rule.pattern
    return pattern is None or pattern.fullmatch(value) is not None
