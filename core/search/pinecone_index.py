"""Pinecone as the vector index (when PINECONE_API_KEY is set): a vector per chunk, derived from the database.

Namespace: PINECONE_NAMESPACE (default ``default``), one per deployment. A Slack team ID was considered —
users and OAuth installations store one — but documents do not belong to a workspace (one Jira site, and
channels of every installed workspace, in one database) and the index job runs without a team, so the
deployment is the unit; two deployments (staging and production) may share an index in two namespaces.

Vector IDs are ``doc{document_id}#{ordinal}``: a document's vectors are listed by the prefix ``doc{id}#``
(the ``#`` keeps doc1 from matching doc12). Metadata never holds null, which Pinecone rejects: absent values
are left out, except ``project``, stored as "" when there is none, so filters on it never meet a missing
field.

Failures: the client itself retries timeouts, dropped connections, 408, 429 and 5xx (3 retries, honouring
Retry-After); what still fails becomes ``Retryable`` for the job runner, any other refusal
``VectorIndexError``. Messages name the operation and the status, never the request or its API key.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from core.config import ConfigError, Settings
from core.errors import AgentPMError, Retryable
from core.search.chunks import MAX_CHUNKS
from core.search.vectors import ChunkKey, ChunkVector, DenseHit, Vector

MAX_VECTORS_PER_UPSERT = 100  # Pinecone's recommendation
MAX_UPSERT_BYTES = 1_500_000  # the hard cap is 2 MB a request
JSON_BYTES_PER_VALUE = 24  # the longest a float32 gets as JSON ("-1.2345678901234567e-05,")
MAX_IDS_PER_DELETE = 1000
LIST_PAGE = 100
QUERY_TOP_K_MAX = 10_000
TIMEOUT_SECONDS = 10.0

_VECTOR_ID = re.compile(r"doc(\d+)#(\d+)")

# The client logs every request at INFO; failures reach our log as errors of their own.
logging.getLogger("pinecone").setLevel(logging.WARNING)


class VectorIndexError(AgentPMError):
    user_message = "The search index refused a request; an administrator should check its configuration."


def vector_id(document_id: int, ordinal: int) -> str:
    return f"doc{document_id}#{ordinal}"


def parse_vector_id(value: str) -> ChunkKey | None:
    match = _VECTOR_ID.fullmatch(value)
    return (int(match[1]), int(match[2])) if match else None


def chunk_metadata(chunk: ChunkVector) -> dict[str, str | int]:
    meta = chunk.meta
    values: dict[str, str | int | None] = {
        "document_id": chunk.document_id,
        "source": meta.source,
        "key": meta.key,
        "status": meta.status,
        "updated": meta.updated,
        "url": meta.url,
        "access": meta.access,
    }
    kept: dict[str, str | int] = {k: v for k, v in values.items() if v is not None and v != ""}
    kept["project"] = meta.project or ""
    return kept


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Pinecone's errors as ours: transient ones Retryable (after the client's own retries), others not."""
    from pinecone import ApiError, PineconeError, PineconeTimeoutError, RateLimitError

    try:
        yield
    except RateLimitError as exc:
        raise Retryable(f"Pinecone {operation}: HTTP 429", retry_after=exc.retry_after) from exc
    except ApiError as exc:
        status = int(exc.status_code)
        if status == 408 or status >= 500:
            raise Retryable(f"Pinecone {operation}: HTTP {status}") from exc
        raise VectorIndexError(f"Pinecone {operation}: HTTP {status}") from exc
    except PineconeTimeoutError as exc:
        raise Retryable(f"Pinecone {operation}: timed out") from exc
    except PineconeError as exc:  # connection failures, unreadable answers
        raise Retryable(f"Pinecone {operation}: {type(exc).__name__}") from exc


class PineconeVectorIndex:
    backend: Literal["local", "pinecone"] = "pinecone"

    def __init__(self, api_key: str, host: str, namespace: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        from pinecone import Pinecone

        self.namespace = namespace
        self._index: Any = Pinecone(api_key=api_key, timeout=timeout).Index(host=host)
        self._dimension: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PineconeVectorIndex:
        if not settings.pinecone_api_key or not settings.pinecone_index_host:
            raise ConfigError("PINECONE_INDEX_HOST is missing while PINECONE_API_KEY is set")
        return cls(settings.pinecone_api_key, settings.pinecone_index_host, settings.pinecone_namespace)

    def _stats(self) -> Any:
        with _translated("describe_index_stats"):
            return self._index.describe_index_stats()

    @property
    def dimension(self) -> int | None:
        """The index's own (asked once): it is fixed when the index is created."""
        if self._dimension is None:
            value = self._stats().dimension
            self._dimension = int(value) if value else None
        return self._dimension

    def count(self) -> int:
        """Vectors in this deployment's namespace (Pinecone's count lags writes by a few seconds)."""
        summary = self._stats().namespaces.get(self.namespace)
        return int(summary.vector_count) if summary is not None else 0

    def search(
        self, query: Vector, limit: int = 50, *, exclude_projects: Collection[str] = ()
    ) -> list[DenseHit]:
        """Best documents by their best chunk: enough chunks are asked for that ``limit`` documents fit."""
        where = {"project": {"$nin": sorted(exclude_projects)}} if exclude_projects else None
        with _translated("query"):
            response = self._index.query(
                vector=query.astype(float).tolist(),
                top_k=min(QUERY_TOP_K_MAX, limit * MAX_CHUNKS),
                namespace=self.namespace,
                filter=where,
                include_metadata=False,
            )
        best: dict[int, float] = {}
        for match in response.matches:
            key = parse_vector_id(match.id)
            if key is None or key[0] in best:
                continue
            best[key[0]] = float(match.score)
            if len(best) >= limit:
                break
        return [DenseHit(d, s) for d, s in best.items()]

    def upsert(self, chunks: Sequence[ChunkVector]) -> None:
        for batch in upsert_batches(chunks):
            with _translated("upsert"):
                self._index.upsert(vectors=batch, namespace=self.namespace)

    def delete(self, *, documents: Collection[int] = (), chunks: Collection[ChunkKey] = ()) -> None:
        ids = [vector_id(*key) for key in sorted(chunks)]
        for document in sorted(set(documents)):
            ids.extend(self._ids(prefix=f"doc{document}#"))
        self._delete_ids(ids)

    def prune(self, keep: Collection[ChunkKey]) -> int:
        wanted = {vector_id(*key) for key in keep}
        stale = [i for i in self._ids(prefix="doc") if i not in wanted and parse_vector_id(i) is not None]
        self._delete_ids(stale)
        return len(stale)

    def _ids(self, prefix: str) -> list[str]:
        with _translated("list"):
            return [
                item.id
                for page in self._index.list(prefix=prefix, namespace=self.namespace, limit=LIST_PAGE)
                for item in page.vectors
                if item.id
            ]

    def _delete_ids(self, ids: Sequence[str]) -> None:
        from pinecone import NotFoundError

        for start in range(0, len(ids), MAX_IDS_PER_DELETE):
            try:
                with _translated("delete"):
                    self._index.delete(
                        ids=list(ids[start : start + MAX_IDS_PER_DELETE]), namespace=self.namespace
                    )
            except VectorIndexError as exc:
                if isinstance(exc.__cause__, NotFoundError):
                    return  # the namespace does not exist (yet): nothing to delete
                raise


def upsert_batches(chunks: Sequence[ChunkVector]) -> Iterator[list[dict[str, Any]]]:
    """Requests of at most 100 vectors and well under Pinecone's 2 MB (by an upper bound of their JSON)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for chunk in chunks:
        metadata = chunk_metadata(chunk)
        record = {"id": vector_id(chunk.document_id, chunk.ordinal), "values": chunk.vector.tolist(),
                  "metadata": metadata}  # fmt: skip
        record_bytes = len(chunk.vector) * JSON_BYTES_PER_VALUE + len(json.dumps(metadata)) + 64
        if batch and (len(batch) >= MAX_VECTORS_PER_UPSERT or size + record_bytes > MAX_UPSERT_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record_bytes
    if batch:
        yield batch
