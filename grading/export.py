"""Grades out of the gradebook: one CSV row per student and assignment, or Moodle's import format.

The plain CSV carries what a trainer needs to check a grade: score,
maximum, status and the verdicts of the correction (codes and French
reasons). The Moodle variant has one row per learner with the identifier
column Moodle maps to `username` and, per assignment, a grade column and a
feedback column (Moodle: Notes > Importer > Fichier CSV).
"""

from __future__ import annotations

import csv
import io
import logging
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory

from incubo.errors import IncuboError, suggestion

from . import pipeline
from .gradebook_writer import read_verdicts

log = logging.getLogger(__name__)

COLUMNS = ["apprenant", "devoir", "note", "note_max", "statut", "signalements", "raisons"]


def rows(course_dir: Path, assignment: str | None = None) -> list[dict[str, str]]:
    """One dict per student × assignment (students without a submission included, as « non rendu »)."""
    config = pipeline.load_config(Path(course_dir))
    coursedir = CourseDirectory(config=config)
    if not Path(coursedir.db_url.replace("sqlite:///", "")).exists() and coursedir.db_url.startswith("sqlite:///"):
        raise IncuboError(
            f"Aucun carnet de notes dans {course_dir}. Lancez d'abord « incubo grade autograde ».", code="carnet-absent"
        )
    out: list[dict[str, str]] = []
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        assignments = [a.name for a in gb.assignments]
        if assignment and assignment not in assignments:
            raise IncuboError(
                f"Le devoir « {assignment} » n'existe pas dans le carnet de notes.{suggestion(assignment, assignments)}",
                code="devoir-inconnu",
            )
        verdicts = read_verdicts(gb)
        for name in sorted(assignments):
            if assignment and name != assignment:
                continue
            maximum = gb.find_assignment(name).max_score
            for student in sorted(gb.students, key=lambda s: s.id):
                try:
                    sub = gb.find_submission(name, student.id)
                except MissingEntry:
                    out.append(_row(student.id, name, "", maximum, "non rendu", []))
                    continue
                found = verdicts.get((name, student.id), [])
                status = "echec" if any(v[1] == "echec" for v in found) else ("signale" if found else "note")
                if sub.needs_manual_grade:
                    status += " (à relire)"
                out.append(_row(student.id, name, f"{sub.score:g}", maximum, status, found))
    return out


def _row(student: str, assignment: str, score: str, maximum: float, status: str, found) -> dict[str, str]:
    return {
        "apprenant": student,
        "devoir": assignment,
        "note": score,
        "note_max": f"{maximum:g}",
        "statut": status,
        "signalements": " ".join(sorted({code for code, _s, _r in found})),
        "raisons": " | ".join(reason for _c, _s, reason in found),
    }


def moodle_table(data: list[dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    """Moodle's grade import: one row per learner, a grade and a feedback column per assignment."""
    assignments = sorted({r["devoir"] for r in data})
    header = ["username"]
    for name in assignments:
        header += [name, f"Feedback {name}"]
    students: dict[str, dict[str, dict[str, str]]] = {}
    for r in data:
        students.setdefault(r["apprenant"], {})[r["devoir"]] = r
    table = []
    for student in sorted(students):
        line = [student]
        for name in assignments:
            r = students[student].get(name, {})
            line += [r.get("note", ""), r.get("raisons", "")]
        table.append(line)
    return header, table


def export_grades(course_dir: Path, output: str | None = None, *, moodle: bool = False, assignment: str | None = None) -> int:
    """Write the CSV to `output` (or stdout); returns the number of data rows."""
    data = rows(course_dir, assignment)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if moodle:
        header, table = moodle_table(data)
        writer.writerow(header)
        writer.writerows(table)
        count = len(table)
    else:
        writer.writerow(COLUMNS)
        writer.writerows([r[c] for c in COLUMNS] for r in data)
        count = len(data)
    if output:
        Path(output).write_text(buffer.getvalue(), encoding="utf-8")
    else:
        sys.stdout.write(buffer.getvalue())
    return count
