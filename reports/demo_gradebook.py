"""The demo cohort's grades, in a real nbgrader gradebook (`gradebook.db` of the course directory).

Small cohorts go through nbgrader's `Gradebook` API one submission at a time,
as autograde would. Large ones (the benchmark's 10,000 learners) would take
minutes that way (about 8 ms a submission here), so beyond `BULK_FROM`
learners the course structure still goes through `Gradebook`, and the
students, submissions and grades are inserted in bulk into nbgrader's own
ORM tables, in one transaction: the same schema, read by the same code.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from incubo import course_layout
from incubo.errors import IncuboError
from incubo.reports.course_shape import CourseShape

log = logging.getLogger(__name__)

GRADEBOOK = course_layout.GRADEBOOK
BULK_FROM = 300


def _open_gradebook(url: str, course_id: str):
    """nbgrader's `Gradebook`, created without nbgrader's `alembic heads` subprocess."""
    from nbgrader.api import Gradebook

    from incubo.gradebook import in_process_alembic_head

    with in_process_alembic_head():
        return Gradebook(url, course_id=course_id)


def gradebook_url(course_dir: Path) -> str:
    return f"sqlite:///{Path(course_dir).resolve() / GRADEBOOK}"


def check_gradebook(course_dir: Path, previously_created: bool | None) -> None:
    """Refuse to mix demo learners into a gradebook holding real students."""
    path = Path(course_dir) / GRADEBOOK
    if not path.exists() or previously_created:
        return
    import sqlite3

    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            students = db.execute("select count(*) from student").fetchone()[0]
    except sqlite3.Error:
        students = 0
    if students:
        raise IncuboError(
            f"Le carnet de notes {path} contient déjà {students} apprenant(s) réel(s). "
            "Choisissez un autre dossier avec --course-dir pour ne pas mélanger données réelles et données de démonstration.",
            code="demo-carnet-occupe",
        )


def write_gradebook(
    course_dir: Path, shape: CourseShape, learners: list, previously_created: bool | None
) -> bool:
    """Write the learners' grades; returns True when this call created `gradebook.db`."""
    path = Path(course_dir) / GRADEBOOK
    check_gradebook(course_dir, previously_created)
    if path.exists() and previously_created:
        path.unlink()
    created = not path.exists()
    gb = _open_gradebook(gradebook_url(course_dir), Path(course_dir).name or "cours")
    try:
        for module in shape.modules:
            gb.update_or_create_assignment(module.id)
            for nb in module.exercise_notebooks:
                gb.update_or_create_notebook(nb, module.id)
            for ex in module.exercises:
                gb.update_or_create_grade_cell(
                    ex.id, ex.notebook, module.id, max_score=ex.points, cell_type="code"
                )
                gb.update_or_create_solution_cell(f"{ex.id}-reponse", ex.notebook, module.id)
        if len(learners) < BULK_FROM:
            _one_by_one(gb, shape, learners)
        else:
            _bulk(gb, shape, learners)
    finally:
        gb.close()
    return created


def _one_by_one(gb, shape: CourseShape, learners: list) -> None:
    import warnings

    warnings.filterwarnings(
        "ignore", message=".*not in session.*"
    )  # nbgrader's add_submission, harmless
    for person in learners:
        gb.update_or_create_student(
            person.identifiant,
            first_name=person.prenom,
            last_name=person.nom,
            email=person.courriel,
        )
    for person in learners:
        for module in shape.modules:
            if module.id not in person.scores:
                continue
            sub = gb.update_or_create_submission(
                module.id,
                person.identifiant,
                timestamp=person.submitted_at[module.id].replace(tzinfo=None),
            )
            for nb in sub.notebooks:
                for grade in nb.grades:
                    grade.auto_score = person.scores[module.id].get(grade.name, 0.0)
                    grade.needs_manual_grade = False
            gb.db.commit()


def _bulk(gb, shape: CourseShape, learners: list) -> None:
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook

    db = gb.db
    _insert_students(db, learners)
    rows = _BulkRows()
    structure = _structure(db)
    for person in learners:
        for module_id, scores in person.scores.items():
            rows.add_submission(person, module_id, scores, *structure[module_id])
    for table, table_rows in (
        (SubmittedAssignment, rows.submissions),
        (SubmittedNotebook, rows.notebooks),
        (Grade, rows.grades),
        (Comment, rows.comments),
    ):
        if table_rows:
            db.execute(table.__table__.insert(), table_rows)
    db.commit()


def _new_id() -> str:
    return uuid.uuid4().hex


def _insert_students(db, learners: list) -> None:
    """The learners not yet in the gradebook, in one insert."""
    from nbgrader.api import Student

    existing = {s for (s,) in db.query(Student.id).all()}
    db.execute(
        Student.__table__.insert(),
        [
            {"id": p.identifiant, "first_name": p.prenom, "last_name": p.nom, "email": p.courriel}
            for p in learners
            if p.identifiant not in existing
        ],
    )


def _structure(db) -> dict[str, tuple[str, dict]]:
    """Assignment name → (its id, notebook name → (id, grade cells, solution cells)), as `Gradebook` wrote them."""
    from nbgrader.api import Assignment

    return {
        a.name: (
            a.id,
            {nb.name: (nb.id, list(nb.grade_cells), list(nb.solution_cells)) for nb in a.notebooks},
        )
        for a in db.query(Assignment).all()
    }


@dataclass
class _BulkRows:
    """The rows of nbgrader's submission tables, gathered for one insert per table."""

    submissions: list[dict] = field(default_factory=list)
    notebooks: list[dict] = field(default_factory=list)
    grades: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)

    def add_submission(
        self, person, module_id: str, scores: dict, aid: str, notebooks: dict
    ) -> None:
        """One learner's submission of one module: its notebooks, a grade per grade cell, a comment per solution cell."""
        sid = _new_id()
        self.submissions.append(
            {
                "id": sid,
                "assignment_id": aid,
                "student_id": person.identifiant,
                "timestamp": person.submitted_at[module_id].replace(tzinfo=None),
                "extension": None,
            }
        )
        for _name, (nb_id, grade_cells, solution_cells) in notebooks.items():
            snid = _new_id()
            self.notebooks.append(
                {
                    "id": snid,
                    "assignment_id": sid,
                    "notebook_id": nb_id,
                    "flagged": False,
                    "late_submission_penalty": None,
                }
            )
            self.grades += [
                {
                    "id": _new_id(),
                    "notebook_id": snid,
                    "cell_id": cell.id,
                    "auto_score": scores.get(cell.name, 0.0),
                    "manual_score": None,
                    "extra_credit": None,
                    "needs_manual_grade": False,
                }
                for cell in grade_cells
            ]
            self.comments += [
                {
                    "id": _new_id(),
                    "notebook_id": snid,
                    "cell_id": cell.id,
                    "auto_comment": None,
                    "manual_comment": None,
                }
                for cell in solution_cells
            ]
