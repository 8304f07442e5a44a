"""Learner widgets: instant checks with hints, quizzes, progress, self-assessment, friendly errors.

The build puts, as the first cell of every course notebook::

    from incubo.widgets import demarrer, verifier, indice, solution, Quiz
    demarrer("<notebook-stem>")

so importing this package stays cheap (ipywidgets is loaded only when a
widget is built) and nothing here ever raises into a learner's notebook.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from incubo.widgets import session

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())  # our warnings never land in the learner's notebook (stderr)

__all__ = [
    "demarrer",
    "verifier",
    "indice",
    "solution",
    "Quiz",
    "Progression",
    "Autoevaluation",
    "Exercice",
    "conforme",
    "empreinte",
]

_LAZY = {
    "Quiz": "incubo.widgets.quiz",
    "Progression": "incubo.widgets.progress",
    "Autoevaluation": "incubo.widgets.self_assessment",
    "Exercice": "incubo.widgets.exercises",
    "conforme": "incubo.widgets.expected",
    "empreinte": "incubo.widgets.expected",
}


def demarrer(stem: str | None = None) -> None:
    """Start a notebook: read `incubo_exercices.json` here, French errors on, record « lesson opened ».

    Never raises: a stock nbgrader course (no sidecar), a read-only home or
    the grading sandbox (`INCUBO_GRADING=1`, no events) all just work.
    """
    try:
        s = session.reset(Path.cwd())
        s.stem = stem
        s.started = True
        if session.grading():
            return
        from incubo.widgets import cell_hooks, friendly_errors

        friendly_errors.install()
        cell_hooks.install()
        if s.sidecar is not None and stem:
            meta = (s.sidecar.get("notebooks") or {}).get(stem) or {}
            session.emit("experienced", kind="lecon", ident=stem, name_fr=meta.get("titre"))
            if not s.exercises():  # a module of lessons only is completed by opening them all
                from incubo.widgets import exercises

                exercises.maybe_complete_module()
        from incubo import events

        events.start_background_delivery()
    except Exception:
        log.debug("demarrer failed", exc_info=True)


def verifier(ex_id: str) -> None:
    """Check exercise `ex_id` against its visible tests and answer in French."""
    from incubo.widgets import exercises

    exercises.verifier(ex_id)


def indice(ex_id: str) -> None:
    """Show the next hint of exercise `ex_id` (one at a time)."""
    from incubo.widgets import exercises

    exercises.indice(ex_id)


def solution(ex_id: str) -> None:
    """Show the solution of `ex_id` when the parcours' policy allows it."""
    from incubo.widgets import exercises

    exercises.solution(ex_id)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'incubo.widgets' has no attribute {name!r}")
