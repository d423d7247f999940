"""Files kept for download, in the database (``models/stored_file.py``): any web process serves what
any other process stored (docs/ARCHITECTURE.md §12, "No local state").

``put`` writes a file from an iterable of byte strings in the caller's transaction, in chunks of
``CHUNK_BYTES`` (a large export never sits whole in memory); ``stream`` reads it back one chunk per
query. Keys name what a file is (``voucher/<uuid>``, ``export/<job>.csv``) and are unique.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime

import sqlalchemy as sa

from ...extensions import db
from ...models import StoredFile, StoredFileChunk
from ...models.types import now_utc

CHUNK_BYTES = 1024 * 1024


def put(key: str, parts: Iterable[bytes], content_type: str, expires_at: datetime | None = None) -> StoredFile:
    """Store the bytes of ``parts`` under ``key`` (in the caller's transaction)."""
    stored = StoredFile(key=key, content_type=content_type, size_bytes=0, sha256="", created_at=now_utc(),
                        expires_at=expires_at)
    db.session.add(stored)
    db.session.flush()
    digest, size, seq = hashlib.sha256(), 0, 0
    pending = bytearray()

    def write(data: bytes) -> None:
        nonlocal seq
        db.session.execute(sa.insert(StoredFileChunk).values(file_id=stored.id, seq=seq, data=data))
        seq += 1

    for part in parts:
        digest.update(part)
        size += len(part)
        pending += part
        while len(pending) >= CHUNK_BYTES:
            write(bytes(pending[:CHUNK_BYTES]))
            del pending[:CHUNK_BYTES]
    if pending or seq == 0:
        write(bytes(pending))
    stored.size_bytes, stored.sha256 = size, digest.hexdigest()
    db.session.flush()
    return stored


def put_file(key: str, path: str, content_type: str, expires_at: datetime | None = None) -> StoredFile:
    """Store the file at ``path`` (a worker's scratch file) under ``key``."""
    with open(path, "rb") as f:
        return put(key, iter(lambda: f.read(CHUNK_BYTES), b""), content_type, expires_at)


def find(key: str) -> StoredFile | None:
    return db.session.scalar(sa.select(StoredFile).where(StoredFile.key == key))


def exists(key: str) -> bool:
    return db.session.scalar(sa.select(StoredFile.id).where(StoredFile.key == key)) is not None


def read(key: str) -> bytes:
    """The whole file (for small ones: a voucher); KeyError when there is none."""
    return b"".join(stream(key))


def stream(key: str) -> Iterator[bytes]:
    """The file's chunks in order, one query each; KeyError (at the first ``next``) when there is none."""
    file_id = db.session.scalar(sa.select(StoredFile.id).where(StoredFile.key == key))
    if file_id is None:
        raise KeyError(key)
    seq = 0
    while True:
        data = db.session.scalar(sa.select(StoredFileChunk.data).where(
            StoredFileChunk.file_id == file_id, StoredFileChunk.seq == seq))
        if data is None:
            return
        yield data
        seq += 1


def delete_expired(now: datetime | None = None) -> int:
    """Remove the files whose time is up (in the caller's transaction); how many."""
    ids = list(db.session.scalars(sa.select(StoredFile.id).where(StoredFile.expires_at < (now or now_utc()))))
    if ids:
        db.session.execute(sa.delete(StoredFileChunk).where(StoredFileChunk.file_id.in_(ids)))
        db.session.execute(sa.delete(StoredFile).where(StoredFile.id.in_(ids)))
    return len(ids)
