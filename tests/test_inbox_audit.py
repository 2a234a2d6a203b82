"""The audit log: every view and change is written; a coordinator reads it; nobody edits it
(not through the ORM, not with a bulk statement, not with raw SQL, not over HTTP)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from handover.models import AppendOnlyViolation, AuditLog
from tests.inbox_support import client, db, inbox_app, login, make_ticket, world  # noqa: F401


def _entry(db) -> AuditLog:
    ticket = make_ticket(db)
    return db.query(AuditLog).filter_by(ticket_id=ticket.id, action="ticket_created").one()


def test_orm_refuses_to_change_or_delete_an_entry(db, world):
    entry = _entry(db)
    entry.action = "iets_anders"
    with pytest.raises(AppendOnlyViolation):
        db.flush()
    db.rollback()
    entry = db.get(AuditLog, entry.id)
    db.delete(entry)
    with pytest.raises(AppendOnlyViolation):
        db.flush()
    db.rollback()
    with pytest.raises(AppendOnlyViolation):
        db.execute(update(AuditLog).values(action="weg"))
    with pytest.raises(AppendOnlyViolation):
        db.execute(delete(AuditLog))
    db.rollback()
    assert db.get(AuditLog, entry.id).action == "ticket_created"


def test_database_refuses_raw_sql(db, world):
    entry = _entry(db)
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(text("UPDATE inbox_audit_log SET action = 'weg' WHERE id = :id"), {"id": entry.id})
    db.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(text("DELETE FROM inbox_audit_log"))
    db.rollback()
    assert db.get(AuditLog, entry.id).action == "ticket_created"


def test_no_http_route_changes_the_log(client, db, world):
    make_ticket(db)
    login(client, "cora")
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/inbox/audit").status_code in (400, 405)
    before = db.query(AuditLog).count()
    assert client.get("/inbox/audit").status_code == 200
    assert db.query(AuditLog).count() == before  # reading the log does not rewrite it


def test_coordinator_reads_who_viewed_a_ticket(client, db, world):
    ticket = make_ticket(db)
    login(client, "anna")
    client.get(f"/inbox/tickets/{ticket.id}")
    client.get(f"/inbox/tickets/{ticket.id}")
    coordinator = client.application.test_client()  # a second browser
    login(coordinator, "cora")
    html = coordinator.get(f"/inbox/audit?ticket={ticket.reference}").get_data(as_text=True)
    assert html.count("<td>ticket_viewed</td>") == 2 and "<td>anna</td>" in html and "<td>ticket_created</td>" in html
    assert db.query(AuditLog).filter_by(action="ticket_viewed", ticket_id=ticket.id, username="anna").count() == 2


@pytest.mark.postgres
def test_postgres_trigger_refuses_update_delete_truncate():
    """The same append-only rule on PostgreSQL, in a throwaway database."""
    import os
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    import handover.models  # noqa: F401
    from core.db import Base
    from iad.tables import import_all_models

    server = os.environ.get("IAD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"iad_inbox_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {server}: {exc.__class__.__name__}")
    engine = create_engine(server.rsplit("/", 1)[0] + f"/{name}")
    try:
        import_all_models()
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO inbox_audit_log (at, action, detail) VALUES (now(), 'login', '{}')"))
        for statement in (
            "UPDATE inbox_audit_log SET action = 'weg'",
            "DELETE FROM inbox_audit_log",
            "TRUNCATE inbox_audit_log",
        ):
            with pytest.raises(DatabaseError, match="append-only"):
                with engine.begin() as conn:
                    conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT action FROM inbox_audit_log")).scalars().all() == ["login"]
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
