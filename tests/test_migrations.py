"""The Alembic migrations build exactly the schema the models declare, on SQLite and on
the real PostgreSQL server, and the audit log is append-only in both."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError

from core.config import PROJECT_ROOT

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def check_schema(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.check(config)  # raises when the models and the migrated schema differ
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO inbox_audit_log (at, action, detail) VALUES (CURRENT_TIMESTAMP, 'test', '{}')"))
    with pytest.raises(DatabaseError):
        with engine.begin() as conn:
            conn.execute(text("UPDATE inbox_audit_log SET action = 'changed'"))
    with pytest.raises(DatabaseError):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM inbox_audit_log"))
    engine.dispose()
    command.downgrade(config, "base")


def test_migrations_match_the_models_on_sqlite(tmp_path):
    check_schema(f"sqlite:///{tmp_path / 'migrated.db'}")


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgresql():
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        admin.connect().close()
    except Exception as exc:  # no server: say so
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 not reachable: {exc}")
    name = f"iad_migrations_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        check_schema(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
