"""The chat widget in a real browser (Playwright + Debian's Chromium) against the real app:
keyboard only, buttons, reload, network drop, quick exit, a staff reply arriving, embedding
on another origin, 200% zoom, and axe-core's WCAG 2.1 AA rules. Screenshots go to
tests/artifacts/. The bot is down here (Rasa's port is closed): the front door answers."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from conversations.models import Conversation, Message, Sender
from conversations.outbound import Outbound, take_over
from core.config import load_settings
from tests.browser_support import ARTIFACTS, chromium, run_axe
from tests.conftest import free_port
from tests.twilio_support import db_session

STORE_PREFIX = "iad-chat:v1:"
BOT_DOWN = "niet bereikbaar"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real app on a real port, with its own database and the bot down."""
    from werkzeug.serving import make_server

    from core.db import Base, get_engine
    from iad.app import create_app
    from iad.tables import import_all_models

    tmp = tmp_path_factory.mktemp("widget")
    port = free_port()
    settings = dataclasses.replace(
        load_settings(),
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'iad.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_timeout_seconds=2,
        public_base_url=f"http://127.0.0.1:{port}",
        widget_poll_seconds=2,
    )
    import_all_models()
    Base.metadata.create_all(get_engine(settings.database_url))
    app = create_app(settings)
    http = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{port}", "settings": settings}
    http.shutdown()


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="nl-NL")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The demo page is served with its real Content-Security-Policy: anything it blocks is a defect.
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"widget-{name}.png"))


def focused(page) -> str:
    """What has keyboard focus, looking into the widget's shadow root."""
    return page.evaluate("""() => {
        let el = document.activeElement;
        while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
        if (!el) return '';
        return (el.tagName + ' ' + (el.getAttribute('aria-label') || el.textContent || el.id || '')).trim().slice(0, 80);
    }""")


def tab_to(page, wanted: str, key: str = "Tab", limit: int = 25) -> None:
    for _ in range(limit):
        page.keyboard.press(key)
        if wanted in focused(page):
            return
    raise AssertionError(f"{wanted!r} not reached with {key}; focus is on {focused(page)!r}")


def stored_conversation_id(page, storage: str = "sessionStorage") -> str:
    return page.evaluate(f"""() => {{
        for (const k of Object.keys({storage})) if (k.startsWith('{STORE_PREFIX}'))
            return JSON.parse({storage}.getItem(k)).conversationId;
        return null;
    }}""")


def stored_keys(page, storage: str) -> list[str]:
    return page.evaluate(f"() => Object.keys({storage}).filter(k => k.startsWith('{STORE_PREFIX}'))")


def resident_texts(settings, conversation_id: str) -> list[str]:
    db = db_session(settings)
    try:
        rows = db.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.sender == Sender.RESIDENT)
            .order_by(Message.id)
        )
        return [m.text for m in rows]
    finally:
        db.close()


def open_and_send(page, url: str, text: str) -> None:
    page.goto(url + "/widget/demo")
    page.get_by_role("button", name="Chat met het loket").click()
    box = page.get_by_label("Uw bericht")
    box.fill(text)
    box.press("Enter")
    page.get_by_text(BOT_DOWN).last.wait_for()


# --- conversations ---------------------------------------------------------------------------


def test_a_whole_conversation_by_keyboard_only(page, server):
    # The answer is held back a moment so the typing indicator can be seen.
    page.route(
        "**/messages",
        lambda route: (time.sleep(0.8), route.continue_())[1] if route.request.method == "POST" else route.continue_(),
    )
    page.goto(server["url"] + "/widget/demo")
    tab_to(page, "Chat met het loket")
    outline = page.evaluate("""() => { const r = document.querySelector('#iad-chat-widget').shadowRoot;
        return getComputedStyle(r.activeElement).outlineStyle; }""")
    assert outline != "none"  # a visible focus indicator
    page.keyboard.press("Enter")
    assert "TEXTAREA" in focused(page)  # opening puts the cursor in the message box
    page.keyboard.type("Ik heb een vraag over mijn huur")
    page.keyboard.press("Enter")
    page.get_by_text("De assistent typt").wait_for()
    shot(page, "typing")
    page.get_by_text(BOT_DOWN).wait_for()
    assert page.get_by_text("De assistent typt").count() == 0
    assert "TEXTAREA" in focused(page)  # ready for the next message
    page.keyboard.type("Kan ik iemand bellen?")
    page.keyboard.press("Enter")
    page.get_by_text(BOT_DOWN).nth(1).wait_for()
    shot(page, "keyboard-conversation")
    conversation_id = stored_conversation_id(page)
    assert resident_texts(server["settings"], conversation_id) == [
        "Ik heb een vraag over mijn huur",
        "Kan ik iemand bellen?",
    ]
    # Everything in the panel is reachable backwards too: the log, close, and "Snel weg".
    tab_to(page, "Snel weg", key="Shift+Tab", limit=6)
    page.keyboard.press("Escape")  # Escape closes the panel and returns to the launcher
    assert "Chat met het loket" in focused(page)
    assert page.get_by_label("Uw bericht").is_hidden()


def test_buttons_are_shown_chosen_by_keyboard_and_sent_as_payload(page, server):
    open_and_send(page, server["url"], "hallo")
    conversation_id = stored_conversation_id(page)
    buttons = [
        {"title": "Geld en schulden", "payload": "/kies{\"levensgebied\":\"geld\"}"},
        {"title": "Wonen", "payload": "/kies{\"levensgebied\":\"wonen\"}"},
    ]
    db = db_session(server["settings"])
    db.add(
        Message(conversation_id=conversation_id, sender=Sender.BOT, text="Waar gaat uw vraag over?", buttons=buttons)
    )
    db.commit()
    db.close()
    group = page.get_by_role("group", name="Kies een antwoord")
    group.wait_for(timeout=10_000)  # arrives by polling
    shot(page, "buttons")
    page.get_by_role("button", name="Wonen").focus()
    page.keyboard.press("Enter")
    page.get_by_text(BOT_DOWN).nth(1).wait_for()
    assert group.count() == 0  # answered: the choices are gone
    assert resident_texts(server["settings"], conversation_id) == ["hallo", buttons[1]["payload"]]
    shown = page.locator(".msg--resident .text").all_inner_texts()
    assert shown == ["hallo", "Wonen"]  # the resident sees their choice in words
    page.reload()
    page.get_by_text(BOT_DOWN).nth(1).wait_for()
    assert page.locator(".msg--resident .text").all_inner_texts() == ["hallo", "Wonen"]


def test_the_conversation_survives_a_reload(page, server):
    open_and_send(page, server["url"], "eerste bericht")
    conversation_id = stored_conversation_id(page)
    before = page.locator(".msg").all_inner_texts()
    page.reload()
    page.get_by_text("eerste bericht").wait_for()
    assert page.get_by_label("Uw bericht").is_visible()  # it was open: it opens again
    assert page.locator(".msg").all_inner_texts() == before
    assert stored_conversation_id(page) == conversation_id
    shot(page, "after-reload")


def test_markup_typed_by_the_resident_is_kept_and_shown_as_text(page, server):
    typed = '<img src=x onerror="window.pwned=1"><b>vet</b> <geen idee>'
    open_and_send(page, server["url"], typed)
    assert resident_texts(server["settings"], stored_conversation_id(page)) == [typed]
    page.reload()
    page.get_by_text(BOT_DOWN).first.wait_for()
    assert page.locator(".msg--resident .text").all_inner_texts() == [typed]
    assert page.locator(".msg--resident b, .msg--resident img").count() == 0
    assert page.evaluate("() => window.pwned") is None


def test_the_conversation_stays_in_this_tab_unless_the_resident_keeps_it(page, server):
    """Someone who uses the browser after the resident closed the tab cannot read the chat
    back; a resident who ticks the box finds it again in a new tab."""
    open_and_send(page, server["url"], "alleen in dit venster")
    conversation_id = stored_conversation_id(page)
    assert conversation_id and stored_keys(page, "localStorage") == []
    later = page.context.new_page()  # a new tab: its own sessionStorage, the same localStorage
    later.goto(server["url"] + "/widget/demo")
    later.get_by_role("button", name="Chat met het loket").click()
    assert later.get_by_text("alleen in dit venster").count() == 0
    later.close()

    page.get_by_label("Bewaar dit gesprek op dit apparaat").check()
    assert stored_conversation_id(page, "localStorage") == conversation_id
    assert stored_keys(page, "sessionStorage") == []  # in one place only
    shot(page, "keep-on-device")
    later = page.context.new_page()
    later.goto(server["url"] + "/widget/demo")
    later.get_by_text("alleen in dit venster").wait_for()  # it was open: it opens again, with the history
    assert later.get_by_label("Bewaar dit gesprek op dit apparaat").is_checked()
    later.get_by_label("Bewaar dit gesprek op dit apparaat").uncheck()
    assert stored_keys(later, "localStorage") == []
    assert stored_conversation_id(later) == conversation_id
    later.close()


def test_a_network_drop_loses_nothing_and_sends_nothing_twice(page, server):
    open_and_send(page, server["url"], "voor de storing")
    conversation_id = stored_conversation_id(page)
    page.context.set_offline(True)
    box = page.get_by_label("Uw bericht")
    box.fill("tijdens de storing")
    box.press("Enter")
    page.get_by_text("Nog niet verstuurd").wait_for()
    page.get_by_text("Geen verbinding").first.wait_for()
    shot(page, "offline")
    page.context.set_offline(False)
    page.get_by_text(BOT_DOWN).nth(1).wait_for(timeout=20_000)
    assert page.get_by_text("Nog niet verstuurd").count() == 0

    # Worse: the server stored the message but its answer was lost on the way back.
    lost = {"count": 0}

    def lose_first_answer(route):
        if route.request.method == "POST" and lost["count"] == 0:
            lost["count"] += 1
            route.fetch()  # reaches the server...
            route.abort("connectionreset")  # ...but the browser never hears back
        else:
            route.continue_()

    page.route("**/messages", lose_first_answer)
    box.fill("antwoord kwijt")
    box.press("Enter")
    page.get_by_text(BOT_DOWN).nth(2).wait_for(timeout=20_000)
    assert lost["count"] == 1
    assert resident_texts(server["settings"], conversation_id) == [
        "voor de storing",
        "tijdens de storing",
        "antwoord kwijt",
    ]
    assert page.locator(".msg--resident .text").all_inner_texts() == [
        "voor de storing",
        "tijdens de storing",
        "antwoord kwijt",
    ]


def test_quick_exit_leaves_at_once_and_leaves_no_trace(page, server):
    page.goto(server["url"] + "/")  # the page before: the exit must not lead back to the chat
    page.goto(server["url"] + "/widget/demo?exit=/weg-van-hier")
    page.get_by_role("button", name="Chat met het loket").click()
    box = page.get_by_label("Uw bericht")
    box.fill("ik voel me thuis niet veilig")
    box.press("Enter")
    # Not safe at home: before anything else the front door asks the safety question, with
    # Veilig Thuis's number (the bot, down in this test, is not asked yet).
    page.get_by_text("0800-2000").wait_for()
    exit_button = page.get_by_role("button", name="Snel weg")
    assert exit_button.is_visible()
    colours = exit_button.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]")
    assert colours == ["rgb(164, 0, 29)", "rgb(255, 255, 255)"]  # white on dark red: 7.9:1
    exit_button.focus()
    started = time.perf_counter()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/weg-van-hier$"))
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert elapsed_ms < 2000
    assert stored_keys(page, "localStorage") == [] and stored_keys(page, "sessionStorage") == []
    page.go_back()
    assert "widget/demo" not in page.url  # replaced in the history: "Back" skips the chat
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "widget-quick-exit.json").write_text(json.dumps({"exit_ms": round(elapsed_ms)}))


def test_a_staff_reply_arrives_while_the_resident_waits(page, server):
    open_and_send(page, server["url"], "kan ik iemand spreken?")
    conversation_id = stored_conversation_id(page)
    db = db_session(server["settings"])
    conversation = db.get(Conversation, conversation_id)
    take_over(db, conversation)
    Outbound().send_staff_reply(  # the web needs no sender: the widget polls
        db, conversation, "Goedemiddag, u spreekt met Sanne van het loket. Waar kan ik u mee helpen?", author="sanne"
    )
    db.commit()
    db.close()
    page.get_by_text("u spreekt met Sanne").wait_for(timeout=10_000)
    assert page.get_by_text("Een medewerker van het loket helpt u nu.").is_visible()
    assert "Medewerker:" in page.locator(".msg--staff").inner_text()
    shot(page, "staff-reply")
    # With the panel closed, a new staff message shows on the launcher.
    page.get_by_role("button", name="Sluiten").click()
    db = db_session(server["settings"])
    Outbound().send_staff_reply(db, db.get(Conversation, conversation_id), "Bent u er nog?", author="sanne")
    db.commit()
    db.close()
    page.get_by_text("nieuw bericht").wait_for(timeout=15_000)
    shot(page, "unread-badge")


def test_embedded_on_another_origin_with_one_script_tag(page, server):
    """A municipality's own site (another origin) with only the <script> tag."""
    html = f"""<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Gemeente</title>
        <style>button {{ background: lime !important; font-size: 40px; }}</style></head>
        <body><main><h1>Andere website</h1></main>
        <script src="{server['url']}/widget/widget.js" defer></script></body></html>""".encode()

    class Site(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://localhost:{site.server_address[1]}/")
        launcher = page.get_by_role("button", name="Chat met het loket")
        # The host page's CSS does not reach into the widget.
        assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(21, 66, 115)"
        launcher.click()
        box = page.get_by_label("Uw bericht")
        box.fill("hallo vanaf de gemeentesite")
        box.press("Enter")
        page.get_by_text(BOT_DOWN).wait_for()  # the cross-origin API call went through (CORS)
        shot(page, "other-origin")
    finally:
        site.shutdown()


def test_200_percent_zoom_keeps_everything_usable(browser, server):
    # 1280 x 800 at 200% zoom is a 640 x 400 CSS-pixel viewport.
    context = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2, locale="nl-NL")
    page = context.new_page()
    try:
        open_and_send(page, server["url"], "vraag bij 200 procent")
        width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1]  # no horizontal scrolling
        for name in ("Snel weg", "Sluiten", "Verstuur"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert (
                box
                and box["x"] >= 0
                and box["y"] >= 0
                and box["x"] + box["width"] <= 640
                and box["y"] + box["height"] <= 400
            ), name
        assert page.get_by_label("Uw bericht").is_visible()
        shot(page, "zoom-200")
    finally:
        context.close()


# --- accessibility ------------------------------------------------------------------------


def test_axe_reports_no_serious_or_critical_wcag21aa_violations(browser, server):
    summary = {}
    for label, viewport in (("desktop", {"width": 1280, "height": 800}), ("zoom-200", {"width": 640, "height": 400})):
        # bypass_csp: only so that axe-core can be injected as an inline script
        context = browser.new_context(viewport=viewport, locale="nl-NL", bypass_csp=True)
        page = context.new_page()
        try:
            page.goto(server["url"] + "/widget/demo")
            page.get_by_role("button", name="Chat met het loket").wait_for()
            closed = run_axe(page, f"{label}-closed")
            open_and_send(page, server["url"], "ik heb een vraag")
            conversation_id = stored_conversation_id(page)
            db = db_session(server["settings"])
            db.add(
                Message(
                    conversation_id=conversation_id,
                    sender=Sender.BOT,
                    text="Kies wat past. Meer op https://www.enschede.nl.",
                    buttons=[{"title": "Geld", "payload": "/geld"}, {"title": "Wonen", "payload": "/wonen"}],
                )
            )
            conversation = db.get(Conversation, conversation_id)
            take_over(db, conversation)
            Outbound().send_staff_reply(db, conversation, "Hallo, ik help u verder.", author="sanne")
            db.commit()
            db.close()
            page.get_by_text("ik help u verder").wait_for(timeout=10_000)
            page.get_by_role("group", name="Kies een antwoord").wait_for()
            opened = run_axe(page, f"{label}-open")
        finally:
            context.close()
        for state, result in (("closed", closed), ("open", opened)):
            summary[f"{label}-{state}"] = {
                "violations": len(result["violations"]),
                "serious_or_critical": [v for v in result["violations"] if v["impact"] in ("serious", "critical")],
                "passes": result["passes"],
                "needs_review": [v for v in result["incomplete"] if v["impact"] in ("serious", "critical")],
            }
    (ARTIFACTS / "axe-summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    for state, numbers in summary.items():
        assert numbers["serious_or_critical"] == [], f"{state}: {numbers['serious_or_critical']}"
        assert numbers["needs_review"] == [], f"{state}: axe could not decide on {numbers['needs_review']}"
        assert numbers["passes"] > 10  # axe really ran the rules


def test_the_chat_api_allows_the_widget_on_other_origins(client):
    preflight = client.options(
        "/api/chat/conversations",
        headers={
            "Origin": "https://www.gemeente.nl",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.gemeente.nl"
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    response = client.post("/api/chat/conversations", headers={"Origin": "https://www.gemeente.nl"})
    assert response.status_code == 201 and response.headers["Access-Control-Allow-Origin"] == "https://www.gemeente.nl"
    assert "Access-Control-Allow-Credentials" not in response.headers  # no cookies involved


def test_only_configured_origins_when_restricted(app, settings):
    from iad.app import create_app

    # `app` made the tables; this one is the same app with WIDGET_ALLOWED_ORIGINS set.
    client = create_app(
        dataclasses.replace(settings, widget_allowed_origins=("https://www.gemeente.nl",))
    ).test_client()
    allowed = client.post("/api/chat/conversations", headers={"Origin": "https://www.gemeente.nl"})
    other = client.post("/api/chat/conversations", headers={"Origin": "https://elders.example"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://www.gemeente.nl"
    assert "Access-Control-Allow-Origin" not in other.headers
