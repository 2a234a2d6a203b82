"""Staff sign-in: argon2 password hashes, lockout after repeated failures, an idle timeout,
and a per-login token so a copied cookie stops working at logout."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import abort, current_app, flash, g, redirect, request, session, url_for
from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from conversations.models import as_utc, utcnow
from handover import audit
from handover.models import ROLES, StaffUser
from handover.settings import InboxSettings

_hasher = PasswordHasher()  # argon2id with the RFC 9106 defaults of argon2-cffi
# Verified against when the username is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

MIN_PASSWORD_LENGTH = 12


class PasswordTooWeak(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"Een wachtwoord heeft minstens {MIN_PASSWORD_LENGTH} tekens.")
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass
class LoginResult:
    user: StaffUser | None
    error: str | None = None  # "invalid", "locked"
    locked_until: datetime | None = None


def check_password(
    session: Session, username: str, password: str, settings: InboxSettings, *, ip: str | None = None
) -> LoginResult:
    """The first step: is the password right (and the account not locked)? Signs nobody in."""
    now = utcnow()
    user = session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == username.strip().lower()))
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        audit.record(
            session, "login_failed", username=username.strip()[:80], detail={"why": "unknown_or_inactive"}, ip=ip
        )
        return LoginResult(None, "invalid")
    if user.locked_until and as_utc(user.locked_until) > now:
        # Not even checked: a locked account cannot be guessed further.
        audit.record(session, "login_refused_locked", user=user, ip=ip)
        return LoginResult(None, "locked", as_utc(user.locked_until))
    if not _verify(user.password_hash, password):
        return count_failure(session, user, settings, ip=ip)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return LoginResult(user)


def is_locked(user: StaffUser, *, fresh: bool = False) -> bool:
    """fresh: read the lock from the database again (a parallel guess may just have set it)."""
    if fresh:
        state = inspect(user).session
        if state is not None:
            state.refresh(user, ["locked_until"])
    return bool(user.locked_until and as_utc(user.locked_until) > utcnow())


def count_failure(
    session: Session, user: StaffUser, settings: InboxSettings, *, ip: str | None = None, why: str = "password"
) -> LoginResult:
    """A wrong password or a wrong second-factor code: one more failed attempt, and the lock
    when there were too many. Counted in the database itself (UPDATE ... + 1), not read and
    written back: guesses sent in parallel each count."""
    now = utcnow()
    failed = session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(failed_logins=func.coalesce(StaffUser.failed_logins, 0) + 1)
        .returning(StaffUser.failed_logins)
    ).scalar_one()
    set_committed_value(user, "failed_logins", failed)
    if failed >= settings.lockout_attempts:
        user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
        user.failed_logins = 0
        audit.record(session, "account_locked", user=user, detail={"minutes": settings.lockout_minutes}, ip=ip)
        return LoginResult(None, "locked", user.locked_until)
    detail = {"failed_logins": failed} if why == "password" else {"failed_logins": failed, "why": why}
    audit.record(session, "login_failed", user=user, detail=detail, ip=ip)
    return LoginResult(None, "invalid")


def complete_login(session: Session, user: StaffUser, *, ip: str | None = None) -> None:
    """Every step passed: a new session token, the counters reset, the login in the audit log."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    user.session_token = secrets.token_hex(32)
    audit.record(session, "login", user=user, ip=ip)


def authenticate(
    session: Session, username: str, password: str, settings: InboxSettings, *, ip: str | None = None
) -> LoginResult:
    """Password only, then signed in: for accounts without a second factor."""
    result = check_password(session, username, password, settings, ip=ip)
    if result.user is not None:
        complete_login(session, result.user, ip=ip)
    return result


def start_session(user: StaffUser) -> None:
    session.clear()  # a fresh session: no fixation of a cookie set before login
    session["staff_id"] = user.id
    session["staff_token"] = user.session_token
    session["seen_at"] = int(time.time())


def end_session(db: Session, user: StaffUser | None) -> None:
    if user is not None:
        user.session_token = None
        audit.record(db, "logout", user=user, ip=request.remote_addr)
    session.clear()


def load_staff_user(settings: InboxSettings) -> None:
    """Before every inbox request: g.staff is the signed-in user, or None."""
    g.staff = None
    staff_id, token, seen_at = session.get("staff_id"), session.get("staff_token"), session.get("seen_at")
    if staff_id is None:
        return
    if seen_at is None or time.time() - seen_at > settings.session_timeout_minutes * 60:
        session.clear()
        g.session_expired = True
        return
    user = g.db.get(StaffUser, staff_id)
    if (
        user is None
        or not user.active
        or not user.session_token
        or not secrets.compare_digest(user.session_token, token or "")
    ):
        session.clear()
        return
    session["seen_at"] = int(time.time())
    g.staff = user


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("staff") is None:
            if g.get("session_expired"):
                flash(
                    "U bent uitgelogd omdat u "
                    f"{current_app.extensions['inbox_settings'].session_timeout_minutes} minuten niets deed. "
                    "Log opnieuw in.",
                    "info",
                )
            return redirect(
                url_for("inbox.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
            )
        return view(*args, **kwargs)

    return wrapped


def role_required(*roles: str):
    assert all(r in ROLES for r in roles)

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if g.staff.role not in roles:
                audit.record(
                    g.db,
                    "access_denied",
                    user=g.staff,
                    detail={"path": request.path[:200], "needs": list(roles)},
                    ip=request.remote_addr,
                )
                g.db.commit()
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
