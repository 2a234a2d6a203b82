"""Test support for the Twilio channels: a local HTTP server standing in for Twilio's REST API
(it records what the real twilio client sends), signed webhook requests made with the twilio
library's own RequestValidator, and an app with the channels registered."""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://loket.example.nl"


class RecordingTwilioApi:
    """Answers like Twilio's Messages endpoint and keeps every request it got."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode("utf-8")
                form = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw, keep_blank_values=True).items()}
                number = len(recorder.requests) + 1
                recorder.requests.append(
                    {"method": "POST", "path": urlsplit(self.path).path, "headers": dict(self.headers), "form": form}
                )
                if recorder.fail_with:
                    body = {
                        "code": 63016,
                        "message": "Failed to send freeform message because you are outside the allowed window.",
                        "status": recorder.fail_with,
                    }
                    self._answer(recorder.fail_with, body)
                    return
                self._answer(
                    201,
                    {
                        "sid": f"SM{number:032x}",
                        "status": "queued",
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "account_sid": self.path.split("/")[3],
                        "num_segments": "1",
                    },
                )

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def twilio_settings(settings, api_url: str = ""):
    return dataclasses.replace(
        settings,
        twilio_auth_token=TEST_AUTH_TOKEN,
        twilio_account_sid="AC" + "1" * 32,
        public_base_url=PUBLIC_BASE_URL,
        twilio_api_base_url=api_url,
        phone_encryption_key="",
    )


def make_channel_app(settings):
    from core.db import Base, get_engine
    from iad.app import create_app
    from iad.tables import import_all_models

    import_all_models()
    Base.metadata.create_all(get_engine(settings.database_url))
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def sign(path: str, params: dict, token: str = TEST_AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, params)


def signed_post(client, path: str, params: dict, token: str = TEST_AUTH_TOKEN):
    return client.post(path, data=params, headers={"X-Twilio-Signature": sign(path, params, token)})


def db_session(settings):
    from core.db import get_engine, session_factory

    return session_factory(get_engine(settings.database_url))()
