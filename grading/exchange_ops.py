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
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from incubo.deadlines import submission_time
from incubo.exchange import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_SUBMISSION_BYTES,
    ExchangeLayout,
    check_exchange,
    copy_tree_nofollow,
    read_small,
    safe_name,
    submissions_of,
    write_file_atomic,
)

log = logging.getLogger(__name__)


@dataclass
class CollectSummary:
    collected: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: One French sentence per file left out (a link, a FIFO, a file over the caps), learner first.
    skipped: list[str] = field(default_factory=list)
    #: Learners whose collected copy came after the due date (late policy « accepter »).
    late: list[str] = field(default_factory=list)
    #: One French sentence per learner whose late copy was not collected (late policy « refuser »).
    refused: list[str] = field(default_factory=list)


def collect_module(course_dir: Path, layout: ExchangeLayout, module: str) -> CollectSummary:
    """Copy each learner's latest submission of `module` to `submitted/<learner>/<module>/`.

    With a due date (`incubo.deadlines`), a copy handed in after it is marked late; with the
    « refuser » policy it is not collected: the learner's last copy on time is, if any.
    """
    check_exchange(layout)
    summary = CollectSummary()
    if not layout.inbound.is_dir():
        return summary
    deadline = read_deadline(layout.outbound, module)
    for learner_dir in sorted(layout.inbound.iterdir()):
        learner = learner_dir.name
        if learner_dir.is_symlink() or not learner_dir.is_dir() or not safe_name(learner):
            continue
        try:
            latest = _chosen_submission(learner_dir, module, deadline, summary)
        except OSError as exc:
            summary.skipped.append(f"{learner} : dossier de rendu illisible ({exc.strerror}).")
            continue
        if latest is not None:
            _collect_one(course_dir, layout, module, latest, summary)
    for line in summary.skipped:
        log.warning("collect %s: %s", module, line)
    return summary


def read_deadline(outbound: Path, module: str):
    from incubo.deadlines import read

    return read(outbound, module)


def _chosen_submission(learner_dir: Path, module: str, deadline, summary: CollectSummary):
    """The copy to collect: the latest, or under « refuser » the latest handed in on time."""
    from incubo import french_time

    learner = learner_dir.name
    latest = _latest_submission(learner_dir, module)
    if latest is None or deadline is None:
        return latest
    moment = submission_time(latest)
    if not deadline.is_late(moment):
        return latest
    if not deadline.refuses(moment):
        summary.late.append(learner)
        return latest
    on_time = _latest_submission(learner_dir, module, before=deadline.due)
    kept = "sa dernière copie à l'heure est ramassée" if on_time else "aucune copie ramassée"
    summary.refused.append(
        f"{learner} : copie rendue en retard ({french_time.french_moment(moment)}), refusée "
        f"(échéance : {french_time.french_moment(deadline.due)}) ; {kept}."
    )
    return on_time


def _collect_one(
    course_dir: Path, layout: ExchangeLayout, module: str, latest: Path, summary: CollectSummary
) -> None:
    """Copy one learner's chosen submission to `submitted/<learner>/<module>/` (nothing followed)."""
    learner = latest.parent.name
    dest = course_dir / "submitted" / learner / module
    stamp = read_small(latest, "timestamp.txt", base=layout.inbound)
    if dest.is_dir() and stamp and read_small(dest, "timestamp.txt") == stamp:
        summary.unchanged.append(learner)
        return
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
        return
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary.skipped += [f"{learner} : {line}" for line in report.skipped]
    summary.collected.append(learner)


def _latest_submission(
    learner_dir: Path, module: str, *, before: datetime | None = None
) -> Path | None:
    """The learner's latest submission folder of `module`; with `before`, the latest handed in
    (by change time) no later than it."""
    for _stamp, folder in reversed(submissions_of(learner_dir, module)):
        if before is None or submission_time(folder) <= before:
            return folder
    return None


def release_with_deadline(
    course_dir: Path, layout: ExchangeLayout, module: str, *, force: bool = False, deadline=None
) -> Path:
    """Release `module` (`incubo.exchange.release_module`), then set or clear its due date: what
    `incubo grade release --echeance` and « Devoirs » both do."""
    from incubo import deadlines
    from incubo.exchange import release_module

    dest = release_module(course_dir, layout, module, force=force)
    deadlines.write(layout.outbound, module, deadline)
    return dest


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
