"""Where the sandbox pipeline's CPU goes: the same server under several configurations.

Each variant is the benchmark's sandbox pipeline with something switched off, run side by
side with bare Starlette in one alternated run (same machinery as ``run.py``). The
difference between two variants is what the part switched off costs per request.

    python3 -m uv run python bench/compare.py                 # every variant
    python3 -m uv run python bench/compare.py pipeline no-ratelimit
    python3 -m uv run python bench/compare.py transparency-off transparency-on
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import shutil
import statistics
import tempfile
from pathlib import Path

import run as bench

# Journal flushes pushed past the run: the rows are recorded but not written meanwhile.
_DEFERRED_JOURNAL = """
[core.journal]
flush_interval = 60
batch_size = 10000000
max_pending = 10000000
"""


def _without(*plugins: str) -> str:
    config = bench.pipeline_config()
    for plugin in plugins:
        config = config.replace(f', "{plugin}"', "").replace(f'"{plugin}", ', "")
        # The table of a plugin that is not enabled is refused by the configuration.
        config = re.sub(rf"\[plugins\.{plugin}\]\n(?:[^\[\n].*\n)*", "", config)
    return config


# Transparency: the citizen's pseudonym in each row (the plugin), the rows chained by hash
# and the chain's head signed every few seconds; beside the same pipeline with neither.
_TRANSPARENCY = """
[plugins.transparency]
secret = { env = "BENCH_TRANSPARENCY_SECRET" }
client_id = "bench"
[plugins.transparency.franceconnect]
introspection_url = "http://127.0.0.1:9/introspect"
[core.journal]
checkpoint_interval = 5
signing_key = { env = "BENCH_JOURNAL_SIGNING_KEY" }
"""
_NO_CHAIN = """
[core.journal]
chain = false
"""


def _with_transparency() -> str:
    config = bench.pipeline_config()
    enabled = 'enabled = ["dgfip", "consent", "ratelimit"]'
    if enabled not in config:
        raise RuntimeError("the benchmark's pipeline no longer enables what this variant adds to")
    return config.replace(enabled, enabled[:-1] + ', "transparency"]') + _TRANSPARENCY


def transparency_environment() -> dict[str, str]:
    """The secrets the transparency variant's configuration names."""
    return {
        "BENCH_TRANSPARENCY_SECRET": secrets.token_urlsafe(48),
        "BENCH_JOURNAL_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


VARIANTS: dict[str, str] = {
    "pipeline": bench.pipeline_config(),
    "no-ratelimit": _without("ratelimit"),
    "no-consent": _without("consent"),
    "journal-deferred": bench.pipeline_config() + _DEFERRED_JOURNAL,
    "core-only": _without("ratelimit", "consent") + _DEFERRED_JOURNAL,
    "transparency-off": bench.pipeline_config() + _NO_CHAIN,
    "transparency-on": _with_transparency(),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help=f"among {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternations")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per server")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args(argv)
    unknown = [name for name in args.variants if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s): {', '.join(unknown)}")
    bench.USE_WRK = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk") is not None)
    chosen = args.variants or list(VARIANTS)
    # Read by the configuration of the transparency variant, when the key is issued and
    # when the server starts.
    os.environ.update(transparency_environment())
    targets = [
        bench.Target(name, bench.SERVICE, bench.NOTICE, config=VARIANTS[name], authenticated=True)
        for name in chosen
    ]
    targets.append(bench.Target("starlette", "apps:starlette_app", "/"))
    cpu: dict[str, list[float]] = {t.name: [] for t in targets}
    p99: dict[str, list[float]] = {t.name: [] for t in targets}
    with tempfile.TemporaryDirectory(prefix="api-particulier-compare-") as tmp:
        try:
            for target in targets:
                bench.prepare(target, Path(tmp))
                bench.start(target)
            for target in targets:
                bench.measure(target, args.warmup)
            for _ in range(args.rounds):
                for target in targets:
                    sample = bench.measure(target, args.duration)
                    cpu[target.name].append(sample.cpu_us)
                    p99[target.name].append(sample.p99_ms)
        finally:
            for target in targets:
                bench.stop(target)
    print(f"{args.rounds} alternated rounds of {args.duration:g} s; medians")
    print(f"{'variant':20} {'CPU µs/req':>11} {'p99 ms':>8}")
    for target in targets:
        name = target.name
        print(f"{name:20} {statistics.median(cpu[name]):11.1f} {statistics.median(p99[name]):8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
