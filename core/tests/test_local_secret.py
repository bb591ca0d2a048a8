"""Secrets made by the embedded mode: made once, whole, private, even when several
processes start together."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from api_particulier import local_secret


def test_made_once_then_read(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret"
    value, made = local_secret(path)
    assert made and len(value) >= 64
    assert local_secret(path) == (value, False)
    assert path.stat().st_mode & 0o077 == 0
    # Nothing is left behind but the secret itself.
    assert [p.name for p in path.parent.iterdir()] == ["secret"]


def _make(path: str, start: multiprocessing.synchronize.Event, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    start.wait()
    out.put(local_secret(Path(path)))


def test_processes_starting_together_share_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    # Forked: the children run this module's function without importing it again.
    context = multiprocessing.get_context("fork")
    start = context.Event()
    out = context.Queue()
    workers = [context.Process(target=_make, args=(str(path), start, out)) for _ in range(6)]
    for worker in workers:
        worker.start()
    start.set()
    answers = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    values = {value for value, _ in answers}
    assert values == {path.read_text(encoding="utf-8").strip()}
    assert [made for _, made in answers].count(True) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]
