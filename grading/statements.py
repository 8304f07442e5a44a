"""Learning statements for recorded grades: `scored`, then `passed` or `failed`, per exercise.

The exercise is the nbgrader grade cell (its id is the exercise id in courses
built by incubo). Statement ids are derived from the submission's content,
so a resumed run that emits again sends the same ids and the LRS keeps one
copy. Nothing here may stop grading: a missing event store only means no
statements.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from incubo import course_layout, exercise_data

log = logging.getLogger(__name__)

try:  # the event store of the learner-widgets work; grading works without it
    from incubo import events as _events
except ImportError:  # pragma: no cover - depends on what is installed
    _events = None

_NAMESPACE = uuid.UUID("5b3f9a56-0c3e-4a7e-9a57-6e63a8c1f0b2")


def _parcours(course_dir: Path, assignment: str, course_id: str) -> str:
    data = exercise_data.read(
        course_layout.CourseLayout(course_dir).module(course_layout.SOURCE, assignment)
    )
    if data is None:
        return course_id or "cours"
    return data.parcours or course_id


def build(gb, course_dir: Path, assignment: str, student: str, digest: str, verdicts) -> list[dict]:
    """The statements for one graded submission (pure: nothing is stored)."""
    from incubo import xapi

    parcours = _parcours(course_dir, assignment, getattr(gb, "course_id", "") or "")
    flags = sorted({v.code for v in verdicts})
    out = []
    submission = gb.find_submission(assignment, student)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.cell.cell_type != "code" or grade.max_score == 0:
                continue
            if grade.auto_score is None and grade.manual_score is None:
                continue  # waits for a human grader
            raw, maximum = float(grade.score), float(grade.max_score)
            ext = {"flags": flags} if flags else None
            for verb in ("scored", "passed" if raw >= maximum else "failed"):
                sid = uuid.uuid5(_NAMESPACE, f"{assignment}/{student}/{grade.name}/{verb}/{digest}")
                out.append(
                    xapi.statement(
                        verb,
                        parcours=parcours,
                        module=assignment,
                        kind="exercice",
                        ident=grade.name,
                        result={"score": xapi.score(raw, maximum), "success": raw >= maximum},
                        extensions=ext,
                        actor_name=student,
                        statement_id=str(sid),
                    )
                )
    return out


def emit_for_submission(
    gb, course_dir: Path, assignment: str, student: str, digest: str, verdicts
) -> int:
    """Store the statements through `incubo.events`; returns how many were stored."""
    if _events is None:
        return 0
    try:
        stored = 0
        for stmt in build(gb, course_dir, assignment, student, digest, verdicts):
            stored += bool(_events.record(stmt))
        return stored
    except Exception:  # statements are a side channel: never fail a grade for them
        log.warning("could not emit statements for %s/%s", assignment, student, exc_info=True)
        return 0
    finally:
        gb.db.rollback()
