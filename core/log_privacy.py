"""No conversation id in a log line. A web conversation's id is the resident's only key to
it (whoever has it can read the chat), and the app, the worker and the action server log
about conversations. A filter on the log handlers replaces every such id, in the message
and in a traceback, with a short one-way digest: lines about one conversation can still be
matched up, the key cannot be read back."""

from __future__ import annotations

import hashlib
import logging
import re

_CONVERSATION_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def digest(conversation_id: str) -> str:
    return "conv-" + hashlib.sha256(conversation_id.encode("ascii")).hexdigest()[:10]


def scrub(text: str) -> str:
    return _CONVERSATION_ID.sub(lambda match: digest(match.group(0)), text)


class ConversationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), None
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install() -> None:
    """On every handler of the root logger (call after logging is configured)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ConversationIdFilter) for f in handler.filters):
            handler.addFilter(ConversationIdFilter())
