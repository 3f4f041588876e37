"""Make sure the database Micrographia needs exists: idempotent, safe to run often.

1. A local PostgreSQL server (the URL's host is this machine) that is missing
   is installed from Debian's packages and started; one that is stopped is started.
2. PostGIS is installed (Debian `postgresql-<major>-postgis-3`) when the server
   does not offer it.
3. The database named in MICROGRAPHIA_DATABASE_URL is created when missing,
   with the `postgis` and `btree_gist` extensions.

Installing needs root (or sudo); everything else needs only a superuser login.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/micrographia"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


def say(message: str) -> None:
    print(f"[provision-db] {message}", flush=True)


def run_as_root(command: list[str]) -> None:
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise SystemExit(f"need root to run: {' '.join(command)}")
        command = ["sudo", *command]
    say("$ " + " ".join(command))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(command, check=True, env=env)


_apt_updated = False


def apt_install(*packages: str) -> None:
    global _apt_updated
    if not _apt_updated:
        run_as_root(["apt-get", "update", "-q"])
        _apt_updated = True
    run_as_root(["apt-get", "install", "-y", "-q", *packages])


def maintenance_url(url: str) -> str:
    """The same server, database `postgres`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


async def can_connect(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


def start_local_server() -> None:
    """Install (when missing) and start the local PostgreSQL cluster."""
    clusters = "/etc/postgresql"
    if not os.path.isdir(clusters) or not os.listdir(clusters):
        say("no local PostgreSQL found: installing it")
        apt_install("postgresql")
    for version in sorted(os.listdir(clusters)):
        run_as_root(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])


async def wait_for_server(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await can_connect(url):
            return
        await asyncio.sleep(1)
    raise SystemExit(f"PostgreSQL at {url} did not come up")


async def ensure_postgis_available(admin: asyncpg.Connection, local: bool) -> None:
    available = await admin.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
    )
    if available:
        return
    if not local:
        raise SystemExit("the database server has no PostGIS; install it there")
    major = (await admin.fetchval("SHOW server_version_num"))[:2]
    say(f"PostGIS missing: installing postgresql-{major}-postgis-3")
    apt_install(f"postgresql-{major}-postgis-3")


async def provision(url: str) -> None:
    host = urlsplit(url).hostname or ""
    local = host in LOCAL_HOSTS
    admin_url = maintenance_url(url)
    if not await can_connect(admin_url):
        if not local:
            raise SystemExit(f"cannot reach PostgreSQL at {admin_url}")
        start_local_server()
        await wait_for_server(admin_url)

    admin = await asyncpg.connect(admin_url)
    try:
        await ensure_postgis_available(admin, local)
        database = urlsplit(url).path.lstrip("/") or "micrographia"
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            say(f"creating database {database}")
            await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()

    connection = await asyncpg.connect(url)
    try:
        for extension in ("postgis", "btree_gist"):
            await connection.execute(
                f"CREATE EXTENSION IF NOT EXISTS {extension} WITH SCHEMA public"
            )
        version = await connection.fetchval("SELECT postgis_lib_version()")
    finally:
        await connection.close()
    say(f"database ready: {urlsplit(url).path.lstrip('/')} (PostGIS {version})")


if __name__ == "__main__":
    target = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("MICROGRAPHIA_DATABASE_URL", DEFAULT_URL)
    )
    asyncio.run(provision(target))
