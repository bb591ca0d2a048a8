"""The documentation keeps up with the code."""

from __future__ import annotations

import inspect
import re
import sys
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


def _python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)


BLOCKS = [
    pytest.param(block, id=f"{page}#{index}")
    for page in ("plugin_hooks.md", "writing_plugins.md")
    for index, block in enumerate(_python_blocks(page))
]


def test_the_plugin_pages_hold_examples() -> None:
    assert len(_python_blocks("plugin_hooks.md")) >= len(SPECS)


@pytest.mark.parametrize("block", BLOCKS)
def test_every_example_of_the_plugin_pages_runs(block: str) -> None:
    """Each example is a complete module: it runs, and each plugin class it defines is
    accepted by the core as a plugin (its hooks exist, with arguments the hooks have)."""
    from api_particulier.plugins import build_manager

    example = str(DOCS / "example-plugin" / "src")
    if example not in sys.path:
        sys.path.append(example)  # the pages import the example plugin's module
    namespace: dict[str, object] = {"__name__": "docs_example"}
    exec(compile(block, "<docs example>", "exec"), namespace)  # noqa: S102 - our own docs
    plugins = {
        name.lower(): value
        for name, value in namespace.items()
        if isinstance(value, type)
        and value.__module__ == "docs_example"
        and any(hasattr(getattr(value, attr), "api_particulier_impl") for attr in vars(value))
    }
    if plugins:
        build_manager(plugins)


def test_plan_phases_are_the_hookspecs() -> None:
    """Every hook has its place in the plan, and the plan names no hook that does not exist."""
    from api_particulier.plan import Phase

    assert sorted(phase.name for phase in Phase) == SPECS


def test_the_deployment_example_configures_postgresql_and_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api_particulier.app import create_app
    from api_particulier.settings import load_settings
    from api_particulier.store import store_url
    from api_particulier.store.postgresql import PostgresKeyStore

    text = (DOCS / "deploy.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    path = tmp_path / "config.toml"
    path.write_text(example, encoding="utf-8")
    url = "postgresql://api_particulier:secret@db.internal:5432/api_particulier"
    monkeypatch.setenv("API_PARTICULIER_DATABASE_URL", url)
    monkeypatch.setenv("API_PARTICULIER_PEPPER", "p" * 40)
    monkeypatch.setenv("API_PARTICULIER_REDIS_URL", "redis://:secret@127.0.0.1:1/0")
    monkeypatch.setenv("API_PARTICULIER_CACHE_KEY", "k" * 40)
    monkeypatch.setenv("API_PARTICULIER_CACHE_LOOKUP", "l" * 40)
    settings = load_settings(str(path), environ={})
    assert store_url(settings) == url
    app = create_app(settings)  # every table checked by its plugin; nothing is connected
    assert isinstance(app.key_store, PostgresKeyStore)
    assert settings.core.auth.pepper is not None
