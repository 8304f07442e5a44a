"""Fixture data for the app tests: a course dir with a real nbgrader gradebook, statements, a quiz bank."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "apps"

PARCOURS = "parcours-test"
MODULES = {
    "pt-01-bases": ["ex-addition", "ex-texte"],
    "pt-02-tableaux": ["ex-filtrer", "ex-grouper"],
}
STUCK = "camille"
FINE = "dominique"
LEARNER = "apprenant-test"

QUIZ_BANK = """\
- id: q-cellule
  type: choix-unique
  question: "Quelle touche exécute une cellule ?"
  options:
    - {texte: "Double-clic", retour: "Cela ouvre la cellule en édition."}
    - {texte: "Maj + Entrée", correct: true, retour: "Oui !"}
    - {texte: "Échap", retour: "Échap quitte le mode édition."}
  explication: "Maj + Entrée exécute la cellule et passe à la suivante."
"""

PARCOURS_YML = """\
titre: "Parcours de test"
public: "Agents"
duree: 30
objectifs: ["Tester"]
modules:
  - id: pt-01-bases
    titre: "Les bases"
    notebooks: [01-exercices]
  - id: pt-02-tableaux
    titre: "Les tableaux"
    notebooks: [02-exercices]
"""


def make_courses(root: Path) -> Path:
    """courses/<parcours>/ with parcours.yml and one quiz bank (one question: the quiz of every day)."""
    folder = root / "courses" / PARCOURS
    (folder / "quiz").mkdir(parents=True, exist_ok=True)
    (folder / "parcours.yml").write_text(PARCOURS_YML, encoding="utf-8")
    (folder / "quiz" / "pt-01-bases.yml").write_text(QUIZ_BANK, encoding="utf-8")
    return root / "courses"


def make_course_dir(root: Path) -> Path:
    """An nbgrader course dir: sidecars in source/, a gradebook made with nbgrader's own API."""
    import os

    from nbgrader.api import Gradebook

    # nbgrader runs `alembic` from the PATH to create the gradebook
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    course = root / "cours"
    for module, exercises in MODULES.items():
        src = course / "source" / module
        src.mkdir(parents=True, exist_ok=True)
        nb = "01-exercices" if module.startswith("pt-01") else "02-exercices"
        sidecar = {
            "format": 1,
            "parcours": PARCOURS,
            "module": module,
            "notebooks": {nb: {"type": "exercices", "titre": f"Exercices {module}", "duree": 10}},
            "exercices": {
                ex: {"notebook": nb, "points": 2, "tests_visibles": "", "indices": []}
                for ex in exercises
            },
        }
        (src / "incubo_exercices.json").write_text(json.dumps(sidecar), encoding="utf-8")
    import warnings

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings
        for student in (STUCK, FINE, LEARNER):
            gb.add_student(student)
        for module, exercises in MODULES.items():
            nb = "01-exercices" if module.startswith("pt-01") else "02-exercices"
            gb.add_assignment(module)
            gb.add_notebook(nb, module)
            for ex in exercises:
                gb.add_grade_cell(ex, nb, module, max_score=2, cell_type="code")
        # dominique submitted module 1 and got full marks
        sub = gb.add_submission("pt-01-bases", FINE)
        for grade in sub.notebooks[0].grades:
            grade.auto_score = 2
        gb.db.commit()
    return course


def _stmt(verb: str, actor: str, module: str, ex: str, minutes_ago: float, **extra) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from incubo import xapi

    ts = (
        (datetime.now(UTC) - timedelta(minutes=minutes_ago))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
    return xapi.statement(
        verb,
        parcours=PARCOURS,
        module=module,
        kind="exercice",
        ident=ex,
        actor_name=actor,
        timestamp=ts,
        **extra,
    )


def make_events(folder: Path) -> Path:
    """Statements of the room: camille fails the same check again and again, dominique succeeds."""
    folder.mkdir(parents=True, exist_ok=True)
    camille = [
        _stmt(
            "attempted",
            STUCK,
            "pt-01-bases",
            "ex-addition",
            m,
            result={"success": False},
            extensions={"verdict": "incorrect"},
        )
        for m in (9, 6, 3)
    ] + [_stmt("asked", STUCK, "pt-01-bases", "ex-addition", 2, extensions={"hint-number": 1})]
    dominique = [
        _stmt(
            "attempted",
            FINE,
            "pt-01-bases",
            "ex-addition",
            8,
            result={"success": False},
            extensions={"verdict": "incorrect"},
        ),
        _stmt(
            "attempted",
            FINE,
            "pt-01-bases",
            "ex-addition",
            5,
            result={"success": True},
            extensions={"verdict": "correct"},
        ),
        _stmt("passed", FINE, "pt-01-bases", "ex-addition", 5),
        _stmt("passed", FINE, "pt-01-bases", "ex-texte", 1),
    ]
    for name, stmts in ((STUCK, camille), (FINE, dominique)):
        with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for s in stmts:
                fh.write(json.dumps(s, ensure_ascii=False) + "\n")
    return folder


def make_journal(path: Path) -> Path:
    """The learner's own journal (INCUBO_EVENTS_FILE): one exercise of module 1 passed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stmts = [
        _stmt(
            "attempted",
            LEARNER,
            "pt-01-bases",
            "ex-addition",
            31,
            result={"success": True},
            extensions={"verdict": "correct"},
        ),
        _stmt("passed", LEARNER, "pt-01-bases", "ex-addition", 30),
    ]
    path.write_text(
        "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in stmts), encoding="utf-8"
    )
    return path
