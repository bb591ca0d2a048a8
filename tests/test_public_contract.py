"""The plugin contract is what ``api_particulier`` exports, and nothing else: the bundled
plugins and the example are held to it, as third-party plugins are told to be."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import api_particulier
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    path
    for base in [*ROOT.glob("plugins/*/src"), ROOT / "docs" / "example-plugin" / "src"]
    for path in base.rglob("*.py")
)


def _core_imports(path: Path) -> list[str]:
    """Every ``api_particulier.<module>`` a file imports (the package itself is allowed)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("api_particulier."):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("api_particulier.")]
    return found


def test_sources_are_found() -> None:
    assert len(SOURCES) > 30


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_what_the_core_exports(path: Path) -> None:
    assert _core_imports(path) == []


def test_everything_exported_exists() -> None:
    for name in api_particulier.__all__:
        assert hasattr(api_particulier, name), name


def test_one_redis_client_library_in_the_lock() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    names = {package["name"] for package in lock["package"]}
    clients = {"redis", "coredis", "valkey", "valkey-glide", "aioredis", "redis-py-cluster"}
    assert names & clients == {"redis"}
