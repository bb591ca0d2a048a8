"""`[core.redis]` against real servers in the topologies it offers: TLS with a private CA
and a client certificate, and a primary found through Sentinel."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from api_particulier.redis_client import close_redis, open_redis
from api_particulier.settings import RedisConfig
from api_particulier.testing.redis import BINARY, SKIP_REASON, free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis.asyncio import Redis

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(BINARY is None, reason=SKIP_REASON),
]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(path: Path, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.with_suffix(".crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def make_pki(directory: Path, name: str = "ca", *, leaves: bool = True) -> None:
    """A CA, and (with ``leaves``) a server (127.0.0.1) and a client certificate it signed."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"test {name}"))
        .issuer_name(_name(f"test {name}"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / name, ca_key, ca)
    for leaf in ("server", "client") if leaves else ():
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(leaf))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )
        if leaf == "server":
            import ipaddress

            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        _write(directory / leaf, key, builder.sign(ca_key, hashes.SHA256()))


def _wait(port: int, process: subprocess.Popen[bytes], tls: Path | None = None) -> None:
    command = ["redis-cli", "-p", str(port), "ping"]
    if tls is not None:
        command[1:1] = [
            "--tls", "--cacert", str(tls / "ca.crt"),
            "--cert", str(tls / "client.crt"), "--key", str(tls / "client.key"),
        ]  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, "redis-server exited at start"
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.stdout.strip() == "PONG":
            return
        time.sleep(0.05)
    raise RuntimeError("redis-server did not answer")


@pytest.fixture
def workdir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="api-particulier-redis-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def tls_redis(workdir: Path) -> Iterator[tuple[int, Path]]:
    make_pki(workdir)
    make_pki(workdir, "other-ca", leaves=False)
    port = free_port()
    assert BINARY is not None
    process = subprocess.Popen(
        [
            BINARY, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--tls-cert-file", str(workdir / "server.crt"),
            "--tls-key-file", str(workdir / "server.key"),
            "--tls-ca-cert-file", str(workdir / "ca.crt"),
            "--tls-auth-clients", "yes", "--save", "", "--dir", str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(port, process, tls=workdir)
        yield port, workdir
    finally:
        process.kill()
        process.wait()


def config(**table: object) -> RedisConfig:
    return msgspec.convert({"timeout": 2, "connect_timeout": 2, **table}, RedisConfig)


async def test_tls_with_a_private_ca_and_a_client_certificate(
    tls_redis: tuple[int, Path],
) -> None:
    port, pki = tls_redis
    client = open_redis(
        config(
            url=f"rediss://127.0.0.1:{port}/0",
            ca_file=str(pki / "ca.crt"),
            cert_file=str(pki / "client.crt"),
            key_file=str(pki / "client.key"),
        ),
        environ={},
    )
    assert client is not None
    try:
        assert await client.set("k", "v")
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()


@pytest.mark.parametrize("missing", ["client certificate", "our CA"])
async def test_tls_refuses_what_it_must(tls_redis: tuple[int, Path], missing: str) -> None:
    port, pki = tls_redis
    table: dict[str, object] = {"url": f"rediss://127.0.0.1:{port}/0"}
    if missing == "client certificate":
        table["ca_file"] = str(pki / "ca.crt")  # the server asks for a certificate: none
    else:
        # The server's certificate is not signed by the CA the client trusts.
        table.update(
            ca_file=str(pki / "other-ca.crt"),
            cert_file=str(pki / "client.crt"),
            key_file=str(pki / "client.key"),
        )
    client = open_redis(config(**table), environ={})
    assert client is not None
    try:
        with pytest.raises(Exception) as failed:
            await client.get("k")
        assert "Timeout" not in type(failed.value).__name__
    finally:
        await client.aclose()


@pytest.fixture
def sentinel(workdir: Path) -> Iterator[tuple[int, int]]:
    """A primary and one Sentinel watching it as "apip": (primary port, sentinel port)."""
    assert BINARY is not None
    primary_port, sentinel_port = free_port(), free_port()
    primary = subprocess.Popen(
        [BINARY, "--port", str(primary_port), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    conf = workdir / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {workdir}\n"
        f"sentinel monitor apip 127.0.0.1 {primary_port} 1\n"
        "sentinel down-after-milliseconds apip 5000\n",
        encoding="utf-8",
    )
    watcher = subprocess.Popen(
        [BINARY, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait(primary_port, primary)
        _wait(sentinel_port, watcher)
        yield primary_port, sentinel_port
    finally:
        for process in (watcher, primary):
            process.kill()
            process.wait()


async def test_the_primary_is_found_through_sentinel(sentinel: tuple[int, int]) -> None:
    primary_port, sentinel_port = sentinel
    client = open_redis(
        config(sentinels=[f"127.0.0.1:{sentinel_port}"], service_name="apip"), environ={}
    )
    assert client is not None
    try:
        assert await client.set("through-sentinel", "1")
        direct = Redis(port=primary_port)
        try:
            assert await direct.get("through-sentinel") == b"1"  # written on the primary
        finally:
            await direct.aclose()
    finally:
        await close_redis(client)
