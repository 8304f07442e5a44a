"""Reading the nbgrader gradebook, read-only: the one grade query shared by the dashboard and the reports.

The gradebook is nbgrader's database (SQLite `gradebook.db` by default, any
SQLAlchemy URL such as PostgreSQL). Readers never write: SQLite files are
opened read-only, and only plain SELECTs run. The grade of a cell is
nbgrader's: manual score, else automatic score, plus extra credit.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: One row per graded cell of every submission: module, exercise (grade cell id), student, score, max.
GRADES_SQL = """
SELECT a.name AS module, bc.name AS exercise, sa.student_id AS student,
       COALESCE(g.manual_score, g.auto_score, 0) + COALESCE(g.extra_credit, 0) AS score,
       gc.max_score AS max_score
FROM grade g
JOIN submitted_notebook sn ON g.notebook_id = sn.id
JOIN submitted_assignment sa ON sn.assignment_id = sa.id
JOIN assignment a ON sa.assignment_id = a.id
JOIN base_cell bc ON g.cell_id = bc.id
JOIN grade_cells gc ON gc.id = bc.id
"""
#: Every grade cell of every assignment, graded or not: module, exercise, max.
CELLS_SQL = """
SELECT a.name AS module, bc.name AS exercise, gc.max_score AS max_score
FROM grade_cells gc JOIN base_cell bc ON gc.id = bc.id
JOIN notebook n ON bc.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id
"""
STUDENTS_SQL = "SELECT id FROM student ORDER BY id"


@dataclass(frozen=True)
class Grade:
    module: str
    exercise: str
    student: str
    score: float
    max_score: float


def select(url: str, query: str) -> list[tuple]:
    """Rows of a read-only query: sqlite3 in read-only mode for SQLite files, SQLAlchemy for any other URL."""
    if url.startswith("sqlite:///") and "?" not in url:
        import sqlite3

        path = url[len("sqlite:///") :]
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute(query).fetchall()
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query)).fetchall()]
    finally:
        engine.dispose()


def grades(url: str) -> list[Grade]:
    """Every recorded grade, one per graded cell of each submission."""
    return [
        Grade(str(m), str(e), str(s), float(sc or 0), float(mx or 0))
        for m, e, s, sc, mx in select(url, GRADES_SQL)
    ]


def cells(url: str) -> list[tuple[str, str, float]]:
    """(module, exercise, max score) of every grade cell."""
    return [(str(m), str(e), float(mx or 0)) for m, e, mx in select(url, CELLS_SQL)]


def students(url: str) -> list[str]:
    return [str(r[0]) for r in select(url, STUDENTS_SQL)]


def totals(url: str) -> list[tuple[str, str, float, float]]:
    """(student, module, max score, score) summed over the graded cells of each submission."""
    sums: dict[tuple[str, str], list[float]] = {}
    for g in grades(url):
        acc = sums.setdefault((g.student, g.module), [0.0, 0.0])
        acc[0] += g.max_score
        acc[1] += g.score
    return [(student, module, mx, sc) for (student, module), (mx, sc) in sums.items()]


# --- creating a gradebook (the build and `incubo demo-data`), without nbgrader's subprocess ---
def alembic_head() -> str:
    """The schema revision nbgrader stamps a new gradebook with, read in this process.

    nbgrader's `get_alembic_version` runs `alembic heads` in a subprocess that imports the whole
    of nbgrader again (about 2 s of CPU) each time a gradebook is created: every first build of a
    course directory, every `incubo demo-data`. Alembic's script directory gives the same revision.
    """
    import nbgrader
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()


@contextlib.contextmanager
def in_process_alembic_head():
    """While inside, a gradebook nbgrader creates is stamped by `alembic_head` (no subprocess)."""
    import nbgrader.api

    stock = nbgrader.api.get_alembic_version
    nbgrader.api.get_alembic_version = alembic_head
    try:
        yield
    finally:
        nbgrader.api.get_alembic_version = stock
