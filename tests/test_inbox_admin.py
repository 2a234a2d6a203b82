"""Beheer: the beheerder makes teams, wijken (postcodes route handovers) and staff accounts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from conversations.models import utcnow
from handover.models import AuditLog, StaffUser, Team, Wijk
from tests.inbox_support import client, csrf_from, db, inbox_app, login, make_ticket, post_form, world  # noqa: F401


def _logout(client):
    client.post("/inbox/logout", data={"csrf_token": csrf_from(client.get("/inbox/").get_data(as_text=True))})


def test_beheerder_sets_up_a_team_wijk_and_colleague(client, db, world):
    login(client, "bea")
    assert client.get("/inbox/beheer/").status_code == 200
    response = post_form(
        client,
        "/inbox/beheer/teams/nieuw",
        "/inbox/beheer/teams/nieuw",
        {"name": "Sociaal wijkteam Oost", "phone": "053 444 4444", "active": "y"},
    )
    assert response.status_code == 302
    oost = db.scalars(select(Team).where(Team.name == "Sociaal wijkteam Oost")).one()

    response = post_form(
        client,
        "/inbox/beheer/wijken/nieuw",
        "/inbox/beheer/wijken/nieuw",
        {"name": "Oost", "team": oost.id, "postcodes": "7521-7525, 7530"},
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.scalars(select(Wijk).where(Wijk.name == "Oost")).one().ranges_text() == "7521-7525, 7530"
    response = post_form(
        client,
        "/inbox/beheer/wijken/nieuw",
        "/inbox/beheer/wijken/nieuw",
        {"name": "Fout", "team": oost.id, "postcodes": "75x1"},
    )
    assert response.status_code == 400 and "Bijvoorbeeld" in response.get_data(as_text=True)

    response = post_form(
        client,
        "/inbox/beheer/gebruikers/nieuw",
        "/inbox/beheer/gebruikers/nieuw",
        {
            "username": "olaf",
            "display_name": "Olaf Oost",
            "role": "medewerker",
            "teams": [oost.id],
            "password": "een-goed-wachtwoord",
            "active": "y",
        },
    )
    assert response.status_code == 302
    response = post_form(
        client,
        "/inbox/beheer/gebruikers/nieuw",
        "/inbox/beheer/gebruikers/nieuw",
        {"username": "OLAF", "display_name": "Dubbel", "role": "medewerker", "password": "een-goed-wachtwoord"},
    )
    assert response.status_code == 400 and "bestaat al" in response.get_data(as_text=True)
    response = post_form(
        client,
        "/inbox/beheer/gebruikers/nieuw",
        "/inbox/beheer/gebruikers/nieuw",
        {"username": "kort", "display_name": "Kort", "role": "medewerker", "password": "kort"},
    )
    assert response.status_code == 400

    # A handover from postcode 7530 lands in Oost's queue, and Olaf can open it.
    ticket = make_ticket(db, postcode="7530 KL")
    assert ticket.team_id == oost.id
    _logout(client)
    assert login(client, "olaf", "een-goed-wachtwoord").status_code == 302
    assert client.get(f"/inbox/tickets/{ticket.id}").status_code == 200

    actions = set(db.scalars(select(AuditLog.action).where(AuditLog.username == "bea")))
    assert {"team_created", "wijk_created", "user_created"} <= actions


def test_beheerder_unlocks_and_deactivates(client, db, world):
    anna = db.get(StaffUser, world.anna.id)
    anna.locked_until = utcnow() + timedelta(minutes=10)
    db.commit()
    login(client, "bea")
    page = f"/inbox/beheer/gebruikers/{world.anna.id}"
    form = {
        "username": "anna",
        "display_name": "Anna de Vries",
        "role": "medewerker",
        "teams": [world.team_a.id],
        "active": "y",
    }
    assert post_form(client, page, page, {**form, "unlock": "y"}).status_code == 302
    db.expire_all()
    assert db.get(StaffUser, world.anna.id).locked_until is None

    anna_browser = client.application.test_client()
    assert login(anna_browser, "anna").status_code == 302
    assert anna_browser.get("/inbox/").status_code == 200
    # Switched off: her open session ends, and she cannot log in again.
    assert post_form(client, page, page, {k: v for k, v in form.items() if k != "active"}).status_code == 302
    assert anna_browser.get("/inbox/").status_code == 302
    assert login(anna_browser, "anna").status_code == 401


def test_only_the_beheerder_manages(client, world):
    for username in ("anna", "cora"):
        login(client, username)
        assert client.get("/inbox/beheer/").status_code == 403
        assert client.get("/inbox/beheer/gebruikers/nieuw").status_code == 403
        _logout(client)
