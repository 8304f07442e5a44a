"""Running an exercise's visible tests against the learner's namespace, and the solution policy.

The visible tests are exactly the graded test cell minus its hidden region,
so the instant verdict and nbgrader's autograde agree on them. The tests run
in a shallow copy of the learner's namespace: they see every variable, but
names they define do not leak into the notebook.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import re
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

NOT_ATTEMPTED, INCORRECT, ERROR, CORRECT = "non-tente", "incorrect", "erreur", "correct"
TIME_LIMIT = 10.0
_MARKERS = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$", re.IGNORECASE)


@dataclass
class Verdict:
    """One answer of `verifier`: a stable code and a French message."""

    code: str
    message: str
    detail: str = ""  # the friendly explanation of an error, or the missing names

    @property
    def success(self) -> bool:
        return self.code == CORRECT

    def text(self) -> str:
        return self.message + (f"\n{self.detail}" if self.detail else "")


class _TooLong(BaseException):
    """Raised by the timer; a BaseException so the learner's `except Exception` cannot swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt endless loops in the learner's code (main thread only, as in a kernel)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def _raise(signum, frame):
        raise _TooLong()

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def learner_namespace() -> dict[str, Any]:
    """The notebook's global namespace (IPython's user_ns), else `__main__`."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except Exception:
        pass
    import __main__

    return vars(__main__)


def decode_solution(encoded: str | None) -> str | None:
    """The answer cell's source from the sidecar, without nbgrader's markers (see `incubo.exercise_data`)."""
    from incubo.exercise_data import decode_solution as decode

    return decode(encoded)


def strip_markers(source: str) -> str:
    """A solution without nbgrader's BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in source.splitlines() if not _MARKERS.match(line)).strip("\n")


def required_names(exercise: dict[str, Any]) -> list[str]:
    """Names the learner's answer must define for the tests to mean anything."""
    if exercise.get("noms_requis") is not None and not exercise.get(
        "solution"
    ):  # a hub's file: no solution here
        return sorted(set(exercise["noms_requis"]))
    from incubo.released import answer_names

    return answer_names(
        exercise.get("tests_visibles") or "", decode_solution(exercise.get("solution"))
    )


def check(exercise: dict[str, Any], namespace: dict[str, Any] | None = None) -> Verdict:
    """Run the visible tests; exactly one of the four verdicts."""
    ns = learner_namespace() if namespace is None else namespace
    env = dict(ns)
    env.setdefault("__builtins__", builtins)
    try:
        code = compile(exercise.get("tests_visibles") or "", "<vérification>", "exec")
        with _time_limit(TIME_LIMIT):
            exec(code, env)
    except _TooLong:
        return Verdict(
            ERROR,
            f"Erreur dans votre code : il tourne depuis plus de {TIME_LIMIT:g} secondes (une boucle sans fin ?).",
        )
    except Exception as err:  # the learner's code broke or failed a check
        return classify(exercise, err, ns)
    return classify(exercise, None, ns)


def classify(
    exercise: dict[str, Any], err: BaseException | None, namespace: dict[str, Any]
) -> Verdict:
    """The verdict for the outcome `err` of running the tests (None: they passed).

    Also used when the learner runs the graded test cell itself, so both
    ways of checking give the same answer.
    """
    if err is None:
        return Verdict(CORRECT, "Bravo, c'est correct !")
    required = required_names(exercise)
    missing = [n for n in required if n not in namespace]
    # Nothing of the answer exists yet: not attempted. Only part of it: an attempt.
    if isinstance(err, NotImplementedError) or (missing and len(missing) == len(required)):
        return _not_attempted(missing)
    if isinstance(err, AssertionError):
        message = str(err).strip() or "Une vérification échoue, sans message : relisez l'énoncé."
        return Verdict(INCORRECT, f"Pas encore : {message}")
    from incubo.widgets import friendly_errors

    return Verdict(
        ERROR,
        f"Erreur dans votre code : {friendly_errors.headline(err)}.",
        friendly_errors.explain_body(err),
    )


def _not_attempted(missing: list[str]) -> Verdict:
    detail = ""
    if missing:
        names = ", ".join(f"« {n} »" for n in missing)
        detail = (
            f"{names} n'existe pas encore. "
            if len(missing) == 1
            else f"{names} n'existent pas encore. "
        )
    return Verdict(
        NOT_ATTEMPTED,
        "Pas encore de réponse : écrivez votre code à la place de « raise NotImplementedError() », "
        "exécutez la cellule (Maj + Entrée), puis vérifiez à nouveau.",
        detail.strip(),
    )


def solution_refusal(exercise: dict[str, Any], real_attempts: int) -> str | None:
    """Why the solution cannot be shown yet (French), or None when it can: the core's one rule."""
    from incubo.solution_policy import exercise_refusal

    return exercise_refusal(exercise, real_attempts)
