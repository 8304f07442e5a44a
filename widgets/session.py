"""The learner's session in one notebook: the exercise sidecar, counters, and emitting statements.

Everything here swallows its own errors: a widget must never raise into a
learner's notebook. Under `INCUBO_GRADING=1` (the autograde sandbox) no
statement is emitted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incubo.exercise_data import FILE_NAME as SIDECAR
from incubo.progress import NO_PARCOURS  # noqa: F401 - one name for the core and the widgets
from incubo.quiz_bank import MODULE_COPY as QUIZ_BANK  # noqa: F401 - the quiz widget names the file

log = logging.getLogger(__name__)


def grading() -> bool:
    """True inside the grading sandbox: no events, no display needed."""
    from incubo.config import settings

    return settings().grading


def load_sidecar(folder: Path) -> dict[str, Any] | None:
    """`incubo_exercices.json` of a folder, or None (a stock nbgrader course has none)."""
    from incubo import exercise_data

    try:
        data = exercise_data.read_file(folder / SIDECAR)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("unreadable %s in %s", SIDECAR, folder, exc_info=True)
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Session:
    """What one notebook knows about itself."""

    folder: Path = field(default_factory=Path.cwd)
    stem: str | None = None
    sidecar: dict[str, Any] | None = None
    hints_shown: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)  # real attempts (not "non-tente")
    started: bool = False

    @property
    def parcours(self) -> str:
        return str((self.sidecar or {}).get("parcours") or NO_PARCOURS)

    @property
    def module(self) -> str | None:
        module = (self.sidecar or {}).get("module")
        return str(module) if module else None

    def exercises(self) -> dict[str, dict[str, Any]]:
        return dict((self.sidecar or {}).get("exercices") or {})

    def exercise(self, ex_id: str) -> dict[str, Any] | None:
        if self.sidecar is None:  # demarrer() not called, or the file appeared later
            self.sidecar = load_sidecar(self.folder)
        return self.exercises().get(ex_id)

    def real_attempts(self, ex_id: str) -> int:
        """Real attempts at an exercise, also from earlier sessions (kernel restarts)."""
        if ex_id not in self.attempts:
            self.attempts[ex_id] = sum(
                1
                for s in own_statements()
                if _verb(s) == "attempted"
                and _object_tail(s) == f"exercice/{ex_id}"
                and _ext(s, "verdict") not in (None, "non-tente")
            )
        return self.attempts[ex_id]


def course_solution(module: str | None, ex_id: str) -> str | None:
    """The encoded solution from the course directory's release, outside the learner's workspace.

    A learner's workspace holds no solution (incubo.workspace); `incubo lab`
    tells the kernel where the course is, and the parcours' policy decides.
    """
    from incubo.config import settings

    root = settings().course_dir
    if not root or not module:
        return None
    data = load_sidecar(Path(root) / "release" / module) or {}
    entry = (data.get("exercices") or {}).get(ex_id) or {}
    return entry.get("solution")


_session = Session()
_session_loaded = False


def current() -> Session:
    """This notebook's session; read the sidecar here if `demarrer()` was not called."""
    global _session_loaded
    if not _session_loaded:
        _session_loaded = True
        if _session.sidecar is None:
            _session.folder = Path.cwd()
            _session.sidecar = load_sidecar(_session.folder)
    return _session


def reset(folder: Path | None = None) -> Session:
    """A fresh session (demarrer, and tests)."""
    global _session, _session_loaded
    _session_loaded = True
    _session = Session(folder=folder or Path.cwd())
    _session.sidecar = load_sidecar(_session.folder)
    return _session


def emit(
    verb: str,
    *,
    kind: str | None = None,
    ident: str | None = None,
    name_fr: str | None = None,
    result: dict[str, Any] | None = None,
    extensions: dict[str, Any] | None = None,
    parcours: str | None = None,
    module: str | None = None,
) -> dict[str, Any] | None:
    """Build and record one statement; None under grading or on any failure."""
    if grading():
        return None
    try:
        from incubo import events, xapi

        s = current()
        stmt = xapi.statement(
            verb,
            parcours=parcours or s.parcours,
            module=module if module is not None else s.module,
            kind=kind,
            ident=ident,
            name_fr=name_fr,
            result=result,
            extensions=extensions,
        )
        events.record(stmt)
        return stmt
    except Exception:
        log.warning("could not emit a %s statement", verb, exc_info=True)
        return None


def own_statements() -> list[dict[str, Any]]:
    """The learner's own statements (the local journal)."""
    try:
        from incubo import events

        return events.read_jsonl()
    except Exception:
        log.debug("journal unreadable", exc_info=True)
        return []


def _verb(stmt: dict[str, Any]) -> str:
    from incubo import xapi

    return xapi.verb_of(stmt)


def _object_tail(stmt: dict[str, Any]) -> str:
    from incubo import xapi

    return xapi.object_tail(stmt)


def _ext(stmt: dict[str, Any], name: str) -> Any:
    from incubo import xapi

    return xapi.extension_of(stmt, name)


# Exposed for the progress widget.
verb_of = _verb
object_tail = _object_tail
extension_of = _ext


def ipython_shell(shell: Any = None) -> Any:
    """`shell`, else the running IPython's, else None (outside IPython)."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    return shell
