"""An append-only journal file: framed records, appended with one write each, made durable
with group commit.

A record on disk is its length and CRC-32 (two big-endian 32-bit words) and then its bytes.
A process killed in the middle of a write leaves at most one partial record at the end of
the file; ``read_records`` stops at the first record that is cut short or fails its CRC, so a
torn tail is ignored rather than read as garbage (it was never acknowledged: the writer
answers only once the record is durable).

Durability: ``append`` hands the record to the operating system (one ``os.write``), which is
enough for it to survive the writer being killed (kill -9), but not a machine crash.
``sync`` makes everything appended so far durable (``fdatasync``) when the journal was
opened with ``fsync=True``; many threads calling it at once share one ``fdatasync`` (group
commit): whoever gets the sync lock flushes every record appended until then, and the
others find their record already covered.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

_HEADER = struct.Struct(">II")  # length, crc32 of the payload
# A record longer than this is taken as a corrupt header rather than read into memory.
MAX_RECORD_BYTES = 64 * 1024 * 1024


def frame(payload: bytes) -> bytes:
    """The bytes of one record holding `payload`."""
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_records(path: Path) -> Iterator[bytes]:
    """The payloads of the whole records in `path`, in order, up to the first torn or
    corrupt one (everything from there on is ignored)."""
    data = path.read_bytes()
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        if length > MAX_RECORD_BYTES or start + length > len(data):
            return
        payload = data[start:start + length]
        if zlib.crc32(payload) != crc:
            return
        yield payload
        offset = start + length


class Journal:
    """A journal file open for appending. `append` calls must be serialised by the caller
    (they define the records' order); `sync` may be called from any thread."""

    def __init__(self, path: Path, fsync: bool) -> None:
        self.path = path
        self._fsync = fsync
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._written = os.fstat(self._fd).st_size   # bytes handed to the OS
        self._durable = self._written                # bytes known to be on disk
        self._sync_lock = threading.Lock()
        self.records = 0                             # appended through this object

    def append(self, payload: bytes) -> int:
        """Write one record; returns the journal's length with it (what `sync` waits for)."""
        data = memoryview(frame(payload))
        while data:  # os.write may write less than asked (a full disk raises instead)
            data = data[os.write(self._fd, data):]
        self._written += _HEADER.size + len(payload)
        self.records += 1
        return self._written

    def sync(self, upto: int | None = None) -> None:
        """Return once the journal is durable up to `upto` (default: everything appended
        so far). Without fsync, records are durable for this purpose once appended."""
        target = self._written if upto is None else upto
        if not self._fsync or self._durable >= target:
            return
        with self._sync_lock:
            if self._durable >= target:  # a sync that ran meanwhile covered it
                return
            end = self._written
            os.fdatasync(self._fd)
            self._durable = max(self._durable, end)

    def close(self) -> None:
        """Sync what was appended, and close. Later `sync` calls return at once."""
        with self._sync_lock:
            if self._fd < 0:
                return
            if self._fsync and self._durable < self._written:
                os.fdatasync(self._fd)
            self._durable = self._written
            os.close(self._fd)
            self._fd = -1


def fsync_directory(path: Path) -> None:
    """Make the creation, rename or removal of files in folder `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
