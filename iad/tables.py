"""Every package's tables on core.db.Base.metadata, for Alembic (migrations/env.py) and
create_all in the tests. It lives in the app layer: core.db must not import the packages
above it."""

from __future__ import annotations


def import_all_models() -> None:
    import conversations.models  # noqa: F401
    import handover.models  # noqa: F401
    import sociale_kaart.models  # noqa: F401
