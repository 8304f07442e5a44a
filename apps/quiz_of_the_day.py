"""« Le quiz du jour »: one question a day from the parcours quiz banks, with a streak.

The question is the same for everyone on a given day (drawn from the banks
deterministically by date); it is shown with the learner widgets' own
`Quiz`, so answers are recorded as `answered` statements like any quiz. The
streak (days in a row with a right answer) is kept in the user's home.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ipywidgets as w

from incubo import course_layout, exercise_data, quiz_bank
from incubo.apps.common import course_dir, courses_dir, header, home, show
from incubo.errors import IncuboError
from incubo.french_time import FRENCH_DAYS as DAYS
from incubo.french_time import FRENCH_MONTHS as MONTHS

log = logging.getLogger(__name__)


def main() -> None:
    """Entry point of notebooks/apps/quiz-du-jour.ipynb."""
    show(QuizDuJour)


def french_date(day: date) -> str:
    return f"{DAYS[day.weekday()]} {day.day}{'er' if day.day == 1 else ''} {MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class BankQuestion:
    parcours: str
    module: str
    spec: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.parcours}/{self.module}/{self.spec.get('id')}"


def _load(path: Path) -> list[dict[str, Any]]:
    return [q for q in quiz_bank.read_bank(path) if q.get("id") and q.get("question")]


def collect_questions(courses: Path | None = None, cdir: Path | None = None) -> list[BankQuestion]:
    """Every question of `courses/*/quiz/*.yml`, else of the course dir's `source/*/incubo_quiz.yml`."""
    found: list[BankQuestion] = []
    for parcours, module, questions in quiz_bank.course_banks(courses):
        found += [
            BankQuestion(parcours, module, q)
            for q in questions
            if q.get("id") and q.get("question")
        ]
    if not found and cdir and cdir.is_dir():
        for sub in (course_layout.SOURCE, course_layout.RELEASE):
            for path in sorted((cdir / sub).glob(f"*/{quiz_bank.MODULE_COPY}")):
                data = exercise_data.read(path.parent)
                parcours = (data.parcours if data else "") or "hors-parcours"
                found += [BankQuestion(parcours, path.parent.name, q) for q in _load(path)]
            if found:
                break
    return found


def question_of_the_day(questions: list[BankQuestion], day: date) -> BankQuestion:
    """Deterministic by date: a fixed shuffle of all questions (by hash), walked one per day."""
    if not questions:
        raise IncuboError(
            "Aucune banque de questions n'est disponible : demandez à votre formateur de construire le cours (incubo build).",
            code="quiz-absent",
        )
    ordered = sorted(questions, key=lambda q: hashlib.sha256(q.key.encode()).hexdigest())
    return ordered[day.toordinal() % len(ordered)]


class Streak:
    """Days in a row with a right answer, stored in `~/.incubo/quiz-du-jour.json`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / ".incubo" / "quiz-du-jour.json"
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    def current(self, today: date) -> int:
        last = self.data.get("dernier_jour")
        if last in (today.isoformat(), (today - timedelta(days=1)).isoformat()):
            return int(self.data.get("serie", 0))
        return 0

    def done_today(self, today: date) -> bool:
        return self.data.get("dernier_jour") == today.isoformat()

    def success(self, today: date, question_id: str) -> int:
        if not self.done_today(today):
            self.data["serie"] = self.current(today) + 1
            self.data["dernier_jour"] = today.isoformat()
            self.data["meilleure"] = max(int(self.data.get("meilleure", 0)), self.data["serie"])
            self.data.setdefault("jours", {})[today.isoformat()] = question_id
            self._save()
        return int(self.data["serie"])

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.path)


def streak_html(days: int, best: int, answered_today: bool) -> str:
    if days == 0:
        text = "Répondez juste aujourd'hui pour commencer une série."
    else:
        text = f"Votre série : {days} jour{'s' if days > 1 else ''} de suite."
        if not answered_today:
            text += " Répondez juste aujourd'hui pour la prolonger."
    if best > days:
        text += f" Votre meilleure série : {best} jours."
    return f'<p role="status" aria-live="polite"><strong>{html.escape(text)}</strong></p>'


class QuizDuJour:
    def __init__(self, today: date | None = None) -> None:
        self.today = today or date.today()
        self.intro = w.HTML()
        self.holder = w.VBox()
        # Say back the chosen option: keyboard and screen-reader users hear what they are about to validate.
        self.choice = w.HTML()
        self.choice.add_class("incubo-choix")
        self.streak_view = w.HTML()
        self.streak_view.add_class("incubo-serie")
        self._load_question()
        self.widget = w.VBox(
            [header("Le quiz du jour"), self.intro, self.holder, self.choice, self.streak_view]
        )

    def _load_question(self) -> None:
        from incubo.widgets.quiz import Quiz

        self.question = question_of_the_day(
            collect_questions(courses_dir(), course_dir()), self.today
        )
        quiz = Quiz(
            dict(self.question.spec), parcours=self.question.parcours, module=self.question.module
        )
        if getattr(quiz, "q", None) is None:
            raise IncuboError(
                "La question du jour est mal écrite dans sa banque : prévenez votre formateur.",
                code="quiz-invalide",
            )
        quiz.submit_button.on_click(self._after_answer)  # runs after the quiz's own handler
        if getattr(quiz, "choice", None) is not None:
            quiz.choice.observe(self._on_choice, names="value")
        self.quiz = quiz
        self.intro.value = f"<p>Question du {html.escape(french_date(self.today))}. Une nouvelle question chaque jour.</p>"
        self.holder.children = [quiz]
        self.choice.value = ""
        self.streak = Streak()
        self._show_streak()

    def on_visit(self) -> None:
        """A pre-heated page may have been prepared yesterday: today's question, the streak as stored now."""
        if date.today() != self.today:
            self.today = date.today()
            self._load_question()
        else:
            self.streak = Streak()
            self._show_streak()

    def _show_streak(self) -> None:
        self.streak_view.value = streak_html(
            self.streak.current(self.today),
            int(self.streak.data.get("meilleure", 0)),
            self.streak.done_today(self.today),
        )

    def _on_choice(self, change) -> None:
        try:
            label = self.quiz.choice.label
            self.choice.value = (
                f'<p role="status" aria-live="polite">Réponse choisie : {html.escape(str(label))}.</p>'
                if label
                else ""
            )
        except Exception:
            log.exception("choice echo failed")

    def _after_answer(self, _button) -> None:
        try:
            if self.quiz.success:
                self.streak = Streak()  # another tab may have answered meanwhile
                self.streak.success(self.today, str(self.question.spec.get("id")))
            self._show_streak()
        except Exception:
            log.exception("streak update failed")
