"""The web app's only way to the bot: Rasa's REST channel and HTTP API on loopback.

RASA_URL may name several Rasa servers ("http://127.0.0.1:5005,http://127.0.0.1:5006") that
share one tracker store and Redis lock store (a region: README). A conversation always goes
to the same server first (its tracker is warm there); when that one does not take the
connection at all (down, not listening), the next one gets it. A server that took the
request and then failed or hung is not replaced: it may have processed the message, and the
pipeline's retry reads Rasa's record before asking again (answered once)."""

from __future__ import annotations

import hashlib
import time
import zlib
from dataclasses import dataclass, field

import jwt
import requests
from urllib3.exceptions import NewConnectionError

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


def _never_sent(exc: requests.RequestException) -> bool:
    """The server refused the connection: nothing listens there, so nothing was processed.
    A connect timeout is not that: on loopback it means a live server whose backlog is full,
    which may still take the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError) and isinstance(reason.__context__, ConnectionRefusedError)


class RasaClient:
    def __init__(self, settings: Settings, session: requests.Session | None = None):
        self.servers = [url.strip().rstrip("/") for url in settings.rasa_url.split(",") if url.strip()]
        self.action_server = settings.action_server_url.rstrip("/")
        self.secret = api_secret(settings.rasa_token)
        self.timeout = settings.rasa_timeout_seconds
        self.http = session or requests.Session()
        self._token: tuple[float, str] = (0.0, "")

    def auth_headers(self) -> dict:
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
        self._post(
            conversation_id, f"/conversations/{conversation_id}/tracker/events", events, headers=self.auth_headers()
        )

    def send(self, conversation_id: str, text: str, *, message_id: int | None = None) -> list[BotReply]:
        body: dict = {"sender": conversation_id, "message": text}
        if message_id is not None:
            # Stored by Rasa with the user event (RestInput.get_metadata): replies_to finds it.
            body["metadata"] = {MESSAGE_ID_KEY: message_id}
        data = self._post(conversation_id, "/webhooks/rest/webhook", body)
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
            response = self._request(
                "GET",
                conversation_id,
                f"/conversations/{conversation_id}/tracker",
                params={"include_events": "AFTER_RESTART"},
                headers=self.auth_headers(),
            )
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

    def check_actions(self) -> None:
        """Raises BotUnavailable when the action server does not answer. Without it Rasa still
        answers, but without any custom action: no services, no handover, often no reply at
        all, and the message would count as answered."""
        try:
            response = self.http.get(f"{self.action_server}/health", timeout=2)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise BotUnavailable(f"action server: {exc}") from exc

    def status(self) -> dict:
        """The status of the first server that answers; BotUnavailable when none does. With
        several, one down still leaves the bot up (the others take its conversations), so a
        load balancer that reads /health does not take the web app out for it."""
        errors = []
        for server in self.servers:
            try:
                response = self.http.get(f"{server}/status", headers=self.auth_headers(), timeout=2)
                response.raise_for_status()
                return response.json()
            except (requests.RequestException, ValueError) as exc:
                errors.append(f"{server}: {exc}")
        raise BotUnavailable("; ".join(errors))

    def servers_for(self, conversation_id: str) -> list[str]:
        """This conversation's own server first, then the others in turn."""
        first = zlib.crc32(conversation_id.encode("utf-8")) % len(self.servers)
        return self.servers[first:] + self.servers[:first]

    def _request(self, method: str, conversation_id: str, path: str, **kwargs) -> requests.Response:
        last: requests.RequestException | None = None
        for server in self.servers_for(conversation_id):
            try:
                response = self.http.request(method, server + path, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                if _never_sent(exc):
                    last = exc
                    continue  # nothing reached this server: the next one may take it
                raise
            response.raise_for_status()
            return response
        assert last is not None
        raise last

    def _post(self, conversation_id: str, path: str, body, headers: dict | None = None):
        try:
            return self._request("POST", conversation_id, path, json=body, headers=headers).json()
        except (requests.RequestException, ValueError) as exc:
            raise BotUnavailable(f"{path}: {exc}") from exc
