"""PostgreSQL (and Redis) servers for tests, started from temporary folders
on free loopback ports and stopped afterwards. Debian's binaries are used;
postgres refuses to run as root, so as root it runs as the ``postgres`` user."""

from __future__ import annotations

import contextlib
import getpass
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for folder in [*PG_DIRS, *(Path(p) for p in os.environ.get("PATH", "").split(os.pathsep))]:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _as_server_user(command: list[str]) -> tuple[list[str], str]:
    """The command run as a user postgres accepts, and that user's name."""
    if os.geteuid() != 0:
        return command, getpass.getuser()
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no 'postgres' user to run postgres as") from None
    return ["runuser", "-u", "postgres", "--", *command], "postgres"


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL server; yields the URL of its ``postgres`` database."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="shophealth-pg-"))
    data, port = folder / "data", free_port()
    _, user = _as_server_user([])
    shutil.chown(folder, user)

    def run(program: str, *args: str) -> None:
        command, _ = _as_server_user([str(bindir / program), *args])
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    try:
        run("initdb", "-D", str(data), "-A", "trust", "-U", "shophealth", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "-t", "60", "start")
        try:
            yield f"postgresql://shophealth@127.0.0.1:{port}/postgres"
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server; its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
