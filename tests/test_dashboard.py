"""The signalen dashboard (issue 15): a coordinator sees counts computed here from the
database, 1 to 4 shown as "< 5" (tables, CSV, charts), filters by period, wijk and channel;
a medewerker may not open it. In a real Chromium: the charts load and axe-core finds no
WCAG 2.1 AA violation; screenshots go to tests/artifacts/."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from inbox.dashboard import SUPPRESSED, Filters, build, shown
from sociale_kaart.gaps import record_unmet
from tests.browser_support import ARTIFACTS, chromium, run_axe
from tests.conftest import free_port
from tests.inbox_support import db, inbox_app, login, make_conversation, make_ticket, world  # noqa: F401


def seed(db):  # noqa: F811
    """12 web conversations about geld (7 also wonen), 3 on WhatsApp about taal, 1 crisis call;
    6 tickets in Noord, 2 in Zuid; 2 unmet questions about vervoer."""
    for i in range(12):
        make_conversation(db, [], levensgebieden={"geld": ["schulden"], **({"wonen": ["huur"]} if i < 7 else {})})
    for _ in range(3):
        make_conversation(db, [], channel="whatsapp", levensgebieden={"taal": ["brieven"]})
    crisis = make_conversation(db, [], channel="voice", levensgebieden={"psyche": ["somber"]})
    crisis.crisis = "suicide"
    for _ in range(6):
        make_ticket(db, postcode="7512 AB")
    for _ in range(2):
        make_ticket(db, postcode="7545 AA")
    for _ in range(2):
        record_unmet(db, "is er een bus naar het ziekenhuis", "Enschede", ["vervoer"])
    db.commit()


def cells(table) -> dict:
    return {row[0]: row[1:] for row in table.shown_rows()}


def test_counts_come_from_the_database_and_small_ones_are_suppressed(db, world):  # noqa: F811
    seed(db)
    tables = build(db, Filters(start=date(2000, 1, 1), end=date(2100, 1, 1)))
    # 12 geld + 8 ticket conversations with geld and wonen (make_ticket's own conversations).
    assert cells(tables["levensgebieden_per_week"])["Geld en schulden"][-1] == 20
    assert cells(tables["levensgebieden_per_week"])["Taal, lezen en digitaal"][-1] == SUPPRESSED  # 3
    assert cells(tables["samen"])["Geld en schulden + Wonen"] == [15]
    assert cells(tables["kanalen"]) == {"Website": [20], "WhatsApp": [SUPPRESSED], "Telefoon": [SUPPRESSED]}
    assert cells(tables["crisis"]) == {"Crisis": [SUPPRESSED]}
    teams = cells(tables["teams"])
    assert teams["Sociaal wijkteam Noord"][0] == 6 and teams["Sociaal wijkteam Zuid"][0] == SUPPRESSED
    assert cells(tables["geen_aanbod"]) == {"Vervoer": [SUPPRESSED]}
    assert "< 5" in tables["kanalen"].csv() and "Website;20" in tables["kanalen"].csv()
    # Filters: one wijk, one channel, an empty period.
    noord = build(db, Filters(start=date(2000, 1, 1), end=date(2100, 1, 1), wijk_id=world.wijk_a.id))
    assert list(cells(noord["teams"])) == ["Sociaal wijkteam Noord"]
    whatsapp = build(db, Filters(start=date(2000, 1, 1), end=date(2100, 1, 1), channel="whatsapp"))
    assert cells(whatsapp["kanalen"]) == {"WhatsApp": [SUPPRESSED]}
    assert build(db, Filters(start=date(2001, 1, 1), end=date(2001, 2, 1)))["kanalen"].rows == []
    assert [shown(n) for n in (0, 1, 4, 5)] == [0, SUPPRESSED, SUPPRESSED, 5]


def test_only_coordinators_open_it_and_csv_and_charts_are_served(inbox_app, db, world):  # noqa: F811
    seed(db)
    client = inbox_app.test_client()
    login(client, "anna")
    assert client.get("/inbox/dashboard").status_code == 403
    client = inbox_app.test_client()
    login(client, "cora")
    page = client.get("/inbox/dashboard?van=2000-01-01&tot=2100-01-01")
    assert page.status_code == 200 and "Signalen" in page.get_data(as_text=True)
    csv = client.get("/inbox/dashboard/kanalen.csv?van=2000-01-01&tot=2100-01-01")
    assert csv.mimetype == "text/csv" and "WhatsApp;< 5" in csv.get_data(as_text=True)
    chart = client.get("/inbox/dashboard/grafiek/teams.svg?van=2000-01-01&tot=2100-01-01")
    assert chart.mimetype == "image/svg+xml" and b"<svg" in chart.data
    assert client.get("/inbox/dashboard/grafiek/nope.svg").status_code == 404


@pytest.fixture
def server(inbox_app):
    from waitress import create_server

    port = free_port()
    srv = create_server(inbox_app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=srv.run, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    srv.close()


def test_a_coordinator_sees_the_charts_in_a_real_browser_without_wcag_violations(server, db, world):  # noqa: F811
    from tests.inbox_support import PASSWORD

    seed(db)
    with chromium() as browser:
        # bypass_csp: only so that axe-core can be injected (the inbox runs no script of its own)
        page = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{server}/inbox/login")
        page.get_by_label("Gebruikersnaam").fill("cora")
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url(f"{server}/inbox/")
        page.get_by_role("link", name="Signalen").click()
        page.get_by_role("heading", name="Signalen: wat inwoners vragen").wait_for()
        page.get_by_label("Van").fill("2000-01-01")
        page.get_by_role("button", name="Toon").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("#t-kanalen").inner_text().split() == [
            "Kanaal",
            "Gesprekken",
            "Website",
            "20",
            "WhatsApp",
            "<",
            "5",
            "Telefoon",
            "<",
            "5",
        ]
        widths = page.eval_on_selector_all("figure img", "imgs => imgs.map(i => i.naturalWidth)")
        assert len(widths) == 3 and all(w > 100 for w in widths)  # each chart really loaded
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        result = run_axe(page, "dashboard")
    assert result["violations"] == [], result["violations"]
    assert result["passes"] > 10


@pytest.mark.parametrize("query", ["tot=9999-12-31", "van=0001-01-01", "tot=0001-01-05", "wijk=%C2%B2", "kanaal=<b>"])
def test_odd_filter_values_get_a_page_not_a_500(inbox_app, db, world, query):  # noqa: F811
    client = inbox_app.test_client()
    login(client, "cora")
    assert client.get(f"/inbox/dashboard?{query}").status_code == 200


def test_a_total_never_gives_away_a_hidden_part():
    from inbox.dashboard import Table

    table = Table(
        "t", "t", ["Team", "Overdrachten", "Op tijd", "Te laat", "Loopt"], [["A", 9, 6, 3, 0]], total_of=(1, (2, 3, 4))
    )
    assert table.shown_rows() == [["A", "≥ 6", 6, SUPPRESSED, 0]]
