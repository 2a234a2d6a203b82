"""GET /health: every part of the stack, up or down, in one JSON answer, and nothing else
(it is public: no error texts, versions, model names or counts; those go to the log)."""

from __future__ import annotations

import logging

import requests
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from conversations.rasa_client import BotUnavailable
from core.db import get_engine

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _database() -> dict:
    try:
        with get_engine(current_app.config["IAD_SETTINGS"].database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"up": True}
    except Exception as exc:  # any driver error means down
        log.warning("health: database down: %s", type(exc).__name__)
        return {"up": False}


def _rasa() -> dict:
    try:
        status = current_app.extensions["front_door"].rasa.status()
    except BotUnavailable as exc:
        log.warning("health: rasa down: %s", exc)
        return {"up": False}
    return {"up": bool(status.get("model_file"))}


def _action_server() -> dict:
    url = current_app.config["IAD_SETTINGS"].action_server_url.rstrip("/") + "/health"
    try:
        response = requests.get(url, timeout=2)
        return {"up": response.ok}
    except requests.RequestException as exc:
        log.warning("health: action server down: %s", type(exc).__name__)
        return {"up": False}


def _search_index() -> dict:
    # heavy: knowledge.search loads spaCy (about 3 s); the web app never searches, only
    # /health asks for the index status
    from knowledge.search import index_status

    try:
        return {"up": bool(index_status(get_engine(current_app.config["IAD_SETTINGS"].database_url))["up"])}
    except Exception as exc:
        log.warning("health: search index: %s", type(exc).__name__)
        return {"up": False}


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
