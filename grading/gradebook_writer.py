"""The gradebook, shared by every step of a run and written one submission at a time.

nbgrader's preprocessors open their own `Gradebook` (engine creation, schema
check) for every notebook and commit after every cell. We lend them one
shared instance instead, and turn their commits into flushes, so that:
the orchestrator pays the connection once, all of a submission's writes
(student, submission, grades, late penalty, our verdicts) land in one
transaction, and a run killed at any moment leaves either the whole
submission or none of it.

Verdicts live in two extra tables of the same database (`incubo_*`), which
nbgrader ignores: the export and the next run read them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from nbgrader import api
from sqlalchemy import text

log = logging.getLogger(__name__)

_MODULES = (
    "nbgrader.preprocessors.overwritecells",
    "nbgrader.preprocessors.overwritekernelspec",
    "nbgrader.preprocessors.saveautogrades",
    "nbgrader.preprocessors.latesubmissions",
    "nbgrader.preprocessors.getgrades",
)

#: PostgreSQL advisory lock held while incubo's tables are created (any fixed number of ours).
SCHEMA_LOCK = 0x1BC0_5C4E

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS incubo_submissions (
        assignment VARCHAR(1024) NOT NULL, student VARCHAR(1024) NOT NULL,
        status VARCHAR(16) NOT NULL, digest VARCHAR(64) NOT NULL,
        seconds FLOAT, graded_at VARCHAR(32),
        PRIMARY KEY (assignment, student))""",
    """CREATE TABLE IF NOT EXISTS incubo_verdicts (
        assignment VARCHAR(1024) NOT NULL, student VARCHAR(1024) NOT NULL,
        notebook VARCHAR(1024) NOT NULL, code VARCHAR(64) NOT NULL,
        severity VARCHAR(16) NOT NULL, reason TEXT NOT NULL)""",
]


class _Borrowed:
    """What a preprocessor gets instead of a new Gradebook: ours, that it must not close."""

    def __init__(self, gb: api.Gradebook) -> None:
        self._gb = gb

    def __enter__(self) -> api.Gradebook:
        return self._gb

    def __exit__(self, *exc) -> None:
        return None

    def __getattr__(self, name: str):
        return getattr(self._gb, name)


class SharedGradebook:
    """One nbgrader Gradebook for a whole run, lent to nbgrader's preprocessors."""

    def __init__(self, db_url: str, course_id: str) -> None:
        self.gb = api.Gradebook(db_url, course_id)
        session = self.gb.db
        self._real_commit = session.commit
        session.commit = session.flush  # nbgrader's per-cell commits become flushes
        with self.transaction():
            if session.get_bind().dialect.name == "postgresql":
                # CREATE TABLE IF NOT EXISTS is not safe against itself on PostgreSQL: two grading
                # jobs starting together both create the table's type and one fails. One at a time.
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            for ddl in SCHEMA:
                session.execute(text(ddl))

    @contextlib.contextmanager
    def lent(self) -> Iterator[None]:
        """While active, nbgrader preprocessors that open `Gradebook(url)` get the shared one."""
        import importlib

        saved = {}
        for name in _MODULES:
            module = importlib.import_module(name)
            saved[module] = module.Gradebook
            module.Gradebook = lambda *a, **k: _Borrowed(self.gb)
        try:
            yield
        finally:
            for module, original in saved.items():
                module.Gradebook = original

    @contextlib.contextmanager
    def transaction(self) -> Iterator[api.Gradebook]:
        """Everything inside commits together, or not at all."""
        import warnings

        from sqlalchemy.exc import SAWarning

        try:
            with warnings.catch_warnings():
                # nbgrader's add_submission lazy-loads while building: harmless autoflush notices
                warnings.filterwarnings("ignore", category=SAWarning)
                yield self.gb
            self._real_commit()
        except BaseException:
            self.gb.db.rollback()
            raise

    def read_done(self) -> None:
        """End the read transaction, so other programs see a fresh database between submissions."""
        self.gb.db.rollback()

    def close(self) -> None:
        self.gb.db.rollback()
        self.gb.close()

    # -- our tables -------------------------------------------------------
    def done_digest(self, assignment: str, student: str) -> str | None:
        row = self.gb.db.execute(
            text("SELECT digest FROM incubo_submissions WHERE assignment = :a AND student = :s"),
            {"a": assignment, "s": student},
        ).first()
        return row[0] if row else None

    def record(
        self, assignment: str, student: str, status: str, digest: str, seconds: float, verdicts
    ) -> None:
        """Replace this submission's verdicts (inside the caller's transaction)."""
        params = {"a": assignment, "s": student}
        db = self.gb.db
        db.execute(
            text("DELETE FROM incubo_verdicts WHERE assignment = :a AND student = :s"), params
        )
        db.execute(
            text("DELETE FROM incubo_submissions WHERE assignment = :a AND student = :s"), params
        )
        for v in verdicts:
            db.execute(
                text("INSERT INTO incubo_verdicts VALUES (:a, :s, :n, :c, :sev, :r)"),
                {**params, "n": v.notebook, "c": v.code, "sev": v.severity, "r": v.reason},
            )
        db.execute(
            text("INSERT INTO incubo_submissions VALUES (:a, :s, :st, :d, :sec, :t)"),
            {
                **params,
                "st": status,
                "d": digest,
                "sec": round(seconds, 3),
                "t": datetime.now(UTC).isoformat(),
            },
        )


def read_verdicts(gb: api.Gradebook) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """(assignment, student) -> [(code, severity, reason)], empty when incubo never graded this course."""
    out: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    try:
        rows = gb.db.execute(
            text("SELECT assignment, student, code, severity, reason FROM incubo_verdicts")
        ).all()
    except Exception:  # table absent: a course graded only by stock nbgrader
        gb.db.rollback()
        return out
    for a, s, code, severity, reason in rows:
        out.setdefault((a, s), []).append((code, severity, reason))
    return out
