"""`Progression`: where the learner stands in a module and a parcours, from their own events.

The module's content comes from its `incubo_exercices.json` and
`incubo_quiz.yml`; the parcours' modules are the sibling folders holding a
sidecar of the same parcours (how nbgrader lays out fetched assignments).
What is done comes only from the learner's own statements (the local journal).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import ipywidgets as w

from incubo.progress import ModuleProgress, module_progress
from incubo.widgets import session, ui

__all__ = ["ModuleProgress", "Progression", "module_progress", "parcours_progress"]

log = logging.getLogger(__name__)


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
