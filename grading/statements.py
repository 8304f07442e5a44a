"""Learning statements for recorded grades: `scored`, then `passed` or `failed`, per exercise.

The exercise is the nbgrader grade cell (its id is the exercise id in courses
built by incubo). Statement ids are derived from the submission's content,
so a resumed run that emits again sends the same ids and the LRS keeps one
copy. On a hub they are keyed with the grader's secret: a learner knows
their own submission, and could otherwise store a statement of their own
under the id of their grade first. Nothing here may stop grading: a missing
event store only means no statements.

On the hub machine, when no LRS is configured (`INCUBO_LRS_URL`), the
statements go to the room's LRS gate with the grader's credential, found
in the hub's folder (`incubo.authority.read_access`, `INCUBO_HUB_DIR`);
actors then carry the hub's URL, as the learners' own statements do.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import os
import uuid
from pathlib import Path

from incubo import course_layout, exercise_data
from incubo.authority import GraderAccess, read_access

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


def hub_access() -> GraderAccess | None:
    """The room's LRS for grading statements, when grading runs on a hub with no LRS of its own."""
    from incubo.config import hub_dir, settings

    access = read_access(hub_dir())
    named = settings().lrs_url
    if access is None or (named and named != access.url):
        return None  # an LRS named explicitly wins (a laptop, a test, the region's own)
    return access


def use_hub_lrs() -> GraderAccess | None:
    """Send this process's statements to the room's gate as the grader.

    Only this grading process's environment changes: the sandboxed kernels get a
    fixed list of variables (`incubo.grading.sandbox.PASSED_ENV`), never these.
    """
    global _waits_at_exit
    access = hub_access()
    if access is not None:
        from incubo.config import env_var

        os.environ[env_var("lrs_url")] = access.url
        os.environ[env_var("lrs_auth")] = access.auth
        log.debug("grading statements go to the room's LRS %s", access.url)
        if not _waits_at_exit:
            _waits_at_exit = True
            atexit.register(_deliver_grades)
    return access


#: Seconds a grading run on the hub gives its grades to reach the LRS before it exits.
DELIVERY_GRACE = 20.0
_waits_at_exit = False


def _deliver_grades() -> None:
    """At the end of a grading run on the hub: the grades reach the LRS, or the trainer is told."""
    if _events is None or not _events.pending_files():
        return
    if _events.wait_delivered(DELIVERY_GRACE):
        return
    from incubo import console

    n = len(_events.pending_files())
    console.warning(
        f"{n} déclaration(s) de notes attendent encore le LRS de la salle dans "
        f"{_events.spool_dir()} : rien n'est perdu, « incubo events flush » les enverra."
    )


def statement_id(key: str | None, text: str) -> str:
    """A UUID fixed by `text`; keyed (HMAC) when a secret is known, so nobody else can predict it."""
    if not key:
        return str(uuid.uuid5(_NAMESPACE, text))
    digest = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def build(
    gb,
    course_dir: Path,
    assignment: str,
    student: str,
    digest: str,
    verdicts,
    access: GraderAccess | None = None,
) -> list[dict]:
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
                sid = statement_id(
                    access.password if access else None,
                    f"{assignment}/{student}/{grade.name}/{verb}/{digest}",
                )
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
                        homepage=access.homepage if access else None,
                        statement_id=sid,
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
        access = use_hub_lrs()
        stored = 0
        for stmt in build(gb, course_dir, assignment, student, digest, verdicts, access):
            stored += bool(_events.record(stmt))
        return stored
    except Exception:  # statements are a side channel: never fail a grade for them
        log.warning("could not emit statements for %s/%s", assignment, student, exc_info=True)
        return 0
    finally:
        gb.db.rollback()
