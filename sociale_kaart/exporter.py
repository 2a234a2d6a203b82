"""`iad export`: the whole sociale kaart as HSDS (JSON, JSON Lines or the CSV data package)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from core.db import get_engine, session_scope
from sociale_kaart.formats import write_hsds_csv, write_hsds_json
from sociale_kaart.hsds import load_records, to_hsds

EXPORT_FORMATS = ("hsds-json", "hsds-jsonl", "hsds-csv")


def export_hsds(path: str | Path, *, fmt: str | None = None, engine: Engine | None = None) -> dict:
    """Write every service to `path`. Format from `fmt`, else from the name: .json →
    HSDS JSON, .jsonl → JSON Lines, .zip or a folder → HSDS CSV data package."""
    path = Path(path)
    if fmt is None:
        suffix = path.suffix.lower()
        fmt = {".json": "hsds-json", ".jsonl": "hsds-jsonl"}.get(suffix, "hsds-csv")
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(EXPORT_FORMATS)})")
    with session_scope(engine or get_engine()) as session:
        records = load_records(session)
    if fmt == "hsds-json":
        count = write_hsds_json(records, path)
    elif fmt == "hsds-jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(to_hsds(rec), ensure_ascii=False) + "\n")
        count = len(records)
    else:
        count = write_hsds_csv(records, path)
    return {"path": str(path), "format": fmt, "services": count}
