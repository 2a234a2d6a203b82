"""Rasa keeps its own copy of every conversation: the tracker store, one row per event (each
message, slot and action), keyed by sender_id, which is our conversation id. What a
resident asks us to erase, and what the retention job removes or redacts, must go from
there too.

Rasa 3.6's HTTP API cannot delete a tracker (replacing its events only appends to an SQL
tracker store), so the app deletes the rows itself, in Rasa's `events` table, on the
database that RASA_TRACKER_STORE_URL names (SQLite by default, PostgreSQL when set). The
Rasa server reads a tracker from the store on every message, so it keeps no copy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import column, create_engine, delete, inspect, table
from sqlalchemy.engine import Engine, make_url

from core.config import Settings

log = logging.getLogger(__name__)

EVENTS = table("events", column("sender_id"))  # rasa.core.tracker_store.SQLTrackerStore.SQLEvent
_BATCH = 500


def _engine(settings: Settings) -> Engine | None:
    """None when the store does not exist yet (Rasa never ran here): nothing to erase."""
    url = make_url(settings.rasa_tracker_store_url)
    if url.drivername.startswith("sqlite"):
        if not url.database or not Path(url.database).exists():
            return None
        # No WAL pragma here: this file belongs to Rasa, which opens it in its own mode.
        return create_engine(url, connect_args={"timeout": 30})
    if url.drivername == "postgresql":  # the app's PostgreSQL driver is psycopg 3
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True)


def erase_trackers(settings: Settings, conversation_ids: Iterable[str]) -> int:
    """Deletes every Rasa event of these conversations. Returns the number of events deleted.
    Raises when the tracker store cannot be reached (callers decide what that means)."""
    ids = [str(i) for i in conversation_ids]
    engine = _engine(settings) if ids else None
    if engine is None:
        return 0
    deleted = 0
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0
            for start in range(0, len(ids), _BATCH):
                result = connection.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(ids[start : start + _BATCH])))
                deleted += max(result.rowcount or 0, 0)
    finally:
        engine.dispose()
    return deleted
