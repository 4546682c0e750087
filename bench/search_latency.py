"""Search latency on the embedded default: ``core.search.service.search()`` end to end over ~20k real issues.

SQLite + the local ONNX MiniLM + the local exact vector index, as `/pm search` runs with nothing configured.
The indexed and embedded database comes from the bench cache (bench/common.py). See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import math
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: the repository's packages

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.common import (
    DEFAULT_DATA,
    ISSUES_FILE,
    LABELS_FILE,
    Indexed,
    ProgressBar,
    indexed_database,
    load_issues,
    load_label_rows,
)
from core.config import Role, load_settings
from core.db.models import Chunk, Document
from core.errors import AgentPMError
from core.jira.text import description_text
from core.logging import configure_logging
from core.search import service
from core.search.chunks import chunk_document
from core.search.embed import LocalEmbedder, query_vectors
from core.search.engine import SearchEngine
from core.search.keyword import keyword_search
from core.search.service import Viewer, search

PAGE = 10  # one result page
NEXT_PAGE = "fused, next page (same query)"
TARGET_P95_MS = 50.0
TOKENS_PER_S_REFERENCE = 5000.0  # the int8 MiniLM on two cores, roughly
Timed = Callable[[Session, str], object]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)] if ordered else float("nan")


def query_texts(issues: list[dict[str, Any]], whole: bool) -> list[str]:
    """Issues' summary lines (or, ``whole``, summary + newline + description as search_quality.py queries)."""
    texts: set[str] = set()
    for issue in issues:
        fields = issue.get("fields") or {}
        summary = str(fields.get("summary") or "").strip()
        if summary:
            texts.add(summary + "\n" + description_text(fields.get("description")) if whole else summary)
    return sorted(texts)


def pick_queries(
    issues: list[dict[str, Any]], count: int, warmup: int, seed: int, whole: bool = False
) -> tuple[list[str], list[str]]:
    """Distinct query texts, a fixed random sample: (warm-up queries, measured queries)."""
    chosen = random.Random(seed).sample(query_texts(issues, whole), warmup + count)
    return chosen[:warmup], chosen[warmup:]


def modes(engine: SearchEngine) -> dict[str, Timed]:
    """What is timed, each from a fresh session as a search job opens one: the product and its baselines."""
    viewer = Viewer()
    member = Viewer(user_id=1, role=Role.USER, channels=frozenset())  # as a Slack user (not an admin) sees

    def fused(session: Session, query: str) -> object:
        return search(session, query, viewer, limit=PAGE, engine=engine)

    def fused_as_user(session: Session, query: str) -> object:
        return search(session, query, member, limit=PAGE, engine=engine)

    def fused_next_page(session: Session, query: str) -> object:
        return search(session, query, viewer, limit=PAGE, offset=PAGE, engine=engine)

    def keyword_only(session: Session, query: str) -> object:
        return search(session, query, viewer, limit=PAGE)

    def raw_fts(session: Session, query: str) -> object:
        return keyword_search(session, query, limit=PAGE)

    def dense_alone(session: Session, query: str) -> object:
        return engine.index.search(engine.embedder.embed([query])[0], limit=PAGE)

    return {
        "fused search()": fused,
        NEXT_PAGE: fused_next_page,
        "fused, as a USER (permission filter)": fused_as_user,
        "keyword-only search()": keyword_only,
        "raw FTS query": raw_fts,
        "embed + exact vectors": dense_alone,
    }


def measure(
    indexed: Indexed, timed: dict[str, Timed], queries: list[str], what: str
) -> dict[str, list[float]]:
    """Each query through every mode in turn (so a busy moment of the machine hits all of them alike).

    The query vector cache is emptied (untimed) before every mode but the next page, which is the same query
    again by design: only it may find the query's vector cached.
    """
    samples: dict[str, list[float]] = {name: [] for name in timed}
    bar = ProgressBar(what, len(queries))
    started = time.perf_counter()
    for done, query in enumerate(queries, 1):
        for name, fn in timed.items():
            if name != NEXT_PAGE:
                query_vectors.clear()
            begin = time.perf_counter()
            with indexed.db.session() as session:
                fn(session, query)
            samples[name].append((time.perf_counter() - begin) * 1000)
        bar.update(done, time.perf_counter() - started, "queries")
    bar.update(len(queries), time.perf_counter() - started, "queries", force=True)
    bar.close()
    return samples


class Stages:
    """Wall time spent in each stage of ``search()``: the service's own steps, wrapped with timers."""

    def __init__(self, engine: SearchEngine) -> None:
        self.ms: dict[str, list[float]] = {}
        self._current: dict[str, float] = {}
        self._undo: list[Callable[[], None]] = []
        index = engine.index
        self._wrap(query_vectors, "embed", "query embedding (cached)")
        self._wrap(index, "search", "dense: exact vector search")
        self._wrap(service, "keyword_rankings", "keyword: FTS rankings")
        self._wrap(service, "_dense_hits", "dense half, on its thread")
        self._wrap(service, "_allowed", "dense: permission check")
        self._wrap(service, "_hydrate", "hydration (snippets included)")
        self._wrap(service, "_snippet", "snippets")
        self.ms["total search()"] = []

    def _wrap(self, owner: Any, name: str, stage: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._current[stage] = self._current.get(stage, 0.0) + (time.perf_counter() - begin) * 1000

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))
        self.ms[stage] = []

    def query_done(self, total_ms: float) -> None:
        self._current["total search()"] = total_ms
        for stage in self.ms:
            self.ms[stage].append(self._current.get(stage, 0.0))
        self._current = {}

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo = []


def profile(
    indexed: Indexed, engine: SearchEngine, queries: list[str], cprofile: bool
) -> dict[str, dict[str, float]]:
    """Per-stage ms of fused search() over ``queries`` (the query vector cache emptied first)."""
    viewer = Viewer()
    query_vectors.clear()
    stages = Stages(engine)
    profiler = cProfile.Profile() if cprofile else None
    try:
        for query in queries:
            begin = time.perf_counter()
            if profiler:
                profiler.enable()
            with indexed.db.session() as session:
                search(session, query, viewer, limit=PAGE, engine=engine)
            if profiler:
                profiler.disable()
            stages.query_done((time.perf_counter() - begin) * 1000)
    finally:
        stages.restore()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue(), file=sys.stderr)
    return {
        stage: {"mean_ms": statistics.fmean(v), "p50_ms": percentile(v, 50), "p95_ms": percentile(v, 95)}
        for stage, v in stages.ms.items()
    }


def embedding_throughput(
    indexed: Indexed, embedder: LocalEmbedder, documents: int, seed: int
) -> dict[str, float]:
    """Chunk and embed ``documents`` random stored documents now (the model alone, nothing stored)."""
    with indexed.db.session() as session:
        ids = list(session.scalars(select(Document.id).order_by(Document.id)))
        chosen = sorted(random.Random(seed).sample(ids, min(documents, len(ids))))
        rows = session.execute(select(Document.title, Document.body).where(Document.id.in_(chosen))).all()
    passages = [chunk_document(title, body) for title, body in rows]
    bar = ProgressBar("embedding sample", len(passages))
    tokens, seconds = 0, 0.0
    for done, texts in enumerate(passages, 1):
        begin = time.perf_counter()
        embedder.embed(texts)
        seconds += time.perf_counter() - begin
        tokens += embedder.count_tokens(texts)
        bar.update(done, seconds, f"docs, {tokens / max(seconds, 1e-9):,.0f} tok/s")
    bar.update(len(passages), seconds, f"docs, {tokens / max(seconds, 1e-9):,.0f} tok/s", force=True)
    bar.close()
    chunks = sum(len(p) for p in passages)
    return {
        "documents": len(passages), "chunks": chunks, "tokens": tokens, "seconds": seconds,
        "documents_per_s": len(passages) / seconds if seconds else float("nan"),
        "tokens_per_s": tokens / seconds if seconds else float("nan"),
    }  # fmt: skip


def row(name: str, values: list[float], baseline: list[float] | None) -> dict[str, float]:
    p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
    cells = {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "mean_ms": statistics.fmean(values)}
    if baseline:
        cells["ratio_p50"] = p50 / percentile(baseline, 50)
        cells["ratio_p95"] = p95 / percentile(baseline, 95)
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", metavar="DIR", type=Path, help=f"holds {ISSUES_FILE} (and {LABELS_FILE})")
    parser.add_argument("--queries", metavar="N", type=int, default=300, help="measured queries (300)")
    parser.add_argument("--warmup", metavar="N", type=int, default=30, help="warm-up queries (30)")
    parser.add_argument("--seed", type=int, default=20260, help="picks the summary lines used as queries")
    parser.add_argument(
        "--whole-issue", action="store_true", help="query with summary + description instead of the summary"
    )
    parser.add_argument("--rounds", type=int, default=1, help="measure the queries this many times (1)")
    parser.add_argument(
        "--embed-sample", metavar="DOCS", type=int, default=128,
        help="documents embedded now to measure throughput (128; 0: only quote the cache build's)",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="also time fused search() per stage")
    parser.add_argument(
        "--cprofile", action="store_true", help="with --profile: print cProfile's top functions"
    )
    parser.add_argument("--no-cache", action="store_true", help="index into a throwaway file, no memo")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    if args.queries < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--queries and --rounds must be at least 1, --warmup at least 0")
    data = args.data or DEFAULT_DATA
    issues_path, labels_path = data / ISSUES_FILE, data / LABELS_FILE
    if not issues_path.is_file():
        if args.data:
            parser.error(f"--data: needs {ISSUES_FILE} in {args.data}")
        print(f"skipped: no data at ../shared/data/ ({ISSUES_FILE}; relative to the repository root); "
              "pass --data DIR to use other data")  # fmt: skip
        return 0
    configure_logging("console", logging.WARNING)
    issues = load_issues(issues_path)
    # The dev query issues stay out of the index, as in search_quality.py: both benchmarks share one cache.
    excluded = {str(r["query_key"]) for r in load_label_rows(labels_path)} if labels_path.is_file() else set()
    warmup, queries = pick_queries(issues, args.queries, args.warmup, args.seed, args.whole_issue)
    try:
        with indexed_database(issues_path, issues, excluded, use_cache=not args.no_cache) as indexed:
            settings = load_settings(database_url=indexed.url, openai_api_key=None, pinecone_api_key=None)
            engine = SearchEngine(settings, indexed.db)
            embedder = engine.embedder
            assert isinstance(embedder, LocalEmbedder)
            with indexed.db.session() as session:
                documents = session.scalar(select(func.count()).select_from(Document)) or 0
                chunks = session.scalar(select(func.count()).select_from(Chunk)) or 0
            timed = modes(engine)
            print(f"{documents} documents, {chunks} chunks; warming up with {len(warmup)} queries ...",
                  file=sys.stderr)  # fmt: skip
            measure(indexed, timed, warmup, "warm-up")
            samples: dict[str, list[float]] = {name: [] for name in timed}
            for round_ in range(args.rounds):
                for name, values in measure(indexed, timed, queries, f"round {round_ + 1}").items():
                    samples[name] += values
            stages = profile(indexed, engine, queries, args.cprofile) if args.profile else {}
            sample = (
                embedding_throughput(indexed, embedder, args.embed_sample, args.seed)
                if args.embed_sample
                else {}
            )
    except (RuntimeError, AgentPMError, KeyboardInterrupt) as exc:
        print(f"bench stopped: {str(exc) or type(exc).__name__}", file=sys.stderr)
        return 1

    baseline_name = "keyword-only search()"
    results = {name: row(name, values, samples[baseline_name]) for name, values in samples.items()}
    kind = "whole-issue (summary + description)" if args.whole_issue else "summary-line"
    print(f"\nsearch latency: {len(queries)} {kind} queries x {args.rounds} round(s) "
          f"(seed {args.seed}) after {len(warmup)} warm-up; a page of {PAGE}; "
          f"{documents} documents, {chunks} chunks")  # fmt: skip
    print(f"database: {indexed.where}")
    print(f"{'':38}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'x base p50':>12}{'x base p95':>12}")
    for name, cells in results.items():
        print(f"{name:38}{cells['p50_ms']:>9.1f}{cells['p95_ms']:>9.1f}{cells['p99_ms']:>9.1f}"
              f"{cells['ratio_p50']:>11.2f}x{cells['ratio_p95']:>11.2f}x")  # fmt: skip
    fused = results["fused search()"]
    print(f"baseline: {baseline_name} (the same queries, same run); "
          f"fused / baseline at the median: {fused['ratio_p50']:.2f}x")  # fmt: skip
    met = "met" if fused["p95_ms"] <= TARGET_P95_MS else "NOT met"
    print(f"target: fused search() p95 <= {TARGET_P95_MS:.0f} ms: {met} ({fused['p95_ms']:.1f} ms)")
    if stages:
        print("\nstages of fused search(), ms per query (the same queries again, query vectors not cached; "
              "the dense half runs beside the keyword half):")  # fmt: skip
        print(f"  {'':32}{'mean':>8}{'p50':>8}{'p95':>8}")
        for stage, cells in stages.items():
            print(f"  {stage:32}{cells['mean_ms']:>8.1f}{cells['p50_ms']:>8.1f}{cells['p95_ms']:>8.1f}")
    built = indexed.stats
    model = built.embed
    when = "this run" if not indexed.cached else f"the cache build of {built.built_at}"
    print(f"\nindexing ({when}): {built.documents} documents stored with upsert_issues in "
          f"{built.store_seconds:.1f} s ({built.documents / max(built.store_seconds, 1e-9):,.0f}/s); "
          f"{built.chunks} passages chunked, embedded and stored in {built.index_seconds:.0f} s")  # fmt: skip
    if model.embedded == built.chunks:
        print(f"  {built.documents_per_s:.1f} documents/s; the model: {model.tokens:,} tokens in "
              f"{model.seconds:.0f} s, {model.tokens_per_s:,.0f} tokens/s "
              f"(~{TOKENS_PER_S_REFERENCE:,.0f} expected)")  # fmt: skip
    else:
        print(f"  {built.chunks - model.embedded} of {built.chunks} passages came from the embedding memo "
              f"(unchanged text); the model embedded {model.embedded}"
              + (f": {model.tokens_per_s:,.0f} tokens/s" if model.embedded else ""))  # fmt: skip
    if sample:
        print(f"embedding now ({sample['documents']} random documents, {sample['chunks']} passages): "
              f"{sample['documents_per_s']:.1f} documents/s, {sample['tokens_per_s']:,.0f} tokens/s "
              f"({sample['tokens_per_s'] / TOKENS_PER_S_REFERENCE:.2f}x the "
              f"~{TOKENS_PER_S_REFERENCE:,.0f} reference)")  # fmt: skip
    if args.json:
        summary = {
            "queries": len(queries), "warmup": len(warmup), "rounds": args.rounds, "seed": args.seed,
            "documents": documents, "chunks": chunks, "database": indexed.where, "baseline": baseline_name,
            "results": results, "stages_ms": stages, "target_p95_ms": TARGET_P95_MS,
            "indexing": {"cached": indexed.cached, "built_at": built.built_at, "documents": built.documents,
                         "store_seconds": built.store_seconds, "index_seconds": built.index_seconds,
                         "documents_per_s": built.documents_per_s, "tokens": built.embed.tokens,
                         "tokens_per_s": built.embed.tokens_per_s},
            "embedding_sample": sample,
        }  # fmt: skip
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
