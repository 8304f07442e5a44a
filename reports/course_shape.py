"""The shape of a course (parcours → modules → lessons, exercises) as the reports and demo data see it.

Read from the `incubo_exercices.json` sidecars that `incubo build` writes in
`source/<module>/`; a course directory without them (a fresh checkout, a
stock nbgrader course) falls back to a built-in shape that mirrors the
`python-pas-a-pas` parcours of `courses/`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exercise:
    id: str
    notebook: str
    points: float = 1.0
    hints: int = 2


@dataclass
class Module:
    id: str
    parcours: str
    lessons: list[str] = field(default_factory=list)
    exercise_notebooks: list[str] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    quiz: list[str] = field(default_factory=list)


@dataclass
class CourseShape:
    modules: list[Module]
    origin: str  # "sidecars" or "builtin"

    @property
    def parcours(self) -> list[str]:
        seen: list[str] = []
        for m in self.modules:
            if m.parcours not in seen:
                seen.append(m.parcours)
        return seen


#: python-pas-a-pas as written in courses/ (module ids are the nbgrader assignments).
_BUILTIN = {
    "python-pas-a-pas": [
        (
            "pap-01-premiers-calculs",
            ["01-1-decouvrir-jupyter", "01-2-premiers-calculs"],
            "01-3-exercices",
            ["ex-pap-total-trimestre", "ex-pap-taux-traitement", "ex-pap-moyenne-delais"],
        ),
        (
            "pap-02-variables-texte",
            ["02-1-variables", "02-2-textes-courrier"],
            "02-3-exercices",
            ["ex-pap-objet-courrier", "ex-pap-majuscules-commune", "ex-pap-formule-politesse"],
        ),
        (
            "pap-03-listes-boucles",
            ["03-1-listes", "03-2-boucles"],
            "03-3-exercices",
            ["ex-pap-liste-communes", "ex-pap-somme-dossiers", "ex-pap-boucle-relances"],
        ),
        (
            "pap-04-conditions",
            ["04-1-si-sinon", "04-2-conditions-combinees"],
            "04-3-exercices",
            ["ex-pap-delai-depasse", "ex-pap-eligibilite", "ex-pap-tranche-population"],
        ),
        (
            "pap-05-fonctions",
            ["05-1-definir-fonction", "05-2-parametres-retour"],
            "05-3-exercices",
            ["ex-pap-fonction-ttc", "ex-pap-fonction-initiales", "ex-pap-fonction-delai"],
        ),
        (
            "pap-06-fichiers-automatisation",
            ["06-1-lire-ecrire-fichiers", "06-2-publipostage", "06-3-renommer-fichiers"],
            "06-4-exercices",
            ["ex-pap-lire-csv", "ex-pap-publipostage", "ex-pap-renommer-lot"],
        ),
    ]
}


def builtin_shape() -> CourseShape:
    modules = []
    for parcours, mods in _BUILTIN.items():
        for mid, lessons, ex_nb, exercises in mods:
            modules.append(
                Module(
                    id=mid,
                    parcours=parcours,
                    lessons=list(lessons),
                    exercise_notebooks=[ex_nb],
                    exercises=[Exercise(e, ex_nb, points=2.0) for e in exercises],
                    quiz=[f"q-{mid}-{i}" for i in (1, 2)],
                )
            )
    return CourseShape(modules, "builtin")


def read_shape(course_dir: Path) -> CourseShape:
    """The course's shape from its sidecars, else the built-in one."""
    from incubo import exercise_data, quiz_bank

    modules: list[Module] = []
    for data in exercise_data.in_course(course_dir):
        exercises = [
            Exercise(eid, ex.notebook, float(ex.points or 1), len(ex.hints))
            for eid, ex in data.exercises.items()
        ]
        ex_nbs = sorted({e.notebook for e in exercises})
        lessons = [n for n in data.lessons() if n not in ex_nbs]
        quiz = [
            str(q["id"])
            for q in quiz_bank.read_bank(data.folder / quiz_bank.MODULE_COPY)
            if "id" in q
        ]
        modules.append(
            Module(
                data.module, data.parcours or "parcours", sorted(lessons), ex_nbs, exercises, quiz
            )
        )
    if not modules or not any(m.exercises for m in modules):
        return builtin_shape()
    return CourseShape(modules, "sidecars")
