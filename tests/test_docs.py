"""The documentation keeps up with the code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from api_particulier import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"
SPECS = sorted(
    name
    for name, value in vars(hookspecs).items()
    if inspect.isfunction(value) and hasattr(value, "api_particulier_spec")
)


def test_every_hook_is_found() -> None:
    assert "authenticate" in SPECS and "record_call" in SPECS


@pytest.mark.parametrize("name", SPECS)
def test_every_hookspec_has_a_documented_heading(name: str) -> None:
    text = (DOCS / "plugin_hooks.md").read_text(encoding="utf-8")
    arguments = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    assert re.search(rf"^## {re.escape(name)}\({re.escape(arguments)}\)\s*$", text, re.M), (
        f"docs/plugin_hooks.md lacks the heading '## {name}({arguments})'"
    )


def test_configuration_reference_names_every_core_key() -> None:
    from api_particulier.settings import AuthConfig, CoreConfig, HttpConfig, JournalConfig

    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for struct in (CoreConfig, AuthConfig, JournalConfig, HttpConfig):
        for field in struct.__struct_fields__:
            described = f"`{field}`" in text or f"`[core.{field}]`" in text
            assert described, f"docs/configuration.md does not describe {field}"
