"""Residents' phone numbers (WhatsApp, voice) are stored encrypted, never in plain text.

Encryption: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`, key from
PHONE_ENCRYPTION_KEY. A second, derived key makes an HMAC of the number, so the channel can
find the resident's conversation again without decrypting every row. Without a configured
key (development), one is generated once and kept under the data dir; production must set
PHONE_ENCRYPTION_KEY (the health check and logs say so)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from base64 import urlsafe_b64decode
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Status
from core.config import Settings

log = logging.getLogger(__name__)

DEV_KEY_FILE = Path("secrets") / "phone-encryption.key"


class AddressKeyError(RuntimeError):
    """PHONE_ENCRYPTION_KEY is not a usable Fernet key."""


def normalise_address(address: str | None) -> str | None:
    """'whatsapp:+31 6-1234 5678' -> '+31612345678'. None for a hidden caller id
    ('anonymous', 'Restricted', Twilio's +266696687) or anything that is not a number."""
    if not address:
        return None
    value = address.strip()
    if value.lower().startswith("whatsapp:"):
        value = value[len("whatsapp:") :]
    value = re.sub(r"[\s\-().]", "", value)
    if value.startswith("00"):
        value = "+" + value[2:]
    if not re.fullmatch(r"\+?\d{6,15}", value) or value in ("+266696687", "+7378742833", "+2562533", "+86282452253"):
        return None
    return value if value.startswith("+") else "+" + value


class AddressBook:
    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
            raw = urlsafe_b64decode(key)
        except (ValueError, TypeError) as exc:
            raise AddressKeyError(
                "PHONE_ENCRYPTION_KEY is not a Fernet key. Make one with: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from exc
        # A separate key for the lookup hash, so the hash reveals nothing about the cipher key.
        self._mac_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"iad resident address lookup"
        ).derive(raw)

    def encrypt(self, address: str) -> str:
        return self._fernet.encrypt(address.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str | None:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            log.error("a resident address could not be decrypted (was PHONE_ENCRYPTION_KEY changed?)")
            return None

    def lookup_hash(self, address: str) -> str:
        return hmac.new(self._mac_key, address.encode("utf-8"), hashlib.sha256).hexdigest()


def _dev_key(data_dir: Path) -> bytes:
    path = data_dir / DEV_KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not each write their own key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    log.warning(
        "PHONE_ENCRYPTION_KEY is empty: generated a development key in %s. Set the variable in production.", path
    )
    return key


@lru_cache(maxsize=8)
def _book(key: bytes) -> AddressBook:
    return AddressBook(key)


def e164(number: str, country_code: str = "31") -> str:
    """'0800-0113' -> '+318000113'; '14 053' -> '+3114053'; '+31 6 1234' stays international."""
    digits = "".join(ch for ch in number if ch.isdigit() or ch == "+")
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return f"+{country_code}{digits[1:]}"
    return f"+{country_code}{digits}"


# A Dutch phone number as a resident types it: 06-12345678, 053 123 4567, +31 6 1234 5678.
_TYPED_NUMBER = re.compile(r"(?<![\d+])(?:(?:\+|00)31[\s-]?(?:\(0\)[\s-]?)?|0)[1-9](?:[\s-]?\d){8}(?!\d)")


def find_phone_number(text: str) -> tuple[str, str] | None:
    """The first Dutch phone number in a typed message: (as typed, E.164), or None."""
    match = _TYPED_NUMBER.search(text or "")
    if not match:
        return None
    return match.group(0), e164(match.group(0).replace("(0)", ""))


def address_book(settings: Settings) -> AddressBook:
    configured = settings.phone_encryption_key.strip()
    return _book(configured.encode("ascii") if configured else _dev_key(settings.data_dir))


def set_resident_address(settings: Settings, conversation: Conversation, address: str | None) -> None:
    number = normalise_address(address)
    if number is None:
        conversation.resident_address_encrypted = None
        conversation.resident_address_hash = None
        return
    book = address_book(settings)
    conversation.resident_address_encrypted = book.encrypt(number)
    conversation.resident_address_hash = book.lookup_hash(number)


def resident_address(settings: Settings, conversation: Conversation) -> str | None:
    """The resident's phone number in E.164, or None (hidden caller id, web channel, bad key)."""
    if not conversation.resident_address_encrypted:
        return None
    return address_book(settings).decrypt(conversation.resident_address_encrypted)


def latest_open_conversation(
    session: Session, settings: Settings, channel: str, address: str | None
) -> Conversation | None:
    """The resident's most recent conversation on this channel that is not closed."""
    number = normalise_address(address)
    if number is None:
        return None
    return session.scalar(
        select(Conversation)
        .where(
            Conversation.channel == channel,
            Conversation.resident_address_hash == address_book(settings).lookup_hash(number),
            Conversation.status != Status.CLOSED,
        )
        .order_by(Conversation.created_at.desc())
        .limit(1)
    )
