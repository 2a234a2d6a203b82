"""One config for every process: environment variables (and an optional .env file),
with embedded defaults that run the demo municipality on SQLite."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "true" if default else "false").lower() in ("1", "true", "yes", "on")


URGENCIES = ("acuut", "hoog", "normaal", "laag")


# The night shelter's number differs per municipality and nobody answers the loket's own
# number at night, so it has no real default: development runs show this placeholder, and
# outside development start-up refuses it (check_crisis_numbers).
DEMO_NIGHT_SHELTER_PHONE = "0800-0000"
# Development defaults for the secrets: public in this repository, so refused outside
# development (check_secrets).
DEV_SECRET_KEY = "dev-only-secret-change-me"
DEV_RASA_TOKEN = "dev-only-rasa-token"
DEV_TWILIO_AUTH_TOKEN = "dev-only-twilio-token"
# Where development defaults (secrets, the optional second factor) are allowed.
DEVELOPMENT_ENVIRONMENTS = ("development", "dev", "test")


class ConfigError(RuntimeError):
    """The configuration cannot be run safely (raised at start-up)."""


@dataclass(frozen=True)
class Settings:
    # "development" (the default: demo values allowed) or anything else, e.g. "production".
    environment: str
    data_dir: Path
    database_url: str
    secret_key: str
    host: str
    port: int
    # Rasa and the action server listen on loopback only: residents reach the bot
    # through the web app (the front door), never through Rasa's own channels.
    # One Rasa server, or several separated by commas (a region: they share the tracker store
    # and RASA_LOCK_STORE_URL, conversations/rasa_client.py spreads conversations over them).
    rasa_url: str
    rasa_port: int
    rasa_token: str
    rasa_model_dir: Path
    rasa_tracker_store_url: str
    # Empty: Rasa's own in-memory locks (one Rasa server). redis://host:port/db for several.
    rasa_lock_store_url: str
    action_server_url: str
    action_server_port: int
    rasa_timeout_seconds: float
    embedding_model: str
    # The municipality this deployment serves (demo: Enschede, on the Twente sociale kaart).
    gemeente: str
    loket_name: str
    loket_phone: str
    loket_hours: str
    night_shelter_phone: str
    police_non_urgent_phone: str
    max_message_chars: int
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_whatsapp_from: str
    twilio_voice_number: str
    twilio_api_base_url: str
    whatsapp_template_sid: str
    public_base_url: str
    redis_url: str
    phone_encryption_key: str
    retention_months: int

    # --- the inbox ---
    # Hours from handover to first contact with the resident, per urgency.
    inbox_sla_hours: dict
    inbox_session_timeout_minutes: int
    inbox_lockout_attempts: int
    inbox_lockout_minutes: int
    # Transcripts of conversations without consent to share them are redacted after this.
    inbox_redact_unconsented_days: int
    inbox_cookie_secure: bool
    # Staff sign in with a password and a code from an authenticator app (TOTP). On by default
    # outside development; INBOX_SECOND_FACTOR=false only where the municipality's own sign-in
    # in front of the inbox already asks for a second factor.
    inbox_second_factor: bool
    inbox_pdf_font: str
    # A YAML file of routing rules (which team gets which ticket, handover/routing.py); "" = by postcode only.
    routing_rules_file: str

    # --- the channels ---
    # A Dutch Twilio voice: Amazon Polly's neural nl-NL voice. Polly.Lotte / Polly.Ruben
    # (standard) or Google.nl-NL-Standard-A also work.
    twilio_voice_name: str
    twilio_voice_language: str
    loket_timezone: str
    # Numbers the phone line connects a caller in crisis to. 112 is absent on purpose: Twilio
    # cannot place emergency calls, so the IVR tells the caller to hang up and dial 112.
    crisis_dial_suicide: str
    crisis_dial_geweld: str
    crisis_dial_dakloos: str
    crisis_dial_verward: str
    # The number the phone line transfers callers to during opening hours. Set it when
    # LOKET_PHONE is a 14 0xx number, which not every carrier connects.
    loket_transfer_number: str
    # Rate limits (iad/rate_limits.py), in Flask-Limiter's notation ("30 per minute").
    rate_limits_enabled: bool
    rate_limit_storage_uri: str
    rate_limit_new_conversation: str
    rate_limit_messages_per_ip: str
    rate_limit_messages_per_conversation: str
    rate_limit_login_per_ip: str
    rate_limit_login_per_account: str
    # Where the widget's quick-exit button sends the resident.
    widget_exit_url: str
    # Origins allowed to call the chat API from their pages ("*" = any; no cookies are used).
    widget_allowed_origins: tuple
    # Seconds between the widget's checks for new (staff) messages.
    widget_poll_seconds: int
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host (0 = none):
    # only then is the client's address taken from those headers (iad/web_security.py).
    trusted_proxies: int

    @property
    def is_development(self) -> bool:
        return self.environment in DEVELOPMENT_ENVIRONMENTS

    def check_crisis_numbers(self) -> None:
        """Outside development every crisis number must be a real, configured one."""
        if self.is_development:
            return
        missing = [
            name
            for name, value in (
                ("NIGHT_SHELTER_PHONE", self.night_shelter_phone),
                ("CRISIS_DIAL_DAKLOOS", self.crisis_dial_dakloos),
            )
            if not value or value == DEMO_NIGHT_SHELTER_PHONE or value == self.loket_phone
        ]
        if missing:
            raise ConfigError(
                "crisis numbers not configured (the nachtopvang must be reachable at night, not the "
                f"loket's daytime number): set {', '.join(missing)}"
            )

    @property
    def twilio_configured(self) -> bool:
        """A real Twilio auth token is set: only then are the WhatsApp and voice routes
        mounted outside development (with the public dev token anyone could sign requests)."""
        return self.twilio_auth_token != DEV_TWILIO_AUTH_TOKEN

    def check_secrets(self) -> None:
        """Outside development no secret may be the public development default."""
        if self.is_development:
            return
        weak = [
            name
            for name, bad in (
                ("SECRET_KEY", self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 16),
                ("RASA_TOKEN", self.rasa_token == DEV_RASA_TOKEN or len(self.rasa_token) < 16),
                ("PHONE_ENCRYPTION_KEY", not self.phone_encryption_key.strip()),
            )
            if bad
        ]
        if weak:
            raise ConfigError(
                f"IAD_ENV={self.environment}: set {', '.join(weak)} (a real secret, 16 characters or more; "
                "the development defaults are public)"
            )

    @property
    def default_embedding_model_dir(self) -> Path:
        return self.data_dir / "models" / "multilingual-e5-small"

    @property
    def uses_default_embedding_model(self) -> bool:
        return Path(self.embedding_model) == self.default_embedding_model_dir


def load_settings(env_file: Path | None = None) -> Settings:
    load_dotenv(env_file or PROJECT_ROOT / ".env", override=False)
    data_dir = Path(_env("IAD_DATA_DIR", str(PROJECT_ROOT / "var"))).resolve()
    port = _env_int("PORT", 8000)
    rasa_port = _env_int("RASA_PORT", 5005)
    action_port = _env_int("ACTION_SERVER_PORT", 5055)
    loket_phone = _env("LOKET_PHONE", "14 053")
    night_shelter_phone = _env("NIGHT_SHELTER_PHONE", DEMO_NIGHT_SHELTER_PHONE)
    police_non_urgent_phone = _env("POLICE_NON_URGENT_PHONE", "0900-8844")
    environment = _env("IAD_ENV", "development").lower()
    return Settings(
        environment=environment,
        data_dir=data_dir,
        database_url=_env("DATABASE_URL", f"sqlite:///{data_dir / 'iad.db'}"),
        secret_key=_env("SECRET_KEY", DEV_SECRET_KEY),
        host=_env("HOST", "127.0.0.1"),
        port=port,
        rasa_url=_env("RASA_URL", f"http://127.0.0.1:{rasa_port}"),
        rasa_port=rasa_port,
        rasa_token=_env("RASA_TOKEN", DEV_RASA_TOKEN),
        rasa_model_dir=Path(_env("RASA_MODEL_DIR", str(data_dir / "rasa-models"))),
        rasa_tracker_store_url=_env("RASA_TRACKER_STORE_URL", f"sqlite:///{data_dir / 'rasa-tracker.db'}"),
        rasa_lock_store_url=_env("RASA_LOCK_STORE_URL", ""),
        action_server_url=_env("ACTION_SERVER_URL", f"http://127.0.0.1:{action_port}"),
        action_server_port=action_port,
        rasa_timeout_seconds=float(_env("RASA_TIMEOUT_SECONDS", "10")),
        embedding_model=_env("EMBEDDING_MODEL", str(data_dir / "models" / "multilingual-e5-small")),
        gemeente=_env("GEMEENTE", "Enschede"),
        loket_name=_env("LOKET_NAME", "het IAD-loket van de gemeente"),
        loket_phone=loket_phone,
        loket_hours=_env("LOKET_HOURS", "ma-vr 08:30-17:00"),
        night_shelter_phone=night_shelter_phone,
        police_non_urgent_phone=police_non_urgent_phone,
        max_message_chars=_env_int("MAX_MESSAGE_CHARS", 2000),
        twilio_account_sid=_env("TWILIO_ACCOUNT_SID", "ACdemo00000000000000000000000000"),
        twilio_auth_token=_env("TWILIO_AUTH_TOKEN", DEV_TWILIO_AUTH_TOKEN),
        twilio_whatsapp_from=_env("TWILIO_WHATSAPP_FROM", "whatsapp:+31850000000"),
        twilio_voice_number=_env("TWILIO_VOICE_NUMBER", "+31850000001"),
        twilio_api_base_url=_env("TWILIO_API_BASE_URL", ""),
        whatsapp_template_sid=_env("WHATSAPP_TEMPLATE_SID", ""),
        public_base_url=_env("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}"),
        redis_url=_env("REDIS_URL", ""),
        phone_encryption_key=_env("PHONE_ENCRYPTION_KEY", ""),
        retention_months=_env_int("RETENTION_MONTHS", 12),
        inbox_sla_hours={
            u: _env_int(f"INBOX_SLA_HOURS_{u.upper()}", default) for u, default in zip(URGENCIES, (4, 24, 72, 120))
        },
        inbox_session_timeout_minutes=_env_int("INBOX_SESSION_TIMEOUT_MINUTES", 30),
        inbox_lockout_attempts=_env_int("INBOX_LOCKOUT_ATTEMPTS", 5),
        inbox_lockout_minutes=_env_int("INBOX_LOCKOUT_MINUTES", 15),
        inbox_redact_unconsented_days=_env_int("INBOX_REDACT_UNCONSENTED_DAYS", 30),
        inbox_cookie_secure=_env_bool("INBOX_COOKIE_SECURE", False),
        inbox_second_factor=_env_bool("INBOX_SECOND_FACTOR", environment not in DEVELOPMENT_ENVIRONMENTS),
        # DejaVu covers Dutch, Turkish, Polish, Arabic letters and more; fpdf2 embeds it.
        inbox_pdf_font=_env("INBOX_PDF_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        routing_rules_file=_env("ROUTING_RULES", ""),
        twilio_voice_name=_env("TWILIO_VOICE_NAME", "Polly.Laura-Neural"),
        twilio_voice_language=_env("TWILIO_VOICE_LANGUAGE", "nl-NL"),
        loket_timezone=_env("LOKET_TIMEZONE", "Europe/Amsterdam"),
        crisis_dial_suicide=_env("CRISIS_DIAL_SUICIDE", "0800-0113"),  # 113 Zelfmoordpreventie, free
        crisis_dial_geweld=_env("CRISIS_DIAL_GEWELD", "0800-2000"),  # Veilig Thuis, free, day and night
        crisis_dial_dakloos=_env("CRISIS_DIAL_DAKLOOS", night_shelter_phone),
        crisis_dial_verward=_env("CRISIS_DIAL_VERWARD", police_non_urgent_phone),
        loket_transfer_number=_env("LOKET_TRANSFER_NUMBER", loket_phone),
        rate_limits_enabled=_env_bool("RATE_LIMITS_ENABLED", True),
        rate_limit_storage_uri=_env("RATE_LIMIT_STORAGE_URI", "memory://"),
        rate_limit_new_conversation=_env("RATE_LIMIT_NEW_CONVERSATION", "30 per minute"),
        rate_limit_messages_per_ip=_env("RATE_LIMIT_MESSAGES_PER_IP", "300 per minute"),
        rate_limit_messages_per_conversation=_env("RATE_LIMIT_MESSAGES_PER_CONVERSATION", "30 per minute"),
        rate_limit_login_per_ip=_env("RATE_LIMIT_LOGIN_PER_IP", "20 per minute"),
        rate_limit_login_per_account=_env("RATE_LIMIT_LOGIN_PER_ACCOUNT", "10 per minute"),
        widget_exit_url=_env("WIDGET_EXIT_URL", "https://www.google.nl/search?q=weerbericht"),
        widget_allowed_origins=tuple(o.strip() for o in _env("WIDGET_ALLOWED_ORIGINS", "*").split(",") if o.strip())
        or ("*",),
        widget_poll_seconds=_env_int("WIDGET_POLL_SECONDS", 4),
        trusted_proxies=_env_int("TRUSTED_PROXIES", 0),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
