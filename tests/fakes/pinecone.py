"""A fake Pinecone data plane over HTTP, so the real `pinecone` client runs in tests.

It keeps vectors per namespace and answers the routes the client calls: upsert, query (cosine, top_k, metadata
filters), delete (ids, deleteAll, filter), fetch, list (prefix, pagination) and describe_index_stats, with
Pinecone's limits (2 MB and 1,000 vectors a request, no null or nested metadata, the index's dimension) and
switches that make it answer 429 or 503. Filters are closed-world: a condition on a field a record lacks
never matches it (except ``$exists: false``), the strictest reading of Pinecone's behaviour.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.localserver import LocalServer

MAX_REQUEST_BYTES = 2 * 1024 * 1024
MAX_UPSERT_VECTORS = 1000
DEFAULT_LIST_LIMIT = 100


@dataclass
class Record:
    values: list[float]
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    namespace: str
    vectors: int  # vectors in an upsert, IDs in a delete
    body_bytes: int
    status: int


class FilterError(ValueError):
    pass


def _compare(metadata: dict[str, Any], field: str, op: str, arg: Any) -> bool:
    if op == "$exists":
        return (field in metadata) == bool(arg)
    if field not in metadata:
        return False
    value = metadata[field]
    values = value if isinstance(value, list) else [value]
    if op == "$eq":
        return arg in values
    if op == "$ne":
        return arg not in values
    if op == "$in":
        return any(v in arg for v in values)
    if op == "$nin":
        return not any(v in arg for v in values)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if not isinstance(value, int | float):
            return False
        return {"$gt": value > arg, "$gte": value >= arg, "$lt": value < arg, "$lte": value <= arg}[op]
    raise FilterError(f"unsupported filter operator {op}")


def matches(metadata: dict[str, Any], where: dict[str, Any]) -> bool:
    """Pinecone's filter language: fields with $eq, $ne, $in, $nin, $gt(e), $lt(e) or $exists; $and, $or."""
    for key, condition in where.items():
        if key == "$and":
            if not all(matches(metadata, part) for part in condition):
                return False
        elif key == "$or":
            if not any(matches(metadata, part) for part in condition):
                return False
        elif isinstance(condition, dict):
            if not all(_compare(metadata, key, op, arg) for op, arg in condition.items()):
                return False
        elif not _compare(metadata, key, "$eq", condition):
            return False
    return True


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


def _bad_metadata(metadata: Any) -> str | None:
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    for key, value in metadata.items():
        if value is None:
            return f"metadata field {key!r} is null: null values are not supported"
        if isinstance(value, dict):
            return f"metadata field {key!r} is a nested object, which is not supported"
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return f"metadata field {key!r} is a list of non-strings"
    return None


class FakePinecone(LocalServer):
    """One serverless index of ``dimension`` dimensions, reached with ``api_key``."""

    def __init__(self, dimension: int = 8, api_key: str = "pcsk_test_key_0123456789") -> None:
        super().__init__()
        self.dimension = dimension
        self.api_key = api_key
        self.namespaces: dict[str, dict[str, Record]] = {}
        self.calls: list[Call] = []
        self.down = False  # every request answers 503
        self._failures: list[tuple[int, str | None, str | None]] = []  # (status, path or any, Retry-After)

    def fail_next(
        self, status: int, times: int = 1, *, path: str | None = None, retry_after: str | None = "0"
    ) -> None:
        """The next ``times`` requests (to ``path``, or any) answer ``status`` (e.g. 429, 503) instead."""
        self._failures.extend([(status, path, retry_after)] * times)

    def vectors(self, namespace: str) -> dict[str, Record]:
        return self.namespaces.get(namespace, {})

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * MAX_REQUEST_BYTES, middlewares=[self._guard])
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/vectors/upsert", self._upsert)
        app.router.add_post("/query", self._query)
        app.router.add_post("/vectors/delete", self._delete)
        app.router.add_get("/vectors/fetch", self._fetch)
        app.router.add_get("/vectors/list", self._list)
        app.router.add_post("/describe_index_stats", self._stats)
        app.router.add_get("/describe_index_stats", self._stats)

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Authentication, size limits and the failure switches, then the route; every request is recorded."""
        body = await request.read()
        namespace = request.query.get("namespace", "")
        response: web.StreamResponse
        failure = next((f for f in self._failures if f[1] in (None, request.path)), None)
        if request.headers.get("Api-Key") != self.api_key:
            response = _error(401, "Invalid API key")
        elif self.down:
            response = _error(503, "Service unavailable")
        elif failure is not None:
            self._failures.remove(failure)
            headers = {"Retry-After": failure[2]} if failure[2] is not None else {}
            response = _error(
                failure[0], "Too many requests" if failure[0] == 429 else "Unavailable", headers
            )
        elif len(body) > MAX_REQUEST_BYTES:
            response = _error(
                413, f"Request size {len(body)} exceeds the maximum of {MAX_REQUEST_BYTES} bytes"
            )
        else:
            try:
                response = await handler(request)
            except FilterError as exc:
                response = _error(400, str(exc))
        count = 0
        if body and request.content_type == "application/json":
            payload = await request.json()
            namespace = payload.get("namespace", namespace)
            count = len(payload.get("vectors") or payload.get("ids") or [])
        self.calls.append(Call(request.method, request.path, namespace, count, len(body), response.status))
        return response

    async def _upsert(self, request: web.Request) -> web.Response:
        payload = await request.json()
        vectors = payload.get("vectors") or []
        if len(vectors) > MAX_UPSERT_VECTORS:
            return _error(
                400, f"Upsert of {len(vectors)} vectors exceeds the maximum of {MAX_UPSERT_VECTORS}"
            )
        for vector in vectors:
            if len(vector.get("values") or []) != self.dimension:
                return _error(
                    400,
                    f"Vector dimension {len(vector.get('values') or [])} does not match the dimension of the "
                    f"index {self.dimension}",
                )
            problem = _bad_metadata(vector.get("metadata", {}))
            if problem:
                return _error(400, problem)
        space = self.namespaces.setdefault(payload.get("namespace", ""), {})
        for vector in vectors:
            space[vector["id"]] = Record(list(vector["values"]), dict(vector.get("metadata") or {}))
        return web.json_response({"upsertedCount": len(vectors)})

    async def _query(self, request: web.Request) -> web.Response:
        payload = await request.json()
        namespace = payload.get("namespace", "")
        top_k = int(payload["topK"])
        if not 1 <= top_k <= 10_000:
            return _error(400, "topK must be between 1 and 10000")
        query = payload.get("vector")
        if query is None or len(query) != self.dimension:
            return _error(400, f"Query vector must have {self.dimension} dimensions")
        where = payload.get("filter") or {}
        scored = sorted(
            (
                (_cosine(query, record.values), vector_id, record)
                for vector_id, record in self.vectors(namespace).items()
                if matches(record.metadata, where)
            ),
            key=lambda item: (-item[0], item[1]),
        )[:top_k]
        out = []
        for score, vector_id, record in scored:
            match: dict[str, Any] = {"id": vector_id, "score": score, "values": []}
            if payload.get("includeValues"):
                match["values"] = record.values
            if payload.get("includeMetadata"):
                match["metadata"] = record.metadata
            out.append(match)
        return web.json_response({"matches": out, "namespace": namespace, "usage": {"readUnits": 1}})

    async def _delete(self, request: web.Request) -> web.Response:
        payload = await request.json()
        namespace = payload.get("namespace", "")
        if namespace not in self.namespaces:
            return _error(404, "Namespace not found", code=5)
        space = self.namespaces[namespace]
        if payload.get("deleteAll"):
            space.clear()
        elif payload.get("ids") is not None:
            if len(payload["ids"]) > 1000:
                return _error(400, "Delete of more than 1000 IDs")
            for vector_id in payload["ids"]:
                space.pop(vector_id, None)
        elif payload.get("filter"):
            for vector_id in [i for i, r in space.items() if matches(r.metadata, payload["filter"])]:
                del space[vector_id]
        else:
            return _error(400, "Delete needs ids, deleteAll or filter")
        if not space:
            del self.namespaces[namespace]
        return web.json_response({})

    async def _fetch(self, request: web.Request) -> web.Response:
        namespace = request.query.get("namespace", "")
        space = self.vectors(namespace)
        found = {
            i: {"id": i, "values": space[i].values, "metadata": space[i].metadata}
            for i in request.query.getall("ids", [])
            if i in space
        }
        return web.json_response({"vectors": found, "namespace": namespace, "usage": {"readUnits": 1}})

    async def _list(self, request: web.Request) -> web.Response:
        namespace = request.query.get("namespace", "")
        prefix = request.query.get("prefix", "")
        limit = int(request.query.get("limit", DEFAULT_LIST_LIMIT))
        if not 1 <= limit <= 100:
            return _error(400, "limit must be between 1 and 100")
        after = request.query.get("paginationToken")
        ids = sorted(
            i for i in self.vectors(namespace) if i.startswith(prefix) and (after is None or i > after)
        )
        page = ids[:limit]
        body: dict[str, Any] = {"vectors": [{"id": i} for i in page], "namespace": namespace}
        if len(ids) > limit:
            body["pagination"] = {"next": page[-1]}
        body["usage"] = {"readUnits": 1}
        return web.json_response(body)

    async def _stats(self, request: web.Request) -> web.Response:
        namespaces = {name: {"vectorCount": len(space)} for name, space in self.namespaces.items()}
        total = sum(len(space) for space in self.namespaces.values())
        return web.json_response(
            {
                "namespaces": {(name or "__default__"): counts for name, counts in namespaces.items()},
                "dimension": self.dimension,
                "indexFullness": 0.0,
                "totalVectorCount": total,
                "metric": "cosine",
                "vectorType": "dense",
            }
        )


def _error(status: int, message: str, headers: dict[str, str] | None = None, code: int = 3) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "details": []}, status=status, headers=headers
    )


@contextmanager
def serving(fake: FakePinecone) -> Iterator[FakePinecone]:
    """Serves ``fake`` from a loop on its own thread: the client under test is synchronous."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-pinecone", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
