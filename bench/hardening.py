"""The attacks of the hardening review, measured on the service and on its peer, in one run.

    python3 -m uv run python bench/hardening.py [--idle 3000] [--pages 100]

For each case, two servers are started fresh (so that peak memory is the case's own): the
service as ``api-particulier serve`` runs it, and its peer — the same application on
uvicorn's own httptools protocol (the HTTP cases), or with SVAIR answers allowed up to
10 MiB (the upstream case). While the attack runs, ``/api/ping`` is asked every 20 ms on
a fresh connection; the script prints how long those answers took (the stall a legitimate
caller sees), what the attack got, and the server's peak RSS. Nothing here asserts a
figure: the numbers go to docs/performance.md. Only loopback addresses are used.

Cases:
- ``big headers``: four connections each send a 50 MB header;
- ``idle sockets``: ``--idle`` connections are opened and send nothing; then, 12 s later
  (past the 10 s header timeout), how many the server still holds open, and whether a
  legitimate request is answered;
- ``svair pages``: ``--pages`` concurrent data calls whose SVAIR answer is a 9.9 MB page;
- ``key refusals``: the time to refuse an unknown key and a revoked one, alternated on one
  kept-alive connection (the revoked key must not be told apart by its timing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from api_particulier.keys import generate_key
from run import (
    PIPELINE,
    SERVICE,
    Target,
    free_port,
    peak_rss_mb,
    prepare_service,
    start,
    stop,
    wait_for_port,
)

PROBE_EVERY = 0.02
RESULT_PAGE = (
    Path(__file__).resolve().parent.parent
    / "plugins"
    / "dgfip"
    / "tests"
    / "data"
    / "avis-single-person.html"
)
HUGE_ID = "0000000000042"


@dataclass
class Outcome:
    server: str
    probe_max_ms: float
    probe_p50_ms: float
    probes_failed: int
    attack: str
    rss_peak_mb: float


async def _ping(port: int) -> float | None:
    """Milliseconds for a fresh connection to get ``/api/ping`` answered; None on failure."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(30):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /api/ping HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
    except (OSError, TimeoutError):
        return None
    if not answer.startswith(b"HTTP/1.1 200"):
        return None
    return (time.perf_counter() - started) * 1000


async def _probe_while(port: int, attack: Awaitable[str]) -> tuple[list[float | None], str]:
    """Ping every ``PROBE_EVERY`` seconds until ``attack`` is over; its result."""
    task = asyncio.ensure_future(attack)
    probes: list[float | None] = []
    while not task.done():
        probes.append(await _ping(port))
        await asyncio.sleep(PROBE_EVERY)
    return probes, await task


async def _big_headers(port: int) -> str:
    async def one() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/ping HTTP/1.1\r\nHost: b\r\nX-Big: ")
        answer = asyncio.ensure_future(reader.read(200))
        sent = 0
        started = time.perf_counter()
        try:
            while sent < 50 * 2**20 and not answer.done():
                writer.write(b"a" * 65536)
                await writer.drain()
                sent += 65536
            if not answer.done():
                writer.write(b"\r\n\r\n")
                await writer.drain()
            first = await asyncio.wait_for(answer, 60)
        except (OSError, TimeoutError):
            first = b""
        finally:
            writer.close()
        status = first.split(b" ")[1].decode() if first.count(b" ") >= 1 else "closed"
        return f"{status} after {sent / 2**20:.1f} MB, {time.perf_counter() - started:.2f} s"

    results = await asyncio.gather(*(one() for _ in range(4)))
    return "; ".join(sorted(set(results)))


async def _idle_sockets(port: int, count: int) -> str:
    sockets = []
    for _ in range(count):
        try:
            sockets.append(await asyncio.open_connection("127.0.0.1", port))
        except OSError:
            break
    opened = len(sockets)
    await asyncio.sleep(12)
    still_open = 0
    for reader, _ in sockets:
        try:
            data = await asyncio.wait_for(reader.read(1), 0.001)
        except TimeoutError:
            still_open += 1
            continue
        except OSError:
            continue
        if data and not data.startswith(b"H"):
            still_open += 1  # pragma: no cover - never seen
    served = await _ping(port)
    for _, writer in sockets:
        writer.close()
    answer = f"answered in {served:.1f} ms" if served is not None else "NOT answered"
    return f"{opened} opened, {still_open} still open after 12 s; a new request {answer}"


async def _svair_pages(port: int, key: str, count: int) -> str:
    request = (
        f"GET /api/v2/avis-imposition?numeroFiscal={HUGE_ID}&referenceAvis={HUGE_ID} HTTP/1.1\r\n"
        f"Host: b\r\nX-Api-Key: {key}\r\nConnection: close\r\n\r\n"
    ).encode()

    async def one() -> tuple[str, float]:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        answer = await reader.read()
        writer.close()
        return answer.split(b" ")[1].decode(), time.perf_counter() - started

    results = await asyncio.gather(*(one() for _ in range(count)))
    statuses = sorted({status for status, _ in results})
    durations = [seconds for _, seconds in results]
    return f"statuses {','.join(statuses)}; calls took up to {max(durations):.2f} s"


def _report(case: str, outcomes: list[Outcome]) -> None:
    print(f"\n{case}")
    header = f"  {'server':<44} {'ping p50':>9} {'ping max':>9} {'failed':>6} {'RSS MB':>7}  attack"
    print(header)
    for o in outcomes:
        print(
            f"  {o.server:<44} {o.probe_p50_ms:>8.1f}ms {o.probe_max_ms:>8.1f}ms "
            f"{o.probes_failed:>6} {o.rss_peak_mb:>7.1f}  {o.attack}"
        )


async def _run_case(
    target: Target, attack: Callable[[int], Awaitable[str]], server: str
) -> Outcome:
    start(target)
    try:
        assert target.process is not None
        probes, result = await _probe_while(target.port, attack(target.port))
        answered = [p for p in probes if p is not None]
        return Outcome(
            server=server,
            probe_max_ms=max(answered, default=0.0),
            probe_p50_ms=statistics.median(answered) if answered else 0.0,
            probes_failed=len(probes) - len(answered),
            attack=result,
            rss_peak_mb=peak_rss_mb(target.process.pid),
        )
    finally:
        stop(target)


def _service(name: str, data_dir: Path, config: str, *, bounded: bool) -> tuple[Target, str]:
    env, key = prepare_service(data_dir / name.replace(" ", "-"), config)
    target = Target(name, SERVICE, "/", env=env, config=config, bounded=bounded)
    return target, key


async def main_async(args: argparse.Namespace) -> None:
    sandbox = PIPELINE.replace("@RATELIMIT@", "").replace("@DGFIP@", "")
    with tempfile.TemporaryDirectory(prefix="api-particulier-hardening-") as tmp:
        data_dir = Path(tmp)
        http_cases: list[tuple[str, Callable[[int], Awaitable[str]]]] = [
            ("big headers: 4 × 50 MB", _big_headers),
            (
                f"idle sockets: {args.idle} connections that send nothing",
                lambda port: _idle_sockets(port, args.idle),
            ),
        ]
        peers = ((True, "service (serve's protocol)"), (False, "peer: uvicorn httptools"))
        for case, attack in http_cases:
            outcomes = []
            for bounded, label in peers:
                target, _ = _service(f"{case[:10]} {bounded}", data_dir, sandbox, bounded=bounded)
                outcomes.append(await _run_case(target, attack, label))
            _report(case, outcomes)

        with _huge_page_upstream(data_dir) as upstream:
            outcomes = []
            for cap, label in ((None, "service (512 KiB cap)"), (10 * 2**20, "peer: 10 MiB cap")):
                dgfip = (
                    f'[plugins.dgfip]\nbackend = "svair"\nurl = "{upstream}"\n'
                    "max_concurrency = 1000\n" + (f"max_answer_bytes = {cap}\n" if cap else "")
                )
                config = PIPELINE.replace("@RATELIMIT@", "").replace("@DGFIP@", dgfip)
                target, key = _service(f"svair {cap}", data_dir, config, bounded=True)
                outcomes.append(await _run_case(target, _pages_attack(key, args.pages), label))
            _report(f"svair pages: {args.pages} concurrent calls, 9.9 MB answers", outcomes)


async def _refusal_times(port: int, keys: dict[str, str], rounds: int) -> dict[str, float]:
    """Median microseconds to get the 401 of each key, alternated on one connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    times: dict[str, list[float]] = {name: [] for name in keys}
    for _ in range(rounds):
        for name, key in keys.items():
            request = f"GET /api/introspect HTTP/1.1\r\nHost: b\r\nX-Api-Key: {key}\r\n\r\n"
            started = time.perf_counter()
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            times[name].append((time.perf_counter() - started) * 1e6)
            assert head.startswith(b"HTTP/1.1 401"), head
    writer.close()
    return {name: statistics.median(values) for name, values in times.items()}


def _revoked_key_service(data_dir: Path) -> tuple[Target, str, str]:
    """A core-only service holding one revoked key; (service, revoked key, unknown key)."""
    config = 'enabled = []\n[core]\ndata_dir = "@DATA@"\n'
    env, revoked = prepare_service(data_dir / "keys", config)
    command = [sys.executable, "-m", "api_particulier", "keys"]
    environ = {**os.environ, **env}
    listed = subprocess.run(
        [*command, "list"], env=environ, capture_output=True, text=True, check=True
    ).stdout
    subprocess.run([*command, "revoke", listed.split()[0]], env=environ, check=True)
    # Same shape, same checksum rule broken nowhere: a well-formed key that never existed.
    unknown = generate_key()
    return Target("keys", SERVICE, "/", env=env, config=config), revoked, unknown


def _key_refusals(data_dir: Path, rounds: int) -> None:
    target, revoked, unknown = _revoked_key_service(data_dir)
    start(target)
    try:
        keys = {"unknown": unknown, "revoked": revoked}
        medians = asyncio.run(_refusal_times(target.port, keys, rounds))
    finally:
        stop(target)
    print(f"\nkey refusals: {rounds} of each, alternated on one connection, medians")
    for name, median in medians.items():
        print(f"  {name:<10} {median:8.1f} µs")
    print(f"  difference {medians['revoked'] - medians['unknown']:+8.1f} µs")


def _pages_attack(key: str, count: int) -> Callable[[int], Awaitable[str]]:
    async def attack(port: int) -> str:
        return await _svair_pages(port, key, count)

    return attack


# The SVAIR simulator serving one 9.9 MB result page, in a process of its own (so that
# serving the pages does not slow this process's probes down).
_HUGE_UPSTREAM = """
import asyncio, sys
from pathlib import Path
from api_particulier_dgfip.simulator.server import SvairSimulator

async def main():
    page = Path(sys.argv[1]).read_text("utf-8")
    huge = page.replace("</body>", "<!-- padding -->" * (9_900_000 // 16) + "</body>")
    simulator = SvairSimulator(pages={(sys.argv[2], sys.argv[2]): huge})
    await simulator.start(port=int(sys.argv[3]))
    await asyncio.Event().wait()

asyncio.run(main())
"""


@contextlib.contextmanager
def _huge_page_upstream(data_dir: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _HUGE_UPSTREAM, str(RESULT_PAGE), HUGE_ID, str(port)],
        cwd=data_dir,
    )
    try:
        wait_for_port(port, "the SVAIR simulator")
        yield f"http://127.0.0.1:{port}/secavis/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=3000, help="idle connections to open")
    parser.add_argument("--pages", type=int, default=100, help="concurrent oversized answers")
    parser.add_argument("--refusals", type=int, default=5000, help="401s timed per kind of key")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args))
        with tempfile.TemporaryDirectory(prefix="api-particulier-hardening-") as tmp:
            _key_refusals(Path(tmp), args.refusals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
