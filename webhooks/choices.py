"""Rasa's buttons on channels without buttons: numbered lines on WhatsApp, keypad digits on
the phone. The resident answers with the number, a number word, or the choice's own words;
we map that back to the button's payload."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message, Sender

NUMBER_WORDS = {
    "een": 1,
    "eén": 1,
    "één": 1,
    "eerste": 1,
    "one": 1,
    "first": 1,
    "twee": 2,
    "tweede": 2,
    "two": 2,
    "second": 2,
    "drie": 3,
    "derde": 3,
    "three": 3,
    "third": 3,
    "vier": 4,
    "vierde": 4,
    "four": 4,
    "vijf": 5,
    "vijfde": 5,
    "five": 5,
    "zes": 6,
    "zesde": 6,
    "six": 6,
    "zeven": 7,
    "zevende": 7,
    "seven": 7,
    "acht": 8,
    "achtste": 8,
    "eight": 8,
    "negen": 9,
    "negende": 9,
    "nine": 9,
}
# Words around a number that carry no meaning: "optie 2", "nummer twee", "de tweede graag".
_FILLER = {
    "optie",
    "nummer",
    "keuze",
    "de",
    "het",
    "graag",
    "ik",
    "kies",
    "neem",
    "doe",
    "maar",
    "alstublieft",
    "aub",
    "please",
}


# How close a typed answer must be to a button title to count as it (difflib's ratio):
# "allebij" / "allebei" is 0.86, "ja" / "nee" is 0.
SPELLING_MIN_RATIO = 0.8


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def pending_choices(session: Session, conversation: Conversation) -> list[dict]:
    """The buttons the resident is answering now: those offered after their last message."""
    last_resident = session.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation.id, Message.sender == Sender.RESIDENT)
        .order_by(Message.id.desc())
        .limit(1)
    )
    query = select(Message).where(Message.conversation_id == conversation.id, Message.buttons.is_not(None))
    if last_resident is not None:
        query = query.where(Message.id > last_resident)
    offered = session.scalars(query.order_by(Message.id.desc()).limit(1)).first()
    return [b for b in (offered.buttons or []) if b.get("title")] if offered else []


def choice_number(text: str) -> int | None:
    words = [w for w in normalise(text).split() if w not in _FILLER]
    if len(words) != 1:
        return None
    word = words[0]
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def match_choice(text: str, choices: list[dict]) -> dict | None:
    """The chosen button, or None when the text is not an answer to these choices."""
    if not choices:
        return None
    number = choice_number(text)
    if number is not None:
        return choices[number - 1] if 1 <= number <= len(choices) else None
    said = normalise(text)
    titles = [normalise(c["title"]) for c in choices]
    for choice, title in zip(choices, titles):
        if said == title:
            return choice
    # "ja graag" for "Ja", spoken "ik wil geld hulp" for "Geld": one title inside a short answer.
    if len(said.split()) <= 6:
        inside = [c for c, t in zip(choices, titles) if t and re.search(rf"\b{re.escape(t)}\b", said)]
        if len(inside) == 1:
            return inside[0]
    # Small spelling variations of a whole title: "allebij", "schuldn", "huisbezoekk".
    ratios = [(SequenceMatcher(None, said, t).ratio(), c) for c, t in zip(choices, titles) if len(t) >= 3]
    close = sorted((r, i, c) for i, (r, c) in enumerate(ratios) if r >= SPELLING_MIN_RATIO)
    if len(close) == 1 or (len(close) > 1 and close[-1][0] - close[-2][0] >= 0.1):
        return close[-1][2]
    return None


def payload_of(choice: dict) -> str:
    return choice.get("payload") or choice["title"]
