"""Inbox security: login required, team boundaries (403 + audit), CSRF, HTML shown as text,
lockout after failed logins, idle timeout, and logout killing the session cookie."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from conversations.models import Message, utcnow
from handover.models import AuditLog, HandoverTicket, StaffUser, Team, TicketNote
from tests.inbox_support import (  # noqa: F401  (fixtures)
    PASSWORD,
    client,
    csrf_from,
    db,
    inbox_app,
    login,
    make_ticket,
    post_form,
    world,
)


def test_nothing_without_login(client, db, world):
    ticket = make_ticket(db)
    for url in (
        "/inbox/",
        f"/inbox/tickets/{ticket.id}",
        f"/inbox/tickets/{ticket.id}/export.json",
        f"/inbox/tickets/{ticket.id}/export.pdf",
        "/inbox/audit",
        "/inbox/beheer/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/inbox/login"), url
    # A POST with a valid CSRF token but no login changes nothing.
    token = csrf_from(client.get("/inbox/login").get_data(as_text=True))
    response = client.post(f"/inbox/tickets/{ticket.id}/claim", data={"csrf_token": token})
    assert response.status_code == 302 and response.location.startswith("/inbox/login")
    db.expire_all()
    assert db.get(HandoverTicket, ticket.id).assigned_user_id is None
    assert "Rekeningen" not in client.get("/inbox/login").get_data(as_text=True)


def test_medewerker_of_team_a_cannot_open_team_b_ticket(client, db, world):
    own = make_ticket(db, postcode="7512 AB")  # Noord: team A
    other = make_ticket(db, postcode="7545 CD")  # Zuid: team B
    assert own.team_id == world.team_a.id and other.team_id == world.team_b.id
    assert login(client, "anna").status_code == 302

    queue = client.get("/inbox/").get_data(as_text=True)
    assert own.reference in queue and other.reference not in queue
    assert client.get(f"/inbox/?team={world.team_b.id}").get_data(as_text=True).count(other.reference) == 0

    for url in (
        f"/inbox/tickets/{other.id}",
        f"/inbox/tickets/{other.id}/export.json",
        f"/inbox/tickets/{other.id}/export.pdf",
    ):
        assert client.get(url).status_code == 403, url
    response = post_form(client, f"/inbox/tickets/{own.id}", f"/inbox/tickets/{other.id}/claim", {})
    assert response.status_code == 403
    response = post_form(
        client, f"/inbox/tickets/{own.id}", f"/inbox/tickets/{other.id}/reply", {"reply-text": "hallo"}
    )
    assert response.status_code == 403

    denied = db.scalars(
        select(AuditLog).where(AuditLog.action == "access_denied", AuditLog.ticket_id == other.id)
    ).all()
    assert len(denied) == 5 and {d.username for d in denied} == {"anna"}
    db.expire_all()
    assert db.get(HandoverTicket, other.id).assigned_user_id is None
    assert not db.scalars(
        select(Message).where(Message.conversation_id == other.conversation_id, Message.sender == "staff")
    ).all()
    # The coordinator sees both queues.
    client.post("/inbox/logout", data={"csrf_token": csrf_from(client.get("/inbox/").get_data(as_text=True))})
    login(client, "cora")
    queue = client.get("/inbox/").get_data(as_text=True)
    assert own.reference in queue and other.reference in queue
    assert client.get(f"/inbox/tickets/{other.id}").status_code == 200


def test_medewerker_cannot_read_audit_log_or_beheer(client, db, world):
    login(client, "anna")
    assert client.get("/inbox/audit").status_code == 403
    assert client.get("/inbox/beheer/").status_code == 403
    actions = db.scalars(select(AuditLog.action).where(AuditLog.username == "anna")).all()
    assert actions.count("access_denied") == 2


def test_csrf_token_is_required(client, db, world):
    ticket = make_ticket(db)
    # Login itself needs the token.
    response = client.post("/inbox/login", data={"username": "anna", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/inbox/").status_code == 302  # not logged in
    login(client, "anna")
    for data in ({"note-text": "zonder token"}, {"note-text": "vals token", "csrf_token": "abc.def"}):
        response = client.post(f"/inbox/tickets/{ticket.id}/notes", data=data)
        assert response.status_code == 400
        assert "Formulier verlopen" in response.get_data(as_text=True)
    response = client.post(f"/inbox/tickets/{ticket.id}/reply", data={"reply-text": "zonder token"})
    assert response.status_code == 400
    assert db.scalars(select(TicketNote)).all() == []
    assert not db.scalars(select(Message).where(Message.sender == "staff")).all()
    # With the page's token it works.
    response = post_form(
        client, f"/inbox/tickets/{ticket.id}", f"/inbox/tickets/{ticket.id}/notes", {"note-text": "met token"}
    )
    assert response.status_code == 302
    assert [n.text for n in db.scalars(select(TicketNote))] == ["met token"]
    # Beheer forms too.
    client.post("/inbox/logout", data={"csrf_token": csrf_from(client.get("/inbox/").get_data(as_text=True))})
    login(client, "bea")
    response = client.post("/inbox/beheer/teams/nieuw", data={"name": "Zonder token", "active": "y"})
    assert response.status_code == 400
    assert db.scalars(select(Team).where(Team.name == "Zonder token")).first() is None


def test_json_chat_api_needs_no_csrf_token(client, world):
    # The inbox's CSRF protection must not break the residents' chat API.
    response = client.post("/api/chat/conversations", json={})
    assert response.status_code == 201


def test_html_from_a_resident_is_shown_as_text(client, db, world):
    payload = '<script>alert("x")</script><img src=x onerror="alert(1)">'
    ticket = make_ticket(
        db,
        messages=[("resident", payload), ("resident", "gewoon tekst & meer")],
        levensgebieden={"geld": ['<b onmouseover="alert(2)">schulden</b>']},
        summary="Samenvatting met <iframe src=//evil></iframe>",
    )
    login(client, "anna")
    response = client.get(f"/inbox/tickets/{ticket.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        "<script>alert" not in html
        and "<img src=x" not in html
        and "<iframe" not in html
        and "<b onmouseover" not in html
    )
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "gewoon tekst &amp; meer" in html
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_failed_logins_lock_the_account(client, db, world, inbox_app):
    attempts = inbox_app.extensions["inbox_settings"].lockout_attempts
    for _ in range(attempts - 1):
        response = login(client, "anna", "fout-wachtwoord-123")
        assert response.status_code == 401
        assert "klopt niet" in response.get_data(as_text=True)
    response = login(client, "anna", "fout-wachtwoord-123")
    assert response.status_code == 401 and "geblokkeerd" in response.get_data(as_text=True)
    # Now even the right password is refused, and nothing reveals that it was right.
    response = login(client, "anna", PASSWORD)
    assert response.status_code == 401 and "geblokkeerd" in response.get_data(as_text=True)
    assert client.get("/inbox/").status_code == 302
    actions = db.scalars(select(AuditLog.action).where(AuditLog.username == "anna").order_by(AuditLog.id)).all()
    assert actions == ["login_failed"] * (attempts - 1) + ["account_locked", "login_refused_locked"]
    # Once the lock has expired, the right password works again.
    db.expire_all()
    anna = db.get(StaffUser, world.anna.id)
    anna.locked_until = utcnow() - timedelta(seconds=1)
    db.commit()
    assert login(client, "anna", PASSWORD).status_code == 302
    assert client.get("/inbox/").status_code == 200


def test_wrong_guesses_sent_in_parallel_each_count(db, world, inbox_app):
    """The counter is raised in the database, not read and written back: a second session
    that read the account before the first guess was stored still adds its own."""
    from sqlalchemy.orm import Session

    from inbox.auth import authenticate

    settings = inbox_app.extensions["inbox_settings"]
    other = Session(db.get_bind(), expire_on_commit=False)
    stale = other.get(StaffUser, world.anna.id)  # read before the first guess (and kept)
    assert stale.failed_logins == 0
    other.commit()
    assert authenticate(db, "anna", "fout-een", settings).error == "invalid"
    db.commit()
    assert authenticate(other, "anna", "fout-twee", settings).error == "invalid"
    other.commit()
    other.close()
    db.expire_all()
    assert db.get(StaffUser, world.anna.id).failed_logins == 2


def test_unknown_user_gets_the_same_answer(client, world):
    response = login(client, "niemand", PASSWORD)
    assert response.status_code == 401 and "klopt niet" in response.get_data(as_text=True)


def test_idle_session_times_out(client, world, inbox_app):
    login(client, "anna")
    assert client.get("/inbox/").status_code == 200
    timeout = inbox_app.extensions["inbox_settings"].session_timeout_minutes * 60
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - timeout - 5
    response = client.get("/inbox/")
    assert response.status_code == 302 and response.location.startswith("/inbox/login")
    assert "niets deed" in client.get(response.location).get_data(as_text=True)


def test_logout_kills_a_copied_cookie(client, inbox_app, world):
    login(client, "anna")
    with client.session_transaction() as session:
        stolen = dict(session)
    client.post("/inbox/logout", data={"csrf_token": csrf_from(client.get("/inbox/").get_data(as_text=True))})
    thief = inbox_app.test_client()
    with thief.session_transaction() as session:
        session.update(stolen)
    assert thief.get("/inbox/").status_code == 302


def test_login_redirect_stays_inside_the_inbox(client, world):
    page = client.get("/inbox/login?next=https://evil.example/")
    response = client.post(
        "/inbox/login?next=https://evil.example/",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "username": "anna", "password": PASSWORD},
    )
    assert response.location == "/inbox/"


def test_passwords_are_stored_as_argon2id(db, world):
    stored = db.get(StaffUser, world.anna.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
