"""Throwaway Redis and PostgreSQL servers (own port, own temp dir) and a real Celery worker, for drills.

The shared servers of the test suite are never stopped: a drill that stops a server starts its own. When the
binaries are missing the drill is skipped with the reason (scripts/test installs PostgreSQL and Redis).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:  # noqa: S110  (not up yet)
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {within:g}s")


class ThrowawayRedis:
    """redis-server on a free port with an append-only file in a temp dir, so a restart keeps the queues."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed; this drill stops its own Redis")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="agentpm-drill-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
        ]
        args += ["--dir", str(self.dir), "--daemonize", "no", "--logfile", str(self.dir / "redis.log")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping(), 10, "Redis")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (initdb in a temp dir, trust auth on 127.0.0.1, a free port).

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` OS user.
    """

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
        bindir = Path(found[-1]).parent if found[-1] else None
        if bindir is None or not (bindir / "pg_ctl").exists():
            pytest.skip("initdb/pg_ctl are not installed; this drill restarts its own PostgreSQL")
        self.bindir = bindir
        self.prefix: list[str] = []
        self.dir = Path(tempfile.mkdtemp(prefix="agentpm-drill-pg-"))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a postgres OS user; initdb cannot run")
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser; initdb cannot run")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.data = self.dir / "data"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.prefix, str(self.bindir / tool), *args]
        result = subprocess.run(command, capture_output=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stderr.decode(errors='replace')[-800:]}")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return self.dsn.replace("postgresql://", "postgresql+psycopg://", 1)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "pg.log"), "-w", "start"
        )
        _wait(lambda: psycopg.connect(self.dsn, connect_timeout=1).close() is None, 20, "PostgreSQL")

    def restart(self) -> None:
        """A fast restart: every open connection is cut, as when the database host reboots or fails over."""
        log = str(self.dir / "pg.log")  # without -l the server would hold pg_ctl's output pipe open
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-l", log, "-w", "restart")
        _wait(lambda: psycopg.connect(self.dsn, connect_timeout=1).close() is None, 20, "PostgreSQL")

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def worker_env(**values: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "OPENAI_", "PINECONE_"))
    }
    env.update(AGENTPM_LOG_FORMAT="json", AGENTPM_ENV="development", SLACK_BOT_TOKEN="xoxb-test-token")
    env.update(values)
    return env


class Worker:
    """`agentpm worker --concurrency 1` as a subprocess, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker", "--concurrency", "1"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def pool_children(self) -> list[int]:
        """The prefork pool's processes (the ones that run jobs)."""
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.split("/")[2]))
        return children

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
