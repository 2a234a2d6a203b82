"""The public chat API used by the website widget (and by the tests and evaluations)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml
from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from conversations.models import Conversation, Message, conversation_summary
from webhooks.choices import match_choice, payload_of, pending_choices

bp = Blueprint("web_chat", __name__, url_prefix="/api/chat")

OPENAPI_FILE = Path(__file__).with_name("chat_api.openapi.yml")


@cache
def openapi_description() -> dict:
    """The API's OpenAPI 3 description (chat_api.openapi.yml), read once."""
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


@bp.after_request
def _cors(response):
    """The widget runs on the municipality's own site and calls this API from there. No
    cookies are involved (the conversation id is the key), so allowing origins is safe;
    WIDGET_ALLOWED_ORIGINS narrows it down."""
    origin = request.headers.get("Origin")
    if origin:
        allowed = current_app.config["IAD_SETTINGS"].widget_allowed_origins
        if "*" in allowed or origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
        response.vary.add("Origin")
    return response


def _public(message: Message) -> dict:
    """A message as the widget sees it; its own client_message_id lets it match what it sent."""
    data = message.to_dict()
    if message.sender == "resident":
        data["client_message_id"] = message.external_id
    return data


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadInput(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput):
    return jsonify(error=exc.code, message=exc.message), exc.status


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput(400, "invalid_json", "Stuur een JSON-object, bijvoorbeeld {\"text\": \"hallo\"}.")
    return body


def _message_text(body: dict) -> str:
    text = body.get("text")
    if not isinstance(text, str):
        raise BadInput(400, "empty_message", "Uw bericht is leeg. Typ een vraag.")
    # A lone surrogate ("\ud83d" without its pair) cannot be stored as UTF-8: it becomes
    # the replacement character, and the rest of the message is kept.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = _CONTROL.sub("", text).strip()
    if not text:
        raise BadInput(400, "empty_message", "Uw bericht is leeg. Typ een vraag.")
    limit = current_app.config["IAD_SETTINGS"].max_message_chars
    if len(text) > limit:
        raise BadInput(
            413, "too_long", f"Uw bericht is te lang. Gebruik maximaal {limit} tekens, of stuur het in delen."
        )
    # Text that looks like markup ("<script>", "<geen idee>") is kept as the resident wrote
    # it: it is only ever shown as text (the widget sets textContent, the inbox's templates
    # escape), so refusing it would lose a message and protect nothing.
    return text


def _client_id(body: dict) -> str | None:
    value = body.get("client_message_id")
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise BadInput(400, "invalid_client_message_id", "client_message_id: 1 tot 64 letters, cijfers, - of _.")
    return value


def _conversation(conversation_id: str) -> Conversation:
    conversation = None
    if re.fullmatch(r"[0-9a-f]{32}", conversation_id):
        conversation = g.db.get(Conversation, conversation_id)
    if conversation is None or conversation.channel != "web":
        raise BadInput(404, "unknown_conversation", "Dit gesprek bestaat niet (meer). Begin een nieuw gesprek.")
    return conversation


@bp.post("/conversations")
def start_conversation():
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise BadInput(400, "invalid_json", "Stuur een JSON-object of niets.")
    # Checked before the conversation is opened: a refused request leaves nothing behind.
    text = _message_text(body) if "text" in body else None
    client_id = _client_id(body)
    front_door = current_app.extensions["front_door"]
    conversation = front_door.start_conversation(g.db, "web")
    g.db.commit()
    replies = []
    if text is not None:
        outcome = front_door.receive(g.db, conversation, text, external_id=client_id)
        replies = [_public(m) for m in outcome.replies]
    return jsonify(conversation_id=conversation.id, status=conversation.status, messages=replies), 201


@bp.post("/conversations/<conversation_id>/messages")
def post_message(conversation_id: str):
    conversation = _conversation(conversation_id)
    body = _json_body()
    text, client_id = _message_text(body), _client_id(body)
    # A typed button title ("Allebei", "allebij") counts as the click: the bot hears its payload.
    choice = None if text.startswith("/") else match_choice(text, pending_choices(g.db, conversation))
    outcome = current_app.extensions["front_door"].receive(
        g.db, conversation, text, external_id=client_id, bot_text=payload_of(choice) if choice else None
    )
    return jsonify(
        message=_public(outcome.message),
        messages=[_public(m) for m in outcome.replies],
        status=outcome.conversation.status,
        duplicate=outcome.duplicate,
    ), (200 if outcome.duplicate else 201)


@bp.get("/conversations/<conversation_id>/messages")
def list_messages(conversation_id: str):
    """The whole conversation, or what came after `after` (a message id): reload and polling."""
    conversation = _conversation(conversation_id)
    after = request.args.get("after", "0")
    if not re.fullmatch(r"[0-9]{1,18}", after):  # ASCII digits that fit a database integer
        raise BadInput(400, "invalid_after", "after moet een berichtnummer zijn.")
    rows = g.db.scalars(
        select(Message).where(Message.conversation_id == conversation.id, Message.id > int(after)).order_by(Message.id)
    )
    return jsonify(conversation_id=conversation.id, status=conversation.status, messages=[_public(m) for m in rows])


@bp.get("/conversations/<conversation_id>")
def show_conversation(conversation_id: str):
    """What is recorded about this conversation (the resident's own data)."""
    return jsonify(conversation_summary(_conversation(conversation_id)))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_description())
