"""Safety headers on every kind of response, the client address behind a proxy, and no open
redirect on the demo page (iad/web_security.py, webhooks/widget.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from core.db import get_engine, session_factory
from handover.models import AuditLog
from tests.inbox_support import PASSWORD, csrf_from, make_inbox_app, make_world


def test_pages_get_a_policy_that_allows_only_this_servers_scripts(client):
    for path in ("/widget/demo", "/transparantie"):
        response = client.get(path)
        assert response.status_code == 200
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        # The page's one inline <style> carries this response's nonce, and nothing else inline runs.
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        assert f'<style nonce="{nonce}">' in response.get_data(as_text=True)
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
    # A new nonce for every response.
    first = client.get("/widget/demo").headers["Content-Security-Policy"]
    assert first != client.get("/widget/demo").headers["Content-Security-Policy"]


def test_resident_data_is_never_cached_and_never_runs(client):
    started = client.post("/api/chat/conversations", json={})
    assert started.status_code in (200, 201)
    conversation_id = started.get_json()["conversation_id"]
    for response in (
        started,
        client.get(f"/api/chat/conversations/{conversation_id}/messages"),
        client.get("/health"),
        client.post("/webhooks/twilio/whatsapp", data={"Body": "hallo"}),  # unsigned: refused, with the headers
    ):
        assert response.headers["Cache-Control"] == "no-store", response.request.path
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_widgets_files_may_be_loaded_by_the_municipalitys_own_site(client):
    for name in ("widget.js", "widget.css"):
        response = client.get(f"/widget/{name}")
        assert response.status_code == 200
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


def test_the_inbox_keeps_its_own_stricter_policy(client):
    response = client.get("/inbox/login")
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_hsts_only_on_a_site_served_over_https(settings):
    plain = make_inbox_app(settings).test_client()
    assert "Strict-Transport-Security" not in plain.get("/widget/demo").headers
    https = make_inbox_app(dataclasses.replace(settings, public_base_url="https://loket.example.nl")).test_client()
    for path in ("/widget/demo", "/api/chat/conversations/x/messages", "/inbox/login"):
        assert https.get(path).headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize(
    ("proxies", "expected"),
    [(0, "127.0.0.1"), (1, "203.0.113.7")],
    ids=["no proxy: the header is the client's word, ignored", "one trusted proxy: its header counts"],
)
def test_the_audit_log_records_the_residents_address_not_the_proxys(settings, proxies, expected):
    app = make_inbox_app(dataclasses.replace(settings, trusted_proxies=proxies))
    session = session_factory(get_engine(settings.database_url))()
    make_world(session)
    session.commit()
    client = app.test_client()
    # A client that forges the header itself: only the entry the proxy added (the last) counts.
    headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"}
    # Over HTTPS (as the proxy says) Flask-WTF also checks that the form came from this site.
    headers["Referer"] = "https://localhost/inbox/login"
    page = client.get("/inbox/login", headers=headers)
    assert page.status_code == 200
    response = client.post(
        "/inbox/login",
        headers=headers,
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "username": "anna", "password": PASSWORD},
    )
    assert response.status_code == 302
    ips = session.scalars(select(AuditLog.ip).where(AuditLog.action == "login")).all()
    session.close()
    assert ips == [expected]


@pytest.mark.parametrize(
    "exit_value",
    ["https://evil.example/", "//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "/%09/x"],
)
def test_the_demo_pages_exit_cannot_lead_to_another_site(client, exit_value):
    html = client.get("/widget/demo", query_string={"exit": exit_value}).get_data(as_text=True)
    exit_url = re.search(r'data-exit-url="([^"]*)"', html).group(1)
    assert exit_url == "https://www.google.nl/search?q=weerbericht"  # the configured default, not the value


def test_the_demo_pages_exit_may_be_a_path_on_this_site(client):
    html = client.get("/widget/demo", query_string={"exit": "/weg-van-hier"}).get_data(as_text=True)
    assert 'data-exit-url="/weg-van-hier"' in html
