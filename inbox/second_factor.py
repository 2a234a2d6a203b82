"""The second factor for staff: a six-digit code from an authenticator app (TOTP, RFC 6238),
with pyotp for the codes and segno for the QR code a staff member scans at the first sign-in.

- The app's secret is stored encrypted (Fernet, with a key derived from SECRET_KEY by HKDF):
  a copy of the database alone gives nobody a working code. After a new SECRET_KEY nobody
  can sign in until a beheerder (or `iad users reset-second-factor`) resets their factor:
  setting up a new app on the spot would let anyone with only a password choose it.
- A code works once: the time step it belongs to is stored with a conditional UPDATE, so a
  code seen over someone's shoulder, or sent twice at the same moment, is refused.
- A wrong code counts as a failed sign-in (inbox/auth.py): the same lockout stops guessing.
- Between the password and the code the browser holds only "password right for user N, at
  time T" (signed session), never a session of its own; it lapses after PENDING_SECONDS.
"""

from __future__ import annotations

import hmac
import re
import time
from base64 import urlsafe_b64encode
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import session
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from handover.models import StaffUser

PENDING_SECONDS = 5 * 60
# One step either side: a phone clock that is up to 30 seconds off still works.
ALLOWED_DRIFT_STEPS = 1


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"iad-inbox-totp").derive(secret_key.encode())
    return Fernet(urlsafe_b64encode(key))


def new_secret() -> str:
    return pyotp.random_base32()


def seal(secret: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def unseal(sealed: str | None, secret_key: str) -> str | None:
    """The secret, or None when it was sealed with another SECRET_KEY (enrol again)."""
    if not sealed:
        return None
    try:
        return _fernet(secret_key).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def grouped(secret: str) -> str:
    """For typing it over: 'ABCD EFGH ...'."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(secret: str, username: str, issuer: str) -> str:
    """The enrolment QR code as inline SVG (the inbox runs no script and loads no data: URLs)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, title="QR-code voor uw authenticator-app")


def matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step whose code this is (within the allowed drift), or None."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now or datetime.now())
    for offset in sorted(range(-ALLOWED_DRIFT_STEPS, ALLOWED_DRIFT_STEPS + 1), key=abs):
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            return step + offset
    return None


def use_step(db: Session, user: StaffUser, step: int) -> bool:
    """Marks the step as used; False when it (or a later one) was used already."""
    used = db.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    return used == 1


# --- between the password and the code ---------------------------------------------------


def begin(user: StaffUser, next_url: str | None) -> None:
    session.clear()  # nothing of an earlier session survives
    session["pending_staff_id"] = user.id
    session["pending_at"] = int(time.time())
    if next_url:
        session["pending_next"] = next_url


def pending_user_id() -> int | None:
    started = session.get("pending_at")
    if started is None or time.time() - started > PENDING_SECONDS:
        return None
    return session.get("pending_staff_id")


def pending_next() -> str | None:
    return session.get("pending_next")


def enrolment_secret(secret_key: str) -> str:
    """The secret being enrolled: made once per sign-in, kept sealed in the signed session."""
    secret = unseal(session.get("enrol_secret"), secret_key)
    if secret is None:
        secret = new_secret()
        session["enrol_secret"] = seal(secret, secret_key)
    return secret
