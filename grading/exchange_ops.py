"""The trainer's side of the room's exchange: collect, return feedback (the release is the core's).

Works on the private layout of `incubo.exchange` (one folder per learner).
The learner's folder name, not the file name they wrote, says whose
submission it is: nobody can hand in work under another learner's name.
Everything read from a learner's folder is copied without following links.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from incubo.exchange import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_SUBMISSION_BYTES,
    ExchangeLayout,
    check_exchange,
    copy_tree_nofollow,
    read_small,
    safe_name,
    write_file_atomic,
)

log = logging.getLogger(__name__)


def _parse_entry(name: str) -> tuple[str, datetime] | None:
    """(assignment, timestamp) of an nbgrader submission folder name `student+assignment+timestamp[+random]`."""
    from nbgrader.utils import parse_utc

    parts = name.rsplit("+", 3) if name.count("+") >= 3 else name.split("+")
    if len(parts) < 3:
        return None
    try:
        return parts[1], parse_utc(parts[2])
    except Exception:  # noqa: BLE001 - a folder the learner named freely: ignore it
        return None


@dataclass
class CollectSummary:
    collected: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: One French sentence per file left out (a link, a FIFO, a file over the caps), learner first.
    skipped: list[str] = field(default_factory=list)


def collect_module(course_dir: Path, layout: ExchangeLayout, module: str) -> CollectSummary:
    """Copy each learner's latest submission of `module` to `submitted/<learner>/<module>/`."""
    check_exchange(layout)
    summary = CollectSummary()
    if not layout.inbound.is_dir():
        return summary
    for learner_dir in sorted(layout.inbound.iterdir()):
        learner = learner_dir.name
        if learner_dir.is_symlink() or not learner_dir.is_dir() or not safe_name(learner):
            continue
        try:
            latest = _latest_submission(learner_dir, module)
        except OSError as exc:
            summary.skipped.append(f"{learner} : dossier de rendu illisible ({exc.strerror}).")
            continue
        if latest is None:
            continue
        dest = course_dir / "submitted" / learner / module
        stamp = read_small(latest, "timestamp.txt", base=layout.inbound)
        if dest.is_dir() and stamp and read_small(dest, "timestamp.txt") == stamp:
            summary.unchanged.append(learner)
            continue
        tmp = Path(tempfile.mkdtemp(dir=_mkdir(dest.parent), prefix=".tmp-"))
        try:
            report = copy_tree_nofollow(
                latest, tmp / module, base=layout.inbound, ignore=(".ipynb_checkpoints",),
                max_file=MAX_FILE_BYTES, max_total=MAX_SUBMISSION_BYTES, max_files=MAX_FILES,
            )  # fmt: skip
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp / module, dest)
        except OSError as exc:
            summary.skipped.append(f"{learner} : copie non ramassée ({exc.strerror}).")
            continue
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        summary.skipped += [f"{learner} : {line}" for line in report.skipped]
        summary.collected.append(learner)
    for line in summary.skipped:
        log.warning("collect %s: %s", module, line)
    return summary


def _latest_submission(learner_dir: Path, module: str) -> Path | None:
    """The learner's latest submission folder of `module` (names only: nothing is followed)."""
    latest: tuple[datetime, str] | None = None
    for name in os.listdir(learner_dir):
        parsed = _parse_entry(name)
        if parsed is None or parsed[0] != module:
            continue
        if not stat.S_ISDIR(os.lstat(learner_dir / name).st_mode):
            continue
        if latest is None or parsed[1] > latest[0]:
            latest = (parsed[1], name)
    return learner_dir / latest[1] if latest else None


def release_feedback(
    course_dir: Path, layout: ExchangeLayout, module: str, *, student: str | None = None
) -> list[str]:
    """Put each learner's feedback of `module` in their own feedback folder, under nbgrader's hashed name.

    The name is nbgrader's `notebook_hash(submission_secret, notebook)`, so the
    stock Assignment List and `fetch_feedback` find it in the learner's view.
    """
    from nbgrader.utils import notebook_hash

    check_exchange(layout)
    released: list[str] = []
    feedback_root = course_dir / "feedback"
    for student_dir in sorted(feedback_root.glob("*")) if feedback_root.is_dir() else []:
        learner = student_dir.name
        if student and learner != student:
            continue
        pages = sorted((student_dir / module).glob("*.html"))
        if not pages or not safe_name(learner):
            continue
        secret = read_small(course_dir / "submitted" / learner / module, "submission_secret.txt")
        target = layout.feedback_of(learner)
        if not secret or not target.is_dir():
            log.warning(
                "no submission secret or feedback folder for %s, %s: skipped", learner, module
            )
            continue
        try:
            for page in pages:
                name = notebook_hash(secret=secret, notebook_id=page.stem) + ".html"
                write_file_atomic(target, name, page.read_bytes())
        except OSError as exc:  # the learner turned their folder into something else: theirs only
            log.warning("feedback of %s for %s not written: %s", module, learner, exc)
            continue
        released.append(learner)
    return released


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
