"""`incubo hub sauvegarder` / `incubo hub restaurer`: the whole room in one archive, proven to restore.

What a room holds and where:

| part | folder | in the archive |
| --- | --- | --- |
| hub database, secrets, exchange, LRS data (Ralph), séances, configuration | the hub folder | `hub/` |
| sources, releases, submissions, gradebook, feedback | the course directory | `cours/` |
| each learner's files | their home | `homes/<account>/` |

Taken while the room runs: SQLite databases (hub, gradebook) are copied
with SQLite's online backup, so a write in progress never leaves half a page;
Ralph's files are append-only JSON lines, copied up to their last complete
line. Learners' homes are read without following links, and only the files
their owner owns (a planted hard link to a file of someone else's is left
out). Restoring refuses a non-empty target, recreates the accounts, and
extracts with tarfile's `data` filter (no absolute paths, no links leaving
the folder, no device files), each home's files given back to its account.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pwd
import sqlite3
import stat
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path

from incubo import console
from incubo.config import HubSettings
from incubo.errors import IncuboError
from incubo.hub import accounts

log = logging.getLogger(__name__)

FORMAT = 1
SKIP_IN_HUB = {"logs", "python", "jupyterhub.pid", "proxy.pid"}
SQLITE_SUFFIXES = (".sqlite", ".db", ".sqlite3")
MANIFEST = "incubo-sauvegarde.json"


def _hub_users(settings: HubSettings) -> list[str]:
    from incubo.hub.room import _hub_users

    return _hub_users(settings)


def _sqlite_copy(fd: int) -> bytes:
    """A consistent copy of a live SQLite database (its online backup API), through the file
    already opened: the path is never resolved again (a swap for a link after the check changes nothing)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "copie.sqlite"
        src = sqlite3.connect(f"file:/proc/self/fd/{fd}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return target.read_bytes()


def _read_open_file(
    fd: int, name: str, st: os.stat_result, *, room_file: bool, lines: bool
) -> bytes:
    """What to archive of a file opened without following links, read from that descriptor only.

    The room's own SQLite databases through SQLite's online backup; JSON lines (Ralph's data,
    journals: `lines`) up to their last complete line; anything else as it is. In a learner's home a
    `.db` is just bytes: their own files, never handed to SQLite as root.
    """
    if room_file and name.endswith(SQLITE_SUFFIXES):
        return _sqlite_copy(fd)
    with os.fdopen(os.dup(fd), "rb") as f:
        data = f.read(st.st_size)
    if lines and data and not data.endswith(b"\n"):
        return data[: data.rfind(b"\n") + 1]
    return data


def _owner(info: tarfile.TarInfo, st: os.stat_result) -> tarfile.TarInfo:
    """Owner by number and by name: a fresh machine's accounts may have other numbers."""
    import grp

    info.uid, info.gid = st.st_uid, st.st_gid
    with contextlib.suppress(KeyError):
        info.uname = pwd.getpwuid(st.st_uid).pw_name
    with contextlib.suppress(KeyError):
        info.gname = grp.getgrgid(st.st_gid).gr_name
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, st: os.stat_result) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime)
    tar.addfile(_owner(info, st), io.BytesIO(data))


def _add_tree(
    tar: tarfile.TarFile, root: Path, prefix: str, *, skip=(), owner: int | None = None
) -> int:
    """Add a folder: regular files and folders only, never following a link; returns the file count."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel = here.relative_to(root)
        if rel.parts and rel.parts[0] in skip:
            dirnames[:] = []
            continue
        dirnames[:] = [
            d for d in dirnames if not (here / d).is_symlink() and not (not rel.parts and d in skip)
        ]
        st = os.lstat(here)
        info = tarfile.TarInfo(str(Path(prefix) / rel) if rel.parts else prefix)
        info.type, info.mode, info.mtime = (
            tarfile.DIRTYPE,
            stat.S_IMODE(st.st_mode),
            int(st.st_mtime),
        )
        tar.addfile(_owner(info, st))
        for name in filenames:
            if not rel.parts and name in skip:
                continue
            path = here / name
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue  # a link, a socket, gone
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or (owner is not None and st.st_uid != owner):
                    continue  # FIFOs, devices, and in a home what its owner does not own
                lines = name.endswith(".jsonl") or ("lrs" in rel.parts and name.endswith(".json"))
                room_file = owner is None and "exchange" not in rel.parts  # learners write there
                data = _read_open_file(fd, name, st, room_file=room_file, lines=lines)
            except (OSError, sqlite3.Error) as exc:
                log.warning("backup: %s skipped (%s)", path, exc)
                continue
            finally:
                os.close(fd)
            _add_bytes(tar, str(Path(prefix) / rel / name), data, st)
            count += 1
    return count


def backup(settings: HubSettings, folder: Path) -> Path:
    """Write `incubo-salle-<date>.tar.gz` in `folder`; returns its path."""
    if not settings.hub_dir.is_dir():
        raise IncuboError(
            f"Le dossier du hub « {settings.hub_dir} » n'existe pas : rien à sauvegarder "
            "(indiquez-le avec INCUBO_HUB_DIR).",
            code="sauvegarde-hub-absent",
        )
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%d-%H%M%S")
    target = folder / f"incubo-salle-{stamp}.tar.gz"
    partial = target.with_suffix(".partiel")
    users = _hub_users(settings)
    homes: dict[str, str] = {}
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # secrets inside: root only
    started = time.monotonic()
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        files = _add_tree(tar, settings.hub_dir, "hub", skip=SKIP_IN_HUB)
        if settings.course_dir.is_dir():
            files += _add_tree(tar, settings.course_dir, "cours")
        for name in users:
            unix = accounts.unix_name(name)
            try:
                entry = pwd.getpwnam(unix)
            except KeyError:
                continue
            homes[name] = unix
            files += _add_tree(tar, Path(entry.pw_dir), f"homes/{unix}", owner=entry.pw_uid)
        manifest = {
            "format": FORMAT,
            "date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "cours": settings.course_id,
            "comptes": homes,
            "fichiers": files,
        }
        data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        _add_bytes(tar, MANIFEST, data, os.stat(partial))
    partial.rename(target)
    console.success(
        f"Sauvegarde de la salle : {target} ({files} fichiers, {len(homes)} apprenants, "
        f"{time.monotonic() - started:.0f} s)."
    )
    return target


def prune(folder: Path, keep: int) -> list[Path]:
    """Keep the `keep` most recent archives of `folder` (the daily backup's retention)."""
    archives = sorted(folder.glob("incubo-salle-*.tar.gz"))
    gone = archives[:-keep] if keep > 0 else []
    for path in gone:
        path.unlink()
    return gone


def _read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember(MANIFEST)
        return json.loads(tar.extractfile(member).read())
    except (KeyError, ValueError, AttributeError):
        raise IncuboError(
            "Cette archive n'est pas une sauvegarde de salle incubo (fichier incubo-sauvegarde.json absent).",
            code="sauvegarde-invalide",
        ) from None


def _empty(path: Path) -> bool:
    return not path.exists() or not any(path.iterdir())


def restore(settings: HubSettings, archive: Path) -> dict:
    """Restore an archive into the configured hub folder, course directory and homes."""
    if not archive.is_file():
        raise IncuboError(f"L'archive « {archive} » n'existe pas.", code="sauvegarde-absente")
    for label, path in (("du hub", settings.hub_dir), ("de cours", settings.course_dir)):
        if not _empty(path):
            raise IncuboError(
                f"Le dossier {label} « {path} » n'est pas vide : restaurez dans un dossier neuf "
                "(INCUBO_HUB_DIR, --course-dir), rien n'a été modifié.",
                code="restauration-cible-occupee",
            )
    try:
        tar = tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError):
        raise IncuboError(
            f"L'archive « {archive} » est illisible ou abîmée.", code="sauvegarde-invalide"
        ) from None
    with (
        tar,
        tempfile.TemporaryDirectory(
            dir=settings.hub_dir.parent if settings.hub_dir.parent.exists() else None
        ) as tmp,
    ):
        manifest = _read_manifest(tar)
        tar.extractall(tmp, filter="data")
        staged = Path(tmp)
        _give_back_owners_and_modes(tar, staged)
        _move(staged / "hub", settings.hub_dir)
        _move(staged / "cours", settings.course_dir)
        restored = []
        for name, unix in manifest.get("comptes", {}).items():
            source = staged / "homes" / unix
            if not source.is_dir():
                continue
            created, home = accounts.ensure_account(name, settings.home_base)
            entry = pwd.getpwnam(created)
            if not _empty(home):
                target = Path(settings.home_base) / created
                if target != home and _empty(target):
                    home = target
                else:
                    console.warning(
                        f"Le dossier de {name} ({home}) n'est pas vide : ses fichiers n'ont pas été remplacés."
                    )
                    continue
            _move(source, home)
            _chown_tree(home, entry.pw_uid, entry.pw_gid)
            restored.append(name)
    os.chmod(settings.hub_dir, 0o755)
    console.success(
        f"Salle restaurée depuis {archive.name} (sauvegarde du {manifest.get('date', '?')}) : "
        f"{len(restored)} apprenants, dossier du hub {settings.hub_dir}."
    )
    return {"manifest": manifest, "apprenants": restored}


def _give_back_owners_and_modes(tar: tarfile.TarFile, staged: Path) -> None:
    """The room's own files (hub folder, course directory) get their owner (by name) and mode back.

    tarfile's `data` filter drops owners and group/other write bits; the exchange needs them
    (learners drop their submissions in `inbound/`), the services' and grader's files their accounts.
    """
    import grp

    for member in tar.getmembers():
        if not member.name.startswith(("hub/", "cours/")) or member.issym() or member.islnk():
            continue
        path = staged / member.name
        if not path.exists() or path.is_symlink():
            continue
        uid = gid = -1
        with contextlib.suppress(KeyError):
            uid = pwd.getpwnam(member.uname).pw_uid if member.uname else -1
        with contextlib.suppress(KeyError):
            gid = grp.getgrnam(member.gname).gr_gid if member.gname else -1
        os.chown(path, uid, gid, follow_symlinks=False)
        os.chmod(path, member.mode & 0o7777)


def _move(source: Path, target: Path) -> None:
    if not source.exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    for child in source.iterdir():
        dest = target / child.name
        if dest.is_dir() and child.is_dir() and not any(dest.iterdir()):
            dest.rmdir()
        child.rename(dest) if not dest.exists() else _move(child, dest)
    with contextlib.suppress(OSError):
        os.chmod(target, stat.S_IMODE(source.stat().st_mode))


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            os.chown(Path(dirpath) / name, uid, gid, follow_symlinks=False)
    os.chown(root, uid, gid)
    os.chmod(root, 0o700)
