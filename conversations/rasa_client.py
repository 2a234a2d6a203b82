"""The web app's only way to the bot: Rasa's REST channel and HTTP API on loopback."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import requests

from core.config import Settings


class BotUnavailable(Exception):
    """Rasa did not answer in time or answered with an error. Its text never carries the
    Rasa token (the HTTP API takes it in the query string, which requests repeats in its
    errors), so it is safe to log."""

    def __init__(self, message: str):
        super().__init__(_TOKEN_IN_URL.sub(r"\1***", message))


# token=... in a URL of an error message, up to the next &, space, quote or bracket.
_TOKEN_IN_URL = re.compile(r"(token=)[^&\s'\")]+")


@dataclass
class BotReply:
    text: str = ""
    buttons: list[dict] = field(default_factory=list)
    custom: dict | None = None


class RasaClient:
    def __init__(self, settings: Settings, session: requests.Session | None = None):
        self.base = settings.rasa_url.rstrip("/")
        self.token = settings.rasa_token
        self.timeout = settings.rasa_timeout_seconds
        self.http = session or requests.Session()

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
        self._post(f"/conversations/{conversation_id}/tracker/events", events, params={"token": self.token})

    def send(self, conversation_id: str, text: str) -> list[BotReply]:
        data = self._post("/webhooks/rest/webhook", {"sender": conversation_id, "message": text})
        replies = []
        for item in data or []:
            replies.append(
                BotReply(
                    text=item.get("text") or "",
                    buttons=[
                        {"title": b.get("title", ""), "payload": b.get("payload", "")}
                        for b in item.get("buttons") or []
                    ],
                    custom=item.get("custom"),
                )
            )
        return replies

    def status(self) -> dict:
        try:
            response = self.http.get(f"{self.base}/status", params={"token": self.token}, timeout=2)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise BotUnavailable(str(exc)) from exc

    def _post(self, path: str, body, params: dict | None = None):
        try:
            response = self.http.post(self.base + path, json=body, params=params, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise BotUnavailable(f"{path}: {exc}") from exc
