"""Jira sync throughput over ~20k real issues: the full sync against merely paging through the same fake Jira.

Jira is a LocalJira in this process on 127.0.0.1 (``--latency`` seconds per request); the database is a
throwaway SQLite file unless ``--database URL`` names an empty one. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import delete, func, inspect, select, table
from sqlalchemy.engine import make_url

from bot.localjira import LocalJira
from core.config import load_settings
from core.db.models import Document, JiraIssue, Project, SyncState
from core.db.schema import upgrade
from core.db.session import Database, make_engine
from core.errors import AgentPMError
from core.jira import jql
from core.jira.client import JiraClient, JiraConfig
from core.jira.sync import FIELDS, PAGE_SIZE, ProjectSync, SyncResult
from core.logging import configure_logging

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ISSUES = REPO.parent / "shared" / "data" / "apache-hadoop-jira.jsonl.gz"
PHASE_DEADLINE_S = 1800.0  # each phase stops by itself; a full sync of 20k issues takes minutes, not hours
SYNC_TARGET = 1.5  # full sync within 1.5x the time of merely paging through the same issues
RESYNC_TARGET_PCT = 5.0  # a re-sync with nothing changed under 5% of the full sync's time
EMBEDDINGS = "not included (embeddings are indexed separately)"
Flavour = Literal["cloud", "datacenter"]
T = TypeVar("T")


@dataclass
class Phase:
    """One timed pass over every project."""

    issues: int  # issues read from Jira
    requests: int  # HTTP requests to Jira
    seconds: float
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    listed: int = 0  # keys listed by reconciliation

    @property
    def rate(self) -> float:
        return self.issues / self.seconds if self.seconds > 0 else float("nan")


def load_issues(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def project_of(issue: dict[str, Any]) -> str:
    project = (issue.get("fields") or {}).get("project") or {}
    return str(project.get("key") or str(issue["key"]).rsplit("-", 1)[0])


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table but Alembic's (none exist before the first upgrade)."""
    names = [n for n in inspect(db.engine).get_table_names() if n != "alembic_version"]
    with db.session() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(table(name))) or 0) for name in names
        }


def clear_sync_data(db: Database) -> None:
    """Remove what the syncs stored; the database was empty before the run."""
    with db.session() as session:
        session.execute(delete(Document).where(Document.source == "jira"))
        for model in (SyncState, JiraIssue, Project):
            session.execute(delete(model))


@contextmanager
def database(url: str | None) -> Iterator[tuple[Database, str]]:
    """A migrated, empty database: a throwaway SQLite file, or ``url`` (must be empty; emptied after)."""
    with tempfile.TemporaryDirectory(prefix="agentpm-bench-") as tmp:
        own = url is None
        target = url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(make_engine(load_settings(database_url=target, agentpm_env="development")))
        try:
            if not own:
                filled = {name: n for name, n in row_counts(db).items() if n}
                if filled:
                    raise RuntimeError(f"--database must be empty; it has rows in {sorted(filled)}")
            upgrade(target)
            try:
                yield db, ("throwaway SQLite file" if own else safe_url(target))
            finally:
                if not own:
                    clear_sync_data(db)
        finally:
            db.dispose()


class Bench:
    def __init__(self, jira: LocalJira, db: Database, flavour: Flavour, projects: list[str]) -> None:
        self.jira, self.db, self.projects = jira, db, projects
        self.config = JiraConfig(jira.base_url, "bench@bench.example", "bench-token", deployment=flavour)

    async def floor(self) -> Phase:
        """Page through every project with the sync's client, JQL, fields and page size; keep nothing."""
        issues = 0
        async with JiraClient(self.config) as client:
            started = time.perf_counter()
            for project in self.projects:
                async for page in client.search(jql.updated_since(project, None), FIELDS, PAGE_SIZE):
                    issues += len(page.issues)
            seconds = time.perf_counter() - started
            return Phase(issues, client.requests_made, seconds)

    async def sync(self, *, full: bool, reconcile: bool) -> Phase:
        """``ProjectSync.run`` for each project in turn, as one worker would."""
        results: list[SyncResult] = []
        async with JiraClient(self.config) as client:
            started = time.perf_counter()
            for project in self.projects:
                sync = ProjectSync(self.db, client, self.jira.base_url)
                results.append(await sync.run(project, full=full, reconcile=reconcile))
            seconds = time.perf_counter() - started
        bad = [r for r in results if r.outcome != "ok"]
        if bad:
            raise RuntimeError(f"sync of {bad[0].project} ended {bad[0].outcome}: {bad[0].error}")
        total = {name: sum(getattr(r, name) for r in results) for name in ("changed", "unchanged", "deleted")}
        listed = len(self.jira.issues) if reconcile else 0  # reconciliation lists every key of each project
        fetched, requests = sum(r.fetched for r in results), sum(r.requests for r in results)
        return Phase(fetched, requests, seconds, **total, listed=listed)


async def bounded(name: str, work: Awaitable[T]) -> T:
    print(f"  {name} ...", file=sys.stderr, flush=True)
    try:
        return await asyncio.wait_for(work, PHASE_DEADLINE_S)
    except TimeoutError:
        raise RuntimeError(f"{name} did not finish within {PHASE_DEADLINE_S:.0f} s") from None


async def measure(
    args: argparse.Namespace, issues: list[dict[str, Any]], db: Database, projects: list[str]
) -> dict[str, Any]:
    floors: list[Phase] = []
    fulls: list[Phase] = []
    async with LocalJira(issues, flavour=args.flavour, latency=args.latency) as jira:
        bench = Bench(jira, db, args.flavour, projects)
        # not timed: LocalJira converts each issue to ADF once for Cloud; the first pass would pay for it
        await bounded("warm-up: paging once, not timed", bench.floor())
        for i in range(1, args.repeat + 1):
            floors.append(await bounded(f"floor, run {i}/{args.repeat}", bench.floor()))
            if i > 1:
                clear_sync_data(db)
            fulls.append(
                await bounded(f"full sync, run {i}/{args.repeat}", bench.sync(full=True, reconcile=False))
            )
        resync = await bounded("re-sync, nothing changed", bench.sync(full=False, reconcile=False))
        reconcile = await bounded("reconciliation pass", bench.sync(full=False, reconcile=True))
    return {"floor": floors, "full": fulls, "resync": resync, "reconcile": reconcile}


def median_phase(runs: list[Phase]) -> Phase:
    seconds = statistics.median(r.seconds for r in runs)
    return Phase(**{**asdict(runs[0]), "seconds": seconds})


def report(runs: dict[str, Any], repeat: int) -> dict[str, Any]:
    floor, full = median_phase(runs["floor"]), median_phase(runs["full"])
    resync, reconcile = runs["resync"], runs["reconcile"]
    how = f" (median of {repeat})" if repeat > 1 else ""
    rows = [
        (f"floor: paging only{how}", floor),
        (f"full sync{how}", full),
        ("re-sync, nothing changed", resync),
        ("reconciliation: keys listed", Phase(reconcile.listed, reconcile.requests, reconcile.seconds)),
    ]
    width = max(len(name) for name, _ in rows) + 2
    print(f"\n{'phase':<{width}}{'issues':>8}{'requests':>10}{'seconds':>10}{'issues/s':>10}")
    for name, phase in rows:
        print(
            f"{name:<{width}}{phase.issues:>8}{phase.requests:>10}{phase.seconds:>10.2f}{phase.rate:>10.0f}"
        )
    if repeat > 1:
        for key, label in (("floor", "floor"), ("full", "full sync")):
            print(f"{label} runs: " + ", ".join(f"{r.seconds:.2f} s" for r in runs[key]))
    ratio = full.seconds / floor.seconds
    resync_pct = 100 * resync.seconds / full.seconds
    met = {
        f"full sync within {SYNC_TARGET}x of the floor": ratio <= SYNC_TARGET,
        f"re-sync under {RESYNC_TARGET_PCT:g}% of the full sync": resync_pct < RESYNC_TARGET_PCT,
        "re-sync re-embeds nothing": resync.changed == 0,
    }
    print(f"\nfull sync / floor (time): {ratio:.2f}x; issues stored: {full.changed}")
    print(f"embedding: {EMBEDDINGS}")
    print(f"re-sync: {resync_pct:.1f}% of the full sync; issues re-embedded: {resync.changed}")
    print(f"reconciliation pass: {reconcile.seconds:.2f} s, issues marked deleted: {reconcile.deleted}")
    print("\n".join(f"target {key}: {'met' if ok else 'NOT met'}" for key, ok in met.items()))
    return {
        "phases": {"floor": asdict(floor), "full": asdict(full)}
        | {"resync": asdict(resync), "reconcile": asdict(reconcile)},
        "runs_seconds": {key: [r.seconds for r in runs[key]] for key in ("floor", "full")},
        "ratio_full_over_floor": ratio,
        "resync_percent_of_full": resync_pct,
        "issues_reembedded": resync.changed,
        "embeddings": EMBEDDINGS,
        "targets_met": met,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", metavar="PATH", type=Path, help="gzip JSON lines of REST v2 issues")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds LocalJira waits per request")
    parser.add_argument("--database", metavar="URL", help="an empty database, e.g. postgresql+psycopg://...")
    parser.add_argument("--flavour", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--repeat", type=int, default=1, help="floor and full sync runs (medians quoted)")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 20 or not 0 <= args.latency <= 5:
        parser.error("--repeat must be 1..20 and --latency 0..5 seconds")
    path = args.issues or DEFAULT_ISSUES
    if not path.is_file():
        if args.issues:
            parser.error(f"--issues: no such file: {args.issues}")
        print(f"skipped: no issue data at ../shared/data/{DEFAULT_ISSUES.name} (relative to the repository "
              "root); pass --issues PATH to use other data")  # fmt: skip
        return 0
    configure_logging("console", logging.WARNING)  # the sync logs a line per project at INFO
    started = time.perf_counter()
    issues = load_issues(path)
    per_project = Counter(project_of(issue) for issue in issues)
    projects = sorted(per_project)
    print(
        f"{len(issues)} issues ({', '.join(f'{p} {n}' for p, n in sorted(per_project.items()))}) read in "
        f"{time.perf_counter() - started:.1f} s; {args.flavour}, {args.latency * 1000:g} ms per request",
        file=sys.stderr,
    )
    try:
        with database(args.database) as (db, where):
            print(f"database: {where}", file=sys.stderr)
            runs = asyncio.run(measure(args, issues, db, projects))
    except (RuntimeError, AgentPMError, KeyboardInterrupt) as exc:
        print(f"bench stopped: {str(exc) or type(exc).__name__}", file=sys.stderr)
        return 1
    print(f"\n{len(issues)} issues in {len(projects)} projects; LocalJira {args.flavour}, "
          f"{args.latency * 1000:g} ms per request; database: {where}")  # fmt: skip
    summary = report(runs, args.repeat)
    if args.json:
        meta = {
            "issues": len(issues), "projects": dict(sorted(per_project.items())), "flavour": args.flavour,
            "latency_s": args.latency, "database": where, "repeat": args.repeat, "page_size": PAGE_SIZE,
        }  # fmt: skip
        args.json.write_text(json.dumps({**meta, **summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
