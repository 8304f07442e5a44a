"""« Ma révision du jour »: each agent's daily questions, scheduled by FSRS from their own statements.

One FSRS card per bank question. The schedule is never stored: it is rebuilt
each time by replaying the agent's own `answered` statements (the LRS on a
hub, the local journal otherwise) through FSRS in time order, so it follows
the agent between machines and survives a lost home. A right answer is
`Rating.Good`, a wrong one `Rating.Again`; only the first answer of a day to
a question counts (the quiz lets one try again at once: that is not a
review). Days are the room's (`INCUBO_FUSEAU_HORAIRE`, Europe/Paris by
default, `incubo.french_time`), not the server's or UTC: an answer at
00:30 in Paris belongs to that Paris day. The scheduler works in days (no learning steps) and without fuzz,
so the same statements always give the same schedule.

The Voila app (`incubo.apps.review`) and the hub page (`incubo.hub.revision_page`)
both show what `plan()` returns and judge answers with `incubo.quiz_check`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, Scheduler

from incubo import events, exercise_data, french_time, lrs, quiz_bank, xapi
from incubo.config import DEFAULT_REVISION_MAX, settings
from incubo.french_time import FRENCH_DAYS, FRENCH_MONTHS, french_date  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

#: Questions a day when `INCUBO_REVISION_MAX` is not set.
DEFAULT_MAX = DEFAULT_REVISION_MAX


Key = tuple[str, str, str]  # (parcours, module, question id)


def scheduler() -> Scheduler:
    """FSRS-6 with its default weights, whole days (no learning steps) and no random fuzz."""
    return Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


@dataclass(frozen=True)
class BankQuestion:
    """One question of a module's bank, where it comes from."""

    parcours: str
    module: str
    spec: dict[str, Any] = field(hash=False, compare=False)

    @property
    def id(self) -> str:
        return str(self.spec.get("id"))

    @property
    def key(self) -> Key:
        return (self.parcours, self.module, self.id)


# --- statements ----------------------------------------------------------------------------------


def quiz_key(stmt: dict[str, Any]) -> Key | None:
    """(parcours, module, question) of a statement about a quiz question, whatever the activity base."""
    found = xapi.iri_segments(stmt, ("parcours", "module", "quiz"))
    if len(found) < 3:
        return None
    return (found["parcours"], found["module"], found["quiz"])


def local_day(moment: datetime, zone: tzinfo | None = None) -> date:
    """The room's day of `moment` (naive means UTC): `zone`, else INCUBO_FUSEAU_HORAIRE."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone or french_time.zone()).date()


def _exercise_links(questions: Iterable[BankQuestion]) -> dict[tuple[str, str, str], list[Key]]:
    """(parcours, module, exercise) -> the questions whose bank names that exercise (`exercice:`)."""
    links: dict[tuple[str, str, str], list[Key]] = {}
    for q in questions:
        exercise = q.spec.get("exercice")
        if exercise:
            links.setdefault((q.parcours, q.module, str(exercise)), []).append(q.key)
    return links


def reviews(
    statements: Iterable[dict[str, Any]],
    questions: Iterable[BankQuestion] = (),
    zone: tzinfo | None = None,
) -> dict[Key, list[tuple[datetime, bool]]]:
    """The reviews of each question: the first answer of each of the room's days, in time order.

    An exercise passed or failed counts as an answer to the questions whose bank entry names it
    (`exercice: <id>`): an exercise failed brings its question back soon.
    """
    links = _exercise_links(questions)
    answers: list[tuple[datetime, Key, bool]] = []
    for stmt in statements:
        verb, moment = xapi.verb_of(stmt), xapi.timestamp_of(stmt)
        if moment is None:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if verb in ("passed", "failed") and links:
            for key in links.get(xapi.located(stmt), []):  # type: ignore[arg-type]
                answers.append((moment, key, verb == "passed"))
            continue
        if verb != "answered":
            continue
        key = quiz_key(stmt)
        success = (stmt.get("result") or {}).get("success")
        if key is None or not isinstance(success, bool):
            continue
        answers.append((moment, key, success))
    answers.sort(key=lambda a: a[0])
    zone = zone or french_time.zone()
    out: dict[Key, list[tuple[datetime, bool]]] = {}
    for moment, key, success in answers:
        history = out.setdefault(key, [])
        if history and local_day(history[-1][0], zone) == local_day(moment, zone):
            continue
        history.append((moment, success))
    return out


def replay(history: list[tuple[datetime, bool]], sched: Scheduler | None = None) -> Card:
    """The FSRS card after these reviews (right = Good, wrong = Again)."""
    sched = sched or scheduler()
    card = Card(card_id=1)
    for moment, success in history:
        card, _log = sched.review_card(
            card, Rating.Good if success else Rating.Again, moment.astimezone(UTC)
        )
    return card


def cards(statements: Iterable[dict[str, Any]]) -> dict[Key, Card]:
    sched = scheduler()
    return {key: replay(history, sched) for key, history in reviews(statements).items()}


# --- the day's plan --------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the agent does today: `todo` in order, what they already answered, the next review day."""

    today: date
    todo: list[BankQuestion]
    done: list[tuple[BankQuestion, bool]]
    due_count: int
    next_day: date | None
    current_module: tuple[str, str] | None

    @property
    def finished(self) -> bool:
        return not self.todo

    def summary(self) -> str:
        """« 4 sur 5 — prochaine révision jeudi 10 décembre »."""
        right = sum(1 for _q, ok in self.done if ok)
        text = f"{right} sur {len(self.done)}" if self.done else "Rien à réviser aujourd'hui"
        if self.next_day is not None:
            text += f" — prochaine révision {french_day(self.next_day, self.today)}"
        return text


def french_day(day: date, today: date | None = None) -> str:
    """« jeudi 10 décembre » (with the year when it is not this year's)."""
    return french_date(day, today)


def revision_max() -> int:
    return max(1, settings().revision_max or DEFAULT_MAX)


def _modules_of(
    statements: Iterable[dict[str, Any]],
) -> list[tuple[datetime, tuple[str, str], bool]]:
    out = []
    for stmt in statements:
        parcours, module, _ex = xapi.located(stmt)
        moment = xapi.timestamp_of(stmt)
        if parcours and module and moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            out.append((moment, (parcours, module), quiz_key(stmt) is not None))
    return out


def current_module(
    questions: list[BankQuestion], statements: list[dict[str, Any]]
) -> tuple[str, str] | None:
    """The module the agent works on: that of their latest statement outside the quiz (lessons,
    checks, exercises), else of their latest answer, else the first module of the banks."""
    with_bank = {(q.parcours, q.module) for q in questions}
    seen = [m for m in _modules_of(statements) if m[1] in with_bank]
    for quiz_too in (False, True):
        candidates = [m for m in seen if quiz_too or not m[2]]
        if candidates:
            return max(candidates, key=lambda m: m[0])[1]
    return (questions[0].parcours, questions[0].module) if questions else None


def plan(
    questions: list[BankQuestion],
    statements: list[dict[str, Any]],
    *,
    now: datetime | None = None,
    limit: int | None = None,
) -> Plan:
    """Today's plan (the room's today) from the agent's statements: `plan_from` their reviews."""
    zone = french_time.zone()
    history = reviews(statements, questions, zone)
    sched = scheduler()
    state = {key: replay(h, sched) for key, h in history.items()}
    return plan_from(
        questions,
        history,
        state,
        current_module(questions, statements),
        today=local_day(now or datetime.now(UTC), zone),
        limit=limit or revision_max(),
        zone=zone,
    )


def plan_from(
    questions: list[BankQuestion],
    history: dict[Key, list[tuple[datetime, bool]]],
    state: dict[Key, Card],
    module: tuple[str, str] | None,
    *,
    today: date,
    limit: int,
    zone: tzinfo | None = None,
) -> Plan:
    """Today's questions: those FSRS says are due (most overdue first) from the modules the agent
    has started, then new questions of their current module; at most `limit` a day in all.

    `history` is `reviews()`'s, `state` each question's card after it (`replay`); days are `zone`'s
    (the room's by default). `benchmarks/revision.py` simulates agents through this very function.
    """
    zone = zone or french_time.zone()
    by_key = {q.key: q for q in questions}
    state = {key: card for key, card in state.items() if key in by_key}
    done = [
        (by_key[key], h[-1][1])
        for key, h in sorted(history.items(), key=lambda kv: kv[1][-1][0])
        if key in by_key and local_day(h[-1][0], zone) == today
    ]
    done_keys = {q.key for q, _ok in done}
    due = sorted(
        (
            key
            for key, card in state.items()
            if key not in done_keys and local_day(card.due, zone) <= today
        ),
        key=lambda key: state[key].due,
    )
    new = [q for q in questions if (q.parcours, q.module) == module and q.key not in history]
    room = max(0, limit - len(done))
    todo = ([by_key[key] for key in due] + new)[:room]
    next_day = None
    if state:
        next_day = max(
            min(local_day(card.due, zone) for card in state.values()), today + timedelta(days=1)
        )
    return Plan(today, todo, done, len(due), next_day, module)


# --- where questions and statements come from ------------------------------------------------------


def home_questions(home: Path) -> list[BankQuestion]:
    """The banks of the modules released into a learner's home (`~/<module>/`, `~/<course>/<module>/`)."""
    found: list[BankQuestion] = []
    for pattern in (f"*/{quiz_bank.MODULE_COPY}", f"*/*/{quiz_bank.MODULE_COPY}"):
        for path in sorted(Path(home).glob(pattern)):
            if any(part.startswith(".") for part in path.relative_to(home).parts):
                continue
            data = exercise_data.read(path.parent)
            parcours = (data.parcours if data else "") or "hors-parcours"
            module = (
                data.module if data and getattr(data, "module", None) else ""
            ) or path.parent.name
            found += [
                BankQuestion(parcours, module, q)
                for q in quiz_bank.read_bank(path)
                if q.get("id") and q.get("question")
            ]
    return found


def lrs_statements(timeout: float = 15.0) -> list[dict[str, Any]]:
    """Every statement the configured LRS gives these credentials (on a hub, through the gate:
    the learner's own only). Raises OSError when it cannot be read."""
    endpoint = lrs.configured_endpoint()
    if not endpoint:
        return []
    try:
        return lrs.read_statements(endpoint, timeout=timeout)
    except lrs.LrsError as exc:
        raise OSError(exc.message) from None


def own_statements() -> list[dict[str, Any]]:
    """The agent's statements: the LRS's (when configured and reachable) and the local journal's
    (which holds what the LRS has not received yet), each statement once."""
    merged: dict[str, dict[str, Any]] = {}
    try:
        for stmt in lrs_statements():
            merged[str(stmt.get("id"))] = stmt
    except (OSError, ValueError) as err:
        log.warning("review: LRS unreadable, journal only: %s", err)
    for stmt in events.read_jsonl():
        merged.setdefault(str(stmt.get("id")), stmt)
    return list(merged.values())


def record_answer(question: BankQuestion, success: bool, response: str) -> dict[str, Any]:
    """An `answered` statement for one review answer, stored like any quiz answer."""
    stmt = xapi.statement(
        "answered",
        parcours=question.parcours,
        module=question.module,
        kind="quiz",
        ident=question.id,
        name_fr=str(question.spec.get("question") or ""),
        result={"success": bool(success), "response": response},
        extensions={"revision": True},
    )
    events.record(stmt)
    return stmt


__all__ = [
    "BankQuestion",
    "Plan",
    "cards",
    "home_questions",
    "own_statements",
    "plan",
    "plan_from",
    "record_answer",
    "replay",
    "reviews",
    "scheduler",
]
