"""« Ma révision du jour »: the agent's own questions of the day, scheduled by FSRS (`incubo.review`).

Questions come from the same banks as « Le quiz du jour »; which ones, and
when, comes from the agent's own `answered` statements (`incubo.review`
rebuilds the schedule from them each time, nothing else is stored). One
answer per question (the first answer of a day is the review), its feedback
and explanation, then the next question; at the end, the summary
« 4 sur 5 — prochaine révision jeudi 10 décembre ».
"""

from __future__ import annotations

import html
import logging

import ipywidgets as w

from incubo import review
from incubo.apps.common import Status, course_dir, courses_dir, guarded, header, show
from incubo.apps.quiz_of_the_day import collect_questions
from incubo.errors import IncuboError
from incubo.quiz_check import Question, answer_of

log = logging.getLogger(__name__)

TITLE = "Ma révision du jour"


def main() -> None:
    """Entry point of notebooks/apps/revision-du-jour.ipynb."""
    show(RevisionDuJour)


def bank_questions() -> list[review.BankQuestion]:
    found = collect_questions(courses_dir(), course_dir())
    if not found:
        raise IncuboError(
            "Aucune banque de questions n'est disponible : demandez à votre formateur de construire le cours (incubo build).",
            code="quiz-absent",
        )
    return [review.BankQuestion(q.parcours, q.module, q.spec) for q in found]


class RevisionDuJour:
    def __init__(self) -> None:
        self.status = Status()
        self.intro = w.HTML()
        self.holder = w.VBox()
        # Say back the chosen answer: keyboard and screen-reader users hear what they are about to
        # validate, and the page waits for the kernel to have it before « Valider » can overtake it.
        self.echo = w.HTML()
        self.echo.add_class("incubo-choix")
        self.feedback = w.HTML()
        self.feedback.add_class("incubo-retour")
        self.next_button = w.Button(description="Question suivante", button_style="primary")
        self.next_button.layout.display = "none"
        self.next_button.on_click(guarded(self.status)(lambda _b: self.refresh()))
        self.widget = w.VBox(
            [
                header(
                    TITLE,
                    "Quelques questions choisies pour vous, au bon moment pour ne pas oublier.",
                ),
                self.intro,
                self.holder,
                self.echo,
                self.feedback,
                self.next_button,
                self.status.widget,
            ]
        )
        self.questions = bank_questions()
        self.refresh()

    def on_visit(self) -> None:
        """A pre-heated page was prepared before anyone came: the plan as the statements say now."""
        self.refresh()

    def refresh(self) -> None:
        self.plan = review.plan(self.questions, review.own_statements())
        self.feedback.value = ""
        self.echo.value = ""
        self.next_button.layout.display = "none"
        self.status.clear()
        if self.plan.finished:
            self._show_summary()
        else:
            self._show_question(self.plan.todo[0])

    def _show_summary(self) -> None:
        self.intro.value = ""
        done = len(self.plan.done)
        text = self.plan.summary()
        lead = "Révision terminée pour aujourd'hui." if done else ""
        self.holder.children = [
            w.HTML(
                f'<div class="incubo-carte incubo-bilan" role="status" aria-live="polite">'
                f"<h2>Bilan du jour</h2><p>{html.escape(lead)}</p>"
                f"<p><strong>{html.escape(text)}</strong></p></div>"
            )
        ]

    def _show_question(self, item: review.BankQuestion) -> None:
        self.item = item
        try:
            self.question = Question.from_spec(item.spec)
        except IncuboError:
            log.warning("bad bank question %s", item.key)
            raise IncuboError(
                "Une question de révision est mal écrite dans sa banque : prévenez votre formateur.",
                code="quiz-invalide",
            ) from None
        number = len(self.plan.done) + 1
        total = len(self.plan.done) + len(self.plan.todo)
        self.intro.value = f"<h2>Question {number} sur {total}</h2>"
        q = self.question
        head = w.HTML(f'<p lang="fr"><strong>{html.escape(q.question)}</strong></p>')
        self.choice: w.RadioButtons | None = None
        self.cases: list[w.Checkbox] = []
        self.entry: w.Text | None = None
        if q.type == "choix-unique":
            self.choice = w.RadioButtons(
                options=[(str(o.get("texte", "")), i) for i, o in enumerate(q.options)], value=None
            )
            self.choice.layout.width = "auto"
            self.choice.observe(self._echo, names="value")
            inputs: list[w.Widget] = [self.choice]
        elif q.type == "choix-multiple":
            self.cases = [
                w.Checkbox(value=False, description=str(o.get("texte", "")), indent=False)
                for o in q.options
            ]
            for case in self.cases:
                case.observe(self._echo, names="value")
            inputs = list(self.cases)
        else:
            self.entry = w.Text(
                description="Votre réponse",
                placeholder="un nombre, par exemple 3,5" if q.type == "nombre" else "votre réponse",
                continuous_update=False,
                style={"description_width": "initial"},
            )
            inputs = [self.entry]
        self.submit_button = w.Button(description="Valider", button_style="primary")
        self.submit_button.on_click(guarded(self.status)(lambda _b: self.submit()))
        self.holder.children = [head, *inputs, self.submit_button]

    def _echo(self, _change=None) -> None:
        if self.choice is not None:
            chosen = [str(self.choice.label)] if self.choice.label else []
        else:
            chosen = [c.description for c in self.cases if c.value]
        label = "Réponse choisie" if self.choice is not None else "Réponses cochées"
        self.echo.value = (
            f'<p role="status" aria-live="polite">{label} : {html.escape(", ".join(chosen))}.</p>'
            if chosen
            else ""
        )

    def submit(self) -> None:
        """« Valider »: judge, record the review (once), say why, offer the next question."""
        ev = self.question.evaluate(answer_of(self.choice, self.cases, self.entry))
        if ev.success is None:
            self.status.info(" ".join(ev.feedback))
            return
        review.record_answer(self.item, bool(ev.success), ev.response)
        for widget in self.holder.children:
            if hasattr(widget, "disabled"):
                widget.disabled = True
        verdict = "Bonne réponse." if ev.success else "Ce n'est pas la bonne réponse."
        details = " ".join(f for f in ev.feedback if f not in ("Bonne réponse !",))
        text = f"<p><strong>{html.escape(verdict)}</strong> {html.escape(details)}</p>"
        if self.question.explication:
            text += f"<p>Explication : {html.escape(self.question.explication)}</p>"
        self.feedback.value = f'<div role="status" aria-live="polite">{text}</div>'
        last = len(self.plan.todo) <= 1
        self.next_button.description = "Voir mon bilan" if last else "Question suivante"
        self.next_button.layout.display = None
