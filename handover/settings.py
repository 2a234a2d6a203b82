"""What the inbox needs from the one config (core.config.Settings). Nothing here reads the
environment; tests and deployments with several inboxes pass their own InboxSettings."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import URGENCIES, Settings, get_settings

__all__ = ["URGENCIES", "InboxSettings", "load_inbox_settings"]


@dataclass(frozen=True)
class InboxSettings:
    # Hours from handover to first contact with the resident, per urgency.
    sla_hours: dict[str, int]
    session_timeout_minutes: int
    lockout_attempts: int
    lockout_minutes: int
    # Transcripts of conversations without consent to share them are redacted after this.
    redact_unconsented_days: int
    cookie_secure: bool
    pdf_font: str
    # A code from an authenticator app after the password (inbox/second_factor.py).
    second_factor: bool
    # The name staff see in their authenticator app.
    issuer: str


def load_inbox_settings(settings: Settings | None = None) -> InboxSettings:
    s = settings or get_settings()
    return InboxSettings(
        sla_hours=dict(s.inbox_sla_hours),
        session_timeout_minutes=s.inbox_session_timeout_minutes,
        lockout_attempts=s.inbox_lockout_attempts,
        lockout_minutes=s.inbox_lockout_minutes,
        redact_unconsented_days=s.inbox_redact_unconsented_days,
        cookie_secure=s.inbox_cookie_secure,
        pdf_font=s.inbox_pdf_font,
        second_factor=s.inbox_second_factor,
        issuer=f"IAD-loket {s.gemeente}",
    )
