"""Search quality on real duplicate labels: does search find the issue a bug report duplicates?

Indexes the Apache Hadoop issues (all but the dev query issues) into the bench cache's SQLite file (built
once, then reused: bench/common.py) unless ``--database URL`` names an empty one, then searches with each
query issue's text. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: the repository's packages

from sqlalchemy import delete, func, inspect, select, table
from sqlalchemy import text as sql_text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.common import (
    BATCH,
    DEFAULT_DATA,
    ISSUES_FILE,
    LABELS_FILE,
    MemoEmbedder,
    embed_documents,
    indexed_database,
    load_issues,
    load_label_rows,
    memo_path,
    project_of,
    store_issues,
)
from core.config import load_settings
from core.db.models import Document, JiraIssue, Project
from core.db.schema import upgrade
from core.db.session import Database, make_engine
from core.errors import AgentPMError
from core.jira.text import description_text
from core.logging import configure_logging
from core.search.embed import LocalEmbedder
from core.search.engine import SearchEngine
from core.search.service import Viewer, search

TOP_K = 10
CUTOFFS = (1, 5, 10)
RUN_DEADLINE_S = 5400.0  # every query stops by itself; a run on the cache takes minutes
# For comparison: the task's BM25 reference (whole-issue query) and the target for the fused ranking on the
# embedded default. Only the dev labels are measured here; the holdout labels are kept for acceptance.
REFERENCE = {"BM25 reference (whole issue)": {"hits@10": 0.54, "mrr@10": 0.41}}
FUSED_TARGET = {"hits@10": 0.70, "mrr@10": 0.50}
QUERY_KINDS = ("whole issue", "summary only")

# A search mode: (session, query text, top k) -> issue keys, best first. `dense` and `fused` go next to
# `keyword` once they exist.
SearchFn = Callable[[Session, str, int], list[str]]


def keyword_keys(session: Session, query: str, limit: int) -> list[str]:
    """The product's search service as the admin sees it (keyword ranking today)."""
    return [r.key for r in search(session, query, Viewer(), limit=limit) if r.key]


ENGINE: list[SearchEngine] = []  # set once the documents are embedded (dense and fused modes)


def fused_keys(session: Session, query: str, limit: int) -> list[str]:
    """Keyword and dense rankings fused, as `/pm search` ranks on the embedded default."""
    return [r.key for r in search(session, query, Viewer(), limit=limit, engine=ENGINE[0]) if r.key]


def dense_keys(session: Session, query: str, limit: int) -> list[str]:
    """Vectors alone: the best chunk's cosine similarity per document."""
    engine = ENGINE[0]
    hits = engine.index.search(engine.embedder.embed([query[:4000]])[0], limit=limit)
    ids = [h.document_id for h in hits]
    keys = dict(session.execute(select(Document.id, Document.external_id).where(Document.id.in_(ids))).all())
    return [keys[i] for i in ids if i in keys]


MODES: dict[str, SearchFn] = {"keyword": keyword_keys, "dense": dense_keys, "fused": fused_keys}


@dataclass
class Labelled:
    query_key: str
    gold: list[str]


@dataclass
class Outcome:
    """One query: 1-based rank of the first gold key in the top k (None: not found), and its latency."""

    query_key: str
    rank: int | None
    ms: float
    top: list[str] = field(default_factory=list)


@dataclass
class Deadline:
    at: float

    def check(self, what: str) -> None:
        if time.perf_counter() > self.at:
            raise RuntimeError(f"{what} did not finish within the run's {RUN_DEADLINE_S:.0f} s")


def load_labels(path: Path) -> list[Labelled]:
    return [Labelled(str(row["query_key"]), [str(g) for g in row["gold"]]) for row in load_label_rows(path)]


def query_text(issue: dict[str, Any], kind: str) -> str:
    fields = issue.get("fields") or {}
    summary = str(fields.get("summary") or "")
    if kind == "summary only":
        return summary
    return summary + "\n" + description_text(fields.get("description"))


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def has_rows(db: Database) -> list[str]:
    names = [n for n in inspect(db.engine).get_table_names() if n != "alembic_version"]
    with db.session() as session:
        return [n for n in names if session.scalar(select(func.count()).select_from(table(n)))]


def clear_indexed(db: Database) -> None:
    """Remove what the run stored; the database was empty before it."""
    with db.session() as session:
        session.execute(delete(Document).where(Document.source == "jira"))
        session.execute(delete(JiraIssue))
        session.execute(delete(Project))


@dataclass
class Prepared:
    db: Database
    where: str
    store_seconds: float  # storing the issues (upsert_issues), in this run or when the cache was built
    cached: bool


@contextmanager
def given_database(url: str, issues: list[dict[str, Any]], embed: bool, memo: bool) -> Iterator[Prepared]:
    """``url`` (must be empty): migrated, the issues stored (and embedded), emptied after."""
    db = Database(make_engine(load_settings(database_url=url, agentpm_env="development")))
    try:
        if filled := has_rows(db):
            raise RuntimeError(f"--database must be empty; it has rows in {sorted(filled)}")
        upgrade(url)
        try:
            seconds = store_issues(db, issues)
            with db.engine.connect() as connection:  # planner statistics, as autovacuum keeps them in service
                connection.execute(sql_text("ANALYZE"))
                connection.commit()
            if embed:
                embedder = MemoEmbedder(LocalEmbedder(), memo_path() if memo else None)
                try:
                    embed_documents(db, embedder)
                finally:
                    embedder.close()
            yield Prepared(db, safe_url(url), seconds, False)
        finally:
            clear_indexed(db)
    finally:
        db.dispose()


@contextmanager
def prepared_database(
    args: argparse.Namespace, issues_path: Path, issues: list[dict[str, Any]], held_out: set[str], embed: bool
) -> Iterator[Prepared]:
    """The bench cache's database (or a throwaway one with ``--no-cache``), or ``--database``."""
    if args.database:
        kept = [issue for issue in issues if str(issue["key"]) not in held_out]
        with given_database(args.database, kept, embed, not args.no_cache) as prepared:
            yield prepared
        return
    with indexed_database(issues_path, issues, held_out, use_cache=not args.no_cache) as indexed:
        yield Prepared(indexed.db, indexed.where, indexed.stats.store_seconds, indexed.cached)


def evaluate(
    db: Database,
    fn: SearchFn,
    queries: list[tuple[Labelled, str]],
    deadline: Deadline,
    what: str,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with db.session() as session:
        for labelled, text in queries:
            deadline.check(what)
            started = time.perf_counter()
            keys = fn(session, text, TOP_K)
            ms = (time.perf_counter() - started) * 1000
            gold = set(labelled.gold)
            rank = next((i for i, key in enumerate(keys[:TOP_K], 1) if key in gold), None)
            outcomes.append(Outcome(labelled.query_key, rank, ms, keys[:TOP_K]))
    return outcomes


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)] if ordered else float("nan")


def metrics(outcomes: list[Outcome]) -> dict[str, float]:
    n = len(outcomes) or 1
    found = [o.rank for o in outcomes if o.rank is not None]
    result = {f"hits@{k}": sum(r <= k for r in found) / n for k in CUTOFFS}
    result[f"mrr@{TOP_K}"] = sum(1 / r for r in found) / n
    latencies = [o.ms for o in outcomes]
    return result | {"p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95)}


def report(results: dict[str, dict[str, dict[str, float]]], queries: int) -> None:
    names = [f"hits@{k}" for k in CUTOFFS] + [f"mrr@{TOP_K}"]
    print(f"\n{'mode':<10}{'query':<14}" + "".join(f"{n:>9}" for n in names) + f"{'p50 ms':>9}{'p95 ms':>9}")
    for mode, kinds in results.items():
        for kind, m in kinds.items():
            cells = "".join(f"{m[n]:>9.3f}" for n in names)
            print(f"{mode:<10}{kind:<14}{cells}{m['p50_ms']:>9.1f}{m['p95_ms']:>9.1f}")
    print(f"({queries} dev queries; a hit: any gold key in the top k)")
    for name, ref in REFERENCE.items():
        print(f"{name}: Hits@10 {ref['hits@10']:.2f}, MRR@10 {ref['mrr@10']:.2f}")
    print(f"target, fused ranking on the embedded default: Hits@10 >= {FUSED_TARGET['hits@10']:.2f}, "
          f"MRR@10 >= {FUSED_TARGET['mrr@10']:.2f} (whole-issue query)")  # fmt: skip
    for mode, kinds in results.items():
        m = kinds["whole issue"]
        versus = m["hits@10"] - REFERENCE["BM25 reference (whole issue)"]["hits@10"]
        print(f"{mode}, whole issue: Hits@10 {versus:+.2f} vs the BM25 reference")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", metavar="DIR", type=Path, help=f"holds {ISSUES_FILE} and {LABELS_FILE}")
    parser.add_argument("--database", metavar="URL", help="an empty database, e.g. postgresql+psycopg://...")
    parser.add_argument(
        "--mode", action="append", choices=sorted(MODES), help="search mode(s) to measure (default: all)"
    )
    parser.add_argument("--limit-queries", metavar="N", type=int, help="only the first N dev queries")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the numbers here")
    parser.add_argument(
        "--no-cache", action="store_true", help="index and embed anew into a throwaway file (about 25 min)"
    )
    args = parser.parse_args()
    if args.limit_queries is not None and args.limit_queries < 1:
        parser.error("--limit-queries must be at least 1")
    data = args.data or DEFAULT_DATA
    issues_path, labels_path = data / ISSUES_FILE, data / LABELS_FILE
    if not issues_path.is_file() or not labels_path.is_file():
        if args.data:
            parser.error(f"--data: needs {ISSUES_FILE} and {LABELS_FILE} in {args.data}")
        print(f"skipped: no search-quality data at ../shared/data/ ({ISSUES_FILE}, {LABELS_FILE}; relative "
              "to the repository root); pass --data DIR to use other data")  # fmt: skip
        return 0
    modes = list(dict.fromkeys(args.mode or MODES))
    configure_logging("console", logging.WARNING)
    deadline = Deadline(time.perf_counter() + RUN_DEADLINE_S)

    started = time.perf_counter()
    issues = load_issues(issues_path)
    labels = load_labels(labels_path)
    by_key = {str(issue["key"]): issue for issue in issues}
    query_keys = {label.query_key for label in labels}  # held out of the index, every one of them
    missing = [label.query_key for label in labels if label.query_key not in by_key]
    labels = [label for label in labels if label.query_key in by_key][: args.limit_queries]
    indexed = [issue for issue in issues if str(issue["key"]) not in query_keys]
    no_gold = sum(not any(g in by_key and g not in query_keys for g in lab.gold) for lab in labels)
    per_project = Counter(project_of(issue) for issue in indexed)
    print(
        f"{len(issues)} issues, {len(query_keys)} dev query issues read in "
        f"{time.perf_counter() - started:.1f} s; indexing {len(indexed)} "
        f"({', '.join(f'{p} {n}' for p, n in sorted(per_project.items()))})",
        file=sys.stderr,
    )
    if missing:
        print(f"{len(missing)} query issues are not in the data and are left out", file=sys.stderr)

    results: dict[str, dict[str, dict[str, float]]] = {}
    per_query: dict[str, dict[str, list[dict[str, Any]]]] = {}
    dense = bool({"dense", "fused"} & set(modes))
    try:
        with prepared_database(args, issues_path, issues, query_keys, dense or not args.database) as prepared:
            db, where, seconds = prepared.db, prepared.where, prepared.store_seconds
            print(f"database: {where}", file=sys.stderr, flush=True)
            if dense:
                settings = load_settings(
                    database_url=str(db.engine.url), openai_api_key=None, pinecone_api_key=None
                )
                engine = SearchEngine(settings, db)
                ENGINE.append(engine)
            for mode in modes:
                results[mode], per_query[mode] = {}, {}
                for kind in QUERY_KINDS:
                    print(f"  {mode}, {kind}: {len(labels)} queries ...", file=sys.stderr, flush=True)
                    queries = [(lab, query_text(by_key[lab.query_key], kind)) for lab in labels]
                    outcomes = evaluate(db, MODES[mode], queries, deadline, f"{mode}, {kind}")
                    results[mode][kind] = metrics(outcomes)
                    per_query[mode][kind] = [
                        {"query": o.query_key, "rank": o.rank, "ms": round(o.ms, 2), "top": o.top}
                        for o in outcomes
                    ]
    except (RuntimeError, AgentPMError, KeyboardInterrupt) as exc:
        print(f"bench stopped: {str(exc) or type(exc).__name__}", file=sys.stderr)
        return 1
    rate = len(indexed) / seconds if seconds > 0 else float("nan")
    when = " (when the cache was built)" if prepared.cached else ""
    print(f"\nindexed {len(indexed)} issues (all but the {len(query_keys)} dev query issues) with "
          f"upsert_issues in batches of {BATCH}: {seconds:.1f} s, {rate:.0f} issues/s{when}")  # fmt: skip
    print(f"database: {where}")
    print(f"modes measured: {', '.join(modes)} (available: {', '.join(MODES)})")
    if no_gold:
        print(f"{no_gold} queries have no gold issue in the index (they count as misses)")
    report(results, len(labels))
    if args.json:
        summary = {
            "issues": len(issues), "indexed": len(indexed), "queries": len(labels), "database": where,
            "index_seconds": seconds, "index_issues_per_s": rate, "cached": prepared.cached, "batch": BATCH,
            "top_k": TOP_K,
            "modes": modes, "queries_without_indexed_gold": no_gold, "results": results,
            "reference": REFERENCE, "fused_target": FUSED_TARGET, "per_query": per_query,
        }  # fmt: skip
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
