"""The inbox's own settings, read from the environment with defaults.

Interim home: these belong in iad.config.Settings (the lead moves them there); until then
they are read here through the same `_env` helper, so the names stay the same.
"""
from __future__ import annotations

from dataclasses import dataclass

from iad.config import _env

URGENCIES = ("acuut", "hoog", "normaal", "laag")


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


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def load_inbox_settings() -> InboxSettings:
    defaults = {"acuut": 4, "hoog": 24, "normaal": 72, "laag": 120}
    return InboxSettings(
        sla_hours={u: _int(f"INBOX_SLA_HOURS_{u.upper()}", defaults[u]) for u in URGENCIES},
        session_timeout_minutes=_int("INBOX_SESSION_TIMEOUT_MINUTES", 30),
        lockout_attempts=_int("INBOX_LOCKOUT_ATTEMPTS", 5),
        lockout_minutes=_int("INBOX_LOCKOUT_MINUTES", 15),
        redact_unconsented_days=_int("INBOX_REDACT_UNCONSENTED_DAYS", 30),
        cookie_secure=_env("INBOX_COOKIE_SECURE", "false").lower() in ("1", "true", "yes"),
        # DejaVu covers Dutch, Turkish, Polish, Arabic letters and more; fpdf2 embeds it.
        pdf_font=_env("INBOX_PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    )
