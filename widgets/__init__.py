"""Learner widgets: instant checks, hints, solutions, quizzes (minimal first version).

The build puts ``from incubo.widgets import demarrer, verifier, indice,
solution, Quiz`` and ``demarrer("<stem>")`` at the top of every notebook, so
this module must import cheaply and never raise into a learner's notebook.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["demarrer", "verifier", "indice", "solution", "Quiz"]

SIDECAR = "incubo_exercices.json"
_state: dict[str, Any] = {"sidecar": None, "stem": None, "hints": {}, "attempts": {}}


def _load_sidecar() -> dict[str, Any] | None:
    path = Path.cwd() / SIDECAR
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def demarrer(stem: str | None = None) -> None:
    """Start a notebook session; never raises (stock courses have no sidecar)."""
    try:
        _state["stem"] = stem
        _state["sidecar"] = _load_sidecar()
    except Exception:  # never break the learner's first cell
        log.debug("demarrer failed", exc_info=True)


def _exercise(ex_id: str) -> dict[str, Any] | None:
    data = _state["sidecar"] or _load_sidecar() or {}
    return (data.get("exercices") or {}).get(ex_id)


def verifier(ex_id: str) -> str | None:
    """Run the exercise's visible tests in the learner's namespace and say the verdict in French."""
    try:
        ex = _exercise(ex_id)
        if ex is None:
            print(f"Exercice « {ex_id} » inconnu dans ce dossier.")
            return None
        ns: dict[str, Any] = {}
        try:
            from IPython import get_ipython

            ip = get_ipython()
            if ip is not None:
                ns = ip.user_ns
        except Exception:
            pass
        try:
            exec(compile(ex.get("tests_visibles", ""), f"<{ex_id}>", "exec"), dict(ns))
        except AssertionError as err:
            print(f"Pas encore : {err or 'une vérification échoue.'}")
            return "incorrect"
        except NotImplementedError:
            print("Pas encore tenté : remplacez la ligne raise NotImplementedError() par votre réponse.")
            return "non-tente"
        except Exception as err:
            print(f"Erreur dans votre code : {type(err).__name__} : {err}")
            return "erreur"
        print("Bravo, c'est correct !")
        return "correct"
    except Exception:
        log.debug("verifier failed", exc_info=True)
        return None


def indice(ex_id: str) -> None:
    """Show the next hint."""
    try:
        ex = _exercise(ex_id) or {}
        hints = ex.get("indices") or []
        n = _state["hints"].get(ex_id, 0)
        if not hints:
            print("Pas d'indice pour cet exercice.")
            return
        n = min(n + 1, len(hints))
        _state["hints"][ex_id] = n
        print(f"Indice {n}/{len(hints)} : {hints[n - 1]}")
    except Exception:
        log.debug("indice failed", exc_info=True)


def solution(ex_id: str) -> None:
    """Show the solution when the policy allows it (first version: never)."""
    print("La solution n'est pas encore disponible.")


class Quiz:
    """A quiz question (first version: plain text only)."""

    def __init__(self, spec: Any = None, **kwargs: Any) -> None:
        self.spec = spec

    def _ipython_display_(self) -> None:
        print("Quiz indisponible pour le moment.")
