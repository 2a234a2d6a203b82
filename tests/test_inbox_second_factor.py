"""Staff sign in with a password and a code from an authenticator app (inbox/second_factor.py):
set up at the first sign-in, each code once, wrong codes locked out like wrong passwords."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from core.db import get_engine, session_factory
from handover.models import AuditLog, StaffUser
from inbox import second_factor
from tests.inbox_support import (
    TEST_INBOX_SETTINGS,
    csrf_from,
    login,
    make_inbox_app,
    make_world,
    post_form,
)

REQUIRED = dataclasses.replace(TEST_INBOX_SETTINGS, second_factor=True)


@pytest.fixture
def app(settings):
    return make_inbox_app(settings, REQUIRED)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app, settings):
    session = session_factory(get_engine(settings.database_url))()
    yield session
    session.close()


@pytest.fixture
def world(db):
    return make_world(db)


def send_code(client, code: str):
    page = client.get("/inbox/login/code")
    assert page.status_code == 200, page.status_code
    return client.post("/inbox/login/code", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "code": code})


def enrolment_secret(client) -> str:
    """The key the enrolment page shows for typing over (the same one as in its QR code)."""
    html = client.get("/inbox/login/code").get_data(as_text=True)
    return re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")


def enrol(client, username: str = "anna") -> str:
    assert login(client, username).status_code == 302
    secret = enrolment_secret(client)
    assert send_code(client, pyotp.TOTP(secret).now()).status_code == 302
    return secret


def log_out(client) -> None:
    post_form(client, "/inbox/", "/inbox/logout", {})


def audit_actions(db, username: str = "anna") -> list[str]:
    db.expire_all()
    return db.scalars(select(AuditLog.action).where(AuditLog.username == username).order_by(AuditLog.id)).all()


def test_the_password_alone_opens_nothing(client, world):
    response = login(client, "anna")
    assert response.status_code == 302 and response.location.endswith("/inbox/login/code")
    assert client.get("/inbox/").status_code == 302  # not signed in yet
    assert client.get("/inbox/tickets/1").status_code == 302


def test_the_first_sign_in_sets_up_the_app_with_a_qr_code(client, db, world):
    login(client, "anna")
    page = client.get("/inbox/login/code").get_data(as_text=True)
    assert "Tweede stap instellen" in page and "<svg" in page
    secret = enrolment_secret(client)
    assert enrolment_secret(client) == secret  # the same key on every reload of the page
    assert send_code(client, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111").status_code == 401
    assert send_code(client, pyotp.TOTP(secret).now()).status_code == 302
    assert client.get("/inbox/").status_code == 200
    db.expire_all()
    stored = db.get(StaffUser, world.anna.id).totp_secret
    assert stored and secret not in stored  # kept encrypted
    assert audit_actions(db) == ["login_failed", "second_factor_enrolled", "login"]


def test_after_set_up_every_sign_in_asks_for_a_code_and_each_code_works_once(client, db, world):
    secret = enrol(client)
    log_out(client)
    assert login(client, "anna").status_code == 302
    page = client.get("/inbox/login/code").get_data(as_text=True)
    assert "Code invullen" in page and "<svg" not in page and secret not in page
    code = pyotp.TOTP(secret).now()
    # The code used to set up is spent: only the next time step's code works.
    later = pyotp.TOTP(secret).at(datetime.now() + timedelta(seconds=30))
    if later != code:
        assert send_code(client, code).status_code == 401
    assert send_code(client, later).status_code == 302
    assert client.get("/inbox/").status_code == 200
    log_out(client)
    login(client, "anna")
    assert send_code(client, later).status_code == 401  # seen over a shoulder: worthless now


def test_wrong_codes_lock_the_account_like_wrong_passwords(client, db, world):
    secret = enrol(client)
    log_out(client)
    login(client, "anna")
    right = {pyotp.TOTP(secret).at(datetime.now() + timedelta(seconds=s)) for s in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(1000) if f"{n:06d}" not in right)
    for _ in range(REQUIRED.lockout_attempts - 1):
        assert send_code(client, wrong).status_code == 401
    locked = send_code(client, wrong)
    assert locked.status_code == 302 and locked.location.endswith("/inbox/login")
    assert "geblokkeerd" in client.get("/inbox/login").get_data(as_text=True)
    # Locked: the password is not even checked, so no new code page either.
    assert login(client, "anna").status_code == 401
    assert audit_actions(db)[-3:] == ["login_failed", "account_locked", "login_refused_locked"]


def test_a_copied_cookie_cannot_go_on_guessing_after_the_lock(client, db, world):
    """The lock lives in the database: a script that keeps sending the cookie it had before
    the lock (ignoring the cleared one) is refused, even with the right code."""
    secret = enrol(client)
    log_out(client)
    login(client, "anna")
    with client.session_transaction() as session:
        kept = dict(session)  # the attacker's copy of the cookie between password and code
    right = {pyotp.TOTP(secret).at(datetime.now() + timedelta(seconds=s)) for s in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(1000) if f"{n:06d}" not in right)
    for _ in range(REQUIRED.lockout_attempts):
        with client.session_transaction() as session:
            session.update(kept)
        send_code(client, wrong)
    with client.session_transaction() as session:
        session.update(kept)
    page = client.get("/inbox/login/code")
    assert page.status_code == 302 and page.location.endswith("/inbox/login")
    with client.session_transaction() as session:
        session.update(kept)
    token = csrf_from(client.get("/inbox/login").get_data(as_text=True))
    with client.session_transaction() as session:
        session.update(kept)
    later = pyotp.TOTP(secret).at(datetime.now() + timedelta(seconds=30))
    refused = client.post("/inbox/login/code", data={"csrf_token": token, "code": later})
    assert refused.status_code == 302 and refused.location.endswith("/inbox/login")
    assert client.get("/inbox/").status_code == 302  # not signed in
    db.expire_all()
    assert db.get(StaffUser, world.anna.id).locked_until is not None  # and the lock stands


def test_the_code_step_lapses_and_cannot_be_reached_without_the_password(client, world):
    assert client.get("/inbox/login/code").location.endswith("/inbox/login")
    login(client, "anna")
    with client.session_transaction() as session:
        session["pending_at"] = int(time.time()) - second_factor.PENDING_SECONDS - 1
    assert client.get("/inbox/login/code").location.endswith("/inbox/login")


def test_a_code_secret_that_cannot_be_read_is_never_replaced_by_someone_with_the_password(client, db, world):
    enrol(client)
    log_out(client)
    db.expire_all()
    anna = db.get(StaffUser, world.anna.id)
    anna.totp_secret = second_factor.seal(pyotp.random_base32(), "an-earlier-secret-key-0123456789")
    db.commit()
    login(client, "anna")
    response = client.get("/inbox/login/code")
    assert response.status_code == 302 and response.location.endswith("/inbox/login")
    assert "beheerder" in client.get("/inbox/login").get_data(as_text=True)


def test_a_beheerder_can_reset_a_lost_phone(client, db, world, app):
    enrol(client, "anna")
    other = app.test_client()
    enrol(other, "bea")
    response = post_form(
        other,
        f"/inbox/beheer/gebruikers/{world.anna.id}",
        f"/inbox/beheer/gebruikers/{world.anna.id}",
        {
            "username": "anna",
            "display_name": "Anna de Vries",
            "role": "medewerker",
            "teams": str(world.team_a.id),
            "active": "y",
            "reset_second_factor": "y",
        },
    )
    assert response.status_code == 302
    assert client.get("/inbox/").status_code == 302  # signed out everywhere
    login(client, "anna")
    assert "Tweede stap instellen" in client.get("/inbox/login/code").get_data(as_text=True)


def test_without_the_setting_an_account_without_a_code_signs_in_with_the_password(settings, db):
    plain = make_inbox_app(settings, TEST_INBOX_SETTINGS).test_client()
    make_world(db)
    assert login(plain, "anna").location.endswith("/inbox/")
    assert plain.get("/inbox/").status_code == 200


def test_outside_development_the_second_factor_is_on_by_default(monkeypatch):
    from core.config import load_settings

    monkeypatch.setenv("IAD_ENV", "production")
    monkeypatch.delenv("INBOX_SECOND_FACTOR", raising=False)
    assert load_settings().inbox_second_factor is True
    monkeypatch.setenv("IAD_ENV", "development")
    assert load_settings().inbox_second_factor is False


def test_a_code_from_a_phone_clock_half_a_minute_off_still_works():
    secret = pyotp.random_base32()
    now = datetime.now()
    step = pyotp.TOTP(secret).timecode(now)
    assert second_factor.matching_step(secret, pyotp.TOTP(secret).at(now - timedelta(seconds=30)), now) == step - 1
    assert second_factor.matching_step(secret, pyotp.TOTP(secret).at(now + timedelta(seconds=90)), now) is None
    assert second_factor.matching_step(secret, "12 34 5x", now) is None
    code = pyotp.TOTP(secret).at(now)
    assert second_factor.matching_step(secret, f"{code[:3]} {code[3:]}", now) == step  # typed with a space


def test_the_command_line_resets_a_second_factor(client, db, world, settings, monkeypatch):
    from click.testing import CliRunner

    from inbox.cli import users

    enrol(client)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    from core.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(users, ["reset-second-factor", "--username", "anna"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert db.get(StaffUser, world.anna.id).totp_secret is None
    assert client.get("/inbox/").status_code == 302  # signed out
