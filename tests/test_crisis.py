"""The front door's crisis detector: indirect wording caught, figures of speech not."""
import pytest
import yaml

from conversations.crisis import detect_crisis
from tests.conftest import need_shared


@pytest.mark.parametrize("text,code", [
    ("ik zie het niet meer zitten", "suicide"),
    ("Soms denk ik dat iedereen beter af is zonder mij", "suicide"),
    ("I want to kill myself", "suicide"),
    ("mijn vriend slaat me als hij gedronken heeft", "geweld"),
    ("ik ben bang voor mijn man", "geweld"),
    ("mijn vader ademt niet meer", "acuut_gevaar"),
    ("ik heb vannacht geen slaapplek", "dakloos_vannacht"),
    ("de buurman is erg verward en loopt in zijn pyjama op straat", "verward"),
])
def test_crisis_is_recognised(text, code):
    assert detect_crisis(text) == code


@pytest.mark.parametrize("text", [
    "ik ga dood van de hitte in dit huis",
    "mijn telefoon is dood, kunt u mij bellen?",
    "ik lach me dood",
    "ik ben verward door die brief van de belasting",
    "hoe vraag ik bijzondere bijstand aan",
    "de kinderen maken ruzie en slaan elkaar soms",
    "ik zoek een slaapplek voor mijn moeder als ze volgende maand op bezoek komt",
])
def test_figures_of_speech_are_not_a_crisis(text):
    assert detect_crisis(text) is None


def test_dev_set_recall_and_false_alarms():
    cases = yaml.safe_load(need_shared("eval", "dev", "nlu.yml").read_text(encoding="utf-8"))
    crisis = [c for c in cases if c["crisis"]]
    calm = [c for c in cases if not c["crisis"]]
    recall = sum(detect_crisis(c["text"]) is not None for c in crisis) / len(crisis)
    false_alarms = sum(detect_crisis(c["text"]) is not None for c in calm) / len(calm)
    assert recall == 1.0
    assert false_alarms <= 0.05
