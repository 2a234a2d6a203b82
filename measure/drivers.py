"""Residents on WhatsApp and on the phone, simulated over HTTP against a running app, for
`iad eval dialogues --channel whatsapp|voice`. They send exactly what Twilio sends: form
posts signed with TWILIO_AUTH_TOKEN for the URL Twilio would call: the app's PUBLIC_BASE_URL,
which is base_url itself unless public_base_url says otherwise (a stack started by
measure.stack sets PUBLIC_BASE_URL to its own address). The auth token must be the app's.

Same interface as measure.dialogues.WebChatDriver: start() -> id, say(id, text) ->
replies, summary(id) -> conversation_summary(...) of the conversation, read from the
database in DATABASE_URL (the chat API's summary endpoint serves web conversations only).
On the phone numbers are spoken digit by digit: compare them with digits()."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import requests
from twilio.request_validator import RequestValidator

from conversations.addresses import latest_open_conversation
from conversations.models import Conversation, conversation_summary
from core.config import Settings
from core.db import get_engine, session_factory


class _SignedPoster:
    def __init__(
        self,
        base_url: str,
        settings: Settings,
        http: requests.Session | None = None,
        public_base_url: str | None = None,
    ):
        self.base = base_url.rstrip("/")
        self.public = (public_base_url or base_url).rstrip("/")
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.http = http or requests.Session()

    def post(self, path: str, params: dict) -> ElementTree.Element:
        signature = self.validator.compute_signature(self.public + path, params)
        response = self.http.post(self.base + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=60)
        response.raise_for_status()
        return ElementTree.fromstring(response.content)


def summary_from_database(settings: Settings) -> Callable[[str | None], dict]:
    def summarize(conversation_id: str | None) -> dict:
        session = session_factory(get_engine(settings.database_url))()
        try:
            conversation = session.get(Conversation, conversation_id) if conversation_id else None
            if conversation is None:
                raise LookupError(f"no conversation {conversation_id!r} in {settings.database_url}")
            return conversation_summary(conversation)
        finally:
            session.close()

    return summarize


class WhatsAppDriver:
    """One made-up resident number per conversation (+31 97 range: never a person's)."""

    def __init__(
        self,
        base_url: str,
        settings: Settings,
        summarize: Callable[[str], dict] | None = None,
        http: requests.Session | None = None,
        public_base_url: str | None = None,
    ):
        self.poster = _SignedPoster(base_url, settings, http, public_base_url)
        self.settings = settings
        self.summarize = summarize or summary_from_database(settings)
        self._sids = itertools.count(1)
        self._run = random.randrange(16**8)

    def start(self) -> str:
        return f"+3197{random.randrange(10**8):08d}"

    def say(self, number: str, text: str) -> list[str]:
        sid = f"SM{self._run:08x}{next(self._sids):024x}"
        root = self.poster.post(
            "/webhooks/twilio/whatsapp",
            {
                "MessageSid": sid,
                "AccountSid": self.settings.twilio_account_sid,
                "From": f"whatsapp:{number}",
                "To": self.settings.twilio_whatsapp_from,
                "Body": text,
                "NumMedia": "0",
            },
        )
        replies = [m.text or "" for m in root.iter("Message")]
        # The first answer of a new conversation starts with the introduction, not the bot.
        return [r for r in replies if not r.startswith("U chat met de digitale assistent")]

    def conversation_id(self, number: str) -> str | None:
        session = session_factory(get_engine(self.settings.database_url))()
        try:
            conversation = latest_open_conversation(session, self.settings, "whatsapp", number)
            return conversation.id if conversation else None
        finally:
            session.close()

    def summary(self, number: str) -> dict:
        return self.summarize(self.conversation_id(number))


class VoiceDriver:
    """A caller who speaks each turn (SpeechResult, as Twilio's recogniser would give it).
    Replies are the spoken lines; a transfer is reported as "<Dial +31...>". After a
    transfer or hang-up the call is over and later turns get no reply."""

    def __init__(
        self,
        base_url: str,
        settings: Settings,
        summarize: Callable[[str], dict] | None = None,
        http: requests.Session | None = None,
        public_base_url: str | None = None,
    ):
        self.poster = _SignedPoster(base_url, settings, http, public_base_url)
        self.settings = settings
        self.summarize = summarize or summary_from_database(settings)
        self._calls: dict[str, dict] = {}
        self._run = random.randrange(16**8)
        self._count = itertools.count(1)

    def start(self) -> str:
        call_sid = f"CA{self._run:08x}{next(self._count):024x}"
        caller = f"+3197{random.randrange(10**8):08d}"
        root = self.poster.post(
            "/webhooks/twilio/voice",
            {
                "CallSid": call_sid,
                "From": caller,
                "To": self.settings.twilio_voice_number,
                "CallStatus": "ringing",
            },
        )
        action = root.find("Gather").get("action")
        conversation_id = parse_qs(urlsplit(action).query)["c"][0]
        self._calls[conversation_id] = {"sid": call_sid, "caller": caller, "action": action}
        return conversation_id

    def say(self, conversation_id: str, text: str) -> list[str]:
        call = self._calls[conversation_id]
        if not call["action"]:
            return []
        root = self.poster.post(
            call["action"],
            {
                "CallSid": call["sid"],
                "From": call["caller"],
                "SpeechResult": text,
                "Confidence": "0.9",
            },
        )
        gather = root.find("Gather")
        call["action"] = gather.get("action") if gather is not None else None
        replies = [say.text or "" for say in root.iter("Say")]
        replies += [f"<Dial {number.text}>" for number in root.iter("Number")]
        return replies

    def summary(self, conversation_id: str) -> dict:
        return self.summarize(conversation_id)


def digits(text: str) -> str:
    """Spoken numbers are read digit by digit ("0 8 0 0, 2 0 0 0"): compare digits only."""
    return re.sub(r"\D", "", text)
