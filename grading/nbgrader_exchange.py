"""nbgrader Exchange plugins for the trainer's side of the private exchange (`ExchangeFactory`).

With these, the formgrader's buttons and nbgrader's own commands
(`release_assignment`, `collect`, `release_feedback`) use the private
layout of `incubo.exchange` instead of nbgrader's shared folders (whose
`ensure_root` would also make the exchange root writable by everyone).
Configured for the course's formgrader service by `incubo.hub.formgrader`:

    c.ExchangeFactory.release_assignment = "incubo.grading.nbgrader_exchange.ReleaseAssignment"
    c.ExchangeFactory.collect = "incubo.grading.nbgrader_exchange.Collect"
    c.ExchangeFactory.release_feedback = "incubo.grading.nbgrader_exchange.ReleaseFeedback"
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.exchange import ExchangeError
from nbgrader.exchange.default import (
    ExchangeCollect,
    ExchangeReleaseAssignment,
    ExchangeReleaseFeedback,
)

from incubo.errors import IncuboError
from incubo.exchange import ExchangeLayout


class _Private:
    def _layout(self) -> ExchangeLayout:
        return ExchangeLayout(Path(self.root), self.coursedir.course_id)

    def _run(self, action):
        self.set_timestamp()
        try:
            return action(Path(self.coursedir.root), self._layout(), self.coursedir.assignment_id)
        except IncuboError as exc:
            self.log.error(str(exc))
            raise ExchangeError(str(exc)) from None


class ReleaseAssignment(_Private, ExchangeReleaseAssignment):
    def start(self):
        from incubo.exchange import release_module

        dest = self._run(
            lambda course, lay, module: release_module(course, lay, module, force=self.force)
        )
        self.log.info(
            "Released as: %s %s (%s)", self.coursedir.course_id, self.coursedir.assignment_id, dest
        )


class Collect(_Private, ExchangeCollect):
    def start(self):
        from incubo.grading.exchange_ops import collect_module

        summary = self._run(collect_module)
        for line in summary.skipped:
            self.log.warning(line)
        self.log.info(
            "Collected %d submission(s) of %s", len(summary.collected), self.coursedir.assignment_id
        )


class ReleaseFeedback(_Private, ExchangeReleaseFeedback):
    def start(self):
        from incubo.grading.exchange_ops import release_feedback

        student = self.coursedir.student_id if self.coursedir.student_id not in ("", "*") else None
        done = self._run(
            lambda course, lay, module: release_feedback(course, lay, module, student=student)
        )
        self.log.info("Feedback released to %d learner(s)", len(done))
