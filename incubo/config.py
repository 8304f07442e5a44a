"""Where things are: one source of truth for paths and environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Default course directory (nbgrader's `CourseDirectory.root`), relative to the current directory.
DEFAULT_COURSE_DIR = Path("_build") / "cours"
#: Default folder of course sources, relative to the current directory.
DEFAULT_COURSES_DIR = Path("courses")

ENV_COURSE_DIR = "INCUBO_COURSE_DIR"


def project_root() -> Path:
    """The source checkout when running from one (for notebooks/ and courses/)."""
    return Path(__file__).resolve().parent.parent


def course_dir(value: str | os.PathLike | None = None) -> Path:
    """The nbgrader course directory: `--course-dir`, else `INCUBO_COURSE_DIR`, else the default."""
    if value:
        return Path(value).expanduser().resolve()
    env = os.environ.get(ENV_COURSE_DIR)
    if env:
        return Path(env).expanduser().resolve()
    return (Path.cwd() / DEFAULT_COURSE_DIR).resolve()


def courses_dir(value: str | os.PathLike | None = None) -> Path:
    """The folder of course sources: `--courses`, else `./courses`."""
    return Path(value).expanduser().resolve() if value else (Path.cwd() / DEFAULT_COURSES_DIR).resolve()


@dataclass(frozen=True)
class Context:
    """What every command receives: resolved global options."""

    course_dir: Path
    debug: bool = False
