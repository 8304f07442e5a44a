"""A few séances for the demo cohort: their definitions and what the room did during each.

Each séance is written as the hub would keep it (`<course_dir>/seances/<CODE>.json`,
`incubo.seance.Seance.to_dict()`), and its participants' statements go to
`evenements/seances-demo.jsonl`, stamped as the LRS gate stamps them: the séance's
registration, the cohort's moved to the `registration-cohorte` extension. Poll
answers are `answered` statements on `Poll.activity(seance)` whose `result.response`
is what the learner's panel writes (option indexes joined by « [,] », a number, a word).

A separate random stream (`<seed>:seances`) keeps the cohort's own statements
byte for byte what they were before séances existed.
"""

from __future__ import annotations

import json
import logging
import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from incubo import xapi
from incubo.reports.course_shape import CourseShape

log = logging.getLogger(__name__)

SEANCES_DIR = "seances"
EVENTS_FILE = "seances-demo.jsonl"
#: A room holds about this many learners.
ROOM = 24


@dataclass(frozen=True)
class Plan:
    """One demo séance: which module, which cohort, when, how long, how many, which polls."""

    module_index: int
    cohort_index: int
    day: int  # days after the cohort's start
    hour: int  # UTC
    minutes: int  # duration
    step_by_step: bool
    room: int  # at most this many participants
    polls: tuple[str, ...]


PLANS = (
    Plan(0, 0, 1, 8, 150, True, ROOM, ("unique", "nombre", "mot")),
    Plan(1, 1, 8, 12, 120, False, ROOM, ("multiple", "unique")),
    Plan(0, 1, 15, 8, 90, False, 4, ("unique",)),  # a small catch-up group: everything under k
)

#: Questions of the demo polls (French, about the first modules of python-pas-a-pas).
QUESTIONS = {
    "unique": dict(
        kind="choix-unique",
        question="Que vaut 7 // 2 en Python ?",
        options=["3", "3,5", "4"],
        correct=[0],
    ),
    "nombre": dict(
        kind="nombre", question="Combien vaut 2 ** 5 ?", options=[], correct=32.0, tolerance=0.0
    ),
    "mot": dict(
        kind="mot",
        question="En un mot : comment appelle-t-on un nom qui désigne une valeur ?",
        options=[],
        correct="variable",
    ),
    "multiple": dict(
        kind="choix-multiple",
        question="Lesquels sont des types de données de Python ?",
        options=["int", "str", "cellule", "list"],
        correct=[0, 1, 3],
    ),
}
_WRONG_WORDS = ["valeur", "objet", "étiquette", "constante", "nom"]


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _ts(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _code(rng: random.Random, taken: set[str]) -> str:
    from incubo.seance import CODE_ALPHABET, CODE_LENGTH

    while True:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            taken.add(code)
            return code


def _answer(kind: str, spec: dict, rng: random.Random, ability: float) -> str:
    right = rng.random() < _sigmoid(0.6 + ability)
    if kind == "choix-unique":
        wrong = [i for i in range(len(spec["options"])) if i not in spec["correct"]]
        return str(spec["correct"][0] if right else rng.choice(wrong))
    if kind == "choix-multiple":
        picked = set(spec["correct"])
        if not right:
            picked ^= {rng.randrange(len(spec["options"]))}
        return "[,]".join(str(i) for i in sorted(picked or {0}))
    if kind == "nombre":
        return "32" if right else rng.choice(["10", "25", "64", "16"])
    return (
        rng.choice(["variable", "Variable", "une variable"]) if right else rng.choice(_WRONG_WORDS)
    )


class _Room:
    """Writes one séance's statements (same builder as the cohort: `incubo.xapi.statement`)."""

    def __init__(self, fh, rng: random.Random, seance, end: datetime) -> None:
        self.fh, self.rng, self.seance, self.end, self.count = fh, rng, seance, end, 0

    def emit(self, learner, t: datetime, verb: str, **kw) -> bool:
        if t >= self.end:
            return False
        extensions = dict(kw.pop("extensions", None) or {})
        extensions["registration-cohorte"] = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"incubo:cohorte:{learner.cohorte}")
        )
        stmt = xapi.statement(
            verb,
            parcours=self.seance.parcours,
            actor_name=learner.identifiant,
            timestamp=_ts(t),
            statement_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            registration=self.seance.registration,
            homepage=xapi.DEFAULT_HOMEPAGE,
            extensions=extensions,
            **kw,
        )
        self.fh.write(json.dumps(stmt, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.count += 1
        return True


def _participate(
    room: _Room, learner, module, unlocks: list[datetime], start: datetime
) -> datetime:
    """One learner in the room: arrives, opens each step once unlocked, tries its exercises.

    Returns when they left (the séance's end for those who stayed).
    """
    rng, seance = room.rng, room.seance
    t = start + timedelta(minutes=rng.randint(0, 8))
    for i, step in enumerate(seance.steps):
        if i and rng.random() > _sigmoid(2.6 + learner.engagement):
            return t + timedelta(minutes=rng.randint(0, 15))  # stuck, or left early
        t = max(t, unlocks[i]) + timedelta(minutes=rng.randint(1, 4), seconds=rng.randint(0, 59))
        if not room.emit(learner, t, "experienced", module=seance.module, kind="lecon", ident=step):
            return room.end
        for ex in [e for e in module.exercises if e.notebook == step]:
            passed = False
            for attempt in range(1, 4):
                t += timedelta(seconds=rng.randint(60, 300))
                passed = rng.random() < _sigmoid(learner.ability - 1.2 + 0.5 * attempt)
                ok = room.emit(
                    learner,
                    t,
                    "attempted",
                    module=seance.module,
                    kind="exercice",
                    ident=ex.id,
                    result={"success": passed},
                    extensions={
                        "verdict": "correct" if passed else rng.choice(["incorrect", "erreur"]),
                        "attempt": attempt,
                    },
                )
                if not ok or passed:
                    break
            if passed:
                room.emit(
                    learner,
                    t + timedelta(seconds=2),
                    "passed",
                    module=seance.module,
                    kind="exercice",
                    ident=ex.id,
                    result={"success": True},
                    extensions={"attempt": attempt},
                )
        t += timedelta(minutes=rng.randint(6, 16))
    return t if rng.random() < 0.4 else room.end  # some leave once done


def _answer_polls(
    room: _Room, learner, specs: list[tuple[object, dict, datetime]], left: datetime
) -> None:
    rng = room.rng
    for poll, spec, launched in specs:
        if launched >= left or rng.random() > 0.9:
            continue  # gone, or did not answer
        t = launched + timedelta(seconds=rng.randint(8, 90))
        ident = f"seance-{room.seance.code}-{poll.id}"
        for _ in range(2 if rng.random() < 0.1 else 1):  # some change their mind: the last counts
            room.emit(
                learner,
                t,
                "answered",
                module=room.seance.module,
                kind="quiz",
                ident=ident,
                result={"response": _answer(poll.kind, spec, rng, learner.ability)},
            )
            t += timedelta(seconds=rng.randint(20, 60))


def generate(course_dir: Path, shape: CourseShape, people: list, cohorts, seed: int) -> dict:
    """Write the demo séances and their statements; returns {codes, statements, file}."""
    from incubo.reports import titles
    from incubo.seance import Poll, Seance

    rng = random.Random(f"{seed}:seances")
    folder = Path(course_dir) / SEANCES_DIR
    folder.mkdir(exist_ok=True)
    parcours = shape.parcours[0]
    modules = [m for m in shape.modules if m.parcours == parcours]
    events = Path(course_dir) / "evenements" / EVENTS_FILE
    tmp = events.with_suffix(".jsonl.tmp")
    codes: list[str] = []
    taken: set[str] = set()
    count = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for plan in PLANS:
            module = modules[min(plan.module_index, len(modules) - 1)]
            cohort, cohort_start = cohorts[plan.cohort_index % len(cohorts)]
            start = cohort_start + timedelta(days=plan.day, hours=plan.hour, minutes=30)
            end = start + timedelta(minutes=plan.minutes)
            steps = sorted(set(module.lessons) | set(module.exercise_notebooks))
            polls, specs = [], []
            for n, name in enumerate(plan.polls, start=1):
                spec = QUESTIONS[name]
                launched = start + timedelta(minutes=plan.minutes * n / (len(plan.polls) + 1))
                poll = Poll(
                    id=f"q{n}",
                    kind=spec["kind"],
                    question=spec["question"],
                    options=list(spec["options"]),
                    correct=spec["correct"],
                    tolerance=float(spec.get("tolerance", 0.0)),
                    launched_at=_ts(launched),
                    revealed=True,
                    closed_at=_ts(launched + timedelta(minutes=5)),
                )
                polls.append(poll)
                specs.append((poll, spec, launched))
            seance = Seance(
                code=_code(rng, taken),
                registration=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                module=module.id,
                parcours=parcours,
                title=titles.module_label(module.id),
                opened_at=_ts(start),
                closed_at=_ts(end),
                steps=steps,
                step_by_step=plan.step_by_step and len(steps) > 1,
                step=max(0, len(steps) - 1),
                polls=polls,
            )
            span = timedelta(minutes=plan.minutes * 0.7)
            unlocks = [
                start + (span * i / len(steps) if seance.step_by_step else timedelta(0))
                for i in range(len(steps))
            ]
            room = _Room(fh, rng, seance, end)
            present = [p for p in people if p.cohorte == cohort]
            present = rng.sample(present, min(plan.room, max(1, round(0.8 * len(present)))))
            for learner in present:
                left = _participate(room, learner, module, unlocks, start)
                _answer_polls(room, learner, specs, left)
            (folder / f"{seance.code}.json").write_text(
                json.dumps(seance.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8"
            )
            codes.append(seance.code)
            count += room.count
    tmp.replace(events)
    return {"codes": codes, "statements": count, "file": f"evenements/{EVENTS_FILE}"}


def remove(course_dir: Path, codes: list[str]) -> None:
    """Forget the séances of a previous demo (their definitions; the events file is rewritten)."""
    for code in codes:
        (Path(course_dir) / SEANCES_DIR / f"{code}.json").unlink(missing_ok=True)
