"""A local HTTP server that answers like Rasa 3.6's REST channel and HTTP API (the endpoints
conversations/rasa_client.py uses), so the message pipeline can be tested against a bot that
is down, hangs, or takes a message and loses the reply. The real Rasa is driven end to end in
tests/test_e2e_stack.py (stopped with SIGSTOP and woken again)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import jwt

from conversations.rasa_client import api_secret


class StandInRasa:
    def __init__(self, secret: str | None = None):
        # Like `rasa run --jwt-secret`: the HTTP API (not the REST channel) wants a valid
        # token with the admin role in the Authorization header.
        self.secret = api_secret(secret) if secret is not None else None
        self.urls: list[str] = []  # every path with its query, as received
        self.trackers: dict[str, list[dict]] = {}
        self.heard: list[tuple[str, str]] = []  # (conversation id, text) per REST message
        self.down = False  # every request gets a 503
        # It stands in for the action server too (GET /health): down means connection refused
        # there in the real stack; here its health check fails.
        self.actions_down = False
        self.slow_seconds = 0.0  # a turn takes this long (the client may have given up by then)
        self.lock = threading.Lock()
        rasa = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _authorised(self) -> bool:
                rasa.urls.append(self.path)
                if rasa.secret is None or urlsplit(self.path).path.startswith(("/webhooks/", "/health")):
                    return True
                header = self.headers.get("Authorization", "")
                try:
                    payload = jwt.decode(header.removeprefix("Bearer "), rasa.secret, algorithms=["HS256"])
                except jwt.PyJWTError:
                    return False
                return "exp" in payload and payload.get("user", {}).get("role") == "admin"

            def do_GET(self):
                if not self._authorised():
                    return self._answer(401, {"reason": "NotAuthenticated"})
                if rasa.down:
                    return self._answer(503, {"error": "down"})
                parts = urlsplit(self.path).path.strip("/").split("/")
                if parts == ["health"]:
                    return self._answer(503 if rasa.actions_down else 200, {"status": "ok"})
                if parts == ["status"]:
                    return self._answer(200, {"model_file": "stand-in.tar.gz"})
                if len(parts) == 3 and parts[0] == "conversations" and parts[2] == "tracker":
                    with rasa.lock:
                        events = list(rasa.trackers.get(parts[1], []))
                    return self._answer(200, {"sender_id": parts[1], "events": events})
                return self._answer(404, {})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")
                if not self._authorised():
                    return self._answer(401, {"reason": "NotAuthenticated"})
                if rasa.down:
                    return self._answer(503, {"error": "down"})
                path = urlsplit(self.path).path
                if path.endswith("/tracker/events"):
                    cid = path.split("/")[2]
                    with rasa.lock:
                        rasa.trackers.setdefault(cid, []).extend(body if isinstance(body, list) else [body])
                    return self._answer(200, {})
                if path == "/webhooks/rest/webhook":
                    cid, text = body["sender"], body["message"]
                    reply = {"text": f"Antwoord op: {text}", "buttons": [{"title": "Ja", "payload": "/affirm"}]}
                    # Like Rasa: the turn is worked out, then the tracker saved, then answered.
                    time.sleep(rasa.slow_seconds)
                    now = time.time()
                    user = {"event": "user", "text": text, "timestamp": now, "metadata": body.get("metadata") or {}}
                    with rasa.lock:
                        rasa.heard.append((cid, text))
                        rasa.trackers.setdefault(cid, []).extend(
                            [
                                user,
                                {"event": "bot", "text": reply["text"], "data": {"buttons": reply["buttons"]}},
                                {"event": "action", "name": "action_listen", "timestamp": now},
                            ]
                        )
                    return self._answer(200, [reply])
                return self._answer(404, {})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def heard_texts(self, conversation_id: str) -> list[str]:
        return [text for cid, text in self.heard if cid == conversation_id]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
