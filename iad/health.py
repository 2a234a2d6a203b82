"""GET /health: every part of the stack, up or down, in one JSON answer."""

from __future__ import annotations

import requests
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from conversations.rasa_client import BotUnavailable
from core.db import get_engine

bp = Blueprint("health", __name__)


def _database() -> dict:
    try:
        with get_engine(current_app.config["IAD_SETTINGS"].database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"up": True}
    except Exception as exc:  # any driver error means down
        return {"up": False, "error": type(exc).__name__}


def _rasa() -> dict:
    try:
        status = current_app.extensions["front_door"].rasa.status()
    except BotUnavailable as exc:
        return {"up": False, "error": str(exc)[:200]}
    model = status.get("model_file")
    return {"up": bool(model), "model": model}


def _action_server() -> dict:
    url = current_app.config["IAD_SETTINGS"].action_server_url.rstrip("/") + "/health"
    try:
        response = requests.get(url, timeout=2)
        return {"up": response.ok}
    except requests.RequestException as exc:
        return {"up": False, "error": type(exc).__name__}


def _search_index() -> dict:
    from knowledge.search import index_status

    try:
        return index_status(get_engine(current_app.config["IAD_SETTINGS"].database_url))
    except Exception as exc:
        return {"up": False, "error": f"{type(exc).__name__}: {exc}"[:200]}


@bp.get("/health")
def health():
    parts = {
        "database": _database(),
        "rasa": _rasa(),
        "action_server": _action_server(),
        "search_index": _search_index(),
    }
    all_up = all(part["up"] for part in parts.values())
    return jsonify(status="up" if all_up else "degraded", parts=parts), (200 if all_up else 503)
