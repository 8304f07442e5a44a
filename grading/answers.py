"""What a trainer reads about each question of a graded notebook: its title, and whether it was answered.

nbgrader names questions by `grade_id` (« correct_squares », « ex-pp-courriers-tests »)
and an unanswered cell still holds the stub of the release
(`raise NotImplementedError()`), which stock feedback shows as
« NotImplementedError : ». Feedback and export say « pas de réponse » instead,
and name each question by the heading the learner saw above it.
"""

from __future__ import annotations

import logging
import re

from nbgrader import utils as nbutils

from .build_nbgrader import TEXT_STUB

log = logging.getLogger(__name__)

NO_ANSWER = "pas de réponse"
#: Stubs of our builds and of stock nbgrader (courses made with `nbgrader quickstart`).
_STUB_MARKERS = ("raise NotImplementedError", TEXT_STUB, "YOUR ANSWER HERE")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_unanswered(cell) -> bool:
    """An answer cell the learner left as released: the stub still there (it raises), or nothing at all."""
    source = cell.get("source", "")
    if any(marker in source for marker in _STUB_MARKERS):
        return True
    meaningful = [
        line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    return not meaningful


def unanswered(nb) -> list[str]:
    """Grade ids of the answer cells left unanswered, in notebook order."""
    return [grade_id(c) or "?" for c in nb.cells if nbutils.is_solution(c) and is_unanswered(c)]


def answer_count(nb) -> int:
    return sum(1 for c in nb.cells if nbutils.is_solution(c))


def question_titles(nb) -> dict[str, str]:
    """grade_id → the heading above that cell (« Exercice 1 : les courriers du jour »), numbered when shared."""
    titles: dict[str, str] = {}
    heading = ""
    per_heading: dict[str, int] = {}
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown" and not nbutils.is_solution(cell):
            found = _HEADING.findall(cell.get("source", ""))
            if found:
                heading = re.sub(r"[*_`]", "", found[-1]).strip()
        gid = grade_id(cell)
        if not gid or not nbutils.is_grade(cell):
            continue
        if not heading:
            titles[gid] = gid
            continue
        per_heading[heading] = per_heading.get(heading, 0) + 1
        titles[gid] = (
            heading
            if per_heading[heading] == 1
            else f"{heading} (vérification {per_heading[heading]})"
        )
    return titles
