"""Settings of the server process itself, applied once before it serves.

They trade a little memory for CPU on every request; measured in docs/performance.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import resource

import structlog

# Descriptors a process needs besides its clients' connections: upstream connections,
# stores, logs.
SPARE_DESCRIPTORS = 512

# Young objects are collected every GC_YOUNG allocations instead of 700: with hundreds of
# requests in flight (slow upstreams), the young generation is mostly the live state of
# those requests, traversed again at each collection for nothing.
GC_YOUNG = 10_000
# glibc's malloc gives memory back to the system whenever the top of its heap is free
# beyond a threshold, and serves big blocks with mmap: an HTML parser that allocates and
# frees a few hundred kilobytes per page then pays system calls and page faults on every
# call. Keeping up to this much free at the top of the heap, and serving blocks below
# MALLOC_HEAP_BLOCKS from the heap, avoids that for a few megabytes of memory.
MALLOC_KEEP = 16 * 1024 * 1024
MALLOC_HEAP_BLOCKS = 4 * 1024 * 1024
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def prepare_for_serving() -> None:
    """Tune the collector and the allocator of a process that is about to serve."""
    # What was built so far lives as long as the process: out of the collector's way, so
    # that its full passes stay short under load.
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, middle, oldest)
    _keep_freed_memory()


def allow_connections(connections: int) -> None:
    """Raise this process's limit on open files so that ``connections`` clients fit.

    Only the soft limit moves, up to the hard limit set by the system; when even that is
    too low, a warning says what ``[core.http] max_connections`` can really reach.
    """
    needed = connections + SPARE_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        structlog.get_logger("api_particulier.http").warning(
            "open_files_limit_low",
            limit=soft,
            max_connections=connections,
            advice="raise the hard limit (ulimit -Hn) or lower [core.http] max_connections",
        )


def _keep_freed_memory() -> None:
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc (musl, macOS): nothing to tune
    mallopt(_M_TRIM_THRESHOLD, MALLOC_KEEP)
    mallopt(_M_MMAP_THRESHOLD, MALLOC_HEAP_BLOCKS)
