"""The room's private nbgrader exchange: its layout and a copy that never follows a link.

Shared by the hub (which creates the folders and fetches for learners) and
the trainer's commands (release, collect, feedback). Stock nbgrader keeps
every submission and every feedback file of a course in two shared folders
that every student can enter (nbgrader #1225, #978); here each learner has
a folder of their own under `inbound/` and `feedback/`, that only they and
the trainers' Unix group may enter. Learners see the stock layout through a
per-learner view of symbolic links in their home (`~/.incubo/echange`), so
nbgrader's own Assignment List, submit and fetch-feedback work unchanged.

    <exchange>/                       root 0755
      <course>/                       root 0755
        outbound/<module>/            root 0755/0644: released modules, readable by all
        outbound/.parcours.json       0644: the catalogue of the released modules (titles, order)
        inbound/                      root:<trainers> 0751: nobody lists the learners
          <learner>/                  <learner>:<trainers> 2770: that learner's submissions
        feedback/                     root:<trainers> 0751
          <learner>/                  <learner>:<trainers> 2770: that learner's feedback

See docs/contracts.md (« Échange nbgrader du hub »).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from incubo.errors import IncuboError, suggestion
from incubo.released import strip_release

log = logging.getLogger(__name__)

#: Where, in a learner's home, the per-learner view of the exchange lives (nbgrader's Exchange.root).
VIEW_DIR = Path(".incubo") / "echange"
#: A hub name usable as a folder and an nbgrader student id ('+' separates nbgrader's file name parts).
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,63}$")


def safe_name(name: str) -> bool:
    """True when `name` can name a learner's folder (no '/', '+', leading '.', nor empty)."""
    return bool(_SAFE_NAME.match(name))


@dataclass(frozen=True)
class ExchangeLayout:
    """Paths of one course in the exchange."""

    root: Path
    course_id: str

    @property
    def course(self) -> Path:
        return self.root / self.course_id

    @property
    def outbound(self) -> Path:
        return self.course / "outbound"

    @property
    def inbound(self) -> Path:
        return self.course / "inbound"

    @property
    def feedback(self) -> Path:
        return self.course / "feedback"

    def inbound_of(self, learner: str) -> Path:
        return self.inbound / learner

    def feedback_of(self, learner: str) -> Path:
        return self.feedback / learner

    def released(self) -> list[str]:
        """Names of the modules released so far."""
        if not self.outbound.is_dir():
            return []
        return sorted(
            p.name for p in self.outbound.iterdir() if p.is_dir() and not p.name.startswith(".")
        )


def parse_entry(name: str) -> tuple[str, datetime] | None:
    """(assignment, timestamp) of an nbgrader submission folder name `student+assignment+timestamp[+random]`."""
    from nbgrader.utils import parse_utc

    parts = name.rsplit("+", 3) if name.count("+") >= 3 else name.split("+")
    if len(parts) < 3:
        return None
    try:
        return parts[1], parse_utc(parts[2])
    except Exception:  # noqa: BLE001 - a folder the learner named freely: ignore it
        return None


def submissions_of(learner_dir: Path, module: str) -> list[tuple[datetime, Path]]:
    """The learner's submission folders of `module`, by the time in their names (nothing followed)."""
    found = []
    for name in os.listdir(learner_dir):
        parsed = parse_entry(name)
        if parsed is None or parsed[0] != module:
            continue
        if stat.S_ISDIR(os.lstat(learner_dir / name).st_mode):
            found.append((parsed[1], learner_dir / name))
    return sorted(found)


#: Collect's caps: a submission is a few notebooks; anything bigger is left where it is, and said.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_SUBMISSION_BYTES = 100 * 1024 * 1024
MAX_FILES = 2000
MAX_DEPTH = 16
_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW


@dataclass
class CopyReport:
    """What a copy out of a learner's folder took, and what it left (one French sentence each)."""

    files: int = 0
    size: int = 0
    skipped: list[str] = field(default_factory=list)

    def skip(self, where: str, why: str) -> None:
        self.skipped.append(f"« {where} » ignoré : {why}.")


def open_dir_nofollow(path: Path, base: Path | None = None) -> int:
    """A descriptor on the folder `path`, refusing a link at every level below `base`.

    `base` (by default `path`'s parent) is a folder nobody but root and the
    trainers controls, such as the exchange's `inbound/`; it is resolved as
    usual, then each level under it is opened relative to the one above with
    O_NOFOLLOW.
    """
    path = Path(os.path.abspath(path))
    base = Path(os.path.abspath(base)) if base is not None else path.parent
    rel = path.relative_to(base).parts
    fd = os.open(os.path.realpath(base), _DIR_FLAGS)
    try:
        for part in rel:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular_nofollow(name: str, dir_fd: int) -> tuple[int, os.stat_result] | None:
    """A descriptor on the regular file `name` of `dir_fd`, or None (a link, a FIFO, a device...).

    O_NONBLOCK: opening a FIFO never waits for a writer; fstat then says what was opened.
    """
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    os.set_blocking(fd, True)
    return fd, st


def read_small(folder: Path, name: str, limit: int = 4096, *, base: Path | None = None) -> str:
    """At most `limit` bytes of the regular file `folder/name`, never through a link ('' otherwise)."""
    try:
        dfd = open_dir_nofollow(folder, base)
    except OSError:
        return ""
    try:
        opened = open_regular_nofollow(name, dfd)
    finally:
        os.close(dfd)
    if opened is None:
        return ""
    with os.fdopen(opened[0], "rb") as f:
        return f.read(limit).decode("utf-8", errors="replace").strip()


def feedback_pages(submissions: list[Path], feedback: Path) -> dict[str, Path]:
    """Notebook stem → its feedback page in `feedback` (nbgrader's hashed names), for the newest of
    these hand-ins that has feedback; {} when none has."""
    from nbgrader.utils import notebook_hash

    for sub in reversed(submissions):
        try:
            secret = read_small(sub, "submission_secret.txt", base=sub.parent)
        except OSError:
            continue
        if not secret:
            continue
        found = {
            nb.stem: feedback / (notebook_hash(secret=secret, notebook_id=nb.stem) + ".html")
            for nb in sorted(sub.glob("*.ipynb"))
        }
        found = {stem: page for stem, page in found.items() if page.is_file()}
        if found:
            return found
    return {}


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "c'est un lien symbolique"
    if stat.S_ISFIFO(mode):
        return "c'est un tube nommé (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "c'est un périphérique"
    if stat.S_ISSOCK(mode):
        return "c'est une socket"
    return "ce n'est ni un fichier ordinaire ni un dossier"


def copy_tree_nofollow(
    src: Path,
    dest: Path,
    *,
    base: Path | None = None,
    ignore: tuple[str, ...] = (),
    max_file: int = sys.maxsize,
    max_total: int = sys.maxsize,
    max_files: int = sys.maxsize,
) -> CopyReport:
    """Copy the regular files and folders of `src` into `dest`; skip, and say, everything else.

    Used when a privileged process (root, the grader) reads a folder a learner
    controls: every level is opened relative to its parent's descriptor with
    O_NOFOLLOW, so no planted link (at any depth, or swapped in mid-copy) makes
    it read a file the learner may not read; FIFOs and devices are never opened
    for reading; files over `max_file` bytes, and whatever would take the copy
    over `max_total` bytes or `max_files` files, are left out.
    """
    report = CopyReport()
    fd = open_dir_nofollow(src, base)
    try:
        _copy_level(fd, "", dest, ignore, report, (max_file, max_total, max_files))
    finally:
        os.close(fd)
    return report


def _copy_level(fd: int, rel: str, dest: Path, ignore, report: CopyReport, caps) -> None:
    import fnmatch

    max_file, max_total, max_files = caps
    dest.mkdir(parents=True, exist_ok=True)
    for name in sorted(os.listdir(fd)):
        where = f"{rel}{name}"
        if any(fnmatch.fnmatch(name, pattern) for pattern in ignore):
            continue
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if where.count("/") >= MAX_DEPTH or report.files >= max_files:
                report.skip(where, "dossier trop profond ou copie déjà trop nombreuse")
                continue
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                report.skip(where, "dossier remplacé pendant la copie")
                continue
            try:
                _copy_level(child, where + "/", dest / name, ignore, report, caps)
            finally:
                os.close(child)
            continue
        if not stat.S_ISREG(st.st_mode):
            report.skip(where, _kind(st.st_mode))
            continue
        if report.files >= max_files:
            report.skip(where, f"la copie compte déjà {max_files} fichiers")
            continue
        opened = open_regular_nofollow(name, fd)
        if opened is None:
            report.skip(where, "remplacé pendant la copie par autre chose qu'un fichier ordinaire")
            continue
        ffd, fst = opened
        with os.fdopen(ffd, "rb") as fin:
            if fst.st_size > max_file:
                report.skip(
                    where, f"trop gros ({_mib(fst.st_size)}, au plus {_mib(max_file)} par fichier)"
                )
                continue
            if report.size + fst.st_size > max_total:
                report.skip(where, f"la copie dépasserait {_mib(max_total)} au total")
                continue
            out = os.open(dest / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
            with os.fdopen(out, "wb") as fout:
                copied = _copy_capped(fin, fout, min(max_file, max_total - report.size))
        if copied is None:
            (dest / name).unlink()
            report.skip(where, "a grossi pendant la copie au-delà de la limite")
            continue
        report.files += 1
        report.size += copied


def _copy_capped(fin, fout, limit: int) -> int | None:
    """Copy at most `limit` bytes; None when there was more."""
    copied = 0
    while chunk := fin.read(1024 * 1024):
        copied += len(chunk)
        if copied > limit:
            return None
        fout.write(chunk)
    return copied


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} Mio".replace(".", ",")


def write_file_atomic(folder: Path, name: str, data: bytes, mode: int = 0o644) -> Path:
    """Write `folder/name` through a new temporary file and a rename, relative to the folder's descriptor.

    The folder may belong to a learner (their feedback folder): no path below
    it is ever followed; the mode is set on the open descriptor (a learner who
    swaps the temporary file for a link changes nothing but their own folder).
    """
    dfd = open_dir_nofollow(folder)
    try:
        for _ in range(100):
            tmp = f".tmp-{os.urandom(6).hex()}"
            try:
                fd = os.open(
                    tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600, dir_fd=dfd
                )
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"no free temporary name in {folder}")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                os.fchmod(f.fileno(), mode)
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dfd)
            raise
    finally:
        os.close(dfd)
    return folder / name


# --- the release: shared by `incubo grade release`, nbgrader's exchange plugin and the séance ---


def check_exchange(layout: ExchangeLayout) -> None:
    """Refuse, in French, an exchange the hub has not created yet."""
    if not layout.course.is_dir():
        raise IncuboError(
            f"L'échange du hub {layout.course} n'existe pas : démarrez le hub une fois (« incubo hub ») "
            "ou indiquez son dossier avec INCUBO_HUB_DIR.",
            code="echange-introuvable",
        )


def release_modes(outbound: Path) -> tuple[int, int]:
    """(folder, file) modes of what is released: readable by all; writable by the outbound's group
    too when it is (on a hub the services account and the grader both release)."""
    if os.stat(outbound).st_mode & stat.S_IWGRP:
        return 0o2775, 0o664
    return 0o755, 0o644


def release_module(
    course_dir: Path,
    layout: ExchangeLayout,
    module: str,
    *,
    force: bool = False,
    notebooks: list[str] | None = None,
) -> Path:
    """Copy `release/<module>/` to the exchange's outbound folder, readable by every learner.

    `notebooks`, when given, are the only notebooks released (a séance run step by step: the
    later steps stay off the exchange until the trainer unlocks them); other files go as usual.
    """
    src = course_dir / "release" / module
    if not src.is_dir():
        known = sorted(p.name for p in (course_dir / "release").glob("*") if p.is_dir())
        raise IncuboError(
            f"Le module « {module} » n'est pas dans {course_dir / 'release'}.{suggestion(module, known)} "
            "Lancez d'abord « incubo build ».",
            code="module-inconnu",
        )
    check_exchange(layout)
    dest = layout.outbound / module
    if dest.exists() and not force:
        raise IncuboError(
            f"Le module « {module} » est déjà distribué. Ajoutez --force pour le remplacer "
            "(les copies déjà récupérées par les apprenants ne changent pas).",
            code="deja-distribue",
        )
    layout.outbound.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=layout.outbound, prefix=".tmp-"))
    try:
        copy_tree_nofollow(src, tmp / module, ignore=(".ipynb_checkpoints", "__pycache__", "*.pyc"))
        if notebooks is not None:
            for nb in (tmp / module).glob("*.ipynb"):
                if nb.stem not in notebooks:
                    nb.unlink()
        strip_release(
            tmp / module
        )  # learners' homes never get a solution: the hub's service serves them
        dir_mode, file_mode = release_modes(layout.outbound)
        for folder, _dirs, files in os.walk(tmp):
            os.chmod(folder, dir_mode)
            for name in files:
                os.chmod(os.path.join(folder, name), file_mode)
        if dest.exists():
            old = tmp / ".ancien"
            os.replace(dest, old)
        os.replace(tmp / module, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("released %s to %s", module, dest)
    publish_catalogue(course_dir, layout)
    return dest


#: The build's catalogue (`incubo_parcours.json`: parcours and module titles, order, durations),
#: published beside the released modules, kept to those released: each learner's « Commencez ici »
#: names and orders what they received (`incubo.hub.home_page`).
CATALOGUE = ".parcours.json"


def publish_catalogue(course_dir: Path, layout: ExchangeLayout) -> None:
    import json

    try:
        data = json.loads((course_dir / "incubo_parcours.json").read_text(encoding="utf-8"))
        parcours = [p for p in data.get("parcours", []) if isinstance(p, dict)]
    except (OSError, ValueError, AttributeError):
        return  # a stock nbgrader course: the home falls back on the modules' own files
    released = set(layout.released())
    kept = []
    for p in parcours:
        modules = [
            m for m in p.get("modules") or [] if isinstance(m, dict) and m.get("id") in released
        ]
        if modules:
            kept.append({**p, "modules": modules})
    text = json.dumps({"format": 1, "parcours": kept}, ensure_ascii=False, indent=1)
    write_file_atomic(layout.outbound, CATALOGUE, text.encode("utf-8"))
