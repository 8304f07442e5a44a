"""« Mon parcours »: the learner's own progress, module by module, and the next step to take.

Counts come from the core's `incubo.progress.module_progress` (the
learner's own journal of statements against each module's exercise file in
the course directory), so this page and the progress widget in the
notebooks always agree.
"""

from __future__ import annotations

import html
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w

from incubo import course_layout, exercise_data, learning_paths, xapi
from incubo import room_data as data
from incubo.apps.common import (
    Status,
    course_dir,
    courses_dir,
    guarded,
    header,
    section,
    show,
)

log = logging.getLogger(__name__)


def main() -> None:
    """Entry point of notebooks/apps/mon-parcours.ipynb."""
    show(MyProgress)


@dataclass
class ModuleState:
    module: str
    title: str
    folder: Path
    sidecar: dict[str, Any]
    progress: Any  # incubo.progress.ModuleProgress
    next_exercise: str | None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def module_folders(cdir: Path | None) -> list[tuple[Path, dict[str, Any]]]:
    """Module folders with their exercise file: release/ (what learners get), else source/."""
    found = exercise_data.in_course(cdir, (course_layout.RELEASE, course_layout.SOURCE))
    return [(d.folder, d.to_dict()) for d in found if d.folder is not None]


def parcours_order(courses: Path | None) -> dict[str, int]:
    """Module id → position, parcours by parcours (from parcours.yml)."""
    return {module: i for i, module in enumerate(learning_paths.module_titles(courses))}


def learner_states(
    cdir: Path | None, courses: Path | None, statements: list[dict[str, Any]]
) -> list[ModuleState]:
    from incubo.progress import module_progress

    titles = data.module_titles(courses)
    order = parcours_order(courses)
    passed = {xapi.located(s)[1:] for s in statements if xapi.verb_of(s) == "passed"}
    states = []
    for folder, sidecar in module_folders(cdir):
        module = str(sidecar.get("module") or folder.name)
        exercises = list((sidecar.get("exercices") or {}).keys())
        nxt = next((e for e in exercises if (module, e) not in passed), None)
        states.append(
            ModuleState(
                module,
                titles.get(module, module),
                folder,
                sidecar,
                module_progress(folder, sidecar, statements),
                nxt,
            )
        )
    return sorted(states, key=lambda s: (order.get(s.module, 10**6), s.module))


def _bar(label: str, ratio: float) -> str:
    pct = round(100 * ratio)
    return (
        f"<p>{html.escape(label)} : {pct} %<br>"
        f'<progress max="100" value="{pct}" aria-label="{html.escape(label)}" style="width:20em">{pct} %</progress></p>'
    )


class MyProgress:
    def __init__(self) -> None:
        self.status = Status()
        self.content = w.HTML()
        self.next_step = w.HTML()
        self.button = w.Button(description="Actualiser", tooltip="Recalculer ma progression")
        self.button.on_click(guarded(self.status)(lambda _b: self.refresh()))
        name = os.environ.get("JUPYTERHUB_USER") or ""
        hello = f"Bonjour {name} ! " if name else ""
        self.widget = w.VBox(
            [
                header(
                    "Mon parcours",
                    hello + "Où vous en êtes, module par module, et ce qu'il reste à faire.",
                ),
                section("Prochaine étape"),
                self.next_step,
                section("Mes modules"),
                self.content,
                self.button,
                self.status.widget,
            ]
        )
        self.refresh()

    def on_visit(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        from incubo.widgets import session

        states = learner_states(course_dir(), courses_dir(), session.own_statements())
        if not states:
            self.next_step.value = "<p>Aucun parcours n'est encore disponible : votre formateur doit d'abord préparer le cours.</p>"
            self.content.value = ""
            return
        done = sum(s.progress.exercises_done for s in states)
        total = sum(s.progress.exercises for s in states)
        todo = next((s for s in states if s.next_exercise and not s.progress.completed), None)
        if todo is None:
            self.next_step.value = "<p><strong>Bravo, vous avez réussi tous les exercices de vos modules !</strong></p>"
        else:
            ex = todo.sidecar.get("exercices", {}).get(todo.next_exercise, {})
            where = (
                f" (notebook « {html.escape(str(ex.get('notebook')))} »)"
                if ex.get("notebook")
                else ""
            )
            self.next_step.value = f"<p><strong>Module « {html.escape(todo.title)} » : faites l'exercice « {html.escape(todo.next_exercise)} »{where}.</strong></p>"
        parts = [
            f"<p>{done} exercice{'s' if done > 1 else ''} réussi{'s' if done > 1 else ''} sur {total} au total.</p>"
        ]
        for s in states:
            p = s.progress
            parts.append('<div class="incubo-carte">')
            parts.append(_bar(f"Module « {s.title} »", p.ratio))
            parts.append(
                f"<p>Exercices réussis : {p.exercises_done} sur {p.exercises} · Questions réussies : {p.quiz_done} sur {p.quiz}"
                f" · Notebooks ouverts : {p.lessons_seen} sur {p.lessons}</p></div>"
            )
        self.content.value = "".join(parts)
