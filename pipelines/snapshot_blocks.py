"""Bring an older snapshot file up to date by rewriting only the parts of it that differ.

A checkpointed DuckDB file is cut into chunks aligned with its storage: the 12 KiB of file and
database headers, then one chunk per block. Each chunk's SHA-256 is compared with the digest
recorded in the target's manifest when the target was published; equal chunks stay as they
are, the others are written, and the file is cut to the source's length. The result is, byte
for byte, the source file. Reading and hashing the source is the part of the cost that grows
with the database (DuckDB keeps no change log a publisher could trust); what is written grows
with what changed since the target was published.

A manifest ``.<snapshot name>.blocks`` holds one JSON line (chunk size, the file's size, inode
and mtime) and the digests; it describes the file only while the file keeps that size, inode
and mtime (a file changed by anything else is never patched). A target is patched only under
an exclusive open-file-description lock, which fails while any DuckDB connection, of any
process including this one, holds the file (DuckDB takes a POSIX read lock on every file it
opens), and which makes a DuckDB connection opened meanwhile fail rather than read.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HEAD = 3 * 4096  # DuckDB's main file header and its two database headers, before the first block
FORMAT = "xborder-blocks-1"
DIGEST_SIZE = hashlib.sha256().digest_size
SLAB = 16  # chunks read at once by one worker


@dataclass(frozen=True)
class Manifest:
    """The chunk digests of a snapshot file, and the size, inode and mtime they hold for."""

    chunk: int
    size: int
    inode: int
    mtime_ns: int
    digests: tuple[bytes, ...]


@dataclass(frozen=True)
class Synced:
    """What ``sync`` did: the source's chunk digests and the chunks it wrote."""

    digests: tuple[bytes, ...]
    written: tuple[int, ...]
    bytes_written: int


def manifest_path(snapshot: Path) -> Path:
    return snapshot.with_name(f".{snapshot.name}.blocks")


def spans(size: int, chunk: int) -> list[tuple[int, int]]:
    """(offset, length) of every chunk of a file of ``size`` bytes: the headers, then one per block."""
    out = [(0, min(HEAD, size))] if size else []
    out += [(offset, min(chunk, size - offset)) for offset in range(HEAD, size, chunk)]
    return out


def read_manifest(snapshot: Path) -> Manifest | None:
    """The manifest of ``snapshot`` if it still describes the file, else None."""
    try:
        header, _, body = manifest_path(snapshot).read_bytes().partition(b"\n")
        meta = json.loads(header)
        stat = snapshot.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return None
    if [meta.get("size"), meta.get("inode"), meta.get("mtime_ns")] != [stat.st_size, stat.st_ino, stat.st_mtime_ns]:
        return None
    digests = tuple(body[i : i + DIGEST_SIZE] for i in range(0, len(body), DIGEST_SIZE))
    if not isinstance(meta.get("chunk"), int) or len(digests) != len(spans(stat.st_size, meta["chunk"])):
        return None
    return Manifest(meta["chunk"], stat.st_size, stat.st_ino, stat.st_mtime_ns, digests)


def write_manifest(snapshot: Path, stat: os.stat_result, chunk: int, digests: Sequence[bytes]) -> None:
    """Record the digests of the file ``stat`` describes, to be published as ``snapshot`` (atomic)."""
    path = manifest_path(snapshot)
    meta = {"format": FORMAT, "chunk": chunk, "size": stat.st_size, "inode": stat.st_ino, "mtime_ns": stat.st_mtime_ns}
    building = path.with_name(f"{path.name}.building")
    building.write_bytes(json.dumps(meta).encode() + b"\n" + b"".join(digests))
    os.replace(building, path)


def lock_unheld(path: Path) -> int | None:
    """``path`` opened read-write under an exclusive lock, or None while anyone holds it open in DuckDB."""
    if not hasattr(fcntl, "F_OFD_SETLK"):  # open-file-description locks: Linux only
        return None
    try:
        path.chmod(0o644)
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:  # struct flock: type, whence, start, length 0 (the whole file), pid 0 (required for OFD locks)
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    except OSError:
        os.close(fd)
        path.chmod(0o444)
        return None
    return fd


def sync(source: Path, target: int, chunk: int, old: Sequence[bytes] = ()) -> Synced:
    """Make the file open read-write at fd ``target`` a byte copy of ``source``.

    ``old``: the target's chunk digests (its manifest); a chunk whose digest is the same is not
    written. Without them every chunk is written (a plain copy, digests computed on the way).
    """
    source_fd = os.open(source, os.O_RDONLY)
    try:
        size = os.fstat(source_fd).st_size
        layout = spans(size, chunk)
        slabs = [(first, layout[first : first + SLAB]) for first in range(0, len(layout), SLAB)]
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            done = [row for rows in pool.map(lambda s: _sync_slab(source_fd, target, *s, old), slabs) for row in rows]
    finally:
        os.close(source_fd)
    os.ftruncate(target, size)
    written = tuple(i for i, (_, wrote) in enumerate(done) if wrote)
    return Synced(tuple(d for d, _ in done), written, sum(layout[i][1] for i in written))


def _sync_slab(
    source: int, target: int, first: int, slab: list[tuple[int, int]], old: Sequence[bytes]
) -> list[tuple[bytes, bool]]:
    """Digest each chunk of one slab and write those whose digest differs from ``old``."""
    start = slab[0][0]
    length = slab[-1][0] + slab[-1][1] - start
    data = memoryview(os.pread(source, length, start))
    if len(data) != length:
        raise OSError(f"short read of the warehouse file at offset {start}: it changed during the publish")
    out = []
    for index, (offset, size) in enumerate(slab, start=first):
        piece = data[offset - start : offset - start + size]
        digest = hashlib.sha256(piece).digest()
        write = index >= len(old) or old[index] != digest
        if write:
            _pwrite_all(target, piece, offset)
        out.append((digest, write))
    return out


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        wrote = os.pwrite(fd, data, offset)
        data, offset = data[wrote:], offset + wrote
