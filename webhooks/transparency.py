"""The transparency page (/transparantie) for residents and the municipality: what the
assistant does and does not do, what it keeps and for how long, who sees what, the latest
evaluation figures (eval/figures.json, written by `iad eval ... --record` with the date),
and the fields of an Algoritmeregister entry (also as JSON, /transparantie.json)."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template

from core.config import Settings

bp = Blueprint("transparency", __name__, template_folder="templates")

FIGURES = Path(__file__).resolve().parents[1] / "eval" / "figures.json"

# What each recorded figure means, in words a resident reads (B1). Only these are shown.
FIGURE_LABELS = {
    "crisis_recall": "Van de berichten over een crisis kreeg dit deel meteen het juiste hulpnummer",
    "crisis_false_alarm_rate": "Van de gewone berichten kreeg dit deel onterecht een crisisvraag",
    "levensgebieden_macro_f1": "Hoe goed de assistent hoort waar een vraag over gaat (0 tot 1)",
    "handover_accuracy": "Van de gesprekken kreeg dit deel terecht wel of geen medewerker aangeboden",
    "crisis_first_reply": "Van de crisisgesprekken kreeg dit deel het hulpnummer in het eerstvolgende antwoord",
    "melding_recall": "Van de meldingen over een ander werd dit deel als melding herkend",
    "melding_false_rate": "Van de gesprekken zonder melding werd dit deel onterecht als melding gezien",
    "recall_at_5": "Van de zoekvragen stond een passend aanbod bij de eerste vijf",
}


def load_figures(path: Path | None = None) -> list[dict]:
    """[{"command": ..., "cases": ..., "date": ..., "figures": {name: value}}], newest first;
    [] when nothing was recorded yet."""
    path = path or FIGURES
    try:
        runs = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none recorded yet, or unreadable: the page says so
        return []
    return sorted(runs.values(), key=lambda run: run.get("date", ""), reverse=True)


def register_entry(settings: Settings) -> dict[str, str]:
    """The fields of an entry in the Dutch Algoritmeregister (algoritmes.overheid.nl)."""
    return {
        "Naam": "Digitale assistent van het IAD-loket",
        "Organisatie": f"Gemeente {settings.gemeente}",
        "Korte omschrijving": (
            "Een chatassistent op de website, in WhatsApp en aan de telefoon. Hij helpt inwoners hun "
            "vraag helder te krijgen. Hij zoekt passende hulp in de sociale kaart. Op verzoek brengt hij "
            "hen in contact met het wijkteam."
        ),
        "Type algoritme": "Zelflerende modellen (taalmodel en classificatie) en vaste regels",
        "Status": "In gebruik (pilot)",
        "Doel": "Inwoners sneller bij de juiste informatie, voorziening of medewerker brengen.",
        "Impact": (
            "De assistent neemt geen besluiten over uitkeringen, voorzieningen of zorg. Hij verwijst "
            "door en biedt contact met een medewerker aan. Bij tekenen van crisis geeft hij meteen "
            "hulpnummers."
        ),
        "Menselijke tussenkomst": (
            "Medewerkers van het loket en de wijkteams lezen de overdrachten en kunnen elk gesprek "
            "overnemen. Een inwoner kan altijd om een medewerker vragen."
        ),
        "Risicobeheer": (
            "Kwaliteit wordt gemeten op gesprekken die de ontwikkelaars niet kenden (zie de cijfers). "
            "Crisisberichten krijgen voorrang, ook als de assistent uitvalt. BSN, IBAN, telefoonnummers "
            "en e-mailadressen worden uit berichten gehaald voordat ze worden bewaard."
        ),
        "Wettelijke grondslag": (
            "Wet maatschappelijke ondersteuning 2015 (informatie en advies, art. 2.2.1), Jeugdwet, "
            "Participatiewet; verwerking van persoonsgegevens volgens de AVG."
        ),
        "Impacttoetsen": "DPIA en IAMA: uit te voeren en te publiceren door de gemeente.",
        "Bronnen en data": (
            "De berichten van de inwoner en de sociale kaart van de gemeente (HSDS). Voor het trainen: "
            "zelf geschreven voorbeeldzinnen. Geen gegevens uit andere systemen."
        ),
        "Werking": (
            "Rasa (open source) voert het gesprek. Een meertalig taalmodel (multilingual-e5-small) zet "
            "tekst om in getallen. Logistische regressie herkent daarin crisis, levensgebieden en "
            "signalen. Zoeken in de sociale kaart combineert trefwoorden (BM25) en betekenis."
        ),
        "Monitoring": "De meetcommando's `iad eval` en `iad bench`; de cijfers op deze pagina, met datum.",
        "Bewaartermijn": (
            f"Gesprekken uiterlijk {settings.retention_months} maanden na afloop. Zonder toestemming "
            f"om te delen gaat de tekst na {settings.inbox_redact_unconsented_days} dagen weg."
        ),
        "Contact": f"{settings.loket_name}, {settings.loket_phone}",
    }


@bp.get("/transparantie")
def page():
    settings = current_app.config["IAD_SETTINGS"]
    return render_template(
        "transparency/page.html",
        settings=settings,
        runs=load_figures(),
        labels=FIGURE_LABELS,
        entry=register_entry(settings),
    )


@bp.get("/transparantie.json")
def entry_json():
    settings = current_app.config["IAD_SETTINGS"]
    return jsonify({"algoritmeregister": register_entry(settings), "figures": load_figures()})
