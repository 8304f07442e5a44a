"""Where a learner stands in one module, from their statements: the notebook's, the app's and the hub's one count.

The module's content comes from its `incubo_exercices.json` and
`incubo_quiz.yml`; what is done comes only from the statements given
(`passed` exercises, `answered` quiz questions with success, `experienced`
lessons, `completed` module).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incubo import xapi

#: The parcours of a module whose exercise file names none (the widgets' session says the same).
NO_PARCOURS = "hors-parcours"


@dataclass
class ModuleProgress:
    module: str
    exercises_done: int
    exercises: int
    quiz_done: int
    quiz: int
    lessons_seen: int
    lessons: int
    completed: bool

    @property
    def done(self) -> int:
        return self.exercises_done + self.quiz_done + self.lessons_seen

    @property
    def total(self) -> int:
        return self.exercises + self.quiz + self.lessons

    @property
    def ratio(self) -> float:
        return (
            1.0
            if self.completed and not self.total
            else (self.done / self.total if self.total else 0.0)
        )


def _quiz_ids(folder: Path) -> list[str]:
    try:
        from incubo import quiz_bank

        return [str(q.get("id")) for q in quiz_bank.module_bank(folder) if q.get("id")]
    except Exception:
        return []


def _in_module(iri: str, module_iri: str) -> bool:
    return iri.endswith(module_iri) or (module_iri + "/") in iri


def module_progress(
    folder: Path, sidecar: dict[str, Any], statements: list[dict[str, Any]]
) -> ModuleProgress:
    """What these statements show done in the module at `folder` (its exercise file given)."""
    module = str(sidecar.get("module") or folder.name)
    parcours = str(sidecar.get("parcours") or NO_PARCOURS)
    module_iri = f"/parcours/{parcours}/module/{module}"
    mine = [s for s in statements if _in_module(str(s.get("object", {}).get("id", "")), module_iri)]
    passed = {xapi.object_tail(s) for s in mine if xapi.verb_of(s) == "passed"}
    quiz_ok = {
        xapi.object_tail(s)
        for s in mine
        if xapi.verb_of(s) == "answered" and (s.get("result") or {}).get("success")
    }
    seen = {xapi.object_tail(s) for s in mine if xapi.verb_of(s) == "experienced"}
    exercises = list((sidecar.get("exercices") or {}).keys())
    quiz = _quiz_ids(folder)
    lessons = list((sidecar.get("notebooks") or {}).keys())
    return ModuleProgress(
        module=module,
        exercises_done=sum(f"exercice/{e}" in passed for e in exercises),
        exercises=len(exercises),
        quiz_done=sum(f"quiz/{q}" in quiz_ok for q in quiz),
        quiz=len(quiz),
        lessons_seen=sum(f"lecon/{n}" in seen for n in lessons),
        lessons=len(lessons),
        completed=any(
            xapi.verb_of(s) == "completed" and xapi.object_tail(s) == f"module/{module}"
            for s in statements
        ),
    )
