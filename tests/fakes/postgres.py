"""Start a throwaway PostgreSQL server on 127.0.0.1 for tests.

    with postgres_url() as url:   # postgresql+asyncpg://USER@127.0.0.1:PORT/trendbot
        ...

The cluster lives in a temp dir, listens on loopback only (plus a unix socket inside the
temp dir), trusts local connections and is stopped and deleted on exit. PostgreSQL refuses
to run as root, so under root the server commands run as the ``postgres`` system user (or
a ``trendbot-test`` system user created on demand) via ``runuser`` (or ``su``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

FALLBACK_USER = "trendbot-test"
DATABASE = "trendbot"
# Durability is pointless for a cluster deleted after the run; these make it much faster.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, then the newest Debian install."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    candidates.sort(key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def available() -> bool:
    """Whether PostgreSQL server binaries are installed."""
    return find_bin_dir() is not None


def _server_user() -> str:
    """The OS user that runs the server: ourselves, or an unprivileged one under root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    for name in ("postgres", FALLBACK_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    # Exit code 9 means "already exists" (a parallel worker won the race).
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        capture_output=True,
        text=True,
    )
    if result.returncode not in (0, 9):
        raise RuntimeError(f"useradd {FALLBACK_USER} failed: {result.stderr.strip()}")
    return FALLBACK_USER


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Cluster:
    """One initdb'd data directory and the commands to drive it."""

    def __init__(self, bin_dir: Path, user: str) -> None:
        self.bin_dir, self.user = bin_dir, user
        # Under root, TMPDIR might sit in /root, which the server user can't traverse.
        base = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="trendbot-pg-", dir=base))
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.sockets.mkdir()
        self.port = 0
        if os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0 and shutil.which("runuser"):
            command = ["runuser", "-u", self.user, "--", *command]
        elif os.geteuid() == 0:  # no util-linux runuser: su needs a shell, nologin has none
            command = ["su", "-s", "/bin/sh", self.user, "-c", shlex.join(command)]
        # PG* variables from the caller's environment would point the tools elsewhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        result = subprocess.run(
            command, cwd=self.root, env=env, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{tail}"
            )

    def start(self) -> None:
        self.run(
            "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            # A port picked here can be taken before the server binds it: retry on a new one.
            self.port = _free_port()
            settings = {
                **SERVER_SETTINGS,
                "port": str(self.port),
                "unix_socket_directories": f"'{self.sockets}'",
            }
            conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
            with open(self.data / "postgresql.conf", "a") as file:
                file.write(conf)
            try:
                log = str(self.root / "server.log")
                self.run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", "start")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self.run(
            "createdb", "-h", str(self.sockets), "-p", str(self.port), "-U", self.user, DATABASE
        )

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{DATABASE}"

    def stop_server(self) -> None:
        """Stop the server, keeping its data (bench/query.py's cold cache)."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def start_server(self) -> None:
        """Start a stopped server again, on the same port and data."""
        log = str(self.root / "server.log")
        self.run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", "start")

    def stop(self) -> None:
        # "immediate" skips the shutdown checkpoint: the data is deleted right after.
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            if (self.data / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[_Cluster]:
    """Run a fresh PostgreSQL server; yield it (`.url` is its ``trendbot`` database)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found")
    cluster = _Cluster(bin_dir, _server_user())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """Run a fresh PostgreSQL server; yield an async SQLAlchemy URL to its ``trendbot`` db."""
    with postgres_cluster() as cluster:
        yield cluster.url


if __name__ == "__main__":  # manual check: python -m tests.fakes.postgres
    with postgres_url() as url:
        print(url)


@contextlib.asynccontextmanager
async def fresh_database(server_url: str, prefix: str = "test") -> AsyncIterator[str]:
    """A new, empty database on the server at `server_url`; its URL, dropped afterwards."""
    import asyncpg
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = {"host": server.host, "port": server.port, "user": server.username}
    connection = await asyncpg.connect(database="postgres", **admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(database="postgres", **admin)
        try:
            # FORCE ends sessions a test forgot to close (an engine never disposed).
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()
