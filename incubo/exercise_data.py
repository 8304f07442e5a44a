"""`incubo_exercices.json`, the exercise data file the build writes beside each module's notebooks.

The one reader and writer of that file: the build writes it, the widgets
read it from the learner's folder, the apps, the grading statements and the
reports read it from the course directory. Its keys are French (pinned in
docs/contracts.md); the model here is English. Unknown keys are kept, so a
newer writer's additions survive a read–write round trip.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incubo import course_layout
from incubo.solution_policy import SolutionPolicy

log = logging.getLogger(__name__)

FILE_NAME = "incubo_exercices.json"
FORMAT = 1
#: Type of a notebook of exercises (else a lesson), as the build records it.
EXERCISES_TYPE = "exercices"
_MARKERS = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$", re.IGNORECASE)
_EXERCISE_KEYS = {
    "notebook",
    "points",
    "tests_visibles",
    "indices",
    "politique_solution",
    "solution",
    "titre",
}
_FILE_KEYS = {"format", "parcours", "module", "notebooks", "exercices"}


def encode_solution(text: str) -> str:
    """base64(zlib(text)): no solution line appears as text in released files."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def decode_solution(encoded: str | None) -> str | None:
    """The answer cell's source, without nbgrader's markers; None when absent or undecodable."""
    if not encoded:
        return None
    try:
        source = zlib.decompress(base64.b64decode(encoded)).decode("utf-8")
    except Exception:
        log.warning("undecodable solution", exc_info=True)
        return None
    return "\n".join(line for line in source.splitlines() if not _MARKERS.match(line)).strip("\n")


@dataclass
class Exercise:
    """What the learner's side knows about one graded exercise (never its hidden tests)."""

    notebook: str
    points: float = 1
    visible_tests: str = ""
    hints: list[str] = field(default_factory=list)
    policy: SolutionPolicy = field(default_factory=SolutionPolicy)
    solution: str | None = None  # encoded; None when the policy is `jamais`
    title: str = ""  # « titre »: what the learner reads above the exercise (never its id)
    extra: dict[str, Any] = field(default_factory=dict)

    def solution_text(self) -> str | None:
        return decode_solution(self.solution)

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "points": self.points,
            "tests_visibles": self.visible_tests,
            "indices": list(self.hints),
            "politique_solution": self.policy.to_dict(),
            "solution": self.solution,
            "titre": self.title,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exercise:
        return cls(
            notebook=str(data.get("notebook") or ""),
            points=data.get("points", 1),
            visible_tests=str(data.get("tests_visibles") or ""),
            hints=[str(h) for h in data.get("indices") or []],
            policy=SolutionPolicy.from_dict(data.get("politique_solution")),
            solution=data.get("solution") or None,
            title=str(data.get("titre") or ""),
            extra={k: v for k, v in data.items() if k not in _EXERCISE_KEYS},
        )


@dataclass
class ExerciseData:
    """The `incubo_exercices.json` of one module (an nbgrader assignment)."""

    parcours: str
    module: str
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    exercises: dict[str, Exercise] = field(default_factory=dict)
    format: int = FORMAT
    folder: Path | None = None  # where it was read from
    extra: dict[str, Any] = field(default_factory=dict)

    def lessons(self) -> list[str]:
        """Notebooks that are not exercise sets."""
        return [
            n for n, meta in self.notebooks.items() if (meta or {}).get("type") != EXERCISES_TYPE
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "parcours": self.parcours,
            "module": self.module,
            "notebooks": self.notebooks,
            "exercices": {k: v.to_dict() for k, v in self.exercises.items()},
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path | None = None) -> ExerciseData:
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return cls(
            parcours=str(data.get("parcours") or ""),
            module=str(data.get("module") or (folder.name if folder else "")),
            notebooks={str(k): dict(v or {}) for k, v in (data.get("notebooks") or {}).items()},
            exercises={
                str(k): Exercise.from_dict(v) for k, v in (data.get("exercices") or {}).items()
            },
            format=int(data.get("format", FORMAT)),
            folder=folder,
            extra={k: v for k, v in data.items() if k not in _FILE_KEYS},
        )


def read_file(path: str | os.PathLike) -> dict[str, Any]:
    """The file's JSON object as written (French keys), for code that passes it on unchanged.

    Raises FileNotFoundError, OSError or ValueError; prefer `read`, which never raises.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def write_file(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Write the JSON object atomically (a reader never sees half a file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def read(folder: str | os.PathLike) -> ExerciseData | None:
    """The data file of the module in `folder`; None when there is none (a stock nbgrader course)
    or it is unreadable (logged). Never raises: widgets call it in learners' notebooks."""
    folder = Path(folder)
    path = folder / FILE_NAME
    try:
        return ExerciseData.from_dict(read_file(path), folder)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("unreadable %s: %s", path, exc)
        return None


def write(folder: str | os.PathLike, data: ExerciseData) -> Path:
    path = Path(folder) / FILE_NAME
    write_file(path, data.to_dict())
    return path


def in_course(
    course_dir: str | os.PathLike | None, stages: tuple[str, ...] = (course_layout.SOURCE,)
) -> list[ExerciseData]:
    """The modules' data files of a course directory: those of the first of `stages` that has any."""
    if not course_dir:
        return []
    for stage in stages:
        found = [
            d
            for path in sorted((Path(course_dir) / stage).glob(f"*/{FILE_NAME}"))
            if (d := read(path.parent))
        ]
        if found:
            return found
    return []
