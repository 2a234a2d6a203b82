"""Every Twilio webhook must carry a valid X-Twilio-Signature: an HMAC over the URL Twilio
called and the form fields, made with our auth token. Anything else gets 403.

The URL is the public one Twilio knows (PUBLIC_BASE_URL + path + query), not the one this
process sees behind a proxy or tunnel; that is the usual cause of "valid" requests failing."""

from __future__ import annotations

import logging
from functools import wraps
from urllib.parse import parse_qs

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)


def public_url() -> str:
    settings = current_app.config["IAD_SETTINGS"]
    url = settings.public_base_url.rstrip("/") + request.path
    query = request.query_string.decode("utf-8", "replace")
    return f"{url}?{query}" if query else url


def form_text(name: str) -> str:
    """A form field as text. Werkzeug leaves a percent-escape that is not UTF-8 (%FF) as it
    is; Twilio never sends that, but a broken client might: read it as U+FFFD instead, so
    the channel can say it could not read the message."""
    raw = request.get_data(cache=True)
    if request.mimetype == "application/x-www-form-urlencoded" and raw:
        values = parse_qs(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace").get(name)
        return values[0] if values else ""
    return request.form.get(name, "")


def is_valid_twilio_request() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    request.get_data(cache=True)  # keep the raw body for form_text; the form is parsed from it
    token = current_app.config["IAD_SETTINGS"].twilio_auth_token
    return RequestValidator(token).validate(public_url(), request.form, signature)


def twilio_signed(view):
    """Rejects, with 403, every request that Twilio did not sign."""

    @wraps(view)
    def checked(*args, **kwargs):
        if not is_valid_twilio_request():
            # No details: a forger learns nothing. The log says which URL was checked.
            log.warning("rejected unsigned or forged Twilio request on %s", public_url())
            abort(403, description="Ongeldige of ontbrekende Twilio-handtekening.")
        return view(*args, **kwargs)

    return checked
