"""A real, temporary PostgreSQL cluster for tests (Debian's `postgresql` binaries).

`initdb` refuses to run as root, so the cluster belongs to the `postgres`
system account (or `nobody`), lives in a unique temporary folder, listens on
127.0.0.1 on a free port with password (SCRAM) authentication, and is
stopped and removed afterwards. Each test asks for its own database.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import free_port, wait_for

USER = "incubo"


def _bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise RuntimeError("PostgreSQL introuvable : installez le paquet Debian « postgresql ».")
    return Path(found[-1]).parent


def _owner() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("no unprivileged account to own the cluster")


@dataclass
class Cluster:
    port: int
    password: str
    socket_dir: Path

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database (unique name); returns its SQLAlchemy URL."""
        import psycopg2

        name = f"{prefix}_{secrets.token_hex(4)}"
        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=USER, password=self.password, dbname="postgres"
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)


def _as_owner(owner: pwd.struct_passwd):
    def demote() -> None:
        os.setgid(owner.pw_gid)
        os.setgroups([])
        os.setuid(owner.pw_uid)

    return demote if os.geteuid() == 0 else None


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """initdb + pg_ctl start on a free port; always stopped and deleted."""
    bindir, owner = _bin_dir(), _owner()
    base = Path(tempfile.mkdtemp(prefix="incubo-pg-"))
    os.chmod(base, 0o755)
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    password = secrets.token_urlsafe(16)
    pwfile = base / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        for path in (base, sock, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    demote = _as_owner(owner)
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    run = dict(env=env, preexec_fn=demote, capture_output=True, text=True, cwd=base)  # noqa: PLW1509
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", USER, f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8"],
        check=True, **run,
    )  # fmt: skip
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c max_connections=200"
    )
    try:
        started = subprocess.run(
            [
                bindir / "pg_ctl",
                "-D",
                data,
                "-o",
                options,
                "-l",
                base / "log",
                "-w",
                "-t",
                "60",
                "start",
            ],
            **run,
        )
        if started.returncode != 0:
            log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{log[-2000:]}")
        cluster = Cluster(port=port, password=password, socket_dir=sock)
        wait_for(lambda: _ready(cluster), timeout=30, what="PostgreSQL accepting connections")
        yield cluster
    finally:
        subprocess.run([bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], **run)
        shutil.rmtree(base, ignore_errors=True)


def _ready(cluster: Cluster) -> bool:
    import psycopg2

    conn = psycopg2.connect(
        host="127.0.0.1",
        port=cluster.port,
        user=USER,
        password=cluster.password,
        dbname="postgres",
        connect_timeout=2,
    )
    conn.close()
    return True


def copy_database(source_url: str, dest_url: str, metadata) -> None:
    """Copy every table of `metadata` (e.g. nbgrader's) from one database to another, parents first."""
    from sqlalchemy import create_engine

    src, dst = create_engine(source_url), create_engine(dest_url)
    try:
        metadata.create_all(dst)
        with src.connect() as s, dst.begin() as d:
            for table in metadata.sorted_tables:
                rows = [dict(r._mapping) for r in s.execute(table.select())]
                if rows:
                    d.execute(table.insert(), rows)
    finally:
        src.dispose()
        dst.dispose()
