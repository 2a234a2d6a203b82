"""End to end in a real browser (Playwright driving Debian's Chromium, headless):
a resident chats through the chat API and is handed over; a medewerker logs in, finds the
ticket in her wijkteam's queue, claims it and replies; the reply reaches the resident's chat;
the coordinator sees the view in the audit log. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import json
import re
import threading

import pytest
import requests

from conversations.models import Conversation, Message
from handover.tickets import handover_packet, open_handover_ticket
from tests.browser_support import ARTIFACTS, chromium, run_axe
from tests.conftest import free_port
from tests.inbox_support import PASSWORD, db, inbox_app, world  # noqa: F401


@pytest.fixture
def server(inbox_app):
    from waitress import create_server

    port = free_port()
    srv = create_server(inbox_app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    srv.close()
    thread.join(timeout=5)


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


def test_handover_claim_and_reply_in_a_real_browser(server, browser, db, world):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    api = f"{server}/api/chat/conversations"

    # The resident chats (the bot itself is not running here: the front door keeps the messages).
    started = requests.post(
        api, json={"text": "Ik heb schulden en de huur is al twee maanden niet betaald."}, timeout=30
    )
    assert started.status_code == 201, started.text
    cid = started.json()["conversation_id"]
    assert (
        requests.post(f"{api}/{cid}/messages", json={"text": "Ik overzie het niet meer."}, timeout=30).status_code
        == 201
    )

    # The bot's side, once the resident said yes: open the handover (postcode in wijk Noord).
    conversation = db.get(Conversation, cid)
    ticket = open_handover_ticket(
        db,
        conversation,
        reason=["meerdere_levensgebieden", "regieverlies"],
        urgency="hoog",
        consent=True,
        contact_preference="chat",
        contact_window="na 14 uur",
        postcode="7513 XK",
        advised=[{"name": "Schuldhulpverlening gemeente"}],
    )
    # A message with HTML: the chat API keeps it as the resident typed it, the inbox shows it as text.
    db.add(
        Message(
            conversation=conversation,
            sender="resident",
            text='<img src=x onerror="alert(1)"><script>alert(2)</script> is dit veilig?',
        )
    )
    other = open_handover_ticket(
        db, _conversation(db), reason="wil_mens", urgency="normaal", consent=True, postcode="7545 AA"
    )
    db.commit()
    assert ticket.team_id == world.team_a.id and other.team_id == world.team_b.id
    packet = handover_packet(ticket)
    assert packet["team"] == "Sociaal wijkteam Noord" and packet["reference"] == ticket.reference

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # Log in: the first Tab lands on the skip link (keyboard users).
    page.goto(f"{server}/inbox/")
    assert page.url.startswith(f"{server}/inbox/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Ga direct naar de inhoud"
    page.get_by_label("Gebruikersnaam").fill("anna")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{server}/inbox/")

    # Her wijkteam's queue has the ticket; team Zuid's ticket is not hers to see.
    page.get_by_role("navigation", name="Wachtrijen").get_by_role("link", name="Sociaal wijkteam Noord").click()
    row = page.locator("table.tickets tbody tr", has_text=ticket.reference)
    assert row.count() == 1
    assert "Hoog" in row.inner_text() and "nog" in row.inner_text()
    assert page.locator("table.tickets", has_text=other.reference).count() == 0
    page.screenshot(path=str(ARTIFACTS / "inbox-1-queue.png"), full_page=True)

    row.get_by_role("link", name=ticket.reference).click()
    page.wait_for_url(re.compile(rf".*/inbox/tickets/{ticket.id}$"))
    transcript = page.locator(".messages")
    assert "Ik overzie het niet meer." in transcript.inner_text()
    assert '<img src=x onerror="alert(1)"><script>alert(2)</script> is dit veilig?' in transcript.inner_text()
    assert transcript.locator("img, script").count() == 0
    page.get_by_role("button", name="Oppakken").click()
    assert "U hebt deze melding opgepakt." in page.locator(".flash").inner_text()
    page.get_by_label("Bericht aan de inwoner").fill(
        "Goedemiddag, ik ben Anna van het wijkteam. Mag ik u vanmiddag bellen?"
    )
    page.get_by_role("button", name="Versturen").click()
    assert "Bericht verstuurd" in page.locator(".flash").inner_text()
    assert "In contact" in page.locator(".ticket-head").inner_text()
    page.screenshot(path=str(ARTIFACTS / "inbox-2-ticket-after-reply.png"), full_page=True)

    # The reply reaches the resident's chat; the bot is paused for this conversation.
    chat = requests.get(f"{api}/{cid}/messages", timeout=30).json()
    assert chat["status"] == "staff"
    assert chat["messages"][-1]["sender"] == "staff"
    assert chat["messages"][-1]["text"] == "Goedemiddag, ik ben Anna van het wijkteam. Mag ik u vanmiddag bellen?"
    # ...and the resident's answer shows up in the inbox.
    answer = requests.post(f"{api}/{cid}/messages", json={"text": "Ja, na drie uur is goed."}, timeout=30)
    assert answer.status_code == 201 and answer.json()["messages"] == []
    page.reload()
    assert "Ja, na drie uur is goed." in page.locator(".messages").inner_text()

    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url(re.compile(r".*/inbox/login"))

    # The coordinator reads in the audit log that Anna viewed the ticket.
    page.get_by_label("Gebruikersnaam").fill("cora")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("link", name="Auditlog").click()
    page.get_by_label("Melding (nummer)").fill(ticket.reference)
    page.get_by_role("button", name="Toon").click()
    views = page.locator("table.audit tbody tr", has_text="ticket_viewed").filter(has_text="anna")
    assert views.count() >= 1
    assert page.locator("table.audit tbody tr", has_text="reply_sent").count() == 1
    page.screenshot(path=str(ARTIFACTS / "inbox-3-audit-log.png"), full_page=True)

    assert dialogs == []  # no script from a resident's message ever ran
    page.close()


def _login(page, server: str, username: str) -> None:
    page.goto(f"{server}/inbox/login")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{server}/inbox/")


def _axe(page, name: str) -> dict:
    return run_axe(page, f"inbox-{name}")


def test_inbox_pages_meet_wcag21aa_by_axe(server, browser, db, world):
    """axe-core on every kind of inbox page. The pages forbid all script (CSP), so this
    browser context bypasses the CSP only to inject axe itself."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ticket = open_handover_ticket(
        db, _conversation(db), reason="crisis", urgency="acuut", consent=False, acute_danger=True, postcode="7512"
    )
    db.commit()
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    results = {}
    page.goto(f"{server}/inbox/login")
    results["login"] = _axe(page, "login")
    _login(page, server, "anna")
    results["queue"] = _axe(page, "queue")
    page.goto(f"{server}/inbox/tickets/{ticket.id}")
    results["ticket"] = _axe(page, "ticket")
    page.get_by_role("button", name="Uitloggen").click()
    _login(page, server, "cora")
    page.goto(f"{server}/inbox/audit")
    results["audit"] = _axe(page, "audit")
    page.get_by_role("button", name="Uitloggen").click()
    _login(page, server, "bea")
    page.goto(f"{server}/inbox/beheer/gebruikers/{world.anna.id}")
    results["beheer-user"] = _axe(page, "beheer-user")
    context.close()
    summary = {
        name: {
            "violations": [(v["id"], v["impact"]) for v in r["violations"]],
            "passes": r["passes"],
            "needs_review": [(v["id"], v["impact"]) for v in r["incomplete"]],
        }
        for name, r in results.items()
    }
    (ARTIFACTS / "axe-inbox-summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    for name, r in results.items():
        assert r["violations"] == [], f"{name}: {r['violations']}"
        assert r["passes"] > 10, name  # axe really ran


def _conversation(db) -> Conversation:
    conversation = Conversation(channel="web", gemeente="Enschede", levensgebieden={})
    db.add(conversation)
    db.add(Message(conversation=conversation, sender="resident", text="Ik wil graag iemand spreken."))
    db.flush()
    return conversation
