"""The journal's hash chain and its signed checkpoints: a journal nobody can rewrite unseen.

Every row written gets a position (``seq``: 1, 2, 3 … in the order rows were committed) and
a digest, ``SHA-256(previous digest ‖ position ‖ the row)``, so each row vouches for every
row before it. The store extends the chain inside the transaction that writes the rows (see
:mod:`api_particulier.store.sqlite` and ``.postgresql``): it is the only place that sees
the rows of every process and host in their commit order.

A hash chain alone is no proof: whoever can write the database can recompute it. So every
``checkpoint_interval`` the journal signs the chain's head (its position, its digest, the
time) with the service's Ed25519 key, kept outside the database, and stores the signed
checkpoint. An auditor holding only the public key then checks (:func:`verify`) that
every row up to the last checkpoint is the one that was signed. A retention purge first
signs a checkpoint at the cut, the last row it removes: the chain of the rows kept starts
from it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec
import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import ConfigError
from .types import CallRecord

log = structlog.get_logger("api_particulier.chain")

# The digest "before" the first row.
GENESIS = "0" * 64
SIGNING_KEY_ENV = "API_PARTICULIER_JOURNAL_SIGNING_KEY"
_KEY_FILE = "journal-signing-key.pem"
_SIGNED_PREFIX = b"api-particulier journal checkpoint v1\n"
_encode = msgspec.json.Encoder().encode


def link(previous: str, seq: int, record: CallRecord) -> str:
    """The digest of ``record`` at position ``seq``, after the row of digest ``previous``."""
    return _link(previous, seq, msgspec.structs.astuple(record))


def _link(previous: str, seq: int, fields: tuple[Any, ...]) -> str:
    body = _encode((seq, fields))
    return hashlib.sha256(bytes.fromhex(previous) + body).hexdigest()


# A journal row as the stores write it: the record's fields in CallRecord's order, then its
# position and digest in the chain (both None for a row outside the chain).
Row = tuple[Any, ...]


def rows(
    records: Iterable[CallRecord], head: tuple[int, str] | None
) -> tuple[list[Row], tuple[int, str] | None]:
    """The rows of ``records`` chained after ``head`` (position, digest), and the chain's
    new head; with ``head`` None, the rows are written outside the chain and the head stays
    None. Each record becomes a tuple once, for its digest and for the store."""
    if head is None:
        return [(*msgspec.structs.astuple(record), None, None) for record in records], None
    seq, previous = head
    written: list[Row] = []
    for record in records:
        fields = msgspec.structs.astuple(record)
        seq += 1
        previous = _link(previous, seq, fields)
        written.append((*fields, seq, previous))
    return written, (seq, previous)


class ChainHead(msgspec.Struct, frozen=True):
    """The last row of the chain: its position, its digest, and when the chain began."""

    seq: int
    digest: str
    started: float


class ChainedRow(msgspec.Struct, frozen=True):
    """A journal row as stored, with what the chain says of it."""

    row_id: int
    seq: int | None
    digest: str | None
    record: CallRecord


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A signed statement: the chain's row ``seq`` had digest ``digest`` at ``time``.

    ``seq`` is also the count of rows chained since the chain began. ``kind`` is
    ``"periodic"``, or ``"cut"`` for the last row a retention purge removed.
    """

    seq: int
    digest: str
    time: float
    kind: str
    key_id: str
    signature: str

    def signed_bytes(self) -> bytes:
        return _SIGNED_PREFIX + _encode((self.seq, self.digest, self.time, self.kind))


@dataclass(frozen=True)
class Signer:
    """The service's Ed25519 key, signing checkpoints."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @cached_property
    def key_id(self) -> str:
        # Derived once: every checkpoint names it.
        return key_id(self.public_key)

    def sign(self, *, seq: int, digest: str, time: float, kind: str) -> Checkpoint:
        unsigned = Checkpoint(
            seq=seq, digest=digest, time=time, kind=kind, key_id=self.key_id, signature=""
        )
        signature = self.private_key.sign(unsigned.signed_bytes())
        return msgspec.structs.replace(
            unsigned, signature=base64.b64encode(signature).decode("ascii")
        )

    def seal_cut(self, seq: int, digest: str) -> Checkpoint:
        """The signed checkpoint of a retention cut at row ``seq``."""
        return self.sign(seq=seq, digest=digest, time=time.time(), kind="cut")


def unsigned_cut(seq: int, digest: str) -> Checkpoint:
    """The checkpoint of a retention cut made without a signing key (a deployment that set
    none): it still says where the chain of the rows kept begins."""
    return Checkpoint(seq=seq, digest=digest, time=time.time(), kind="cut", key_id="", signature="")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: the start of the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise ConfigError(["the public key is not a PEM public key"]) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(["the public key is not an Ed25519 key"])
    return key


def signature_valid(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 private key, or its 32 raw bytes in base64."""
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip()))
    except (ValueError, TypeError):
        raise ConfigError(["the journal signing key is not an Ed25519 private key"]) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(["the journal signing key is not an Ed25519 private key"])
    return key


def load_signer(configured: str | None, embedded: bool, data_dir: Path) -> Signer | None:
    """The signer of the configured key (its text), or, in embedded mode only, of a key
    generated in the data directory. None when a configured deployment gives no key: its
    rows are chained, its checkpoints not signed (a warning says so at start)."""
    value = configured or os.environ.get(SIGNING_KEY_ENV)
    if value:
        return Signer(parse_private_key(value))
    if not embedded:
        return None
    path = data_dir / _KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        log.warning(
            "journal_signing_key_generated",
            path=str(path),
            advice=f"embedded mode only; in production set {SIGNING_KEY_ENV} outside the database",
        )
    return Signer(parse_private_key(path.read_text(encoding="ascii")))


# -- verification ----------------------------------------------------------------------------


@dataclass
class Verdict:
    """What :func:`verify` found: ``problem`` names the first fault; None when there is
    none."""

    problem: str | None = None
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    last_signed: Checkpoint | None = None
    unsigned_tail: int = 0
    outside_chain: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


def _name(row: ChainedRow) -> str:
    return f"row {row.row_id} (position {row.seq}, request {row.record.request_id})"


async def verify(
    *,
    head: ChainHead | None,
    checkpoints: list[Checkpoint],
    rows: Callable[[int], AsyncIterator[ChainedRow]],
    unchained: list[ChainedRow],
    public_key: Ed25519PublicKey | None,
    since: float | None = None,
) -> Verdict:
    """Walk the chain from its start (the last retention cut), or from the last checkpoint
    before ``since``, and name the first row changed, deleted or inserted, or the first
    checkpoint changed. ``rows(seq)`` gives the chained rows after position ``seq``, by
    position; ``unchained``, the rows without a position written since the chain began."""
    verdict = Verdict()
    if public_key is not None:
        for checkpoint in checkpoints:
            if not signature_valid(checkpoint, public_key):
                verdict.problem = (
                    f"checkpoint at position {checkpoint.seq} ({_when(checkpoint.time)}) does "
                    "not carry a valid signature of this key: it was changed or forged"
                )
                return verdict
    elif checkpoints:
        verdict.notes.append("no public key: the checkpoints' signatures were not checked")
    if unchained:
        verdict.problem = f"{_name(unchained[0])} was inserted outside the chain"
        return verdict
    anchor = _anchor(checkpoints, since)
    expected_seq = anchor.seq + 1 if anchor else 1
    previous = anchor.digest if anchor else GENESIS
    by_seq = {c.seq: c for c in checkpoints}
    verdict.checkpoints = sum(1 for c in checkpoints if anchor is None or c.seq >= anchor.seq)
    last: ChainedRow | None = None
    before_last: str | None = None
    async for row in rows(expected_seq - 1):
        assert row.seq is not None and row.digest is not None
        if row.seq < expected_seq:
            verdict.problem = (
                f"{_name(row)} was inserted: position {row.seq} is already taken "
                "by the row before it"
            )
            return verdict
        if row.seq > expected_seq:
            missing = (
                f"{expected_seq}"
                if row.seq == expected_seq + 1
                else (f"{expected_seq} to {row.seq - 1}")
            )
            verdict.problem = f"the row at position {missing} was deleted (before {_name(row)})"
            return verdict
        if link(previous, row.seq, row.record) != row.digest:
            if (
                last is not None
                and before_last is not None
                and link(before_last, row.seq - 1, row.record) == row.digest
            ):
                verdict.problem = f"{_name(last)} was inserted before {_name(row)}"
            else:
                verdict.problem = (
                    f"{_name(row)} was changed (or a row before it deleted and the rest renumbered)"
                )
            return verdict
        signed_here = by_seq.get(row.seq)
        if signed_here is not None and signed_here.digest != row.digest:
            verdict.problem = (
                f"the rows up to position {row.seq} are not those signed at "
                f"{_when(signed_here.time)}: rewritten with their digests recomputed"
            )
            return verdict
        if verdict.first_seq is None:
            verdict.first_seq = row.seq
        before_last, previous = previous, row.digest
        last = row
        expected_seq += 1
        verdict.rows += 1
    verdict.last_seq = expected_seq - 1
    signed = [c for c in checkpoints if c.seq <= verdict.last_seq]
    later = [c for c in checkpoints if c.seq > verdict.last_seq]
    if later:
        verdict.problem = (
            f"the rows from position {verdict.last_seq + 1} to {later[-1].seq}, signed at "
            f"{_when(later[-1].time)}, were deleted"
        )
        return verdict
    if (
        head is not None
        and head.seq > verdict.last_seq
        and verdict.last_seq >= (anchor.seq if anchor else 0)
    ):
        verdict.problem = (
            f"the rows from position {verdict.last_seq + 1} to {head.seq} were deleted"
        )
        return verdict
    if signed:
        verdict.last_signed = signed[-1]
        verdict.unsigned_tail = verdict.last_seq - signed[-1].seq
    else:
        verdict.unsigned_tail = verdict.rows
    return verdict


def _anchor(checkpoints: list[Checkpoint], since: float | None) -> Checkpoint | None:
    """Where the walk starts: the last cut (the rows before it were purged), or with
    ``since``, the last checkpoint at or before it (if after the cut)."""
    cuts = [c for c in checkpoints if c.kind == "cut"]
    anchor = max(cuts, key=lambda c: c.seq) if cuts else None
    if since is not None:
        before = [c for c in checkpoints if c.time <= since]
        if before:
            candidate = max(before, key=lambda c: c.seq)
            if anchor is None or candidate.seq > anchor.seq:
                anchor = candidate
    return anchor


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
