"""Bring an older snapshot file up to date by rewriting only the parts of it that differ.

The checkpointed warehouse file and the older file are read side by side, in slabs of chunks
aligned with DuckDB's storage (the 12 KiB of file and database headers, then one chunk per
block). A slab equal in both files is left alone; in a slab that differs, only the chunks that
differ are written; the file is then cut to the warehouse's length. Whatever the older file
held, the result is the warehouse byte for byte: nothing recorded about earlier publishes is
trusted. Reading both files is the part of the cost that grows with the database (DuckDB keeps
no change log a publisher could trust); writing follows what changed since the older file was
published.

A file is rewritten only under an exclusive open-file-description lock (``lock_unheld``). It
fails while any DuckDB connection, of any process including this one, holds the file (DuckDB
takes a POSIX read lock on every file it opens, and OFD locks conflict with those even within
a process), and while it is held a DuckDB connection trying to open the file fails at once
instead of reading it.
"""

from __future__ import annotations

import fcntl
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HEAD = 3 * 4096  # DuckDB's main file header and its two database headers, before the first block
SLAB = 16  # chunks read and compared at once by one worker


@dataclass(frozen=True)
class Synced:
    """What ``sync`` did: how many chunks the file has, which of them it wrote, and how many bytes."""

    chunks: int
    written: tuple[int, ...]
    bytes_written: int


def spans(size: int, chunk: int) -> list[tuple[int, int]]:
    """(offset, length) of every chunk of a file of ``size`` bytes: the headers, then one per block."""
    out = [(0, min(HEAD, size))] if size else []
    out += [(offset, min(chunk, size - offset)) for offset in range(HEAD, size, chunk)]
    return out


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


def sync(source: Path, target: int, chunk: int) -> Synced:
    """Make the file open read-write at fd ``target`` a byte copy of ``source``, writing only chunks that differ."""
    source_fd = os.open(source, os.O_RDONLY)
    try:
        layout = spans(os.fstat(source_fd).st_size, chunk)
        slabs = [(first, layout[first : first + SLAB]) for first in range(0, len(layout), SLAB)]
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            written = [i for done in pool.map(lambda s: _sync_slab(source_fd, target, *s), slabs) for i in done]
    finally:
        os.close(source_fd)
    size = layout[-1][0] + layout[-1][1] if layout else 0
    os.ftruncate(target, size)
    return Synced(len(layout), tuple(written), sum(layout[i][1] for i in written))


def _sync_slab(source: int, target: int, first: int, slab: list[tuple[int, int]]) -> list[int]:
    """Write the chunks of one slab whose bytes differ in ``target``; return their indexes."""
    start = slab[0][0]
    length = slab[-1][0] + slab[-1][1] - start
    data = os.pread(source, length, start)
    if len(data) != length:
        raise OSError(f"short read of the warehouse file at offset {start}: it changed during the publish")
    old = os.pread(target, length, start)
    if old == data:
        return []
    written = []
    for index, (offset, size) in enumerate(slab, start=first):
        begin, end = offset - start, offset - start + size
        if old[begin:end] != data[begin:end]:
            _pwrite_all(target, memoryview(data)[begin:end], offset)
            written.append(index)
    return written


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        wrote = os.pwrite(fd, data, offset)
        data, offset = data[wrote:], offset + wrote
