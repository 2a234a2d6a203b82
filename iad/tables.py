"""Every package's tables on core.db.Base.metadata, for Alembic (migrations/env.py) and
create_all in the tests. It lives in the app layer: core.db must not import the packages
above it."""

from __future__ import annotations

# Imported for what importing them does: each module declares its tables on core.db.Base.
import conversations.models  # noqa: F401
import conversations.opvolging  # noqa: F401
import handover.models  # noqa: F401
import sociale_kaart.models  # noqa: F401


def import_all_models() -> None:
    """Every table is on core.db.Base.metadata once this module is imported (the imports
    above); the callers (migrations/env.py, the tests) call this to say that they need them."""
