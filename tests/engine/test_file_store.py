"""Files kept for download in the database (platform/file_store.py): written whole in the caller's
transaction in chunks, read back chunk by chunk, removed when their time is up."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import StoredFile, StoredFileChunk
from app.models.types import now_utc
from app.services.platform import file_store


def test_a_file_is_kept_in_chunks_and_read_back_whole(ctx, monkeypatch):
    monkeypatch.setattr(file_store, "CHUNK_BYTES", 10)
    parts = [b"0123456", b"789abcdefghij", b"", b"klmnopqrstuvwxyz!"]
    data = b"".join(parts)
    stored = file_store.put("export/x.csv", parts, "text/csv")
    db.session.commit()
    assert (stored.size_bytes, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    chunks = list(file_store.stream("export/x.csv"))
    assert [len(c) for c in chunks] == [10, 10, 10, 7]
    assert b"".join(chunks) == file_store.read("export/x.csv") == data
    assert file_store.exists("export/x.csv") and not file_store.exists("export/y.csv")


def test_an_empty_file_is_a_file(ctx):
    file_store.put("voucher/empty", [], "application/pdf")
    db.session.commit()
    assert file_store.read("voucher/empty") == b""
    assert file_store.find("voucher/empty").size_bytes == 0


def test_a_missing_file_is_a_key_error(ctx):
    with pytest.raises(KeyError):
        file_store.read("voucher/none")


def test_a_rolled_back_file_leaves_nothing(ctx):
    file_store.put("voucher/lost", [b"x" * 100], "image/png")
    db.session.rollback()
    assert not file_store.exists("voucher/lost")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFileChunk)) == 0


def test_a_second_file_under_the_same_key_is_refused(ctx):
    file_store.put("voucher/one", [b"a"], "image/png")
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        file_store.put("voucher/one", [b"b"], "image/png")
    db.session.rollback()
    assert file_store.read("voucher/one") == b"a"


def test_only_the_files_whose_time_is_up_are_removed(ctx):
    now = now_utc()
    file_store.put("export/old.csv", [b"old"], "text/csv", expires_at=now - timedelta(seconds=1))
    file_store.put("export/new.csv", [b"new"], "text/csv", expires_at=now + timedelta(hours=1))
    file_store.put("voucher/kept", [b"kept"], "image/png")
    db.session.commit()
    assert file_store.delete_expired(now) == 1
    db.session.commit()
    assert sorted(db.session.scalars(sa.select(StoredFile.key))) == ["export/new.csv", "voucher/kept"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFileChunk)) == 2
