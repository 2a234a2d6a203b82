"""The Rasa project itself, through Rasa's own tools (in the Rasa venv): the data
validates, the test stories (Marjan-, meneer-de-Jong-, Paulien- and Asha-like
conversations) pass against the trained model, and the NLU meets its targets on the dev
set. Needs a trained model (`iad setup`)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT, get_settings
from iad.rasa_process import model_path, rasa_bin, rasa_env
from tests.conftest import need_shared

RASA = rasa_bin()
ENV = {**rasa_env(get_settings()), "TF_CPP_MIN_LOG_LEVEL": "3"}  # as `iad rasa ...` runs it


def _need_rasa() -> None:
    if not RASA.exists():
        pytest.skip("the Rasa venv (.venv-rasa) is not installed")


def _latest_model() -> Path:
    """The model the app runs."""
    _need_rasa()
    model = model_path(get_settings())
    if not model.exists():
        pytest.skip(f"no trained Rasa model at {model} (run `iad setup`)")
    return model


def test_rasa_data_validate():
    _need_rasa()
    proc = subprocess.run(
        [str(RASA), "data", "validate", "--config", "bot/config.yml", "--domain", "bot/domain", "--data", "bot/data"],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    # Rasa logs a story conflict as a warning and still exits 0: look for it ourselves.
    assert "Story structure conflict" not in output, output[-3000:]
    assert "No story structure conflicts found" in output, output[-3000:]
    # Rasa's validator only looks at stories and rules; a response sent by a custom action
    # or asked by the form is reported as "not used". Anything else would be a real finding.
    actions_source = "".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "bot" / "actions").glob("*.py"))
    for line in output.splitlines():
        if "UserWarning" not in line:
            continue
        m = re.search(r"The utterance '(\w+)' is not used in any story or rule", line)
        assert m, line
        name = m.group(1)
        used_by_action = name in actions_source or any(
            name.startswith(prefix) and f'"{prefix}' in actions_source.replace('f"', '"')
            for prefix in ("utter_crisis_", "utter_handover_aanbod_", "utter_eigen_kracht_")
        )
        assert name.startswith("utter_ask_") or used_by_action, f"unused response {name}"


def test_a_story_conflict_fails_the_build():
    """`rasa data validate stories --fail-on-warnings` checks only the story structure, so
    the expected "response not used" warnings cannot hide a conflict or cause a failure."""
    _need_rasa()
    proc = subprocess.run(
        [
            str(RASA),
            "data",
            "validate",
            "stories",
            "--fail-on-warnings",
            "--config",
            "bot/config.yml",
            "--domain",
            "bot/domain",
            "--data",
            "bot/data",
        ],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_rasa_test_stories_pass(tmp_path):
    model = _latest_model()
    proc = subprocess.run(
        [
            str(RASA),
            "test",
            "core",
            "--stories",
            "bot/tests",
            "--model",
            str(model),
            "--out",
            str(tmp_path),
            "--no-plot",
        ],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    failed = (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert "None of the test stories failed" in failed, failed
    report = json.loads((tmp_path / "story_report.json").read_text(encoding="utf-8"))
    assert report["conversation_accuracy"]["accuracy"] == 1.0


def test_nlu_targets_on_the_dev_set():
    cases = need_shared("eval", "dev", "nlu.yml")
    from measure.nlu import evaluate_nlu

    result = evaluate_nlu(cases)
    assert result["crisis_recall"] == 1.0, result
    assert result["crisis_false_alarm_rate"] <= 0.05, result
    assert result["macro_f1"] >= 0.85, result
