"""Where incubo keeps statements and an agent's files, for the RGPD commands (export, erasure, purge).

Statements live in up to four places: the LRS (read over xAPI, `INCUBO_LRS_URL`; on a
room Ralph's file backend, whose data files `INCUBO_LRS_FS_DIR` — else
`<hub dir>/lrs/donnees` — erasure and purge rewrite in place), the room's journals
(`<course>/evenements/*.jsonl` or `INCUBO_EVENTS_DIR`), this account's own journal
(`~/.incubo/evenements.jsonl`) and its spool (`~/.incubo/file-attente/`). Files are the
course directory's `submitted/`, `autograded/`, `feedback/` and, on a hub, the exchange's
`inbound/` and `feedback/` folders of each learner.

`rewrite_statements` rewrites a JSON-Lines file while another process (Ralph) may be
appending to it: the new file replaces the old one atomically, then whatever was appended
to the old one meanwhile is carried over, once no process holds the old file open.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from incubo import course_layout, lrs, xapi
from incubo.config import hub_dir, hub_settings, settings
from incubo.errors import IncuboError
from incubo.rgpd import filter_rows, on_hub

log = logging.getLogger(__name__)

#: Seconds erasure waits for a writer to let go of a replaced LRS file.
RELEASE_TIMEOUT = 30.0


@dataclass
class Places:
    """Every place the RGPD commands read or rewrite on this machine."""

    course_dir: Path
    lrs_endpoint: str | None = None
    lrs_fs_dir: Path | None = None
    journals: list[Path] = field(default_factory=list)
    spool_dirs: list[Path] = field(default_factory=list)
    gradebook_url: str | None = None
    exchange_course: Path | None = None
    trainers: tuple[str, ...] = ()
    home_base: Path | None = None

    def statement_files(self) -> list[Path]:
        """Every JSON-Lines file that holds statements here (LRS data files included)."""
        files = list(self.journals)
        if self.lrs_fs_dir and self.lrs_fs_dir.is_dir():
            files += sorted(p for p in self.lrs_fs_dir.iterdir() if _is_data_file(p))
        return files

    def spool_files(self) -> list[Path]:
        found: list[Path] = []
        for folder in self.spool_dirs:
            for sub in (folder, folder / "refusees"):
                if sub.is_dir():
                    found += sorted(p for p in sub.glob("*.json") if p.is_file())
        return found

    def folders_of(self, agent: str) -> list[Path]:
        """The agent's own folders: submissions, grading copies, feedback, exchange copies."""
        layout = course_layout.CourseLayout(self.course_dir)
        found = [layout.submitted / agent, layout.autograded / agent, layout.feedback / agent]
        if self.exchange_course:
            found += [self.exchange_course / "inbound" / agent]
            found += [self.exchange_course / "feedback" / agent]
            found += [self.exchange_course / "feedback_public" / agent]
        return [p for p in found if p.exists() and safe_child(p, agent)]


def _is_data_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and not path.is_symlink()


def safe_child(path: Path, agent: str) -> bool:
    """A folder named after the agent and nothing else (no '/', no '..', no link)."""
    return path.name == agent and agent not in ("", ".", "..") and not path.is_symlink()


def places(course_dir: Path) -> Places:
    """What this machine holds: a room's hub (`INCUBO_HUB_DIR`) or one machine."""
    config = settings()
    layout = course_layout.CourseLayout(course_dir)
    found = Places(course_dir=course_dir)
    found.lrs_endpoint = lrs.configured_endpoint(config)
    found.gradebook_url = layout.gradebook_url()
    events = layout.events_dir()
    if events.is_dir():
        found.journals += sorted(p for p in events.glob("*.jsonl") if _is_data_file(p))
    own = config.journal
    if own.is_file() and own not in found.journals:
        found.journals.append(own)
    found.spool_dirs.append(config.spool_dir)
    found.lrs_fs_dir = config.lrs_fs_dir
    if on_hub():
        hub = hub_settings()
        found.trainers = hub.formateurs
        found.home_base = hub.home_base
        found.exchange_course = hub.exchange_dir / hub.course_id
        if found.lrs_fs_dir is None:
            found.lrs_fs_dir = hub_dir() / "lrs" / "donnees"
    return found


# --- reading statements ------------------------------------------------------------------------


def read_lrs(endpoint: str, *, timeout: float = 30) -> Iterator[dict]:
    """Every statement of the LRS, page by page (the core client); a French error when it cannot be read."""
    try:
        yield from lrs.iter_statements(endpoint, timeout=timeout)
    except lrs.LrsError as exc:
        raise IncuboError(
            f"{exc.message.rstrip('.')} : rien n'a été modifié ; relancez la commande quand il répond.",
            code=exc.code,
        ) from None


def read_file(path: Path) -> Iterator[dict]:
    """The statements of one JSON-Lines file (lines that are not statements are skipped)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            with contextlib.suppress(ValueError):
                stmt = json.loads(line)
                if isinstance(stmt, dict):
                    yield stmt


def read_spool_file(path: Path) -> dict | None:
    try:
        stmt = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stmt if isinstance(stmt, dict) else None


def is_of(agent: str) -> Callable[[dict], bool]:
    return lambda stmt: xapi.learner_of(stmt) == agent


# --- rewriting a statement file in place -------------------------------------------------------


def rewrite_statements(path: Path, keep: Callable[[dict], bool], *, dry_run: bool = False) -> int:
    """Rewrite `path` without the statements `keep` refuses; the number removed.

    Owner and mode are kept. Safe while a writer appends to it (Ralph's file backend opens,
    appends, closes): see the module's docstring.
    """
    fd_old = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd_old)
        kept: list[bytes] = []
        removed = 0
        offset = 0
        removed, offset = _filter_from(fd_old, offset, keep, kept, removed)
        if dry_run or not removed:
            return removed
        tmp = path.with_name(f".{path.name}.rgpd-tmp")
        fd_new = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            if os.geteuid() == 0:
                os.fchown(fd_new, info.st_uid, info.st_gid)
            os.fchmod(fd_new, info.st_mode & 0o7777)
            os.write(fd_new, b"".join(kept))
            os.fsync(fd_new)
        finally:
            os.close(fd_new)
        os.replace(tmp, path)
        # A writer that opened the old file before the swap may still append to it.
        deadline = time.monotonic() + RELEASE_TIMEOUT
        while _held_elsewhere(info) and time.monotonic() < deadline:
            time.sleep(0.05)
        late: list[bytes] = []
        removed, _ = _filter_from(fd_old, offset, keep, late, removed, final=True)
        if late:
            with open(path, "ab") as fh:
                fh.write(b"".join(x if x.endswith(b"\n") else x + b"\n" for x in late))
        return removed
    finally:
        os.close(fd_old)


def _filter_from(
    fd: int, offset: int, keep, out: list[bytes], removed: int, *, final: bool = False
) -> tuple[int, int]:
    """Read the lines of `fd` from `offset` (complete ones only unless `final`), keeping those `keep` accepts."""
    os.lseek(fd, offset, os.SEEK_SET)
    data = b""
    while chunk := os.read(fd, 1 << 20):
        data += chunk
    end = len(data) if final else data.rfind(b"\n") + 1
    kept, gone = filter_rows(data[:end].splitlines(keepends=True), keep)
    out.extend(kept)
    return removed + gone, offset + end


def _held_elsewhere(info: os.stat_result) -> bool:
    """True while another process has this (replaced) file open."""
    me = os.getpid()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == me:
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    st = os.stat(fd)
                    if st.st_ino == info.st_ino and st.st_dev == info.st_dev:
                        return True
    return False
