"""The graded test cell as an instant check.

In a released notebook the learner may simply run the exercise's test cell
(nbgrader's, locked) rather than call `verifier()`. IPython hooks recognise
that cell by its source (the visible tests of the sidecar), give the same
French verdict as `verifier()` above the traceback, say « Bravo » when it
passes, and record the same statements, so the attempt counts for the
solution policy too.
"""

from __future__ import annotations

import logging
from typing import Any

from incubo.widgets import session

log = logging.getLogger(__name__)

_state: dict[str, Any] = {"cell": "", "verdict": None, "shell": None}


def _lines(source: str) -> tuple[str, ...]:
    return tuple(
        line.strip()
        for line in source.splitlines()
        if line.strip() and not line.strip().startswith("#")
    )


def exercise_of(source: str) -> str | None:
    """The exercise whose visible tests are exactly this cell's code, if any."""
    if "assert" not in source:
        return None
    lines = _lines(source)
    for ex_id, ex in session.current().exercises().items():
        tests = _lines(ex.get("tests_visibles") or "")
        if tests and tests == lines:
            return ex_id
    return None


def verdict_for_error(err: BaseException):
    """(exercise, verdict) when the current cell is a test cell that raised `err` (else None)."""
    ex_id = exercise_of(_state["cell"])
    if ex_id is None:
        return None
    from incubo.widgets import verification

    exercise = session.current().exercise(ex_id) or {}
    verdict = verification.classify(exercise, err, verification.learner_namespace())
    _state["verdict"] = (ex_id, verdict)
    return ex_id, verdict


def current_cell() -> str:
    """The source of the cell being run."""
    return _state["cell"]


_failed: set[str] = set()


def remember_failure(ex_id: str) -> None:
    """A failed check of `ex_id` is on screen (under its display id)."""
    _failed.add(ex_id)


def replace_failure(ex_id: str, text: str) -> None:
    """A right answer: every failure of `ex_id` still on screen becomes this message."""
    if ex_id not in _failed:
        return
    try:
        from IPython.display import update_display

        from incubo.widgets import ui

        update_display(ui.Message("correct", text), display_id=ui.verdict_display_id(ex_id))
        _failed.discard(ex_id)
    except Exception:
        log.debug("could not replace the failure of %s", ex_id, exc_info=True)


def _pre_run_cell(info: Any) -> None:
    _state["cell"] = getattr(info, "raw_cell", "") or ""
    _state["verdict"] = None


def _post_run_cell(result: Any) -> None:
    try:
        source = _state["cell"]
        ex_id = exercise_of(source)
        if ex_id is None:
            return
        from incubo.widgets import exercises, ui, verification

        pending = _state["verdict"]
        if pending and pending[0] == ex_id:
            verdict = pending[1]
        elif (
            getattr(result, "error_in_exec", None) is None
            and getattr(result, "error_before_exec", None) is None
        ):
            verdict = verification.Verdict(verification.CORRECT, "Bravo, c'est correct !")
            from IPython.display import display

            display(ui.Message("correct", verdict.text()))
        else:
            err = result.error_in_exec or result.error_before_exec
            verdict = verification.classify(
                session.current().exercise(ex_id) or {}, err, verification.learner_namespace()
            )
        exercises.record_verdict(ex_id, verdict)
    except Exception:
        log.debug("post_run_cell hook failed", exc_info=True)
    finally:
        _state["verdict"] = None


def install(shell: Any = None) -> bool:
    """Register the hooks once per IPython session."""
    try:
        shell = session.ipython_shell(shell)
        if shell is None:
            return False
        for name, hook in (("pre_run_cell", _pre_run_cell), ("post_run_cell", _post_run_cell)):
            if hook not in shell.events.callbacks.get(name, []):
                shell.events.register(name, hook)
        _state["shell"] = shell
        return True
    except Exception:
        log.debug("could not install the cell hooks", exc_info=True)
        return False
