"""Grades out of the gradebook: one row per student and assignment, or Moodle's import format.

The table carries what a trainer needs to check a grade: score, maximum,
status (« non rendu » when nothing was handed in or nothing answered, apart
from a wrong answer) and the verdicts of the correction (codes and French
reasons). By default it is written for French Excel (`;`, UTF-8 with BOM,
decimal comma: `incubo.spreadsheet`, the explorer's writer); `plain=True`
gives the plain CSV for scripts.

The Moodle variant has one row per learner with the identifier column the
trainer maps to « Nom d'utilisateur » and, per assignment, a grade column and
a feedback column (Moodle: Notes > Importer > Fichier CSV). Moodle maps the
columns by hand in its import form, so French headers are fine; the file
itself stays in Moodle's own CSV format (`,`, decimal point, UTF-8), which
its import reads with its default settings.
"""

from __future__ import annotations

import csv
import io
import logging
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory

from incubo.errors import IncuboError, suggestion

from . import pipeline
from .answers import NO_ANSWER, answer_count, question_titles, unanswered
from .gradebook_writer import read_verdicts

log = logging.getLogger(__name__)

COLUMNS = ["apprenant", "devoir", "note", "note_max", "statut", "signalements", "raisons"]
NOT_HANDED_IN = "non rendu"
#: Moodle import: identifier column, then per assignment a grade and a feedback column.
MOODLE_ID = "Nom d'utilisateur"
MOODLE_FEEDBACK = "Commentaire"


def rows(course_dir: Path, assignment: str | None = None) -> list[dict[str, str]]:
    """One dict per student × assignment (students without a submission included, as « non rendu »)."""
    config = pipeline.load_config(Path(course_dir))
    coursedir = CourseDirectory(config=config)
    if not Path(
        coursedir.db_url.replace("sqlite:///", "")
    ).exists() and coursedir.db_url.startswith("sqlite:///"):
        raise IncuboError(
            f"Aucun carnet de notes dans {course_dir}. Lancez d'abord « incubo grade autograde ».",
            code="carnet-absent",
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
                    out.append(_row(student.id, name, "", maximum, NOT_HANDED_IN, []))
                    continue
                found = list(verdicts.get((name, student.id), []))
                empty, answers = _unanswered(coursedir, sub, student.id, name)
                status = (
                    "echec"
                    if any(v[1] == "echec" for v in found)
                    else ("signale" if found else "note")
                )
                if answers and len(empty) == answers and status == "note":
                    status = (
                        NOT_HANDED_IN  # handed in as released: nothing answered, not a wrong answer
                    )
                elif empty:
                    found.append(("sans-reponse", "info", f"{NO_ANSWER} : " + ", ".join(empty)))
                if sub.needs_manual_grade and status != NOT_HANDED_IN:
                    status += " (à relire)"
                out.append(_row(student.id, name, f"{sub.score:g}", maximum, status, found))
    return out


def _unanswered(
    coursedir: CourseDirectory, sub, student: str, assignment: str
) -> tuple[list[str], int]:
    """Titles of the questions left unanswered in a submission, and the number of answer cells."""
    folder = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    empty: list[str] = []
    answers = 0
    for nb_row in sub.notebooks:
        try:
            nb = nbformat.read(folder / f"{nb_row.name}.ipynb", as_version=4)
        except Exception:  # noqa: BLE001 - not autograded or unreadable: the verdicts already say so
            log.debug("no autograded notebook %s/%s", folder, nb_row.name)
            continue
        titles = question_titles(nb)
        answers += answer_count(nb)
        empty += [titles.get(gid, gid) for gid in unanswered(nb)]
    return empty, answers


def _row(
    student: str, assignment: str, score: str, maximum: float, status: str, found
) -> dict[str, str]:
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
    header = [MOODLE_ID]
    for name in assignments:
        header += [name, f"{MOODLE_FEEDBACK} {name}"]
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


def export_grades(
    course_dir: Path,
    output: str | None = None,
    *,
    moodle: bool = False,
    assignment: str | None = None,
    plain: bool = False,
) -> int:
    """Write the grades to `output` (or stdout); returns the number of data rows.

    French spreadsheet CSV by default, plain CSV with `plain`, Moodle's import format with `moodle`.
    """
    data = rows(course_dir, assignment)
    if moodle:
        header, table = moodle_table(data)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(table)
        payload, count = buffer.getvalue().encode("utf-8"), len(table)
    else:
        payload, count = _table_bytes(data, plain=plain), len(data)
    if output:
        Path(output).write_bytes(payload)
    else:
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    return count


def _table_bytes(data: list[dict[str, str]], *, plain: bool) -> bytes:
    import pandas as pd

    from incubo.spreadsheet import csv_bytes

    frame = pd.DataFrame(data, columns=COLUMNS)
    for column in ("note", "note_max"):
        frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
    return csv_bytes(frame, plain=plain, float_format="%.10g")
