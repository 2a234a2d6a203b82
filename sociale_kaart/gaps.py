"""The gaps in the sociale kaart: questions residents asked that found no fitting offer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from sociale_kaart.models import UnmetQuestion

MAX_TEXT = 1000


def record_unmet(session: Session, text: str, gemeente: str | None, levensgebieden: Sequence[str]) -> UnmetQuestion:
    row = UnmetQuestion(
        text=" ".join((text or "").split())[:MAX_TEXT],
        gemeente=gemeente,
        levensgebieden="," + "".join(f"{code}," for code in levensgebieden),
    )
    session.add(row)
    session.flush()
    return row


def forget_unmet_before(session: Session, moment: datetime) -> int:
    """For the retention run: questions asked before `moment` go."""
    return session.execute(delete(UnmetQuestion).where(UnmetQuestion.asked_at < moment)).rowcount or 0
