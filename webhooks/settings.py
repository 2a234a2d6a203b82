"""What the channels need from the one config (core.config.Settings), in the form they use
it: phone numbers in E.164 for Twilio. Nothing here reads the environment."""

from __future__ import annotations

from dataclasses import dataclass

from conversations.addresses import e164
from core.config import Settings
from core.crisis import CRISIS_CODES, crisis_help

__all__ = ["ChannelSettings", "channel_settings", "e164"]


@dataclass(frozen=True)
class ChannelSettings:
    voice_name: str
    voice_language: str
    timezone: str
    # crisis code -> the number the phone line connects to (E.164)
    crisis_dial: dict
    loket_transfer_number: str
    widget_exit_url: str
    widget_allowed_origins: tuple[str, ...]
    widget_poll_seconds: int


def channel_settings(settings: Settings) -> ChannelSettings:
    return ChannelSettings(
        voice_name=settings.twilio_voice_name,
        voice_language=settings.twilio_voice_language,
        timezone=settings.loket_timezone,
        # From the one home of crisis help; acuut gevaar has none (the caller dials 112).
        crisis_dial={code: e164(h.dial) for code in CRISIS_CODES if (h := crisis_help(code, settings)).dial},
        loket_transfer_number=e164(settings.loket_transfer_number),
        widget_exit_url=settings.widget_exit_url,
        widget_allowed_origins=settings.widget_allowed_origins,
        widget_poll_seconds=settings.widget_poll_seconds,
    )
