"""Registers the resident channels beside the chat API: the widget and its demo page,
WhatsApp (with its outbound sender for staff replies) and the phone line."""

from __future__ import annotations

from flask import Flask

from webhooks import voice, whatsapp, widget


def init_app(app: Flask) -> None:
    app.register_blueprint(widget.bp)
    settings = app.config["IAD_SETTINGS"]
    if not (settings.is_development or settings.twilio_configured):
        # A web-only deployment: no Twilio routes, so nobody can sign requests with the dev token.
        return
    app.register_blueprint(voice.bp)
    whatsapp.init_app(app)
    # Twilio posts forms without a CSRF token; its signature is the check (twilio_security).
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(voice.bp)
        csrf.exempt(whatsapp.bp)
