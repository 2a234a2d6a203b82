"""The web app: the residents' front door (chat API, Twilio webhooks, widget) and the staff inbox."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

import inbox
from conversations.front_door import FrontDoor
from conversations.outbound import Outbound
from conversations.rasa_client import RasaClient
from core import log_privacy
from core.config import Settings, get_settings
from core.db import get_engine, session_factory
from handover.regie import forget
from handover.routing import load_rules
from handover.tickets import raise_for_crisis
from iad import rate_limits, web_security
from iad.health import bp as health_bp
from webhooks.channels import init_app as init_channels
from webhooks.hsds_api import bp as hsds_api_bp
from webhooks.transparency import bp as transparency_bp
from webhooks.web import bp as web_bp


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    settings.check_crisis_numbers()  # a crisis number nobody answers is a defect: refuse to start
    settings.check_secrets()  # outside development, no public default secret
    load_rules(settings.routing_rules_file)  # a routing rules file that cannot be used: refuse to start
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        IAD_SETTINGS=settings,
        MAX_CONTENT_LENGTH=256 * 1024,  # a chat message is never this big; stops abuse early
        JSON_AS_ASCII=False,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_privacy.install()  # no conversation id (a web resident's key) in any log line

    make_session = session_factory(get_engine(settings.database_url))
    # The channels' senders (WhatsApp registers its own in init_channels); the front door, the
    # inbox and the worker send through it.
    outbound = app.extensions["outbound"] = Outbound()
    app.extensions["front_door"] = FrontDoor(
        settings,
        RasaClient(settings),
        forget=forget,
        on_crisis=raise_for_crisis,
        session_factory=make_session,
        deliver=outbound.deliver,
    )

    @app.before_request
    def _open_session():
        g.db = make_session()

    @app.teardown_request
    def _close_session(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.close()

    app.register_blueprint(health_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(hsds_api_bp)  # read-only HSDS 3.0 API over the sociale kaart
    app.register_blueprint(transparency_bp)  # /transparantie: what the assistant does and keeps
    init_channels(app)  # widget + demo page, Twilio WhatsApp and voice, the WhatsApp sender for staff replies
    inbox.init_app(app)  # staff inbox under /inbox/, with CSRF on its forms only
    rate_limits.init_app(app, settings)  # on the chat API and the staff login
    web_security.init_app(app, settings)  # safety headers on every response; ProxyFix when configured

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith(("/api/", "/webhooks/", "/health")):
            return jsonify(error=exc.name.lower().replace(" ", "_"), message=exc.description), exc.code
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unexpected error on %s", request.path)
        return jsonify(error="internal_error", message="Er ging iets mis aan onze kant. Probeer het zo nog eens."), 500

    return app
