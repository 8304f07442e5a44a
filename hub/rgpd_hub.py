"""Erasing one agent from the hub itself: its JupyterHub user, its Unix account, its name in the logs.

Called by `incubo rgpd effacer` on a room's hub (the command line is the one place that calls
the parts). The JupyterHub user goes through the hub's REST API when the hub runs (it keeps
users in memory), else through JupyterHub's own ORM, as the hub deletes a user (its servers'
OAuth clients with it); a SQLite database is then vacuumed, since deleted rows stay in its
free pages. The hub's logs keep names in request lines: each occurrence is replaced in place
(same file, so the hub's open log handler keeps writing to it).
"""

from __future__ import annotations

import contextlib
import logging
import pwd
import re
import sqlite3
from pathlib import Path

from incubo.config import HubSettings
from incubo.errors import IncuboError
from incubo.hub import accounts

log = logging.getLogger(__name__)

ERASED = "[efface]"


def account_of(agent: str) -> str | None:
    """The agent's Unix account, if it exists."""
    try:
        return pwd.getpwnam(accounts.unix_name(agent)).pw_name
    except KeyError:
        return None


def _sqlite_path(settings: HubSettings) -> Path | None:
    url = settings.db_url
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def in_hub(settings: HubSettings, agent: str) -> bool:
    """True when the hub's database knows the agent (read-only look-up)."""
    path = _sqlite_path(settings)
    if path is None:
        from sqlalchemy import create_engine, text

        engine = create_engine(settings.db_url)
        try:
            with engine.connect() as conn:
                return bool(
                    conn.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": agent}).first()
                )
        finally:
            engine.dispose()
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return bool(db.execute("SELECT 1 FROM users WHERE name = ?", (agent,)).fetchone())
    except sqlite3.Error as exc:
        raise IncuboError(
            f"La base du hub {path} est illisible ({exc}) : rien n'a été effacé.",
            code="hub-base-illisible",
        ) from None


def remove_hub_user(settings: HubSettings, agent: str) -> None:
    """Delete the JupyterHub user (API when the hub runs, ORM otherwise), then vacuum SQLite."""
    from incubo.hub.api import HubAPI

    api = None
    with contextlib.suppress(IncuboError):
        api = HubAPI(settings, timeout=60)
    if api is not None and api.alive():
        api.stop_server(agent)
        r = api.request("DELETE", f"/users/{agent}")
        if r.status_code not in (204, 404):
            raise IncuboError(
                f"Le hub refuse de supprimer l'utilisateur « {agent} » (HTTP {r.status_code}).",
                code="hub-suppression",
            )
    else:
        from jupyterhub import orm

        db = orm.new_session_factory(settings.db_url)()
        try:
            user = orm.User.find(db, agent)
            if user is not None:
                for spawner in list(user._orm_spawners):
                    if spawner.oauth_client is not None:
                        db.delete(spawner.oauth_client)
                db.delete(user)
                db.commit()
        finally:
            db.close()
    path = _sqlite_path(settings)
    if path is not None and path.is_file():
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            db.execute("VACUUM")


def scrub_logs(settings: HubSettings, words: list[str]) -> int:
    """Replace each of `words` by « [efface] » in the hub's logs, in place; lines changed."""
    changed = 0
    folder = settings.logs_dir
    if not folder.is_dir():
        return 0
    # whole names only: « ana » is not erased inside « banana »; but it is after a percent-encoded
    # separator, as in the hub's « redirect_uri=%2Fuser%2Fana%2Foauth_callback »
    patterns = [
        re.compile(
            rb"(?:(?<![A-Za-z0-9_.-])|(?<=%[0-9A-Fa-f]{2}))"
            + re.escape(w.encode())
            + rb"(?![A-Za-z0-9_-])"
        )
        for w in words
        if w
    ]
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if not any(p.search(data) for p in patterns):
            continue
        lines = data.splitlines(keepends=True)
        for i, line in enumerate(lines):
            new = line
            for pattern in patterns:
                new = pattern.sub(ERASED.encode(), new)
            if new != line:
                lines[i] = new
                changed += 1
        with open(path, "r+b") as fh:  # same inode: the hub's log handler keeps its file
            fh.write(b"".join(lines))
            fh.truncate()
    return changed


def refresh_dashboard(settings: HubSettings, timeout: float = 10) -> bool:
    """Ask the room's running dashboard to re-read the whole LRS now, so an erased agent leaves the
    trainer's view at once (else at its next full read, within a minute). False if not reached."""
    import json
    import urllib.error
    import urllib.request

    from incubo.config import room_services_settings
    from incubo.hub.lrs_keys import SECRET_FILE, WAKE_HEADER, wake_token
    from incubo.hub.services import DASHBOARD

    folder = Path(settings.hub_dir) / "lrs"
    layout = room_services_settings()
    try:  # both are made at the hub's first start; never made here
        port = (
            dict(layout.ports).get(DASHBOARD)
            or json.loads((folder / "ports.json").read_text(encoding="utf-8"))[DASHBOARD]
        )
        secret = (folder / SECRET_FILE).read_text(encoding="utf-8").strip().encode()
    except (OSError, ValueError, KeyError, TypeError):
        return False
    request = urllib.request.Request(
        f"http://{layout.host}:{int(port)}/services/{DASHBOARD}/reveil?complet=1",
        method="POST",
        data=b"",
        headers={WAKE_HEADER: wake_token(secret)},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 204
    except (
        OSError,
        urllib.error.URLError,
        ValueError,
    ) as exc:  # the hub stopped: nothing to refresh
        log.debug("dashboard not refreshed after an erasure: %s", exc)
        return False


# --- retention in the learners' homes ---------------------------------------------------------

#: Run as the home's owner (stdlib only, the system Python): purge `~/.incubo/evenements.jsonl`
#: in place under the lock `incubo.events.append_jsonl` takes, and old files of the spool.
PURGE_HOME = r"""
import fcntl, json, os, sys
from datetime import datetime, timezone
cutoff, dry = datetime.fromisoformat(sys.argv[1]), sys.argv[2] == "1"
def old(raw):
    try:
        stamp = json.loads(raw).get("timestamp", "")
        ts = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except Exception:
        return False
    return (ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)) < cutoff
flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
n = 0
try:
    top = os.open(".incubo", flags)
except OSError:
    print(0); sys.exit()
try:
    fd = os.open("evenements.jsonl", os.O_RDWR | os.O_NOFOLLOW, dir_fd=top)
except OSError:
    fd = None
if fd is not None:
    with os.fdopen(fd, "r+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        lines = fh.read().splitlines(keepends=True)
        kept = [line for line in lines if not old(line)]
        n += len(lines) - len(kept)
        if kept != lines and not dry:
            fh.seek(0); fh.write(b"".join(kept)); fh.truncate(); fh.flush(); os.fsync(fh.fileno())
for sub in ("file-attente", "file-attente/refusees"):
    try:
        folder = os.open(sub, flags, dir_fd=top)
    except OSError:
        continue
    for name in os.listdir(folder):
        if not name.endswith(".json"):
            continue
        try:
            with os.fdopen(os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder), "rb") as fh:
                if old(fh.read()):
                    n += 1
                    if not dry:
                        os.unlink(name, dir_fd=folder)
        except OSError:
            pass
print(n)
"""


def purge_homes(
    settings: HubSettings, cutoff, *, simulation: bool
) -> tuple[dict[str, int], list[str]]:
    """Old statements of each learner's journal and spool, removed as that learner: counts, failures."""
    import subprocess

    counts: dict[str, int] = {}
    failed: list[str] = []
    base = Path(settings.home_base)
    if not base.is_dir():
        return counts, failed
    for entry in pwd.getpwall():
        home = Path(entry.pw_dir)
        if not entry.pw_name.startswith(accounts.PREFIX) or home.parent != base:
            continue
        if entry.pw_uid == 0 or not home.is_dir() or home.is_symlink():
            continue
        cmd = [
            "setpriv",
            f"--reuid={entry.pw_uid}",
            f"--regid={entry.pw_gid}",
            "--clear-groups",
            "--",
            "/usr/bin/python3",
            "-I",
            "-c",
            PURGE_HOME,
            cutoff.isoformat(),
            "1" if simulation else "0",
        ]
        done = subprocess.run(
            cmd, cwd=home, capture_output=True, text=True, timeout=120, env={"LANG": "C.UTF-8"}
        )
        if done.returncode != 0:
            log.warning("purge of %s failed: %s", home, done.stderr.strip()[-300:])
            failed.append(str(home))
            continue
        n = int(done.stdout.strip() or 0)
        if n:
            counts[str(home / ".incubo")] = n
    return counts, failed
