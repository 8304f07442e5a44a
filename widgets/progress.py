"""`Progression`: where the learner stands in a module and a parcours, from their own events.

The module's content comes from its `incubo_exercices.json` and
`incubo_quiz.yml`; the parcours' modules are the sibling folders holding a
sidecar of the same parcours (how nbgrader lays out fetched assignments).
What is done comes only from the learner's own statements (the local journal).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w

from incubo.widgets import session, ui

log = logging.getLogger(__name__)


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
        from incubo.widgets.quiz import load_bank

        return [str(q.get("id")) for q in load_bank(folder) if q.get("id")]
    except Exception:
        return []


def _in_module(iri: str, module_iri: str) -> bool:
    return iri.endswith(module_iri) or (module_iri + "/") in iri


def module_progress(
    folder: Path, sidecar: dict[str, Any], statements: list[dict[str, Any]]
) -> ModuleProgress:
    module = str(sidecar.get("module") or folder.name)
    parcours = str(sidecar.get("parcours") or session.NO_PARCOURS)
    module_iri = f"/parcours/{parcours}/module/{module}"
    mine = [s for s in statements if _in_module(str(s.get("object", {}).get("id", "")), module_iri)]
    passed = {session.object_tail(s) for s in mine if session.verb_of(s) == "passed"}
    quiz_ok = {
        session.object_tail(s)
        for s in mine
        if session.verb_of(s) == "answered" and (s.get("result") or {}).get("success")
    }
    seen = {session.object_tail(s) for s in mine if session.verb_of(s) == "experienced"}
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
            session.verb_of(s) == "completed" and session.object_tail(s) == f"module/{module}"
            for s in statements
        ),
    )


def parcours_progress(
    folder: Path | None = None, statements: list[dict[str, Any]] | None = None
) -> list[ModuleProgress]:
    """Every module of the current parcours found beside this folder, in name order."""
    folder = folder or session.current().folder
    statements = session.own_statements() if statements is None else statements
    here = session.load_sidecar(folder)
    if here is None:
        return []
    parcours = here.get("parcours")
    found: list[ModuleProgress] = []
    try:
        siblings = sorted(p for p in folder.parent.iterdir() if p.is_dir())
    except OSError:
        siblings = [folder]
    for candidate in siblings:
        data = here if candidate.resolve() == folder.resolve() else session.load_sidecar(candidate)
        if data and data.get("parcours") == parcours:
            found.append(module_progress(candidate, data, statements))
    return found


def _bar(label: str, ratio: float) -> str:
    pct = round(100 * ratio)
    return (
        f'<div style="margin:.2em 0"><span>{html.escape(label)} : {pct} %</span><br>'
        f'<progress max="100" value="{pct}" aria-label="{html.escape(label)}" style="width:20em">{pct} %</progress></div>'
    )


class Progression(ui.TextFallback, w.VBox):
    """Progress bars for the current module and its parcours; `actualiser()` recomputes them."""

    def __init__(self, **kwargs: Any) -> None:
        self.content = w.HTML()
        self.submit_button = w.Button(description="Actualiser", tooltip="Recalculer ma progression")
        self.submit_button.on_click(lambda _b: self.actualiser())
        self.modules: list[ModuleProgress] = []
        super().__init__([self.content, self.submit_button], **kwargs)
        self.add_class("incubo-progression")
        self.actualiser()

    def actualiser(self) -> None:
        try:
            self.modules = parcours_progress()
        except Exception:
            log.warning("progress computation failed", exc_info=True)
            self.modules = []
        self.content.value = self._html()

    def _current(self) -> ModuleProgress | None:
        name = session.current().module
        return next(
            (m for m in self.modules if m.module == name), self.modules[0] if self.modules else None
        )

    def _html(self) -> str:
        cur = self._current()
        if cur is None:
            return ui.box_html(
                "info",
                "Pas de progression à afficher : ce dossier ne fait pas partie d'un parcours.",
                live=False,
            )
        parts = [
            '<div lang="fr"><strong>Ma progression</strong>',
            _bar(f"Module « {cur.module} »", cur.ratio),
        ]
        parts.append(
            f"<p>Exercices réussis : {cur.exercises_done} sur {cur.exercises} · "
            f"Questions réussies : {cur.quiz_done} sur {cur.quiz} · Notebooks ouverts : {cur.lessons_seen} sur {cur.lessons}</p>"
        )
        if len(self.modules) > 1:
            done = sum(m.completed for m in self.modules)
            overall = sum(m.ratio for m in self.modules) / len(self.modules)
            parts.append(_bar(f"Parcours « {session.current().parcours} »", overall))
            parts.append(f"<p>Modules terminés : {done} sur {len(self.modules)}</p>")
        parts.append("</div>")
        return "".join(parts)

    def plain_text(self) -> str:
        cur = self._current()
        if cur is None:
            return "Pas de progression à afficher : ce dossier ne fait pas partie d'un parcours."
        lines = [
            f"Module « {cur.module} » : {round(100 * cur.ratio)} %",
            f"Exercices réussis : {cur.exercises_done} sur {cur.exercises}",
            f"Questions réussies : {cur.quiz_done} sur {cur.quiz}",
            f"Notebooks ouverts : {cur.lessons_seen} sur {cur.lessons}",
        ]
        if len(self.modules) > 1:
            lines.append(
                f"Modules terminés : {sum(m.completed for m in self.modules)} sur {len(self.modules)}"
            )
        return "\n".join(lines)
