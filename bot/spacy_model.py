"""Build the spaCy pipeline Rasa's SpacyNLP loads: a blank Dutch pipeline with the lookup
lemmatizer from spacy-lookups-data, saved to a folder.

No trained spaCy model can be downloaded here (no `spacy download`), and the bot only needs
spaCy's Dutch tokenizer and lemmas ("schulden" -> "schuld", "liep" -> "lopen") so that the
count-vector features generalise over word forms. Run it with the RASA venv's Python:
Rasa 3.6 pins spaCy < 3.5, which differs from the app's spaCy.

    .venv-rasa/bin/python -m bot.spacy_model var/spacy-nl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import spacy

DEFAULT_DIR = Path("var") / "spacy-nl"
MARKER = "iad-build.json"
BUILDER_VERSION = 1


def _is_current(out_dir: Path) -> bool:
    marker = out_dir / MARKER
    if not marker.exists() or not (out_dir / "meta.json").exists():
        return False
    info = json.loads(marker.read_text(encoding="utf-8"))
    return info == {"builder": BUILDER_VERSION, "spacy": spacy.__version__}


def build_spacy_model(out_dir: Path | str = DEFAULT_DIR, force: bool = False) -> Path:
    """Write the pipeline to out_dir (idempotent: skipped when already built by this
    builder with this spaCy version). Returns the folder."""
    out_dir = Path(out_dir)
    if not force and _is_current(out_dir):
        return out_dir
    nlp = spacy.blank("nl")
    # Lookup mode needs no tagger: the table comes from spacy-lookups-data.
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.meta["name"] = "iad_blank_lookup"
    nlp.meta["description"] = "Blank Dutch tokenizer + lookup lemmatizer for the IAD bot"
    out_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out_dir)
    (out_dir / MARKER).write_text(
        json.dumps({"builder": BUILDER_VERSION, "spacy": spacy.__version__}), encoding="utf-8"
    )
    return out_dir


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    force = "--force" in sys.argv[2:]
    print(build_spacy_model(target, force=force))
