"""Shared set-up for the inbox tests: an app with the inbox registered, two wijkteams with
their wijken, four staff members, and tickets made the way the bot makes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

from conversations.models import Conversation, Message, utcnow
from handover.settings import InboxSettings, load_inbox_settings

PASSWORD = "lang-genoeg-wachtwoord-42"
TEST_INBOX_SETTINGS = InboxSettings(
    **{**load_inbox_settings().__dict__, "lockout_attempts": 3, "lockout_minutes": 15, "session_timeout_minutes": 30}
)


def make_inbox_app(settings, inbox_settings: InboxSettings = TEST_INBOX_SETTINGS):
    import handover.models  # noqa: F401
    import inbox
    from core.db import Base, get_engine
    from iad.app import create_app
    from iad.tables import import_all_models

    import_all_models()
    Base.metadata.create_all(get_engine(settings.database_url))
    app = create_app(settings)
    if "inbox" in app.blueprints:  # create_app registers the inbox already
        app.extensions["inbox_settings"] = inbox_settings
    else:
        inbox.init_app(app, inbox_settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def inbox_app(settings):
    return make_inbox_app(settings)


@pytest.fixture
def client(inbox_app):
    return inbox_app.test_client()


@pytest.fixture
def db(inbox_app, settings):
    from core.db import get_engine, session_factory

    session = session_factory(get_engine(settings.database_url))()
    yield session
    session.close()


@dataclass
class World:
    team_a: object
    team_b: object
    loket: object
    wijk_a: object
    wijk_b: object
    anna: object  # medewerker, team A
    bram: object  # medewerker, team B
    cora: object  # coordinator
    bea: object  # beheerder


def make_world(session) -> World:
    from handover.models import PostcodeRange, StaffUser, Team, Wijk
    from inbox.auth import hash_password

    password_hash = hash_password(PASSWORD)
    team_a = Team(name="Sociaal wijkteam Noord", phone="053 111 1111")
    team_b = Team(name="Sociaal wijkteam Zuid", phone="053 222 2222")
    loket = Team(name="IAD-loket", is_default=True)
    wijk_a = Wijk(name="Noord", team=team_a, postcode_ranges=[PostcodeRange(start=7511, end=7515)])
    wijk_b = Wijk(
        name="Zuid",
        team=team_b,
        postcode_ranges=[PostcodeRange(start=7541, end=7548), PostcodeRange(start=7550, end=7550)],
    )

    def user(username, name, role, teams):
        return StaffUser(username=username, display_name=name, role=role, password_hash=password_hash, teams=teams)

    world = World(
        team_a,
        team_b,
        loket,
        wijk_a,
        wijk_b,
        anna=user("anna", "Anna de Vries", "medewerker", [team_a]),
        bram=user("bram", "Bram Jansen", "medewerker", [team_b]),
        cora=user("cora", "Cora Smit", "coordinator", []),
        bea=user("bea", "Bea Bakker", "beheerder", []),
    )
    session.add_all([team_a, team_b, loket, wijk_a, wijk_b, world.anna, world.bram, world.cora, world.bea])
    session.commit()
    return world


@pytest.fixture
def world(db):
    return make_world(db)


def make_conversation(
    session, messages: list[tuple[str, str]], *, channel="web", levensgebieden=None, age: timedelta = timedelta(0)
) -> Conversation:
    """A conversation as the front door stores it; `age` puts it in the past."""
    start = utcnow() - age - timedelta(seconds=len(messages))
    conversation = Conversation(
        channel=channel, gemeente="Enschede", levensgebieden=levensgebieden or {}, created_at=start
    )
    session.add(conversation)
    for i, (sender, text) in enumerate(messages):
        session.add(
            Message(conversation=conversation, sender=sender, text=text, created_at=start + timedelta(seconds=i))
        )
    session.flush()
    return conversation


def make_ticket(session, *, postcode="7512 AB", consent=True, messages=None, levensgebieden=None, **kwargs):
    from handover.tickets import open_handover_ticket

    conversation = make_conversation(
        session,
        messages
        or [
            ("resident", "Ik kom er niet meer uit met de rekeningen en de huur."),
            ("bot", "Dat klinkt zwaar. Wilt u dat iemand van het wijkteam met u meekijkt?"),
            ("resident", "ja graag"),
        ],
        levensgebieden=levensgebieden
        if levensgebieden is not None
        else {"geld": ["de rekeningen"], "wonen": ["de huur"]},
        age=kwargs.pop("age", timedelta(0)),
    )
    params = {
        "reason": "meerdere_levensgebieden",
        "urgency": "normaal",
        "consent": consent,
        "contact_preference": "chat",
        "contact_window": "liefst overdag",
    }
    params.update(kwargs)
    ticket = open_handover_ticket(session, conversation, postcode=postcode, **params)
    session.commit()
    return ticket


def csrf_from(html: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    assert match, "no csrf_token field on the page"
    value = re.search(r'value="([^"]+)"', match.group(0))
    assert value
    return value.group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/inbox/login")
    return client.post(
        "/inbox/login",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "username": username, "password": password},
    )


def post_form(client, page_url: str, action_url: str, data: dict):
    """Posts like a browser does: with the CSRF token of the page the form is on."""
    page = client.get(page_url)
    return client.post(action_url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def fill_rasa_tracker_store(settings, events_per_conversation: dict[str, int]) -> None:
    """A SQLite tracker store with Rasa 3.6's own `events` table (SQLTrackerStore.SQLEvent),
    holding that many events for each conversation id (the Rasa sender id)."""
    import sqlalchemy as sa

    engine = sa.create_engine(settings.rasa_tracker_store_url)
    metadata = sa.MetaData()
    events = sa.Table(
        "events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False, index=True),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String(255)),
        sa.Column("action_name", sa.String(255)),
        sa.Column("data", sa.Text),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        for sender_id, count in events_per_conversation.items():
            connection.execute(
                events.insert(),
                [
                    {
                        "sender_id": sender_id,
                        "type_name": "user",
                        "timestamp": float(i),
                        "data": '{"text": "mijn schulden"}',
                    }
                    for i in range(count)
                ],
            )
    engine.dispose()


def rasa_event_counts(settings) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(settings.rasa_tracker_store_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")).all()
    engine.dispose()
    return dict(rows)
