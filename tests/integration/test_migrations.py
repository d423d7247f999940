"""An empty database upgrades to head, and the models and the migrations agree."""

from __future__ import annotations

import os
import sqlite3

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db
from tests.support.database import fresh_database


@pytest.fixture
def empty_database_url(tmp_path):
    with fresh_database(tmp_path) as url:
        yield url


def _diff(app):
    with app.app_context(), db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(mc, db.metadata)


def test_upgrade_empty_database_to_head_matches_models(empty_database_url, tmp_path):
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    app = create_app({"DATABASE_URL": empty_database_url, "TESTING": True})
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert _diff(app) == []
    with app.app_context():
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
    assert _diff(app) == []
    with app.app_context():
        db.engine.dispose()


def test_the_vouchers_on_disk_move_into_the_database(empty_database_url, tmp_path):
    """Migration 8a257a95a3bc copies every voucher file of VOUCHER_DIR into stored_files (a voucher
    whose file is gone is left as it was: its download answers 404, as before)."""
    os.environ["INSTANCE_PATH"] = str(tmp_path)
    folder = tmp_path / "old-vouchers"
    folder.mkdir()
    data = b"%PDF-1.4 " + bytes(range(256)) * 5000  # 1.2 MiB: two chunks
    (folder / ("a" * 32)).write_bytes(data)
    app = create_app({"DATABASE_URL": empty_database_url, "TESTING": True, "VOUCHER_DIR": str(folder)})
    with app.app_context():
        upgrade(revision="075bcd59d4f2")
        rows = [{"id": i, "name": name} for i, name in enumerate(("a" * 32, "b" * 32), start=1)]
        insert = ("INSERT INTO vouchers (id, channel_payment_id, stored_name, original_name, content_type,"
                  " size_bytes, sha256, status, uploaded_by_user_id, created_at) VALUES (:id, 1, :name,"
                  " 'slip.pdf', 'application/pdf', 1, 'x', 'PENDING', 1, '2026-11-30 08:00:00+00:00')")
        if db.engine.dialect.name == "postgresql":  # vouchers with no parent rows: no foreign-key triggers
            with db.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                conn.execute(sa.text(insert), rows)
        else:  # a plain sqlite3 connection checks no foreign keys (the app's connections do)
            with sqlite3.connect(db.engine.url.database) as conn:
                conn.executemany(insert, rows)
        upgrade()
        from app.services.platform import file_store
        assert file_store.read("voucher/" + "a" * 32) == data
        assert not file_store.exists("voucher/" + "b" * 32)
        assert db.session.scalar(sa.text("SELECT count(*) FROM stored_file_chunks")) == 2
        db.session.remove()
        db.engine.dispose()
