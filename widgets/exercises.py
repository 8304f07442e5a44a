"""`verifier`, `indice`, `solution`: instant checks of a graded exercise, in French.

Learntools' shape: a check that says "not attempted yet" apart from
"wrong", hints one at a time, the solution only after a real attempt and
as the parcours' policy allows. Each action becomes an xAPI statement.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import ipywidgets as w

from incubo.widgets import session, ui, verification
from incubo.widgets.verification import CORRECT, ERROR, INCORRECT, NOT_ATTEMPTED, Verdict

log = logging.getLogger(__name__)


def _unknown(ex_id: str) -> Verdict:
    s = session.current()
    if s.sidecar is None:
        return Verdict(
            "inconnu",
            "La vérification automatique n'est pas disponible ici (le fichier incubo_exercices.json est absent "
            "du dossier du notebook).",
        )
    from incubo.errors import suggestion

    return Verdict(
        "inconnu",
        f"L'exercice « {ex_id} » est inconnu dans ce notebook.{suggestion(ex_id, s.exercises())}",
    )


# --- actions (no display): used by the buttons and by the plain-text mode ----------


def run_check(ex_id: str, namespace: dict[str, Any] | None = None) -> Verdict:
    """Check an exercise and record `attempted` (+ `passed`/`failed`, module `completed`)."""
    s = session.current()
    exercise = s.exercise(ex_id)
    if exercise is None:
        return _unknown(ex_id)
    try:
        verdict = verification.check(exercise, namespace)
    except Exception as err:  # a bug of ours must not look like the learner's
        log.warning("check of %s failed", ex_id, exc_info=True)
        return Verdict(
            ERROR,
            f"La vérification n'a pas pu s'exécuter ({type(err).__name__}). Prévenez votre formateur.",
        )
    record_verdict(ex_id, verdict)
    return verdict


def record_verdict(ex_id: str, verdict: Verdict) -> None:
    """Count a real attempt and emit `attempted` (+ `passed`/`failed`, module `completed`)."""
    s = session.current()
    if verdict.code != NOT_ATTEMPTED:
        s.attempts[ex_id] = s.real_attempts(ex_id) + 1
    if session.grading():
        return
    ext = {"verdict": verdict.code, "attempt": s.attempts.get(ex_id, 0)}
    session.emit(
        "attempted",
        kind="exercice",
        ident=ex_id,
        result={"success": verdict.success},
        extensions=ext,
    )
    if verdict.code == CORRECT:
        from incubo.widgets import cell_hooks

        cell_hooks.replace_failure(ex_id, verdict.text())
        session.emit(
            "passed",
            kind="exercice",
            ident=ex_id,
            result={"success": True, "completion": True},
            extensions=ext,
        )
        _maybe_completed(ex_id)
    elif verdict.code in (INCORRECT, ERROR):
        session.emit(
            "failed", kind="exercice", ident=ex_id, result={"success": False}, extensions=ext
        )


def _maybe_completed(just_passed: str | None = None) -> None:
    """Record `completed` for the module once: every exercise passed (a module without
    exercises: every notebook opened)."""
    s = session.current()
    if not s.module or s.sidecar is None:
        return
    own = session.own_statements()
    if s.exercises():
        done = {session.object_tail(st) for st in own if session.verb_of(st) == "passed"}
        if just_passed:
            done.add(f"exercice/{just_passed}")
        needed = {f"exercice/{e}" for e in s.exercises()}
    else:
        done = {session.object_tail(st) for st in own if session.verb_of(st) == "experienced"}
        needed = {f"lecon/{n}" for n in (s.sidecar.get("notebooks") or {})}
    if not needed or not needed <= done:
        return
    module_iri_tail = f"module/{s.module}"
    if any(
        session.verb_of(st) == "completed" and session.object_tail(st) == module_iri_tail
        for st in own
    ):
        return
    session.emit("completed", result={"completion": True})


maybe_complete_module = _maybe_completed


def next_hint(ex_id: str) -> tuple[int, int, str]:
    """(hint number, hint count, French text); records `asked` when a new hint is shown."""
    s = session.current()
    exercise = s.exercise(ex_id)
    if exercise is None:
        return 0, 0, _unknown(ex_id).message
    hints = [str(h) for h in exercise.get("indices") or []]
    if not hints:
        return 0, 0, "Pas d'indice pour cet exercice : relisez l'énoncé, ou demandez de l'aide."
    shown = s.hints_shown.get(ex_id, 0)
    if shown >= len(hints):
        return (
            shown,
            len(hints),
            f"Vous avez vu tous les indices ({len(hints)}). Dernier indice : {hints[-1]}",
        )
    shown += 1
    s.hints_shown[ex_id] = shown
    session.emit("asked", kind="exercice", ident=ex_id, extensions={"hint-number": shown})
    return shown, len(hints), f"Indice {shown} sur {len(hints)} : {hints[shown - 1]}"


def reveal_solution(ex_id: str) -> tuple[bool, str]:
    """(shown, text): the decoded solution when the policy allows it, else why not."""
    s = session.current()
    exercise = s.exercise(ex_id)
    if exercise is None:
        return False, _unknown(ex_id).message
    if exercise.get("solution_serveur") and not exercise.get("solution"):
        return _solution_from_server(s.module or "", ex_id)  # on a hub: the server decides
    if not exercise.get(
        "solution"
    ):  # a learner's workspace copy: the solution stays with the course
        exercise = {**exercise, "solution": session.course_solution(s.module, ex_id)}
    refusal = verification.solution_refusal(exercise, s.real_attempts(ex_id))
    if refusal:
        return False, refusal
    source = verification.decode_solution(exercise.get("solution"))
    if not source:
        return (
            False,
            "La solution n'a pas pu être lue : prévenez votre formateur ou votre formatrice.",
        )
    session.emit("viewed", kind="exercice", ident=ex_id)
    return True, source


def _solution_from_server(module: str, ex_id: str) -> tuple[bool, str]:
    """Ask the hub's solutions service, which checks the policy against this learner's attempts in the LRS."""
    import json
    import urllib.error
    import urllib.request

    from incubo import config, events, lrs

    url = config.solutions_url()
    if not url:
        return (
            False,
            "La solution est gardée sur le serveur, qui n'est pas joignable d'ici : demandez à votre formateur.",
        )
    events.wait_delivered(10)  # the attempts just made must be in the LRS before it counts them
    request = urllib.request.Request(
        url, data=json.dumps({"module": module, "exercice": ex_id}).encode(), method="POST",
        headers=lrs.headers(json_body=True),
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as err:
        try:
            return False, str(json.loads(err.read())["detail"])
        except Exception:
            return (
                False,
                "Le service des solutions n'a pas répondu correctement : réessayez dans un instant.",
            )
    except (OSError, ValueError):
        return False, "Le service des solutions ne répond pas : réessayez dans un instant."
    if body.get("declaration"):
        events.append_jsonl(
            events.events_file(), body["declaration"]
        )  # already in the LRS: journal only
    return True, verification.strip_markers(str(body.get("solution") or ""))


# --- the panel ---------------------------------------------------------------


def exercise_title(ex_id: str) -> str:
    """What the learner reads above the exercise: its heading in the notebook, never its id."""
    try:
        title = str((session.current().exercise(ex_id) or {}).get("titre") or "").strip()
    except Exception:
        title = ""
    return title or "Exercice"


class Exercice(ui.TextFallback, w.VBox):
    """Buttons Vérifier / Indice / Solution and their answers, for one exercise."""

    def __init__(
        self, ex_id: str, *, namespace: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        self.ex_id = ex_id
        self.namespace = namespace  # None: the notebook's own namespace
        self.verdict: Verdict | None = None
        self._lines: list[str] = []
        self._solution = ""
        self.check_button = w.Button(
            description="Vérifier",
            tooltip=f"Vérifier : {exercise_title(ex_id)}",
            button_style="primary",
        )
        self.hint_button = w.Button(
            description="Indice", tooltip=f"Indice : {exercise_title(ex_id)}"
        )
        self.solution_button = w.Button(
            description="Solution", tooltip=f"Solution : {exercise_title(ex_id)}"
        )
        self.feedback = w.HTML()
        self.hints = w.HTML()
        self.solution_area = w.HTML()
        self.check_button.on_click(lambda _b: self._safely(self.verifier))
        self.hint_button.on_click(lambda _b: self._safely(self.indice))
        self.solution_button.on_click(lambda _b: self._safely(self.solution))
        title = w.HTML(f'<strong lang="fr">{html.escape(exercise_title(ex_id))}</strong>')
        buttons = w.HBox([self.check_button, self.hint_button, self.solution_button])
        super().__init__([title, buttons, self.feedback, self.hints, self.solution_area], **kwargs)
        self.add_class("incubo-exercice")

    def _safely(self, action) -> None:
        """A button never shows a traceback to the learner."""
        try:
            action()
        except Exception:
            log.warning("exercise button failed", exc_info=True)
            self.feedback.value = ui.box_html(
                "erreur", "Cette action n'a pas abouti : prévenez votre formateur."
            )

    def verifier(self) -> Verdict:
        verdict = run_check(self.ex_id, self.namespace)
        self.verdict = verdict
        kind = verdict.code if verdict.code in ui.STYLES else "info"
        self.feedback.value = ui.box_html(kind, verdict.text())
        return verdict

    def indice(self) -> str:
        n, total, text = next_hint(self.ex_id)
        if n and text not in self._lines:
            self._lines.append(text)
        shown = self._lines or [text]
        self.hints.value = ui.box_html("info", "\n".join(shown))
        return text

    def solution(self) -> str:
        shown, text = reveal_solution(self.ex_id)
        self._solution = ("Une solution possible :\n" + text) if shown else text
        if shown:
            self.solution_area.value = ui.code_html(text, "Une solution possible :")
        else:
            self.solution_area.value = ui.box_html("info", text)
        return text

    def plain_text(self) -> str:
        parts = [exercise_title(self.ex_id)]
        if self.verdict:
            parts.append(self.verdict.text())
        parts.extend(self._lines)
        if self._solution:
            parts.append(self._solution)
        return "\n".join(parts)


def _panel(ex_id: str) -> Exercice | None:
    if not ui.widget_frontend():
        return None
    try:
        return Exercice(ex_id)
    except Exception:
        log.debug("could not build the exercise panel", exc_info=True)
        return None


def verifier(ex_id: str) -> None:
    """Check the exercise now and show the verdict (with Indice / Solution buttons)."""
    try:
        panel = _panel(ex_id)
        if panel is not None:
            panel.verifier()
            ui.show(panel, panel.plain_text())
        else:
            print(run_check(ex_id).text())
    except Exception:
        log.warning("verifier(%r) failed", ex_id, exc_info=True)


def indice(ex_id: str) -> None:
    """Show the next hint of the exercise."""
    try:
        panel = _panel(ex_id)
        if panel is not None:
            panel.indice()
            ui.show(panel, panel.plain_text())
        else:
            print(next_hint(ex_id)[2])
    except Exception:
        log.warning("indice(%r) failed", ex_id, exc_info=True)


def solution(ex_id: str) -> None:
    """Show the solution if the policy allows it, else say when it will be possible."""
    try:
        shown, text = reveal_solution(ex_id)
        if shown and ui.widget_frontend():
            from IPython.display import display

            display(ui.Code("Une solution possible :", text))
        elif shown:
            print("Une solution possible :\n" + text)
        else:
            print(text)
    except Exception:
        log.warning("solution(%r) failed", ex_id, exc_info=True)
