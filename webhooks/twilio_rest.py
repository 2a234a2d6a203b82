"""The real twilio REST client. With TWILIO_API_BASE_URL set, every request goes to that
base URL instead of https://*.twilio.com (a local test server, or an egress proxy)."""

from __future__ import annotations

import re

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from core.config import Settings

_TWILIO_HOST = re.compile(r"^https://[A-Za-z0-9.-]+\.twilio\.com")


class BaseUrlHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str, timeout: float = 10):
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        return super().request(method, _TWILIO_HOST.sub(self.base_url, url), *args, **kwargs)


def twilio_client(settings: Settings) -> Client:
    http = (
        BaseUrlHttpClient(settings.twilio_api_base_url)
        if settings.twilio_api_base_url
        else TwilioHttpClient(timeout=10)
    )
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)
