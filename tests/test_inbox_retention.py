"""Retention: closed tickets and silent conversations go after RETENTION_MONTHS; transcripts
nobody agreed to share are redacted after 30 days; open tickets and consented ones are kept."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from sqlalchemy import select

from conversations.models import Conversation, Message, utcnow
from handover.models import AuditLog, HandoverTicket, TicketNote, TicketStatus
from handover.retention import REDACTED_TEXT, months_before, run_retention
from tests.conftest import free_port
from tests.inbox_support import (  # noqa: F401
    db,
    fill_rasa_tracker_store,
    inbox_app,
    make_conversation,
    make_ticket,
    rasa_event_counts,
    world,
)

DAY = timedelta(days=1)


def _ticket(db, age: timedelta, closed_ago: timedelta | None = None, **kwargs) -> HandoverTicket:
    ticket = make_ticket(db, age=age, now=utcnow() - age, **kwargs)
    if closed_ago is not None:
        ticket.status, ticket.closing_reason, ticket.closed_at = (
            TicketStatus.AFGEROND,
            "hulp_gestart",
            utcnow() - closed_ago,
        )
    db.commit()
    return ticket


def _texts(db, conversation_id: str) -> list[str]:
    return list(db.scalars(select(Message.text).where(Message.conversation_id == conversation_id).order_by(Message.id)))


def test_months_before_handles_month_ends():
    assert months_before(datetime(2025, 3, 31, tzinfo=timezone.utc), 1) == datetime(2025, 2, 28, tzinfo=timezone.utc)
    assert months_before(datetime(2025, 1, 15, tzinfo=timezone.utc), 12) == datetime(2024, 1, 15, tzinfo=timezone.utc)
    assert months_before(datetime(2025, 1, 15, tzinfo=timezone.utc), 13) == datetime(2023, 12, 15, tzinfo=timezone.utc)


def test_retention(db, world, settings):
    old_closed = _ticket(db, age=400 * DAY, closed_ago=395 * DAY)
    db.add(TicketNote(ticket=old_closed, text="oude notitie"))
    recent_closed = _ticket(db, age=340 * DAY, closed_ago=330 * DAY)
    old_open = _ticket(db, age=800 * DAY)
    silent = make_conversation(db, [("resident", "hallo"), ("bot", "Waarmee kan ik helpen?")], age=400 * DAY)
    unconsented = make_conversation(
        db,
        [("resident", "mijn schulden groeien"), ("bot", "Dat is vervelend.")],
        levensgebieden={"geld": ["mijn schulden"]},
        age=31 * DAY,
    )
    fresh = make_conversation(db, [("resident", "een vraag over de bibliotheek")], age=29 * DAY)
    consented = _ticket(db, age=60 * DAY, closed_ago=50 * DAY, consent=True)
    summary_only = _ticket(db, age=60 * DAY, closed_ago=50 * DAY, consent=["samenvatting"])
    danger = _ticket(
        db,
        age=60 * DAY,
        closed_ago=50 * DAY,
        consent=False,
        acute_danger=True,
        reason="crisis",
        summary="Inwoner noemde een wapen in huis.",
    )
    db.commit()
    ids = {
        name: t.id
        for name, t in [
            ("old_closed", old_closed),
            ("recent_closed", recent_closed),
            ("old_open", old_open),
            ("consented", consented),
            ("summary_only", summary_only),
            ("danger", danger),
        ]
    }
    conv = {
        name: t.conversation_id
        for name, t in [
            ("old_closed", old_closed),
            ("recent_closed", recent_closed),
            ("old_open", old_open),
            ("consented", consented),
            ("summary_only", summary_only),
            ("danger", danger),
        ]
    }
    conv.update(silent=silent.id, unconsented=unconsented.id, fresh=fresh.id)
    # Rasa's own copy of each conversation, in its tracker store.
    fill_rasa_tracker_store(settings, {cid: 5 for cid in conv.values()})

    counts = run_retention(db, settings=settings, retention_months=12, redact_after_days=30)
    db.commit()
    db.expire_all()

    assert counts["tickets_deleted"] == 1 and counts["conversations_deleted"] == 2
    assert db.get(HandoverTicket, ids["old_closed"]) is None and db.get(Conversation, conv["old_closed"]) is None
    assert _texts(db, conv["old_closed"]) == [] and db.scalars(select(TicketNote)).all() == []
    assert db.get(Conversation, conv["silent"]) is None
    # Kept: closed less than a year ago, and still open (however old).
    assert db.get(HandoverTicket, ids["recent_closed"]) is not None
    assert db.get(HandoverTicket, ids["old_open"]) is not None
    assert REDACTED_TEXT not in _texts(db, conv["old_open"])
    # Redacted after 30 days without consent; not before.
    assert _texts(db, conv["unconsented"]) == [REDACTED_TEXT, REDACTED_TEXT]
    assert db.get(Conversation, conv["unconsented"]).levensgebieden == {"geld": []}
    assert _texts(db, conv["fresh"]) == ["een vraag over de bibliotheek"]
    # Consent to share the conversation keeps it (until the ticket's own period ends).
    assert REDACTED_TEXT not in _texts(db, conv["consented"])
    # Consent to the summary only: the transcript goes, the summary stays.
    assert set(_texts(db, conv["summary_only"])) == {REDACTED_TEXT}
    assert db.get(HandoverTicket, ids["summary_only"]).levensgebieden == {
        "geld": ["de rekeningen"],
        "wonen": ["de huur"],
    }
    # Shared without consent in acute danger: once closed, the words go too.
    danger_ticket = db.get(HandoverTicket, ids["danger"])
    assert set(_texts(db, conv["danger"])) == {REDACTED_TEXT}
    assert danger_ticket.summary == "" and danger_ticket.levensgebieden == {"geld": [], "wonen": []}
    assert counts["conversations_redacted"] == 3
    # Rasa's copies go with them: erased and redacted conversations leave nothing in the tracker store.
    gone = {"old_closed", "silent", "unconsented", "summary_only", "danger"}
    assert rasa_event_counts(settings) == {conv[name]: 5 for name in conv if name not in gone}
    assert counts["rasa_events_deleted"] == 5 * len(gone)
    assert db.get(Conversation, conv["unconsented"]).bot_session_started is False  # a fresh bot session if they return

    # The audit trail of the deleted ticket survives it, and the run itself is logged.
    assert db.scalars(select(AuditLog).where(AuditLog.ticket_id == ids["old_closed"])).all()
    assert db.scalars(select(AuditLog).where(AuditLog.action == "retention_run")).one().detail["tickets_deleted"] == 1

    # A second run finds nothing more to do.
    again = run_retention(db, settings=settings, retention_months=12, redact_after_days=30)
    assert again == {
        "tickets_deleted": 0,
        "conversations_deleted": 0,
        "conversations_redacted": 0,
        "messages_redacted": 0,
        "unmet_questions_deleted": 0,
        "twilio_ids_forgotten": 0,
        "rasa_events_deleted": 0,
    }


def test_retention_changes_nothing_while_rasas_tracker_store_is_unreachable(db, world, settings):
    """Deleting our copy but not Rasa's would lose track of it: the run fails as a whole."""
    import dataclasses

    import pytest
    import sqlalchemy.exc

    silent = make_conversation(db, [("resident", "hallo")], age=400 * DAY)
    db.commit()
    down = dataclasses.replace(settings, rasa_tracker_store_url=f"postgresql://postgres@127.0.0.1:{free_port()}/rasa")
    with pytest.raises(sqlalchemy.exc.OperationalError):
        run_retention(db, settings=down)
    db.rollback()
    assert db.get(Conversation, silent.id) is not None
    fill_rasa_tracker_store(settings, {silent.id: 3})
    counts = run_retention(db, settings=settings)  # the store is back: the next run does it all
    db.commit()
    assert counts["conversations_deleted"] == 1 and counts["rasa_events_deleted"] == 3


def test_retention_default_is_twelve_months(db, world):
    eleven = make_conversation(db, [("resident", "hoi")], age=335 * DAY)
    thirteen = make_conversation(db, [("resident", "hoi")], age=396 * DAY)
    db.commit()
    run_retention(db)
    db.commit()
    assert db.get(Conversation, eleven.id) is not None and db.get(Conversation, thirteen.id) is None


def test_cli_commands(settings, inbox_app, db, monkeypatch):
    """`iad users create`, `iad teams create`, `iad wijken create`, `iad retention run` on the configured database."""
    from core.config import get_settings
    from handover.models import StaffUser
    from inbox.cli import retention, teams, users, wijken

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(teams, ["create", "--name", "Wijkteam Oost", "--phone", "053 333"]).exit_code == 0
        result = runner.invoke(
            wijken, ["create", "--name", "Oost", "--team", "Wijkteam Oost", "--postcodes", "7521-7525, 7530"]
        )
        assert result.exit_code == 0, result.output
        result = runner.invoke(
            users,
            ["create", "--username", "beheer", "--name", "Eerste Beheerder", "--role", "beheerder"],
            input="een-lang-wachtwoord\neen-lang-wachtwoord\n",
        )
        assert result.exit_code == 0, result.output
        result = runner.invoke(
            users,
            ["create", "--username", "kort", "--name", "K", "--team", "Wijkteam Oost"],
            env={"IAD_NEW_PASSWORD": "kort"},
        )
        assert result.exit_code != 0 and "12" in result.output
        result = runner.invoke(
            users,
            ["create", "--username", "beheer", "--name", "Dubbel"],
            env={"IAD_NEW_PASSWORD": "een-lang-wachtwoord"},
        )
        assert result.exit_code != 0 and "exists" in result.output
        db.expire_all()
        admin = db.scalars(select(StaffUser).where(StaffUser.username == "beheer")).one()
        assert admin.role == "beheerder" and admin.password_hash.startswith("$argon2id$")
        result = runner.invoke(retention, ["run"])
        assert result.exit_code == 0 and '"tickets_deleted": 0' in result.output
    finally:
        get_settings.cache_clear()


def test_resident_asks_what_is_stored_and_to_forget(db, world, settings):
    from handover.regie import forget, what_is_stored

    ticket = make_ticket(db, consent=["samenvatting"])
    conversation = ticket.conversation
    stored = what_is_stored(db, conversation)
    assert stored["messages"] == 3 and stored["levensgebieden"] == ["geld", "wonen"]
    assert stored["tickets"] == [
        {"reference": ticket.reference, "team": "Sociaal wijkteam Noord", "status": "Nieuw", "shared": ["samenvatting"]}
    ]
    assert (
        "Sociaal wijkteam Noord" in stored["message"]
        and "30 dagen" in stored["message"]
        and "wissen" in stored["message"]
    )

    ticket_id, conversation_id = ticket.id, conversation.id
    fill_rasa_tracker_store(settings, {conversation_id: 7, "another-conversation": 2})
    result = forget(db, conversation, settings=settings)
    db.commit()
    assert result["deleted_tickets"] == 1
    db.expire_all()
    assert db.get(Conversation, conversation_id) is None and db.get(HandoverTicket, ticket_id) is None
    assert _texts(db, conversation_id) == []
    assert rasa_event_counts(settings) == {"another-conversation": 2}  # Rasa's copy is gone too
    entry = db.scalars(select(AuditLog).where(AuditLog.action == "erased_on_request")).one()
    assert entry.conversation_id == conversation_id and entry.detail == {
        "ticket_ids": [ticket_id],
        "rasa_events_deleted": 7,
    }


def test_forget_while_rasas_tracker_store_is_down_is_finished_by_the_retention_run(db, world, settings):
    import dataclasses

    from handover.regie import forget

    conversation = make_conversation(db, [("resident", "wis alles")])
    db.commit()
    conversation_id = conversation.id
    down = dataclasses.replace(settings, rasa_tracker_store_url=f"postgresql://postgres@127.0.0.1:{free_port()}/rasa")
    forget(db, conversation, settings=down)  # the resident's request is not refused for it
    db.commit()
    assert db.get(Conversation, conversation_id) is None
    fill_rasa_tracker_store(settings, {conversation_id: 4})
    counts = run_retention(db, settings=settings)
    assert counts["rasa_events_deleted"] == 4 and rasa_event_counts(settings) == {}


def test_an_acute_danger_report_survives_wis_alles(db, world, settings):
    """Someone holding the resident's phone must not be able to erase a safety report: the
    acute ticket stays (the resident is told for how long); every message goes."""
    from handover.regie import forget

    acute = make_ticket(db, consent=False, acute_danger=True, reason="crisis", urgency="acuut")
    conversation = acute.conversation
    acute_id, conversation_id = acute.id, conversation.id
    fill_rasa_tracker_store(settings, {conversation_id: 5})
    result = forget(db, conversation, settings=settings)
    db.commit()
    db.expire_all()
    assert result["kept_ticket_ids"] == [acute_id] and f"{settings.retention_months} maanden" in result["message"]
    assert db.get(HandoverTicket, acute_id) is not None and db.get(Conversation, conversation_id) is not None
    assert _texts(db, conversation_id) == [] and rasa_event_counts(settings) == {}
    entry = db.scalars(select(AuditLog).where(AuditLog.action == "erased_on_request")).one()
    assert entry.detail["kept_ticket_ids"] == [acute_id]


def test_unmet_questions_are_kept_as_long_as_the_rest(db, world, settings):
    from datetime import timedelta

    from sociale_kaart.gaps import record_unmet
    from sociale_kaart.models import UnmetQuestion

    old = record_unmet(db, "een parkeervergunning voor mijn moeder", "Enschede", ["vervoer"])
    old.asked_at = utcnow() - timedelta(days=400)
    record_unmet(db, "waar kan ik   gratis   zwemles krijgen", "Almelo", ["opvoeden", "geld"])
    db.commit()
    counts = run_retention(db, settings=settings, retention_months=12, redact_after_days=30)
    assert counts["unmet_questions_deleted"] == 1
    left = db.scalars(select(UnmetQuestion)).all()
    assert [(q.text, q.gemeente, q.levensgebieden) for q in left] == [
        ("waar kan ik gratis zwemles krijgen", "Almelo", ",opvoeden,geld,")
    ]
