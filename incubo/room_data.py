"""What the trainer dashboard reads: the nbgrader gradebook and the room's learning statements.

The gradebook is read with plain SELECTs (never nbgrader's `Gradebook`,
which creates and migrates tables): a trainer's view must not write to it.
Statements are the JSON-Lines journals `incubo.events.room_journals` finds:
the room's folder, and on one machine the learner's own journal.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from incubo import xapi
from incubo.config import settings
from incubo.course_layout import CourseLayout
from incubo.events import read_jsonl

log = logging.getLogger(__name__)

#: A learner looks stuck after this many failed checks or hints on one exercise without success since.
STUCK_THRESHOLD = 3
DEFAULT_WINDOW_MINUTES = 15


def journals(course_dir: Path | None) -> list[Path]:
    """Where the room's statements are: one rule shared with the learner side (`incubo.events.room_journals`)."""
    from incubo.events import room_journals

    return room_journals(course_dir)


def gradebook_url(course_dir: Path | None) -> str | None:
    """`INCUBO_GRADEBOOK_URL`, else the course's own gradebook when it exists."""
    if course_dir:
        return CourseLayout(course_dir).gradebook_url()
    return settings().gradebook_url or None


@dataclass
class Gradebook:
    students: list[str] = field(default_factory=list)
    cells: list[tuple[str, str, float]] = field(default_factory=list)  # module, exercise, max
    grades: list[tuple[str, str, str, float, float]] = field(
        default_factory=list
    )  # module, ex, student, score, max


def read_gradebook(url: str | None) -> Gradebook:
    """Students, graded cells and grades, read-only; an empty result when there is no gradebook."""
    if not url:
        return Gradebook()
    from incubo import gradebook

    grades = [
        (g.module, g.exercise, g.student, g.score, g.max_score) for g in gradebook.grades(url)
    ]
    return Gradebook(gradebook.students(url), gradebook.cells(url), grades)


def read_statements(sources: Path | list[Path] | None) -> list[dict[str, Any]]:
    """Every statement of every journal (a `.jsonl` file, or every `*.jsonl` under a folder), each once.

    Broken lines are skipped; a statement found twice (the same id in two journals) counts once.
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    if sources is None:
        return out
    paths: list[Path] = []
    for source in [sources] if isinstance(sources, Path) else sources:
        if source.is_dir():
            paths += sorted(source.rglob("*.jsonl"))
        elif source.is_file():
            paths.append(source)
    for path in paths:
        try:
            statements = read_jsonl(path)
        except OSError:
            log.warning("unreadable journal %s", path)
            continue
        for stmt in statements:
            ident = stmt.get("id") if isinstance(stmt, dict) else None
            if ident:
                if ident in seen:
                    continue
                seen.add(ident)
            out.append(stmt)
    return out


# --- what the dashboard shows ----------------------------------------------------------------------


@dataclass
class Stuck:
    learner: str
    module: str
    exercise: str
    failures: int
    hints: int
    since: datetime
    last: datetime


def stuck_learners(
    statements: list[dict[str, Any]],
    *,
    window_minutes: int = DEFAULT_WINDOW_MINUTES,
    now: datetime | None = None,
) -> list[Stuck]:
    """Learners with repeated failed checks or hints on one exercise, and no success since, in the window."""
    now = now or datetime.now(UTC)
    start = now - timedelta(minutes=window_minutes)
    events: dict[tuple[str, str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for s in statements:
        t = xapi.timestamp_of(s)
        _p, module, ex = xapi.located(s)
        if t is None or t < start or not ex:
            continue
        v = xapi.verb_of(s)
        if v == "attempted":
            kind = (
                "ok"
                if xapi.verdict_of(s) == "correct"
                else ("fail" if xapi.verdict_of(s) in ("incorrect", "erreur") else None)
            )
        elif v == "asked":
            kind = "hint"
        elif v == "passed":
            kind = "ok"
        elif v == "failed":
            # a failed check is recorded twice (`attempted` with its verdict, then `failed`),
            # and autograde's `failed` is no sign of being stuck now: count the check once
            kind = None
        else:
            kind = None
        if kind:
            events[(xapi.learner_of(s), module or "", ex)].append((t, kind))
    found = []
    for (who, module, ex), items in events.items():
        items.sort()
        last_ok = max((t for t, k in items if k == "ok"), default=None)
        trouble = [(t, k) for t, k in items if k != "ok" and (last_ok is None or t > last_ok)]
        if len(trouble) >= STUCK_THRESHOLD:
            found.append(
                Stuck(
                    who,
                    module,
                    ex,
                    sum(k == "fail" for _t, k in trouble),
                    sum(k == "hint" for _t, k in trouble),
                    trouble[0][0],
                    trouble[-1][0],
                )
            )
    return sorted(found, key=lambda s: s.since)


@dataclass
class ExerciseRow:
    module: str
    exercise: str
    passed: int  # learners with a `passed` statement
    graded_full: int  # learners with full marks in the gradebook
    graded: int  # learners with a grade
    mean_ratio: float | None  # mean score / max in the gradebook


def room_progress(
    book: Gradebook, statements: list[dict[str, Any]], extra_exercises: dict[str, list[str]]
) -> tuple[list[ExerciseRow], set[str]]:
    """Per exercise: who passed (statements) and grades (gradebook); and the learners of the room."""
    learners = set(book.students) | {xapi.learner_of(s) for s in statements}
    exercises: dict[tuple[str, str], None] = {}
    for module, ex, _m in book.cells:
        exercises[(module, ex)] = None
    for module, exs in extra_exercises.items():
        for ex in exs:
            exercises.setdefault((module, ex), None)
    passed: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s in statements:
        if xapi.verb_of(s) == "passed":
            _p, module, ex = xapi.located(s)
            if ex:
                exercises.setdefault((module or "", ex), None)
                passed[(module or "", ex)].add(xapi.learner_of(s))
    grades: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for module, ex, _student, score, max_score in book.grades:
        grades[(module, ex)].append((score, max_score))
    rows = []
    for module, ex in sorted(exercises):
        g = grades.get((module, ex), [])
        ratios = [sc / mx for sc, mx in g if mx]
        rows.append(
            ExerciseRow(
                module, ex, len(passed.get((module, ex), set())), sum(1 for sc, mx in g if mx and sc >= mx), len(g),
                sum(ratios) / len(ratios) if ratios else None,
            )
        )  # fmt: skip
    return rows, learners


def module_titles(courses: Path | None) -> dict[str, str]:
    """Module id → French title, from the parcours.yml files of the course sources (when present)."""
    from incubo import learning_paths

    return learning_paths.module_titles(courses)


def sidecar_exercises(course_dir: Path | None) -> dict[str, list[str]]:
    """Module → exercise ids, from the `incubo_exercices.json` the build wrote in the course dir."""
    from incubo import course_layout, exercise_data

    out: dict[str, list[str]] = {}
    for stage in (course_layout.SOURCE, course_layout.RELEASE):
        for data in exercise_data.in_course(course_dir, (stage,)):
            out.setdefault(data.module, list(data.exercises))
    return out
