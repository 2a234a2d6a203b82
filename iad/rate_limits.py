"""Rate limits on what anyone on the internet can call (Flask-Limiter): starting a chat and
sending messages (per IP and per conversation) and the staff login (per IP and per
account). State lives in RATE_LIMIT_STORAGE_URI: memory:// for one process, redis://...
when several web workers must share it. A limit reached gets a 429 with a plain answer.
The app factory wires it; RATE_LIMITS_ENABLED=false switches it off (the load benchmarks
on loopback)."""

from __future__ import annotations

from flask import Flask, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core.config import Settings

TOO_MANY_CHAT = "U stuurt veel berichten kort na elkaar. Wacht een minuut en probeer het dan opnieuw."
TOO_MANY_LOGIN = "Te veel inlogpogingen. Wacht een minuut en probeer het dan opnieuw."


def _conversation() -> str:
    return "conversation:" + str((request.view_args or {}).get("conversation_id", ""))


def _account() -> str:
    return "account:" + (request.form.get("username") or "").strip().lower()


def _pending_account() -> str:
    """The account whose password was right, between the password and the code (the signed
    session says which): a copied cookie cannot guess codes faster than this."""
    return "pending:" + str(session.get("pending_staff_id", ""))


def _is_get() -> bool:
    return request.method != "POST"


def init_app(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.rate_limit_storage_uri,
        enabled=settings.rate_limits_enabled,
        headers_enabled=True,
    )

    def limit(endpoint: str, value: str, message: str, key_func=None, exempt_when=None) -> None:
        view = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = limiter.limit(
                value, key_func=key_func, error_message=message, exempt_when=exempt_when
            )(view)

    limit("web_chat.start_conversation", settings.rate_limit_new_conversation, TOO_MANY_CHAT)
    limit("web_chat.post_message", settings.rate_limit_messages_per_ip, TOO_MANY_CHAT)
    limit("web_chat.post_message", settings.rate_limit_messages_per_conversation, TOO_MANY_CHAT, _conversation)
    limit("inbox.login", settings.rate_limit_login_per_ip, TOO_MANY_LOGIN, exempt_when=_is_get)
    limit("inbox.login", settings.rate_limit_login_per_account, TOO_MANY_LOGIN, _account, exempt_when=_is_get)
    limit("inbox.login_code", settings.rate_limit_login_per_ip, TOO_MANY_LOGIN, exempt_when=_is_get)
    limit(
        "inbox.login_code", settings.rate_limit_login_per_account, TOO_MANY_LOGIN, _pending_account, exempt_when=_is_get
    )
    # The limited views hold the limiter only weakly: the app keeps it alive.
    app.extensions["rate_limiter"] = limiter
    return limiter
