"""The web app's only way to the bot: Rasa's REST channel and HTTP API on loopback."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import jwt
import requests

from core.config import Settings


class BotUnavailable(Exception):
    """Rasa did not answer in time or answered with an error. Safe to log: no secret is ever
    in a URL (the HTTP API's token is in a header)."""


# The key of our message id in the metadata Rasa keeps with each user event.
MESSAGE_ID_KEY = "iad_message_id"


def _buttons(raw) -> list[dict]:
    return [{"title": b.get("title", ""), "payload": b.get("payload", "")} for b in raw or []]


@dataclass
class BotReply:
    text: str = ""
    buttons: list[dict] = field(default_factory=list)
    custom: dict | None = None


# How long one signed token for Rasa's HTTP API is valid; a new one is made well before.
TOKEN_SECONDS = 300


def api_secret(rasa_token: str) -> str:
    """The HMAC key both sides use (iad/rasa_process.py gives it to Rasa): RASA_TOKEN hashed
    to the 32 bytes HS256 asks for, whatever its length."""
    return hashlib.sha256(rasa_token.encode("utf-8")).hexdigest()


class RasaClient:
    def __init__(self, settings: Settings, session: requests.Session | None = None):
        self.base = settings.rasa_url.rstrip("/")
        self.secret = api_secret(settings.rasa_token)
        self.timeout = settings.rasa_timeout_seconds
        self.http = session or requests.Session()
        self._token: tuple[float, str] = (0.0, "")

    def _auth(self) -> dict:
        """The Authorization header for Rasa's HTTP API (bot/rasa_launch.py starts it with
        JWT): a token signed with RASA_TOKEN, as Rasa's admin role, valid TOKEN_SECONDS."""
        now = time.time()
        expires, token = self._token
        if expires - now < TOKEN_SECONDS / 2:
            expires = now + TOKEN_SECONDS
            payload = {"user": {"username": "iad-app", "role": "admin"}, "exp": int(expires)}
            token = jwt.encode(payload, self.secret, algorithm="HS256")
            self._token = (expires, token)
        return {"Authorization": f"Bearer {token}"}

    def set_slots(self, conversation_id: str, slots: dict, *, new_session: bool = False) -> None:
        """Slot events before a message. For a conversation Rasa has not seen, the events
        open its session themselves: had Rasa opened it, our events (stamped when received)
        would sort before `session_started` and be dropped when the tracker is read again."""
        events = [{"event": "slot", "name": name, "value": value} for name, value in slots.items()]
        if new_session:
            events = [
                {"event": "action", "name": "action_session_start"},
                {"event": "session_started"},
                *events,
                {"event": "action", "name": "action_listen"},
            ]
        self._post(f"/conversations/{conversation_id}/tracker/events", events, headers=self._auth())

    def send(self, conversation_id: str, text: str, *, message_id: int | None = None) -> list[BotReply]:
        body: dict = {"sender": conversation_id, "message": text}
        if message_id is not None:
            # Stored by Rasa with the user event (RestInput.get_metadata): replies_to finds it.
            body["metadata"] = {MESSAGE_ID_KEY: message_id}
        data = self._post("/webhooks/rest/webhook", body)
        replies = []
        for item in data or []:
            replies.append(
                BotReply(
                    text=item.get("text") or "",
                    buttons=_buttons(item.get("buttons")),
                    custom=item.get("custom"),
                )
            )
        return replies

    def replies_to(self, conversation_id: str, message_id: int) -> list[BotReply] | None:
        """What the bot answered to our message `message_id` if Rasa already took it (its
        reply was lost on the way: a timeout, a Rasa that hung and woke up). None when Rasa
        never had it. Raises BotUnavailable when Rasa cannot be asked, or has not finished."""
        try:
            response = self.http.get(
                f"{self.base}/conversations/{conversation_id}/tracker",
                params={"include_events": "AFTER_RESTART"},
                headers=self._auth(),
                timeout=self.timeout,
            )
            response.raise_for_status()
            events = response.json().get("events") or []
        except (requests.RequestException, ValueError, AttributeError) as exc:
            raise BotUnavailable(f"tracker: {exc}") from exc
        start = next(
            (
                i
                for i, event in enumerate(events)
                if event.get("event") == "user" and (event.get("metadata") or {}).get(MESSAGE_ID_KEY) == message_id
            ),
            None,
        )
        if start is None:
            return None
        replies: list[BotReply] = []
        for event in events[start + 1 :]:
            if event.get("event") == "user":
                break
            if event.get("event") == "bot":
                data = event.get("data") or {}
                replies.append(
                    BotReply(
                        text=event.get("text") or "", buttons=_buttons(data.get("buttons")), custom=data.get("custom")
                    )
                )
            if event.get("event") == "action" and event.get("name") == "action_listen":
                return replies
        raise BotUnavailable("the bot has not finished answering this message")

    def status(self) -> dict:
        try:
            response = self.http.get(f"{self.base}/status", headers=self._auth(), timeout=2)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise BotUnavailable(str(exc)) from exc

    def _post(self, path: str, body, headers: dict | None = None):
        try:
            response = self.http.post(self.base + path, json=body, headers=headers, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise BotUnavailable(f"{path}: {exc}") from exc
