"""What the search benchmarks share: the Apache data, and a cache of the indexed and embedded SQLite database.

Embedding the ~20k issues with the local MiniLM takes about twenty minutes on two cores, so the finished
database is kept under ``.agentpm/bench-cache/`` (git-ignored) and reused while nothing it was built from
changed. Its key covers the data and label files (their SHA-256), the model (name and file checksum), the
schema (Alembic head) and the source of everything that decides the stored text and the chunks (issue fields,
description rendering, searchable text, chunking, the indexer). Anything else, such as how queries are ranked,
can change without a rebuild.

Below that sits an embedding memo (SHA-256 of a passage → its vector, per model), filled while the database is
built: a build that was interrupted resumes where it stopped, and a rebuild after a change to the searchable
text or the schema re-embeds only passages whose text changed. ``--no-cache`` uses neither.
"""

from __future__ import annotations

import gzip
import hashlib
import inspect
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy import text as sql_text

import core.jira.store
import core.jira.text
import core.search.chunks
from core.config import load_settings
from core.db.models import Chunk, Document, Project
from core.db.schema import upgrade
from core.db.session import Database, make_engine
from core.jira.store import upsert_issues
from core.search import text as search_text
from core.search.chunks import chunk_document
from core.search.embed import MAX_TOKENS, MODEL_FILE, LocalEmbedder, Vectors
from core.search.indexer import IndexProgress, index_pending

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
ISSUES_FILE = "apache-hadoop-jira.jsonl.gz"
LABELS_FILE = "duplicates-dev.jsonl"
CACHE_DIR = REPO / ".agentpm" / "bench-cache"
SITE_URL = "https://issues.apache.org/jira"
BATCH = 500  # issues per upsert_issues call and session, as a sync page would store them


# --- data -------------------------------------------------------------------------------------------------


def load_issues(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def load_label_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def project_of(issue: dict[str, Any]) -> str:
    project = (issue.get("fields") or {}).get("project") or {}
    return str(project.get("key") or str(issue["key"]).rsplit("-", 1)[0])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- progress ---------------------------------------------------------------------------------------------


class ProgressBar:
    """One line on stderr, redrawn at most every 0.2 s: a bar, counts, rates and the time left."""

    def __init__(self, what: str, total: int, width: int = 28) -> None:
        self.what, self.total, self.width = what, max(total, 1), width
        self._drawn = 0.0

    def update(self, done: int, seconds: float, extra: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < 0.2:
            return
        self._drawn = now
        filled = int(self.width * min(done, self.total) / self.total)
        rate = done / seconds if seconds > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else float("nan")
        eta = f"{int(left) // 60}:{int(left) % 60:02d} left" if left == left else "--:-- left"
        bar = "#" * filled + "." * (self.width - filled)
        line = f"\r  {self.what} [{bar}] {done}/{self.total} {rate:.1f}/s {extra} {eta}"
        print(line.ljust(100), end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        print(file=sys.stderr, flush=True)


# --- embeddings -------------------------------------------------------------------------------------------


@dataclass
class EmbedStats:
    texts: int = 0  # passages given to embed()
    embedded: int = 0  # passages the model ran on (memo misses)
    tokens: int = 0  # their tokens (after truncation to the model's limit)
    seconds: float = 0.0  # model time, tokenizing included

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")


class MemoEmbedder:
    """The local embedder behind a memo of passage vectors on disk; counts tokens and model time.

    Same ``name`` and ``dimension`` as the model, so the chunks it produces are the model's chunks.
    """

    def __init__(self, model: LocalEmbedder, memo: Path | None) -> None:
        self.model = model
        self.name = model.name
        self.dimension = model.dimension
        self.stats = EmbedStats()
        self._memo = sqlite3.connect(memo, check_same_thread=False) if memo else None
        if self._memo is not None:
            self._memo.execute("CREATE TABLE IF NOT EXISTS vectors (digest BLOB PRIMARY KEY, vector BLOB)")
            self._memo.commit()

    @staticmethod
    def _digest(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8")).digest()

    def embed(self, texts: list[str]) -> Vectors:
        self.stats.texts += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        digests = [self._digest(t) for t in texts]
        known: dict[bytes, bytes] = {}
        if self._memo is not None and texts:
            marks = ",".join("?" * len(digests))
            rows = self._memo.execute(
                "SELECT digest, vector FROM vectors WHERE digest IN (" + marks + ")",  # noqa: S608 (only ?s)
                digests,
            ).fetchall()
            known = {bytes(d): bytes(v) for d, v in rows}
        missing = [i for i, d in enumerate(digests) if d not in known]
        for i, digest in enumerate(digests):
            if digest in known:
                out[i] = np.frombuffer(known[digest], dtype=np.float32)
        if missing:
            started = time.perf_counter()
            batch = [texts[i] for i in missing]
            vectors = self.model.embed(batch)
            self.stats.tokens += self.model.count_tokens(batch)
            self.stats.seconds += time.perf_counter() - started
            self.stats.embedded += len(missing)
            out[missing] = vectors
            if self._memo is not None:
                self._memo.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(digests[i], vectors[j].tobytes()) for j, i in enumerate(missing)],
                )
                self._memo.commit()
        return out

    def close(self) -> None:
        if self._memo is not None:
            self._memo.close()


# --- the cached database ----------------------------------------------------------------------------------


def _source(obj: Any) -> str:
    return inspect.getsource(obj)


def index_version() -> str:
    """A digest of the code that decides what is stored and embedded (not of how queries are ranked)."""
    parts = [
        _source(core.jira.store),
        _source(core.jira.text),
        _source(core.search.chunks),
        _source(search_text.searchable_text),
        _source(search_text.identifier_parts),
        _source(search_text._is_identifier),
        search_text._TOKEN.pattern,
        search_text._PIECES.pattern,
        "".join(sorted(search_text._SEPARATORS)),
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


@dataclass
class CacheKey:
    issues_sha256: str
    excluded_sha256: str  # the issue keys left out of the index (the dev query issues)
    model: str
    model_sha256: str
    max_tokens: int
    index_version: str

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class BuildStats:
    """How the cached database was built (quoted when it is reused)."""

    built_at: str = ""
    documents: int = 0
    chunks: int = 0
    store_seconds: float = 0.0
    embed: EmbedStats = field(default_factory=EmbedStats)
    index_seconds: float = 0.0  # chunking, embedding and storing the chunks

    @property
    def documents_per_s(self) -> float:
        return self.documents / self.index_seconds if self.index_seconds > 0 else float("nan")


@dataclass
class Indexed:
    db: Database
    url: str
    where: str  # for the report: which database
    cached: bool  # reused from the cache (not built in this run)
    stats: BuildStats


def memo_path() -> Path:
    return CACHE_DIR / f"embeddings-{MODEL_FILE[2][:12]}-{MAX_TOKENS}.sqlite"


def _open(url: str) -> Database:
    return Database(make_engine(load_settings(database_url=url, agentpm_env="development")))


def store_issues(db: Database, issues: list[dict[str, Any]]) -> float:
    """Store ``issues`` with ``upsert_issues`` in batches, one session each; returns the seconds taken."""
    projects = sorted({project_of(issue) for issue in issues})
    started = time.perf_counter()
    with db.session() as session:
        session.add_all(Project(key=p, name=p, url=f"{SITE_URL}/browse/{p}") for p in projects)
    bar = ProgressBar("storing issues", len(issues))
    for start in range(0, len(issues), BATCH):
        with db.session() as session:
            upsert_issues(session, issues[start : start + BATCH], SITE_URL)
        bar.update(min(start + BATCH, len(issues)), time.perf_counter() - started)
    bar.update(len(issues), time.perf_counter() - started, force=True)
    bar.close()
    return time.perf_counter() - started


def embed_documents(db: Database, embedder: MemoEmbedder) -> tuple[IndexProgress, float]:
    """``index_pending`` with a progress bar (documents/s, tokens/s); returns its progress and seconds."""
    bar: ProgressBar | None = None
    started = time.perf_counter()

    def show(state: IndexProgress) -> None:
        nonlocal bar
        bar = bar or ProgressBar("embedding", state.pending)
        stats = embedder.stats
        bar.update(state.documents, state.seconds, f"docs, {stats.tokens_per_s:,.0f} tok/s")

    done = index_pending(db, embedder, progress=show)
    if bar is not None:
        stats = embedder.stats
        bar.update(done.documents, done.seconds, f"docs, {stats.tokens_per_s:,.0f} tok/s", force=True)
        bar.close()
    return done, time.perf_counter() - started


def build(url: str, issues: list[dict[str, Any]], embedder: MemoEmbedder) -> tuple[Database, BuildStats]:
    upgrade(url)
    db = _open(url)
    stats = BuildStats(built_at=datetime.now(UTC).isoformat(timespec="seconds"))
    stats.store_seconds = store_issues(db, issues)
    done, stats.index_seconds = embed_documents(db, embedder)
    stats.documents, stats.chunks, stats.embed = done.documents, done.chunks, embedder.stats
    return db, stats


def _checkpoint(db: Database) -> None:
    with db.engine.connect() as connection:
        connection.execute(sql_text("PRAGMA wal_checkpoint(TRUNCATE)"))


def _chunks_current(url: str, sample: int = 64) -> bool:
    """Whether the stored chunks of a few documents are what ``chunk_document`` makes of them now."""
    db = _open(url)
    try:
        with db.session() as session:
            documents = session.execute(
                select(Document.id, Document.title, Document.body).order_by(Document.id).limit(sample)
            ).all()
            stored: dict[int, list[str]] = {}
            rows = session.execute(
                select(Chunk.document_id, Chunk.text)
                .where(Chunk.document_id.in_([d.id for d in documents]))
                .order_by(Chunk.document_id, Chunk.ordinal)
            )
            for document_id, text in rows:
                stored.setdefault(document_id, []).append(text)
    finally:
        db.dispose()
    return bool(documents) and all(stored.get(d.id) == chunk_document(d.title, d.body) for d in documents)


def _load_stats(meta: Path) -> BuildStats:
    raw = json.loads(meta.read_text())["stats"]
    embed = EmbedStats(**raw.pop("embed"))
    return BuildStats(**raw, embed=embed)


@contextmanager
def indexed_database(
    issues_path: Path, issues: list[dict[str, Any]], excluded: set[str], *, use_cache: bool = True
) -> Iterator[Indexed]:
    """A migrated SQLite database holding ``issues`` (all but ``excluded``), stored and embedded.

    From the cache when it has one built from the same inputs; otherwise built (the cache keeps it unless
    ``use_cache`` is false, when it is a throwaway file and no memo is used either).
    """
    model = LocalEmbedder()
    if not use_cache:
        tmp = Path(tempfile.mkdtemp(prefix="agentpm-bench-"))
        url = f"sqlite:///{tmp / 'search.db'}"
        embedder = MemoEmbedder(model, None)
        try:
            db, stats = build(url, [i for i in issues if str(i["key"]) not in excluded], embedder)
            try:
                yield Indexed(db, url, "throwaway SQLite file (--no-cache)", False, stats)
            finally:
                db.dispose()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    key = CacheKey(
        issues_sha256=sha256_file(issues_path),
        excluded_sha256=hashlib.sha256("\n".join(sorted(excluded)).encode()).hexdigest(),
        model=model.name,
        model_sha256=MODEL_FILE[2],
        max_tokens=MAX_TOKENS,
        index_version=index_version(),
    )
    name = f"search-{key.digest()}"
    path, meta = CACHE_DIR / f"{name}.db", CACHE_DIR / f"{name}.json"
    url = f"sqlite:///{path}"
    cached = path.is_file() and meta.is_file() and _chunks_current(url)
    if cached:
        stats = _load_stats(meta)
        print(f"bench cache: reusing {path.relative_to(REPO)} (built {stats.built_at})", file=sys.stderr)
        upgrade(url)  # the schema may have moved on since
        db = _open(url)
    else:
        partial = CACHE_DIR / f"{name}.partial.db"
        for stale in CACHE_DIR.glob(f"{name}.partial.db*"):
            stale.unlink()
        print(f"bench cache: building {path.relative_to(REPO)} (memo {memo_path().name})", file=sys.stderr)
        embedder = MemoEmbedder(model, memo_path())
        try:
            kept = [i for i in issues if str(i["key"]) not in excluded]
            db, stats = build(f"sqlite:///{partial}", kept, embedder)
        finally:
            embedder.close()
        _checkpoint(db)
        db.dispose()
        partial.replace(path)
        for leftover in CACHE_DIR.glob(f"{name}.partial.db-*"):
            leftover.unlink()
        meta.write_text(json.dumps({"key": asdict(key), "stats": asdict(stats)}, indent=2) + "\n")
        db = _open(url)
    try:
        yield Indexed(db, url, f"cached SQLite file {path.relative_to(REPO)}", cached, stats)
    finally:
        db.dispose()


def main() -> int:
    """Build (or check) the cache for the default data: ``python -m bench.common [--no-cache]``."""
    issues_path, labels_path = DEFAULT_DATA / ISSUES_FILE, DEFAULT_DATA / LABELS_FILE
    if not issues_path.is_file():
        print("skipped: no data at ../shared/data/")
        return 0
    issues = load_issues(issues_path)
    excluded = {str(r["query_key"]) for r in load_label_rows(labels_path)} if labels_path.is_file() else set()
    with indexed_database(issues_path, issues, excluded, use_cache="--no-cache" not in sys.argv) as indexed:
        print(f"{indexed.where}: {indexed.stats.documents} documents, {indexed.stats.chunks} chunks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
