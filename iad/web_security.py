"""Safety headers on every response, and the real client address behind a reverse proxy.

Written here rather than with Flask-Talisman: each part of the site needs its own policy
(the inbox runs no script at all, the widget's files are loaded by other sites, the JSON
API and the Twilio webhooks are never pages), Talisman's HTTPS redirect would answer
Twilio's and the health checks' plain-HTTP loopback calls with a 302, and the whole policy
fits in one table that a reader can check against the tests (tests/test_web_security.py).

A blueprint may set its own, stricter headers (the inbox does, inbox/views.py); these are
only the defaults and never overwrite what a blueprint set.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from core.config import Settings

# Pages: scripts and styles only from this server; the one inline <style> of a page
# carries the nonce of its response (csp_nonce() in templates).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# JSON, TwiML, files: nothing in them may ever run or be framed.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Resident and staff data: no browser or proxy keeps a copy.
PRIVATE_PREFIXES = ("/api/chat/", "/webhooks/", "/health")
WIDGET_ASSETS = "/widget/"
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """This response's nonce for an inline <style>; made on first use."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _add_headers(response: Response, *, https_site: bool) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if https_site or request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    path = request.path
    if path.startswith(WIDGET_ASSETS) and path != "/widget/demo":
        # widget.js and widget.css are loaded by the municipality's own site (another origin).
        headers.setdefault("Cross-Origin-Resource-Policy", "cross-origin")
        headers.setdefault("Content-Security-Policy", DATA_CSP)
        return response
    if path.startswith(PRIVATE_PREFIXES):
        headers.setdefault("Cache-Control", "no-store")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", PAGE_CSP.format(nonce=csp_nonce()))
        headers.setdefault("X-Frame-Options", "DENY")
    else:
        headers.setdefault("Content-Security-Policy", DATA_CSP)
    return response


def init_app(app: Flask, settings: Settings) -> None:
    https_site = settings.public_base_url.startswith("https://")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        return _add_headers(response, https_site=https_site)

    app.jinja_env.globals["csp_nonce"] = csp_nonce
    if settings.trusted_proxies:
        # Behind N proxies that each append to X-Forwarded-For/-Proto: the client's address
        # (audit log, rate limits) and the scheme come from the last N entries, never from the
        # client. X-Forwarded-Host is not believed: many proxies pass on the client's own, and
        # every URL we give out is built from PUBLIC_BASE_URL anyway.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0)  # type: ignore[method-assign]
