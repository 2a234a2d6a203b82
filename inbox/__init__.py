"""The loket staff's web inbox (under /inbox/) and the warm handover to the wijkteam.

The app factory calls `init_app(app)`. The bot opens tickets with
`handover.tickets.open_handover_ticket` and tells the resident `handover_packet(ticket)`.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from handover.settings import InboxSettings, load_inbox_settings


def init_app(app: Flask, inbox_settings: InboxSettings | None = None) -> None:
    # The views load Flask-WTF, the forms and argon2 (about 1.3 s); `iad users`, `iad teams` and
    # the other commands of inbox.cli import this package too, and need none of it.
    import handover.models  # noqa: F401  (tables on Base.metadata)
    from handover.tickets import open_callback_ticket
    from inbox.admin import bp as admin_bp
    from inbox.views import bp as inbox_bp

    settings = inbox_settings or load_inbox_settings(app.config.get("IAD_SETTINGS"))
    app.extensions["inbox_settings"] = settings
    # The phone line asks for a callback outside opening hours: that is a ticket like any other.
    app.extensions["callback_requests"] = open_callback_ticket
    # CSRF is checked by the inbox blueprints themselves (before every POST); the JSON chat
    # API and the Twilio webhooks are machine-to-machine and are left alone.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    if "csrf" not in app.extensions:
        CSRFProtect(app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = settings.cookie_secure
    app.register_blueprint(inbox_bp)
    app.register_blueprint(admin_bp)
