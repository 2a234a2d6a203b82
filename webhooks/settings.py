"""Channel settings that iad.config.Settings does not (yet) carry. Read from the environment
with the same helper, so a deployment sets them the same way (.env or real variables).
The lead may move these into Settings; callers only use the functions below."""
from __future__ import annotations

from dataclasses import dataclass

from iad.config import Settings, _env


@dataclass(frozen=True)
class ChannelSettings:
    # A Dutch Twilio voice: Amazon Polly's neural nl-NL voice. Polly.Lotte / Polly.Ruben
    # (standard) or Google.nl-NL-Standard-A also work.
    voice_name: str
    voice_language: str
    timezone: str
    # Numbers the phone line connects a caller in crisis to (E.164). 112 is absent on
    # purpose: Twilio cannot place emergency calls, so the IVR tells the caller to hang up
    # and dial 112 themselves.
    crisis_dial: dict
    # The number the phone line transfers callers to during opening hours (E.164). Defaults
    # to LOKET_PHONE; set it when that is a 14 0xx number, which not every carrier connects.
    loket_transfer_number: str
    # Where the widget's quick-exit button sends the resident.
    widget_exit_url: str
    # Origins allowed to call the chat API from their pages ("*" = any; no cookies are used).
    widget_allowed_origins: tuple[str, ...]
    # Seconds between the widget's checks for new (staff) messages.
    widget_poll_seconds: int


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


def channel_settings(settings: Settings) -> ChannelSettings:
    origins = tuple(o.strip() for o in _env("WIDGET_ALLOWED_ORIGINS", "*").split(",") if o.strip())
    return ChannelSettings(
        voice_name=_env("TWILIO_VOICE_NAME", "Polly.Laura-Neural"),
        voice_language=_env("TWILIO_VOICE_LANGUAGE", "nl-NL"),
        timezone=_env("LOKET_TIMEZONE", "Europe/Amsterdam"),
        crisis_dial={
            "suicide": e164(_env("CRISIS_DIAL_SUICIDE", "0800-0113")),  # 113 Zelfmoordpreventie, free
            "geweld": e164(_env("CRISIS_DIAL_GEWELD", "0800-2000")),  # Veilig Thuis, free, day and night
            "dakloos_vannacht": e164(_env("CRISIS_DIAL_DAKLOOS", settings.night_shelter_phone)),
            "verward": e164(_env("CRISIS_DIAL_VERWARD", settings.police_non_urgent_phone)),
        },
        loket_transfer_number=e164(_env("LOKET_TRANSFER_NUMBER", settings.loket_phone)),
        widget_exit_url=_env("WIDGET_EXIT_URL", "https://www.google.nl/search?q=weerbericht"),
        widget_allowed_origins=origins or ("*",),
        widget_poll_seconds=int(_env("WIDGET_POLL_SECONDS", "4")),
    )
