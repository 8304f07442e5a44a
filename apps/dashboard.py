"""« Tableau de bord de la salle » for trainers: room progress and who looks stuck right now.

It refreshes by itself (a daemon thread in the kernel updates the widgets
every `REFRESH_SECONDS`), and on demand with a button. Reading is
read-only: the gradebook is never written to.
"""

from __future__ import annotations

import html
import logging
import threading
from datetime import UTC, datetime

import ipywidgets as w

from incubo import room_data as data
from incubo.apps.common import (
    Status,
    course_dir,
    courses_dir,
    guarded,
    header,
    section,
    show,
    table_html,
)
from incubo.config import settings
from incubo.french_time import french_clock

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30
WINDOWS = [
    ("5 dernières minutes", 5),
    ("15 dernières minutes", 15),
    ("30 dernières minutes", 30),
    ("dernière heure", 60),
]


def main() -> None:
    """Entry point of notebooks/apps/tableau-de-bord.ipynb."""
    show(Dashboard)


def _pct(n: int, total: int) -> str:
    return f"{n} / {total}" + (f" ({round(100 * n / total)} %)" if total else "")


class Dashboard:
    def __init__(self, *, refresh_seconds: float | None = None) -> None:
        if refresh_seconds is None:
            try:
                refresh_seconds = max(1.0, settings().dashboard_refresh)
            except ValueError:
                refresh_seconds = REFRESH_SECONDS
        self.status = Status()
        guard = guarded(self.status)
        self.window = w.Dropdown(
            description="Période observée",
            options=WINDOWS,
            value=data.DEFAULT_WINDOW_MINUTES,
            style={"description_width": "initial"},
        )
        self.window.observe(guard(lambda _c: self.refresh()), names="value")
        self.button = w.Button(description="Rafraîchir maintenant", button_style="primary")
        self.button.on_click(guard(lambda _b: self.refresh()))
        self.updated = w.HTML()
        self.stuck = w.HTML()
        self.modules = w.HTML()
        self.exercises = w.HTML()
        self.widget = w.VBox(
            [
                header(
                    "Tableau de bord de la salle",
                    "L'avancement du groupe, module par module et exercice par exercice, et les personnes qui semblent bloquées. "
                    f"La page se met à jour toute seule toutes les {refresh_seconds:g} secondes.",
                ),
                w.HBox([self.window, self.button]),
                self.updated,
                self.status.widget,
                section("Qui semble bloqué en ce moment"),
                self.stuck,
                section("Avancement par module"),
                self.modules,
                section("Avancement par exercice"),
                self.exercises,
            ]
        )
        self._guarded_refresh = guard(self.refresh)
        self._guarded_refresh()
        self._period = refresh_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            self._guarded_refresh()

    def on_visit(self) -> None:
        """Someone opened the page: fresh data now, then every few seconds (never in an idle pooled kernel)."""
        self._guarded_refresh()
        self.start_refreshing()

    def start_refreshing(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, args=(self._period,), daemon=True, name="incubo-dashboard"
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def refresh(self) -> None:
        cdir = course_dir()
        book = data.read_gradebook(data.gradebook_url(cdir))
        statements = data.read_statements(data.journals(cdir))
        titles = data.module_titles(courses_dir())
        rows, learners = data.room_progress(book, statements, data.sidecar_exercises(cdir))
        stuck = data.stuck_learners(statements, window_minutes=int(self.window.value))
        now = french_clock(datetime.now(UTC), seconds=True)
        self.updated.value = f"<p>Mis à jour à {now} · {len(learners)} personne(s) dans la salle · {len(statements)} événement(s) lus.</p>"
        self.stuck.value = self._stuck_html(stuck, titles)
        self.modules.value = self._modules_html(rows, learners, titles)
        self.exercises.value = self._exercises_html(rows, learners, titles)
        if not learners and not rows:
            self.status.info(
                "Aucune donnée pour l'instant : ni carnet de notes (gradebook.db), ni journal d'événements "
                "(le dossier evenements du cours, ou le journal ~/.incubo/evenements.jsonl de cette machine)."
            )
        else:
            self.status.clear()

    def _stuck_html(self, stuck: list[data.Stuck], titles: dict[str, str]) -> str:
        if not stuck:
            return "<p>Personne ne semble bloqué sur la période observée.</p>"
        now = datetime.now(UTC)
        rows = [
            [
                s.learner,
                s.exercise,
                titles.get(s.module, s.module),
                str(s.failures),
                str(s.hints),
                f"{max(0, round((now - s.since).total_seconds() / 60))} min",
                french_clock(s.last),
            ]
            for s in stuck
        ]
        table = table_html(
            rows,
            [
                "Personne",
                "Exercice",
                "Module",
                "Vérifications échouées",
                "Indices demandés",
                "Depuis",
                "Dernière action",
            ],
            f"{len(stuck)} personne(s) avec au moins {data.STUCK_THRESHOLD} échecs ou indices sur un même exercice, sans réussite ensuite",
            numeric={3, 4},
        )
        names = ", ".join(sorted({html.escape(s.learner) for s in stuck}))
        return f'<div class="incubo-bloque"><p><strong>À aller voir :</strong> {names}</p>{table}</div>'

    def _modules_html(
        self, rows: list[data.ExerciseRow], learners: set[str], titles: dict[str, str]
    ) -> str:
        if not rows:
            return "<p>Aucun exercice connu pour l'instant.</p>"
        by_module: dict[str, list[data.ExerciseRow]] = {}
        for r in rows:
            by_module.setdefault(r.module, []).append(r)
        total = len(learners)
        table_rows = []
        for module, exs in by_module.items():
            passed = sum(r.passed for r in exs)
            graded = [r.mean_ratio for r in exs if r.mean_ratio is not None]
            table_rows.append(
                [
                    titles.get(module, module),
                    str(len(exs)),
                    _pct(passed, total * len(exs)),
                    f"{round(100 * sum(graded) / len(graded))} %" if graded else "pas encore noté",
                ]
            )
        return table_html(
            table_rows,
            [
                "Module",
                "Exercices",
                "Exercices réussis (toutes personnes)",
                "Note moyenne (carnet de notes)",
            ],
            "Avancement de la salle par module",
            numeric={1},
        )

    def _exercises_html(
        self, rows: list[data.ExerciseRow], learners: set[str], titles: dict[str, str]
    ) -> str:
        if not rows:
            return ""
        total = len(learners)
        table_rows = [
            [
                titles.get(r.module, r.module),
                r.exercise,
                _pct(r.passed, total),
                f"{r.graded_full} / {r.graded}" if r.graded else "pas encore noté",
                f"{round(100 * r.mean_ratio)} %" if r.mean_ratio is not None else "–",
            ]
            for r in rows
        ]
        return table_html(
            table_rows,
            [
                "Module",
                "Exercice",
                "Personnes qui l'ont réussi",
                "Notes maximales / copies notées",
                "Note moyenne",
            ],
            "Avancement de la salle par exercice",
        )
