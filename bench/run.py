"""Side-by-side benchmark of the service and its references, in one run.

    python3 -m uv run python bench/run.py [--duration 3] [--rounds 5] [--only NAME ...]
                                          [--load auto|wrk|python]

Each server runs in its own process, pinned to core 0 when ``taskset`` exists, the load
generator on core 1 (``wrk`` when installed, else a small asyncio client). Servers are driven
in alternation (A B C … A B C …) after a warm-up, and the medians of the rounds are printed:
requests per second, p50/p99 latency, server CPU per request, peak RSS, and the ratio of
each figure to bare Starlette measured in the same run. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEPPER = "bench-pepper-" + "x" * 40
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
USE_WRK = True  # set by main()


@dataclass
class Target:
    name: str
    app: str  # uvicorn import string
    path: str
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    connections: int = 50
    reference: str = "starlette"  # the target the ratios of this one are computed against
    config: str | None = None  # the service's TOML configuration (None: not the service)
    authenticated: bool = False  # send a key issued for this configuration
    needs: tuple[str, ...] = ()  # helper processes it depends on
    server: str = "uvicorn"  # or "granian" (one worker, one runtime thread)
    # For the service on uvicorn: the bounded protocol `api-particulier serve` runs (see
    # api_particulier.http_protocol); False measures it on uvicorn's own httptools protocol.
    bounded: bool = True
    # A path fetched every SCRAPE_EVERY seconds while the target is measured (the
    # /metrics of a Prometheus scraping it far more often than its usual 15 s).
    scrape: str | None = None
    # The work tree whose code and environment serve the target: this one, or another
    # release checked out beside it (bench/releases.py).
    root: Path = ROOT
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def python(self) -> str:
        return python_of(self.root)


def python_of(root: Path) -> str:
    """The interpreter of the environment of the work tree ``root``."""
    return sys.executable if root == ROOT else str(root / ".venv" / "bin" / "python")


SCRAPE_EVERY = 0.5
# The slowest scrape of each target, in milliseconds.
SLOWEST_SCRAPE: dict[str, float] = {}


@dataclass
class Sample:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(core: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *command] if shutil.which("taskset") else command


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (granian serves from child processes)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            found += process_tree(int(child))
    return found


def cpu_seconds(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def _status_mb(pid: int, field: str) -> float:
    total = 0.0
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith(field):
                total += int(line.split()[1]) / 1024
    return total


def peak_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmHWM:")


def start(target: Target) -> None:
    target.port = free_port()
    if target.server == "granian":
        command = [
            target.python, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
            "--port", str(target.port), "--workers", "1", "--runtime-threads", "1",
            "--loop", "uvloop", "--log-level", "warning", "--no-access-log", target.app,
        ]  # fmt: skip
        if target.config is not None:
            # The nearest granian has to the [core.http] bounds: a 32 KiB head, 10 s to
            # read it, at most 2048 requests at once (it has no cap on connections).
            command += [
                "--http1-buffer-size", "32768", "--http1-header-read-timeout", "10000",
                "--backpressure", "2048",
            ]  # fmt: skip
    else:
        # Every server runs with the options `api-particulier serve` gives uvicorn (no
        # proxy headers, no Server header), so that only the applications differ; the
        # service with the protocol that holds the [core.http] bounds, as `serve` runs it.
        protocol = (
            ["--http", "api_particulier.http_protocol:BoundedHttpToolsProtocol", "--ws", "none"]
            if target.config is not None and target.bounded
            else ["--http", "httptools"]
        )
        command = [
            target.python, "-m", "uvicorn", target.app, "--host", "127.0.0.1",
            "--port", str(target.port), "--no-access-log", "--log-level", "warning",
            "--loop", "uvloop", *protocol, "--no-proxy-headers", "--no-server-header",
        ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(target.root / "bench"), **target.env}
    target.process = subprocess.Popen(pinned(0, command), env=env, cwd=target.root)
    wait_for_port(target.port, target.name)


def wait_for_port(port: int, what: str) -> None:
    """Return once something accepts connections on ``port`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def stop(target: Target) -> None:
    if target.process is not None:
        target.process.send_signal(signal.SIGINT)
        try:
            target.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            target.process.kill()


_WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(ms|s|m)")
_WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def drive_wrk(target: Target, duration: float) -> tuple[int, float, float, float, int]:
    command = [
        "wrk",
        "-t1",
        f"-c{target.connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
    ]
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{target.port}{target.path}")
    out = subprocess.run(pinned(1, command), capture_output=True, text=True, check=True).stdout
    latency = {m[0]: float(m[1]) * _UNIT[m[2]] for m in _WRK_LATENCY.findall(out)}
    total = _WRK_TOTAL.search(out)
    assert total is not None, out
    seconds = float(total[2]) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total[3]]
    errors = _WRK_ERRORS.search(out)
    return (
        int(total[1]),
        seconds,
        latency.get("50", 0.0),
        latency.get("99", 0.0),
        int(errors[1]) if errors else 0,
    )


async def _python_client(target: Target, duration: float) -> tuple[int, float, float, float, int]:
    """A keep-alive HTTP/1.1 load generator for machines without wrk."""
    head = f"GET {target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in target.headers.items()) + "\r\n"
    request = head.encode()
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + duration

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
        while time.perf_counter() < stop_at:
            sent = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - sent) * 1000)
            if not status_line.startswith(b"HTTP/1.1 2"):
                errors += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(target.connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return len(latencies), elapsed, quantile(0.5), quantile(0.99), errors


def measure(target: Target, duration: float) -> Sample:
    assert target.process is not None
    before = cpu_seconds(target.process.pid)
    scraping = threading.Event()
    scraper = None
    if target.scrape is not None:
        scraper = threading.Thread(target=_scrape, args=(target, scraping), daemon=True)
        scraper.start()
    try:
        if USE_WRK:
            requests, seconds, p50, p99, errors = drive_wrk(target, duration)
        else:
            requests, seconds, p50, p99, errors = asyncio.run(_python_client(target, duration))
    finally:
        scraping.set()
        if scraper is not None:
            scraper.join()
    used = cpu_seconds(target.process.pid) - before
    return Sample(requests, seconds, p50, p99, used / max(requests, 1) * 1e6, errors)


def _scrape(target: Target, done: threading.Event) -> None:
    """Fetch ``target.scrape`` every SCRAPE_EVERY seconds until ``done``; keep the slowest."""
    request = f"GET {target.scrape} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    while not done.wait(SCRAPE_EVERY):
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", target.port), timeout=10) as sock:
            sock.sendall(request.encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
        took = (time.perf_counter() - started) * 1000
        SLOWEST_SCRAPE[target.name] = max(SLOWEST_SCRAPE.get(target.name, 0.0), took)


def prepare_service(
    data_dir: Path, extra_config: str, root: Path = ROOT
) -> tuple[dict[str, str], str]:
    """Write a configuration for the service of the work tree ``root``, issue a key, and
    return (env, key)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "config.toml"
    config.write_text(extra_config.replace("@DATA@", str(data_dir)), encoding="utf-8")
    env = {
        "API_PARTICULIER_CONFIG": str(config),
        "API_PARTICULIER_PEPPER": PEPPER,
        "API_PARTICULIER_LOG_LEVEL": "warning",
        "API_PARTICULIER_LOG_FORMAT": "json",
    }
    scopes = subprocess.run(
        [
            python_of(root),
            "-c",
            "from api_particulier.app import create_app; app = create_app();"
            "print(' '.join(sorted({s for p in app.providers for r in p.routes "
            "for s in r.scopes})))",
        ],
        env={**os.environ, **env},
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    command = [python_of(root), "-m", "api_particulier", "keys", "create", "--name", "bench"]
    for scope in scopes:
        command += ["--scope", scope]
    out = subprocess.run(
        command, env={**os.environ, **env}, cwd=root, capture_output=True, text=True, check=True
    ).stdout
    return env, out.strip().splitlines()[-1]


CORE_ONLY = """
enabled = []
[core]
data_dir = "@DATA@"
"""

# The full pipeline on sandbox data: key auth, consent (identifiers), rate limit with a quota
# that never refuses, masking, batched journal.
PIPELINE = """
enabled = ["dgfip", "consent", "ratelimit"]
[core]
data_dir = "@DATA@"
[plugins.ratelimit]
quota = 1000000
@RATELIMIT@
@DGFIP@
"""
NOTICE = "/api/v2/avis-imposition?numeroFiscal=1111111111111&referenceAvis=1111111111111"
LIVE_CONNECTIONS = 500
UPSTREAM_LATENCY = 0.1


@dataclass
class Helper:
    """A process servers under test depend on (Redis, the SVAIR simulator)."""

    command: list[str]
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            pinned(1, self.command), stdout=subprocess.DEVNULL, cwd=ROOT
        )
        wait_for_port(self.port, self.command[0])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def make_helpers() -> dict[str, Helper]:
    helpers: dict[str, Helper] = {}
    if shutil.which("redis-server"):
        port = free_port()
        helpers["redis"] = Helper(
            [
                "redis-server",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ],
            port,
        )
    port = free_port()
    simulator = str(Path(sys.executable).parent / "api-particulier-dgfip-simulator")
    helpers["svair"] = Helper(
        [simulator, "--port", str(port), "--latency", str(UPSTREAM_LATENCY)], port
    )
    return helpers


def pipeline_config(ratelimit: str = "", dgfip: str = "") -> str:
    return PIPELINE.replace("@RATELIMIT@", ratelimit).replace("@DGFIP@", dgfip)


def with_metrics(config: str) -> str:
    """The same configuration with the Prometheus metrics enabled."""
    return config.replace(
        'enabled = ["dgfip", "consent", "ratelimit"]',
        'enabled = ["dgfip", "consent", "ratelimit", "metrics"]',
    )


def with_cache(config: str) -> str:
    """The same configuration with the response cache enabled (memory backend)."""
    return config.replace(
        'enabled = ["dgfip", "consent", "ratelimit"]',
        'enabled = ["dgfip", "consent", "ratelimit", "cache"]',
    )


SERVICE = "api_particulier.asgi:app"
CACHED_SANDBOX = "service avis sandbox (cache hit)"
CACHED_LIVE = "service avis live svair (cache hit)"
MEMORY = "service avis sandbox (memory RL)"
METRICS_ON = "service avis + metrics"
METRICS = "service avis + /metrics scraped"
PROXY = "starlette + 1 upstream call"
PRE_ENCODED = "starlette (pre-encoded body)"
LOOKUP = "starlette + svair lookup"
LIVE = "service avis live svair (100 ms)"
REDIS = "service avis sandbox (redis RL)"
UNBOUNDED = "service avis sandbox (uvicorn's httptools protocol)"
PROXY_GRANIAN = "starlette + 1 upstream call (granian)"


def all_targets(helpers: dict[str, Helper]) -> list[Target]:
    """Every server of the comparison; services carry their configuration, prepared only
    when chosen."""
    svair = helpers["svair"]
    upstream = f"http://127.0.0.1:{svair.port}/secavis/"
    # Each pair compared is measured back to back in every round: this machine's speed
    # drifts over tens of seconds, and neighbours in the alternation see the same machine.
    found = [
        Target("starlette", "apps:starlette_app", "/"),
        Target(MEMORY, SERVICE, NOTICE, config=pipeline_config(), authenticated=True),
        # The same pipeline counting every call for Prometheus: what the metrics cost each
        # request; then the same, scraped under the load: whether a scrape holds requests.
        Target(
            METRICS_ON,
            SERVICE,
            NOTICE,
            config=with_metrics(pipeline_config()),
            authenticated=True,
            reference=MEMORY,
        ),
        Target(
            METRICS,
            SERVICE,
            NOTICE,
            config=with_metrics(pipeline_config()),
            authenticated=True,
            reference=MEMORY,
            scrape="/metrics",
        ),
    ]
    if "redis" in helpers:
        redis_url = f"redis://127.0.0.1:{helpers['redis'].port}/0"
        found.append(
            Target(
                REDIS,
                SERVICE,
                NOTICE,
                authenticated=True,
                config=pipeline_config(ratelimit='backend = "redis"')
                + f'\n[core.redis]\nurl = "{redis_url}"\n',
                reference=MEMORY,
                needs=("redis",),
            )
        )
    found += [
        Target(
            UNBOUNDED,
            SERVICE,
            NOTICE,
            config=pipeline_config(),
            authenticated=True,
            bounded=False,
            reference=MEMORY,
        ),
        Target(PRE_ENCODED, "apps:starlette_bytes_app", "/"),
        Target("raw ASGI", "apps:raw_app", "/"),
        Target("service /api/ping", SERVICE, "/api/ping", config=CORE_ONLY),
        Target(
            "service /api/introspect",
            SERVICE,
            "/api/introspect",
            config=CORE_ONLY,
            authenticated=True,
        ),
    ]
    if importlib.util.find_spec("granian") is not None:
        found += [
            Target("starlette (granian)", "apps:starlette_app", "/", server="granian"),
            Target(
                "service avis sandbox (granian)",
                SERVICE,
                NOTICE,
                config=pipeline_config(),
                authenticated=True,
                server="granian",
                reference="starlette (granian)",
            ),
        ]
    found.append(
        Target(
            LOOKUP,
            "apps:lookup_app",
            NOTICE.replace("/api/v2/avis-imposition", "/"),
            env={"BENCH_UPSTREAM": upstream},
            connections=LIVE_CONNECTIONS,
            reference=PROXY,
            needs=("svair",),
        )
    )
    found.append(
        Target(
            PROXY,
            "apps:proxy_app",
            "/",
            env={"BENCH_UPSTREAM": upstream + "faces/commun/index.jsf"},
            connections=LIVE_CONNECTIONS,
            reference=PROXY,  # a baseline of its own
            needs=("svair",),
        )
    )
    found.append(
        Target(
            LIVE,
            SERVICE,
            NOTICE,
            authenticated=True,
            config=pipeline_config(
                dgfip=(
                    f'[plugins.dgfip]\nbackend = "svair"\nurl = "{upstream}"\n'
                    "max_concurrency = 2000\nviewstate_reuse = 60"
                )
            ),
            connections=LIVE_CONNECTIONS,
            reference=PROXY,
            needs=("svair",),
        )
    )
    # The response cache: every call after the first is a hit. Beside the sandbox answer
    # (what a hit costs over a lookup in memory) and beside the live call (what it saves).
    found += [
        Target(
            CACHED_SANDBOX,
            SERVICE,
            NOTICE,
            config=with_cache(pipeline_config()),
            authenticated=True,
            reference=MEMORY,
        ),
        Target(
            CACHED_LIVE,
            SERVICE,
            NOTICE,
            authenticated=True,
            config=with_cache(next(t.config or "" for t in found if t.name == LIVE)),
            connections=LIVE_CONNECTIONS,
            reference=LIVE,
            needs=("svair",),
        ),
    ]
    if importlib.util.find_spec("granian") is not None:
        found += [
            Target(
                PROXY_GRANIAN,
                "apps:proxy_app",
                "/",
                env={"BENCH_UPSTREAM": upstream + "faces/commun/index.jsf"},
                connections=LIVE_CONNECTIONS,
                reference=PROXY_GRANIAN,
                needs=("svair",),
                server="granian",
            ),
            Target(
                "service avis live svair (granian)",
                SERVICE,
                NOTICE,
                authenticated=True,
                config=next(t.config for t in found if t.name == LIVE),
                connections=LIVE_CONNECTIONS,
                reference=PROXY_GRANIAN,
                needs=("svair",),
                server="granian",
            ),
        ]
    return found


def choose(found: list[Target], only: list[str] | None) -> list[Target]:
    if not only:
        return found
    wanted = {t.name for t in found if any(o in t.name for o in only)}
    wanted |= {t.reference for t in found if t.name in wanted}
    return [t for t in found if t.name in wanted]


def prepare(target: Target, data_dir: Path) -> None:
    if target.config is None:
        return
    env, key = prepare_service(data_dir / str(abs(hash(target.name))), target.config, target.root)
    target.env.update(env)
    if target.authenticated:
        target.headers["X-Api-Key"] = key


def current_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmRSS:")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternations A B … (≥ 3)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per server")
    parser.add_argument(
        "--only", nargs="*", help="run these targets (name substrings) and their references"
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (auto: wrk when installed)",
    )
    args = parser.parse_args(argv)
    global USE_WRK
    USE_WRK = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk") is not None)

    with tempfile.TemporaryDirectory(prefix="api-particulier-bench-") as tmp:
        data_dir = Path(tmp)
        helpers = make_helpers()
        chosen = choose(all_targets(helpers), args.only)
        needed = {name for t in chosen for name in t.needs}
        samples: dict[str, list[Sample]] = {t.name: [] for t in chosen}
        rss_start: dict[str, float] = {}
        try:
            for target in chosen:
                prepare(target, data_dir)
            for name in needed:
                helpers[name].start()
            for target in chosen:
                start(target)
            for target in chosen:
                measure(target, args.warmup)
                assert target.process is not None
                rss_start[target.name] = current_rss_mb(target.process.pid)
            for _ in range(args.rounds):
                for target in chosen:
                    samples[target.name].append(measure(target, args.duration))
            rss = {
                t.name: (
                    rss_start[t.name],
                    current_rss_mb(t.process.pid),
                    peak_rss_mb(t.process.pid),
                )
                for t in chosen
                if t.process
            }
        finally:
            for target in chosen:
                stop(target)
            for name in needed:
                helpers[name].stop()
        report(chosen, samples, rss, args)
    return 0


def report(
    chosen: list[Target],
    samples: dict[str, list[Sample]],
    rss: dict[str, tuple[float, float, float]],
    args: argparse.Namespace,
) -> None:
    def median(name: str, attr: str) -> float:
        values = [
            getattr(s, attr) / (s.seconds if attr == "requests" else 1) for s in samples[name]
        ]
        return statistics.median(values) if values else 0.0

    load = "wrk" if USE_WRK else "python client"
    pin = "pinned" if shutil.which("taskset") else "not pinned"
    print(
        f"\nload: {load}; servers {pin}; {args.rounds} alternated rounds of "
        f"{args.duration:g} s; medians\n"
    )
    header = (
        f"{'server':<34} {'conns':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>8} "
        f"{'CPU µs/req':>10} {'RSS MB':>7} {'RSS Δ':>6} {'non-2xx':>7} {'× ref':>6}  ref"
    )
    print(header)
    print("-" * len(header))
    for target in chosen:
        name = target.name
        rate = median(name, "requests")
        reference = target.reference if target.reference in samples else name
        ratio = rate / median(reference, "requests") if median(reference, "requests") else 0
        errors = sum(s.errors for s in samples[name])
        first, last, _ = rss.get(name, (0.0, 0.0, 0.0))
        growth = (last - first) / first * 100 if first else 0.0
        print(
            f"{name:<34} {target.connections:>5} {rate:>8.0f} {median(name, 'p50_ms'):>7.2f} "
            f"{median(name, 'p99_ms'):>8.2f} {median(name, 'cpu_us'):>10.1f} {last:>7.1f} "
            f"{growth:>+5.1f}% {errors:>7} {ratio:>6.2f}  {reference}"
        )
    print("\ntargets:")
    checks = [
        (MEMORY, "starlette", "req/s", 0.70),
        (REDIS, MEMORY, "req/s", 0.80),
        (METRICS_ON, MEMORY, "req/s", 0.95),
        (LIVE, PROXY, "req/s", 0.80),
    ]
    for name, reference, what, goal in checks:
        if name in samples and reference in samples and median(reference, "requests"):
            value = median(name, "requests") / median(reference, "requests")
            mark = "ok" if value >= goal else "MISSED"
            print(f"  {name} / {reference} {what}: {value:.2f} (target ≥ {goal:.2f}) {mark}")
    if MEMORY in samples and "starlette" in samples and median("starlette", "p99_ms"):
        value = median(MEMORY, "p99_ms") / median("starlette", "p99_ms")
        mark = "ok" if value <= 2 else "MISSED"
        print(f"  {MEMORY} p99 / starlette p99: {value:.2f} (target ≤ 2.00) {mark}")
    if METRICS in SLOWEST_SCRAPE and MEMORY in samples and median(MEMORY, "p99_ms"):
        # A scrape reads every worker's files off the event loop: requests keep flowing.
        value = median(METRICS, "p99_ms") / median(MEMORY, "p99_ms")
        print(
            f"  {METRICS} p99 / {MEMORY} p99: {value:.2f} (slowest scrape "
            f"{SLOWEST_SCRAPE[METRICS]:.1f} ms, one every {SCRAPE_EVERY:g} s; no target)"
        )
    if MEMORY in samples and PRE_ENCODED in samples and median(PRE_ENCODED, "requests"):
        # For information: against an endpoint that does not encode its answer per request.
        value = median(MEMORY, "requests") / median(PRE_ENCODED, "requests")
        print(f"  {MEMORY} / {PRE_ENCODED} req/s: {value:.2f} (no target)")
    if LIVE in samples and LOOKUP in samples and median(LOOKUP, "requests"):
        # For information: the pipeline alone, around the same lookup and parse.
        value = median(LIVE, "requests") / median(LOOKUP, "requests")
        print(f"  {LIVE} / {LOOKUP} req/s: {value:.2f} (no target)")
    if LIVE in samples:
        bound = LIVE_CONNECTIONS / UPSTREAM_LATENCY
        value = median(LIVE, "requests") / bound
        mark = "ok" if value >= 0.70 else "MISSED"
        print(
            f"  {LIVE} / bound {bound:.0f} req/s (concurrency ÷ latency): {value:.2f} "
            f"(target ≥ 0.70) {mark}"
        )


if __name__ == "__main__":
    sys.exit(main())
