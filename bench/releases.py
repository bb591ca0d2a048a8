"""This tree's sandbox pipeline beside earlier releases of it, in one alternated run.

The sandbox guard compares the pipeline with bare Starlette, and this machine's speed
moves both by 10 % and more from one run to the next. A regression is better seen against
the previous release itself, measured in the same run: each git reference given is checked
out in a temporary work tree, its locked environment is installed there with uv, and its
service answers the benchmark's sandbox notice, with this tree's configuration, beside this
tree's and Starlette. Servers are pinned and alternated as in ``run.py``.

    python3 -m uv run python bench/releases.py aa3f426          # one earlier release
    python3 -m uv run python bench/releases.py aa3f426 03f9115  # the steps between
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import run as bench


def uv_command() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


@contextmanager
def checked_out(reference: str, parent: Path) -> Iterator[Path]:
    """A work tree of ``reference`` with its locked environment installed, removed after."""
    tree = parent / reference.replace("/", "-")
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(tree), reference],
        cwd=bench.ROOT,
        check=True,
    )
    try:
        # This tree's environment must not leak into the other's installation.
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        subprocess.run(
            [*uv_command(), "sync", "--locked", "--quiet"], cwd=tree, env=env, check=True
        )
        yield tree
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)], cwd=bench.ROOT, check=False
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("references", nargs="+", help="git references of earlier releases")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternations")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per server")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args(argv)
    bench.USE_WRK = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk") is not None)
    config = bench.pipeline_config()
    this = "this tree"
    with (
        tempfile.TemporaryDirectory(prefix="api-particulier-releases-") as tmp,
        ExitStack() as trees,
    ):
        targets = [
            bench.Target("starlette", "apps:starlette_app", "/"),
            bench.Target(this, bench.SERVICE, bench.NOTICE, config=config, authenticated=True),
        ]
        for reference in args.references:
            tree = trees.enter_context(checked_out(reference, Path(tmp)))
            targets.append(
                bench.Target(
                    reference,
                    bench.SERVICE,
                    bench.NOTICE,
                    config=config,
                    authenticated=True,
                    root=tree,
                )
            )
        samples: dict[str, list[bench.Sample]] = {t.name: [] for t in targets}
        try:
            for target in targets:
                bench.prepare(target, Path(tmp) / "data")
                bench.start(target)
            for target in targets:
                bench.measure(target, args.warmup)
            for _ in range(args.rounds):
                for target in targets:
                    samples[target.name].append(bench.measure(target, args.duration))
        finally:
            for target in targets:
                bench.stop(target)

    def rate(name: str) -> float:
        return statistics.median(s.requests / s.seconds for s in samples[name])

    print(f"\n{args.rounds} alternated rounds of {args.duration:g} s; medians\n")
    print(f"{'server':<24} {'req/s':>8} {'CPU µs/req':>10} {'× starlette':>11} {'× this tree':>11}")
    for target in targets:
        name = target.name
        cpu = statistics.median(s.cpu_us for s in samples[name])
        errors = sum(s.errors for s in samples[name])
        print(
            f"{name:<24} {rate(name):>8.0f} {cpu:>10.1f} {rate(name) / rate('starlette'):>11.2f} "
            f"{rate(name) / rate(this):>11.2f}" + (f"  ({errors} non-2xx)" if errors else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
