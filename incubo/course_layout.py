"""The course directory's layout, named once: nbgrader's folders and what incubo adds beside them.

An nbgrader course directory (`incubo build` makes one, stock nbgrader too):
`source/<module>/`, `release/<module>/`, `submitted/<learner>/<module>/`,
`autograded/…`, `feedback/…`, `gradebook.db`; incubo adds the room's
journals (`evenements/`), the learners file (`apprenants.csv`), its work
folder (`.incubo/`) and build stamps. Every part names these through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from incubo.config import settings

SOURCE = "source"
RELEASE = "release"
SUBMITTED = "submitted"
AUTOGRADED = "autograded"
FEEDBACK = "feedback"
GRADEBOOK = "gradebook.db"
NBGRADER_CONFIG = "nbgrader_config.py"
#: The room's statement journals (`*.jsonl`), read by the dashboard and the reports.
EVENTS = "evenements"
#: The learners' attributes for the reports (`identifiant,…,cohorte`).
LEARNERS = "apprenants.csv"
#: incubo's own work files (grading lock, working copies).
WORK = ".incubo"
#: Content hash of each built module (an unchanged module is not rebuilt).
BUILD_STAMPS = ".incubo_build.json"
#: Marks data written by `incubo demo-data`.
DEMO_MARK = ".incubo-demo.json"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class CourseLayout:
    """The paths of one course directory."""

    root: Path

    @property
    def source(self) -> Path:
        return self.root / SOURCE

    @property
    def release(self) -> Path:
        return self.root / RELEASE

    @property
    def submitted(self) -> Path:
        return self.root / SUBMITTED

    @property
    def autograded(self) -> Path:
        return self.root / AUTOGRADED

    @property
    def feedback(self) -> Path:
        return self.root / FEEDBACK

    @property
    def gradebook(self) -> Path:
        return self.root / GRADEBOOK

    @property
    def nbgrader_config(self) -> Path:
        return self.root / NBGRADER_CONFIG

    @property
    def events(self) -> Path:
        """The room's journals: `<course dir>/evenements` (see `events_dir` for the configured one)."""
        return self.root / EVENTS

    @property
    def learners(self) -> Path:
        return self.root / LEARNERS

    @property
    def work(self) -> Path:
        return self.root / WORK

    def module(self, stage: str, module: str) -> Path:
        """`source/<module>` or `release/<module>`."""
        return self.root / stage / module

    def events_dir(self) -> Path:
        """Where the room's journals are: `INCUBO_EVENTS_DIR`, else `<course dir>/evenements`."""
        return settings().events_dir or self.events

    def gradebook_url(self) -> str | None:
        """`INCUBO_GRADEBOOK_URL`, else the course's own `gradebook.db` when it exists, else None."""
        url = settings().gradebook_url
        if url:
            return url
        return sqlite_url(self.gradebook) if self.gradebook.is_file() else None

    def is_course_dir(self) -> bool:
        """An nbgrader course directory: its config next to its sources, release or gradebook."""
        return self.nbgrader_config.is_file() and any(
            p.exists() for p in (self.source, self.release, self.gradebook)
        )
