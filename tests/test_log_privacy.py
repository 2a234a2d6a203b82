"""No conversation id (a web resident's only key to their chat) in any log line: not in the
message, not in a traceback; lines about one conversation still match up."""

from __future__ import annotations

import io
import logging
import uuid

import requests

from core import log_privacy


def test_a_conversation_id_is_in_no_log_line_nor_traceback():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        log_privacy.install()
        cid = uuid.uuid4().hex
        log = logging.getLogger("tests.log_privacy")
        log.warning("bot unavailable for conversation %s", cid)
        try:
            requests.get(f"http://127.0.0.1:1/conversations/{cid}/tracker", timeout=1)
        except requests.RequestException:
            log.exception("late bot call failed")
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert cid not in text
    assert text.count(log_privacy.digest(cid)) >= 2  # the line and the traceback, matched up
    assert "Connection refused" in text  # the traceback itself is kept


def test_the_app_installs_it(app):
    assert any(isinstance(f, log_privacy.ConversationIdFilter) for h in logging.getLogger().handlers for f in h.filters)
