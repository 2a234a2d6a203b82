"""The website chat widget (static files under /widget/) and a demo municipality page that
embeds it with the one <script> tag a municipality pastes into its own site."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, render_template, request

from webhooks.settings import channel_settings

bp = Blueprint(
    "widget",
    __name__,
    static_folder="static/widget",
    static_url_path="/widget",
    template_folder="templates",
)


# A plain path on this site: "/" and then no second "/" or "\\", and only characters that a
# browser keeps as they are (it drops tabs and newlines, so "/<TAB>/evil.example" would become
# "//evil.example", another site).
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9._~/?=&-]*")


def _local_exit(value: str) -> str:
    """?exit=/some/path overrides the quick-exit target on the demo page (tests, no internet);
    only a path on this site, so the demo page cannot be turned into an open redirect."""
    return value if LOCAL_PATH.fullmatch(value) else ""


@bp.get("/")
@bp.get("/widget/demo")
def demo():
    settings = current_app.config["IAD_SETTINGS"]
    cs = channel_settings(settings)
    return render_template(
        "widget/demo.html",
        settings=settings,
        exit_url=_local_exit(request.args.get("exit", "")) or cs.widget_exit_url,
        poll_seconds=cs.widget_poll_seconds,
        max_chars=settings.max_message_chars,
    )
