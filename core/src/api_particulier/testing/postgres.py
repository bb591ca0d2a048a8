"""A real PostgreSQL server for tests: a cluster made by ``initdb`` in a temporary
directory, listening on a free loopback port, stopped (or killed) by the test.

PostgreSQL refuses to run as root: when the tests run as root (CI), the cluster belongs to
Debian's ``postgres`` user and the server runs as that user. Where no server
is installed, :data:`SKIP_REASON` says how to get one.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SKIP_REASON = (
    "PostgreSQL is not installed (apt-get install -y postgresql); "
    "CI installs it, so these tests run there"
)


def server_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``, or None."""
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("postgres") is not None:
        return Path(on_path).resolve().parent
    # Debian keeps the server's programs out of PATH, one directory per major version.
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major, reverse=True)
    return Path(found[0]).parent if found else None


def _major(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in ``directory``; :attr:`url` names its database ``test``."""

    user = "postgres"
    database = "test"

    def __init__(self, directory: Path, port: int | None = None) -> None:
        binaries = server_binaries()
        if binaries is None:
            raise RuntimeError(SKIP_REASON)
        self.binaries = binaries
        self.directory = directory
        self.port = port or _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def url_for(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _as_owner(self) -> dict[str, object]:
        """Popen's arguments that run a program as the cluster's owner."""
        if self._as_root:
            return {"user": "postgres", "group": "postgres", "extra_groups": []}
        return {}

    def _initialise(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            # The cluster and its socket directory belong to the server's user; the parent
            # must let that user in.
            os.chmod(self.directory, 0o755)  # noqa: S103 - a test cluster's directory
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(
            [
                str(self.binaries / "initdb"),
                "--pgdata", str(self.data),
                "--username", self.user,
                "--auth", "trust",
                "--encoding", "UTF8",
                "--locale", "C",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.directory,
            **self._as_owner(),  # type: ignore[call-overload]
        )  # fmt: skip
        self._initialised = True

    def start(self) -> None:
        if not self._initialised:
            self._initialise()
        self.process = subprocess.Popen(
            [
                str(self.binaries / "postgres"),
                "-D", str(self.data),
                "-p", str(self.port),
                "-k", str(self.directory),
                "-c", "listen_addresses=127.0.0.1",
                # A test cluster: nothing needs to survive a crash of the machine.
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.directory,
            **self._as_owner(),  # type: ignore[call-overload]
        )  # fmt: skip
        self._wait_ready()
        if not (self.directory / "created").exists():
            self.create_database(self.database)
            (self.directory / "created").touch()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError("postgres exited at start")
            probe = subprocess.run(
                [str(self.binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not accept connections in time")

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its URL."""
        createdb = shutil.which("createdb") or str(self.binaries / "createdb")
        subprocess.run(
            [createdb, "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return self.url_for(name)

    def stop(self) -> None:
        """A fast shutdown: sessions are ended, the server exits cleanly."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def kill(self) -> None:
        """The server gone at once, as a crashed host: connections are reset."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            # SIGQUIT: the postmaster and its children exit without a checkpoint.
            process.send_signal(signal.SIGQUIT)
            process.wait(timeout=30)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@contextmanager
def temporary_postgres() -> Iterator[PostgresServer]:
    """A started server in a new directory, stopped and removed afterwards."""
    # Under /tmp rather than pytest's own (private) directory: when the tests run as root,
    # the server runs as the postgres user, who must reach its directory.
    directory = Path(tempfile.mkdtemp(prefix="api-particulier-postgres-"))
    server = PostgresServer(directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
