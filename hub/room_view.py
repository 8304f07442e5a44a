"""What the room's dashboard shows, computed from the LRS's statements (no journal, no gradebook).

Kept apart from the web service so the benchmark can time one refresh. The
reading of one statement (who, which exercise, which verdict) and the
« stuck » rule are the room data's, shared with the single-machine dashboard.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incubo import room_data as data
from incubo import xapi
from incubo.french_time import french_clock

log = logging.getLogger(__name__)

#: How many of the latest checks the page lists.
FEED_SIZE = 12
VERDICT_FR = {
    "correct": "réussi",
    "incorrect": "pas encore",
    "erreur": "erreur dans le code",
    "non-tente": "pas encore de réponse",
}


def course_modules(course_dir: Path | None) -> dict[str, dict[str, Any]]:
    """Module id → {titre, exercices}: from the exercise files of the course's release (else source)."""
    out: dict[str, dict[str, Any]] = {}
    if not course_dir:
        return out
    from incubo import course_layout, exercise_data

    for stage in (course_layout.RELEASE, course_layout.SOURCE):
        for found in exercise_data.in_course(course_dir, (stage,)):
            if found.module in out:
                continue
            # the module's own title when the build wrote one; else its id (notebook titles are lessons')
            out[found.module] = {
                "titre": str(found.extra.get("titre") or found.module),
                "exercices": list(found.exercises),
            }
    return out


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 60:
        return f"il y a {s} s"
    if s < 3600:
        return f"il y a {s // 60} min"
    return f"il y a {s // 3600} h {s % 3600 // 60:02d}"


def _action(stmt: dict[str, Any]) -> str:
    """« a vérifié ex-1 : pas encore » — one statement in French."""
    verb = xapi.verb_of(stmt)
    _p, module, ex = xapi.located(stmt)
    display = ((stmt.get("verb") or {}).get("display") or {}).get("fr-FR") or verb
    what = ex or module or "le parcours"
    text = f"{display} {what}"
    if verb == "attempted":
        text += f" : {VERDICT_FR.get(xapi.verdict_of(stmt) or '', xapi.verdict_of(stmt) or '?')}"
    return text


def room_view(
    statements: list[dict[str, Any]],
    modules: dict[str, dict[str, Any]],
    *,
    now: datetime | None = None,
    window_minutes: int = data.DEFAULT_WINDOW_MINUTES,
) -> dict[str, Any]:
    """The dashboard's whole content as plain data (the page renders it)."""
    now = now or datetime.now(UTC)
    room = _read(statements, modules)
    # a failed check is recorded twice (`attempted` with its verdict, then `failed`): count it once
    checks_only = [s for s in statements if xapi.verb_of(s) != "failed"]
    stuck = data.stuck_learners(checks_only, window_minutes=window_minutes, now=now)
    return {
        "mis_a_jour": french_clock(now, seconds=True),
        "personnes": _people(room, {s.learner for s in stuck}, now),
        "bloques": _stuck_rows(stuck, room.modules, now),
        "modules": _module_summary(room),
        "verifications": _feed(room.checks),
        "nombre_declarations": len(statements),
    }


@dataclass
class _Room:
    """The statements read once: modules met, each learner's last action and passed exercises."""

    modules: dict[str, dict[str, Any]]  # module id → {titre, exercices}, grown by what the LRS saw
    learners: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # who → last, last_stmt, checks
    passed: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    checks: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)

    def done(self, who: str, module: str) -> int:
        """How many of `module`'s exercises `who` passed."""
        return sum(1 for m, _e in self.passed[who] if m == module)


def _read(statements: list[dict[str, Any]], modules: dict[str, dict[str, Any]]) -> _Room:
    room = _Room({m: dict(v) for m, v in modules.items()})
    mods = room.modules
    for s in statements:
        who = xapi.learner_of(s)
        t = xapi.timestamp_of(s)
        verb = xapi.verb_of(s)
        _p, module, ex = xapi.located(s)
        if module and module not in mods:
            mods[module] = {"titre": module, "exercices": []}
        if module and ex and ex not in mods[module]["exercices"]:
            mods[module]["exercices"] = [*mods[module]["exercices"], ex]
        row = room.learners.setdefault(who, {"last": None, "last_stmt": None, "checks": 0})
        if t is not None and (row["last"] is None or t > row["last"]):
            row["last"], row["last_stmt"] = t, s
        if verb == "passed" and module and ex:
            room.passed[who].add((module, ex))
        if verb == "attempted":
            row["checks"] += 1
        if verb == "attempted" and t is not None:
            room.checks.append((t, s))
    return room


def _people(room: _Room, stuck_names: set[str], now: datetime) -> list[dict[str, Any]]:
    """One row a learner: stuck or not, last action, checks, exercises passed in each module."""
    people = []
    for who in sorted(room.learners, key=str.lower):
        row = room.learners[who]
        per_module = [
            {"module": m, "reussis": room.done(who, m), "total": len(room.modules[m]["exercices"])}
            for m in sorted(room.modules)
        ]
        last = row["last"]
        people.append({
            "nom": who,
            "bloque": who in stuck_names,
            "derniere_action": _action(row["last_stmt"]) if row["last_stmt"] else "",
            "il_y_a": _ago((now - last).total_seconds()) if last else "",
            "verifications": row["checks"],
            "modules": per_module,
        })  # fmt: skip
    return people


def _module_summary(room: _Room) -> list[dict[str, Any]]:
    """One row a module: exercises passed over possible, learners who finished it."""
    summary = []
    for m in sorted(room.modules):
        total = len(room.modules[m]["exercices"])
        done = sum(room.done(who, m) for who in room.learners)
        complete = sum(1 for who in room.learners if total and room.done(who, m) >= total)
        summary.append({"module": m, "titre": room.modules[m]["titre"], "exercices": total, "reussites": done,
                        "possibles": total * len(room.learners), "termine_par": complete})  # fmt: skip
    return summary


def _stuck_rows(stuck, mods: dict[str, dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "nom": s.learner,
            "module": mods.get(s.module, {}).get("titre", s.module),
            "exercice": s.exercise,
            "echecs": s.failures,
            "indices": s.hints,
            "depuis": _ago((now - s.since).total_seconds()).replace("il y a ", ""),
        }
        for s in stuck
    ]


def _feed(checks: list[tuple[datetime, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The latest checks, newest first."""
    latest = sorted(checks, key=lambda x: x[0], reverse=True)[:FEED_SIZE]
    return [{"nom": xapi.learner_of(s), "action": _action(s), "heure": french_clock(t, seconds=True), "id": s.get("id")}
            for t, s in latest]  # fmt: skip
