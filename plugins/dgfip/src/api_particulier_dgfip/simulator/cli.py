"""``api-particulier-dgfip-simulator``: run the SVAIR simulator on the loopback address.

Then point the live backend at it::

    [plugins.dgfip]
    backend = "svair"
    url = "http://127.0.0.1:8089/secavis/"
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

from .server import SvairSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="api-particulier-dgfip-simulator",
        description="Local stand-in for DGFiP's SVAIR form, serving the sandbox data set.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to answers")
    parser.add_argument(
        "--block-after",
        type=int,
        default=None,
        help="answer the blocked page once this many lookups have failed",
    )
    parser.add_argument(
        "--hang-seconds", type=float, default=30.0, help="how long …504 identifiers hang"
    )
    args = parser.parse_args(argv)
    simulator = SvairSimulator(
        latency=args.latency, block_after=args.block_after, hang_seconds=args.hang_seconds
    )
    print(f"SVAIR simulator on http://{args.host}:{args.port}/secavis/")
    web.run_app(
        simulator.app(),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
        backlog=1024,
        loop=_new_loop(),
    )


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (it is with the core), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
