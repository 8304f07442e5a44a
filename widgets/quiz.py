"""`Quiz`: one question, from a dict, a YAML text, or an id of the module's bank `incubo_quiz.yml`.

Kinds: choix-unique, choix-multiple, nombre (with a tolerance), texte
(compared without case, accents or extra spaces). Feedback per option,
as many tries as wanted, the explanation after success or after N tries.
Each answer becomes an xAPI `answered` statement (result.success, result.response).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import ipywidgets as w

from incubo.quiz_check import (  # noqa: F401  (re-exported: the learner API)
    DEFAULT_TRIES_BEFORE_EXPLANATION,
    KINDS,
    Evaluation,
    Question,
    _fmt,
    answer_of,
    normalize_text,
    parse_number,
)
from incubo.widgets import session, ui

log = logging.getLogger(__name__)


def load_bank(folder: Path | None = None) -> list[dict[str, Any]]:
    """The questions of `incubo_quiz.yml` (the module's bank, copied by the build)."""
    from incubo import quiz_bank

    return quiz_bank.module_bank(folder or Path.cwd())


def _resolve(spec: Any) -> dict[str, Any]:
    from incubo.errors import IncuboError, suggestion

    if isinstance(spec, dict):
        return spec
    if isinstance(spec, str) and "\n" not in spec and ":" not in spec:
        try:
            bank = load_bank()
        except FileNotFoundError:
            raise IncuboError(
                f"Question « {spec} » introuvable : pas de fichier {session.QUIZ_BANK} ici.",
                code="quiz-absent",
            ) from None
        for q in bank:
            if str(q.get("id")) == spec:
                return q
        ids = [str(q.get("id")) for q in bank]
        raise IncuboError(
            f"Question « {spec} » introuvable dans {session.QUIZ_BANK}.{suggestion(spec, ids)}",
            code="quiz-absent",
        )
    if isinstance(spec, str):
        import yaml

        loaded = yaml.safe_load(spec)
        if isinstance(loaded, list) and loaded:
            loaded = loaded[0]
        if isinstance(loaded, dict):
            return loaded
    raise IncuboError(
        "Un Quiz se construit avec un dictionnaire, un texte YAML ou l'identifiant d'une question.",
        code="quiz-invalide",
    )


class Quiz(ui.TextFallback, w.VBox):
    """One quiz question as an accessible widget; `repondre(x)` answers it without a mouse or a browser."""

    def __init__(
        self, spec: Any, *, parcours: str | None = None, module: str | None = None, **kwargs: Any
    ) -> None:
        self.error = ""
        self.tries = 0
        self.success = False
        self.last: Evaluation | None = None
        self._parcours, self._module = parcours, module
        try:
            self.q: Question | None = Question.from_spec(_resolve(spec))
        except Exception as err:  # never raise into the notebook: say what is wrong instead
            self.q = None
            self.error = (
                str(err)
                if err.__class__.__name__ == "IncuboError"
                else f"Question illisible ({err})."
            )
        self.feedback = w.HTML()
        self.explanation = w.HTML()
        self.submit_button = w.Button(
            description="Valider", button_style="primary", tooltip="Valider ma réponse"
        )
        self.submit_button.on_click(lambda _b: self.submit())
        self.choice: w.RadioButtons | None = None
        self.cases: list[w.Checkbox] = []
        self.entry: w.Text | None = None
        super().__init__(self._children(), **kwargs)
        self.add_class("incubo-quiz")

    def _children(self) -> list[w.Widget]:
        if self.q is None:
            return [w.HTML(ui.box_html("erreur", self.error))]
        q = self.q
        head = w.HTML(f'<p lang="fr"><strong>{html.escape(q.question)}</strong></p>')
        if q.type == "choix-unique":
            self.choice = w.RadioButtons(
                options=[(str(o.get("texte", "")), i) for i, o in enumerate(q.options)], value=None
            )
            self.choice.layout.width = "auto"
            inputs: list[w.Widget] = [self.choice]
        elif q.type == "choix-multiple":
            self.cases = [
                w.Checkbox(value=False, description=str(o.get("texte", "")), indent=False)
                for o in q.options
            ]
            inputs = list(self.cases)
        else:
            placeholder = "un nombre, par exemple 3,5" if q.type == "nombre" else "votre réponse"
            # continuous_update=False: one value message when the field is left, sent before the
            # button's click; per-keystroke updates get throttled by ipywidgets and could arrive after it.
            self.entry = w.Text(
                description="Votre réponse",
                placeholder=placeholder,
                continuous_update=False,
                style={"description_width": "initial"},
            )
            inputs = [self.entry]
        return [head, *inputs, self.submit_button, self.feedback, self.explanation]

    def current_answer(self) -> Any:
        return answer_of(self.choice, self.cases, self.entry)

    def repondre(self, answer: Any) -> Evaluation | None:
        """Answer by value: an option index (or its text), a list of indices, a number or a text."""
        if self.q is None:
            print(self.error)
            return None
        if self.choice is not None:
            self.choice.value = self._index(answer)
        elif self.cases:
            wanted = {
                self._index(a)
                for a in (answer if isinstance(answer, list | tuple | set) else [answer])
            }
            for i, c in enumerate(self.cases):
                c.value = i in wanted
        elif self.entry is not None:
            self.entry.value = str(answer)
        result = self.submit()
        if not ui.widget_frontend():
            print(self.plain_text())
        return result

    def _index(self, answer: Any) -> int | None:
        if isinstance(answer, int):
            return answer
        for i, o in enumerate(self.q.options if self.q else []):
            if normalize_text(o.get("texte", "")) == normalize_text(str(answer)):
                return i
        return None

    def submit(self) -> Evaluation | None:
        """What the « Valider » button does."""
        try:
            return self._submit()
        except Exception:
            log.warning("quiz validation failed", exc_info=True)
            self.feedback.value = ui.box_html("erreur", "Cette réponse n'a pas pu être vérifiée.")
            return None

    def _submit(self) -> Evaluation | None:
        if self.q is None:
            return None
        ev = self.q.evaluate(self.current_answer())
        self.last = ev
        if ev.success is None:
            self.feedback.value = ui.box_html("non-tente", "\n".join(ev.feedback))
            return ev
        self.tries += 1
        self.success = self.success or bool(ev.success)
        self.feedback.value = ui.box_html(
            "correct" if ev.success else "incorrect", "\n".join(ev.feedback)
        )
        if self.q.explication and (ev.success or self.tries >= self.q.essais_avant_explication):
            self.explanation.value = ui.box_html(
                "info", "Explication : " + self.q.explication, live=False
            )
        session.emit(
            "answered",
            kind="quiz",
            ident=self.q.id,
            name_fr=self.q.question,
            result={"success": bool(ev.success), "response": ev.response},
            extensions={"attempt": self.tries},
            parcours=self._parcours,
            module=self._module,
        )
        return ev

    def plain_text(self) -> str:
        if self.q is None:
            return self.error
        lines = [self.q.question]
        lines += [f"  {i}. {o.get('texte', '')}" for i, o in enumerate(self.q.options)]
        if self.last is not None:
            lines += self.last.feedback
            if self.q.explication and (
                self.success or self.tries >= self.q.essais_avant_explication
            ):
                lines.append("Explication : " + self.q.explication)
        elif not ui.widget_frontend():
            lines.append(
                "Répondez avec .repondre(...) : le numéro d'une option, une liste de numéros, un nombre ou un texte."
            )
        return "\n".join(lines)
