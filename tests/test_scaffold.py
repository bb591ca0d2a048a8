"""``api-particulier plugins new``: the provider it writes passes its own tests (the
contract suite among them), lints clean, and stays small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from api_particulier.cli import main


def _lines_of_code(path: Path) -> int:
    """Lines that are neither blank, comments, nor docstrings."""
    source = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), 1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )


def test_a_scaffolded_provider_passes_its_tests_at_once(tmp_path: Path) -> None:
    assert main(["plugins", "new", "etudiant", "--dir", str(tmp_path)]) == 0
    target = tmp_path / "api-particulier-etudiant"
    code = sorted(target.glob("src/api_particulier_etudiant/*.py"))
    assert sum(_lines_of_code(path) for path in code) <= 100

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert "3 passed" in tests.stdout

    tools = Path(sys.executable).parent
    lint = subprocess.run(
        [str(tools / "ruff"), "check", "."], cwd=target, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout


def test_names_are_checked_and_nothing_is_overwritten(tmp_path: Path) -> None:
    assert main(["plugins", "new", "Not-A-Name", "--dir", str(tmp_path)]) == 1
    assert main(["plugins", "new", "ok", "--dir", str(tmp_path)]) == 0
    assert main(["plugins", "new", "ok", "--dir", str(tmp_path)]) == 1
