"""Simulated daily reviews over a known forgetting model: demo review histories and benchmarks/revision.py.

The model (not FSRS's: the scheduler must not be graded on its own
assumptions): each agent × question has a memory stability S in days; the
chance to recall after t days is exp(-t / S). Studying the question (the
module's lesson and quiz) sets S to S0 (per agent and question, around four
days). A review is a retrieval: recalled, S grows, the more so the harder the
retrieval was (spacing effect: S × (1 + 0.2 + 2.5 (1 - p))); not recalled,
the feedback relearns it at a lower S (max(1, S / 2)). Either way the clock
restarts at the review.

Policies, each day the agent opens the review (same days for every policy):
- `fsrs`: « Ma révision du jour » itself: each day's questions are those
  `incubo.review.plan_from` gives (due questions, most overdue first, then
  new questions of the current module, at most `limit` a day, the day's
  lesson answers included), from the agent's reviews so far;
- `quiz-du-jour`: today's « Le quiz du jour », one question a day, the same
  for everyone, walked through every bank;
- `intervalle-fixe`: every studied question every `interval` days, at most
  `limit` a day, most overdue first;
- `aucune`: no review.
"""

from __future__ import annotations

import copy
import json
import math
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fsrs import Card, Rating

from incubo import review, xapi

POLICIES = ("fsrs", "quiz-du-jour", "intervalle-fixe", "aucune")
EVENTS_FILE = "revisions-demo.jsonl"

Key = tuple[str, str, str]
#: Day 0 of a simulation.
ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ForgettingModel:
    s0_days: float = 4.0
    s0_spread: float = 0.5  # lognormal sigma, per agent × question
    growth_base: float = 0.2
    growth_spacing: float = 2.5
    lapse_factor: float = 0.5

    def initial(self, rng: random.Random, ability: float) -> float:
        return self.s0_days * math.exp(rng.gauss(0, self.s0_spread) + 0.3 * ability)

    @staticmethod
    def recall(stability: float, days: float) -> float:
        return math.exp(-max(0.0, days) / stability)

    def after(self, stability: float, p: float, success: bool) -> float:
        if success:
            return stability * (1 + self.growth_base + self.growth_spacing * (1 - p))
        return max(1.0, stability * self.lapse_factor)


@dataclass
class Agent:
    """One simulated agent: when each question was studied, which days they open the review."""

    name: str
    study: list[tuple[float, Key, bool | None]]  # (day, question, first answer right?), in order
    active_days: set[int]
    ability: float = 0.0
    memory: dict[Key, tuple[float, float]] = field(default_factory=dict)  # key -> (S, last day)
    reviews: list[tuple[float, Key, bool]] = field(default_factory=list)


def run(
    agent: Agent,
    policy: str,
    days: int,
    *,
    model: ForgettingModel,
    rng: random.Random,
    all_questions: list[Key],
    limit: int = review.DEFAULT_MAX,
    interval: int = 7,
) -> Agent:
    """Simulate `days` days of one agent under one policy; fills `agent.memory` and `agent.reviews`."""
    sched = review.scheduler()
    cards: dict[Key, Card] = {}
    history: dict[Key, list[tuple[datetime, bool]]] = {}
    bank = [review.BankQuestion(k[0], k[1], {"id": k[2]}) for k in all_questions]
    fixed_due: dict[Key, float] = {}
    module_of = {k: (k[0], k[1]) for k in all_questions}
    pending = list(agent.study)
    current: tuple[str, str] | None = None

    def answer(key: Key, when: float) -> bool:
        if key in agent.memory:
            s, last = agent.memory[key]
            p = model.recall(s, when - last)
        else:  # never studied (the quiz of the day may ask anything): a guess, then the feedback
            s, p = model.initial(rng, agent.ability), 0.25
        ok = rng.random() < p
        agent.memory[key] = (model.after(s, p, ok) if key in agent.memory else s, when)
        return ok

    def schedule(key: Key, when: float, ok: bool) -> None:
        moment = ORIGIN + timedelta(days=when)
        card = cards.get(key) or Card(card_id=1)
        cards[key] = sched.review_card(card, Rating.Good if ok else Rating.Again, moment)[0]
        history.setdefault(key, []).append((moment, ok))
        fixed_due[key] = math.floor(when) + interval

    for day in range(days):
        while pending and pending[0][0] < day + 1:  # the day's lessons and their quiz
            when, key, first = pending.pop(0)
            s = model.initial(rng, agent.ability)
            agent.memory[key] = (s, when)
            current = module_of[key]
            ok = rng.random() < 0.8 if first is None else first
            agent.reviews.append((when, key, ok))  # the lesson's own quiz: a first answer
            schedule(key, when, ok)
        if day not in agent.active_days or policy == "aucune":
            continue
        when = day + 0.75  # the review, late in the day, after any lesson
        if policy == "quiz-du-jour":
            todo = [all_questions[day % len(all_questions)]]
        elif policy == "fsrs":  # the simulation's days are UTC days
            today = (ORIGIN + timedelta(days=day)).date()
            plan = review.plan_from(
                bank, history, cards, current, today=today, limit=limit, zone=UTC
            )
            todo = [q.key for q in plan.todo]
        else:
            due = sorted((k for k, d in fixed_due.items() if d <= day), key=fixed_due.get)
            todo = due[:limit]
        for key in todo:
            ok = answer(key, when)
            agent.reviews.append((when, key, ok))
            schedule(key, when, ok)
            when += 1 / 1440
    return agent


def recall_at(agent: Agent, day: float, model: ForgettingModel) -> float:
    """Mean chance to recall, on `day`, the questions the agent studied."""
    studied = {key for d, key, _ok in agent.study if d < day}
    if not studied:
        return float("nan")
    return sum(model.recall(agent.memory[k][0], day - agent.memory[k][1]) for k in studied) / len(
        studied
    )


# --- demo data --------------------------------------------------------------------------------------


def _study_of(
    statements: Iterable[dict[str, Any]],
) -> dict[str, list[tuple[datetime, Key, bool | None]]]:
    """Each learner's first answer to each quiz question (the lesson's own quiz): when they studied it."""
    first: dict[str, dict[Key, tuple[datetime, bool | None]]] = {}
    for stmt in statements:
        key, moment = review.quiz_key(stmt), xapi.timestamp_of(stmt)
        if key is None or moment is None or xapi.verb_of(stmt) != "answered":
            continue
        mine = first.setdefault(xapi.learner_of(stmt), {})
        if key not in mine or moment < mine[key][0]:
            mine[key] = (moment, (stmt.get("result") or {}).get("success"))
    return {
        name: sorted(((t, k, ok) for k, (t, ok) in keys.items()), key=lambda x: x[0])
        for name, keys in first.items()
    }


def generate(
    course_dir: Path,
    learners: list[Any],
    demo_events: Path,
    seed: int,
    *,
    days: int = 90,
    model: ForgettingModel | None = None,
) -> dict[str, Any]:
    """`evenements/revisions-demo.jsonl`: « Ma révision du jour » from each learner's first lesson,
    for `days` days at most and 30 days after their last lesson (who stops learning stops
    reviewing), scheduled by FSRS, answered under the forgetting model."""
    model = model or ForgettingModel()
    with open(demo_events, encoding="utf-8") as fh:
        study = _study_of(json.loads(line) for line in fh if line.strip())
    all_questions = sorted({k for items in study.values() for _t, k, _ok in items})
    by_name = {p.identifiant: p for p in learners}
    out = Path(course_dir) / demo_events.parent.name / EVENTS_FILE
    count = 0
    tmp = out.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for name, items in sorted(study.items()):
            person = by_name.get(name)
            if person is None or not items:
                continue
            rng = random.Random(f"{seed}:revision:{name}")
            origin = items[0][0].replace(hour=0, minute=0, second=0, microsecond=0)
            engagement = float(getattr(person, "engagement", 0.0))
            keep = min(0.85, max(0.1, 0.45 + 0.2 * engagement))
            agent = Agent(
                name,
                [((t - origin).total_seconds() / 86400, k, ok) for t, k, ok in items],
                {d for d in range(days) if rng.random() < keep},
                float(getattr(person, "ability", 0.0)),
            )
            horizon = min(days, int(agent.study[-1][0]) + 30)  # who stops learning stops reviewing
            run(agent, "fsrs", horizon, model=model, rng=rng, all_questions=all_questions)
            studied = {k for _t, k, _ok in items}
            registration = str(uuid.uuid5(uuid.NAMESPACE_URL, f"incubo:cohorte:{person.cohorte}"))
            seen: set[Key] = set()
            templates: dict[Key, dict[str, Any]] = {}
            for when, key, ok in agent.reviews:
                if key in studied and key not in seen:
                    seen.add(key)  # the lesson's own answer is already in demo.jsonl
                    continue
                if key not in templates:  # one statement built per question, copied per answer
                    templates[key] = xapi.statement(
                        "answered",
                        parcours=key[0],
                        module=key[1],
                        kind="quiz",
                        ident=key[2],
                        actor_name=name,
                        homepage=xapi.DEFAULT_HOMEPAGE,
                        registration=registration,
                        extensions={"revision": True},
                    )
                stmt = copy.deepcopy(templates[key])
                stmt["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                stmt["timestamp"] = (
                    (origin + timedelta(days=when))
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z")
                )
                stmt["result"] = {"success": ok, "response": "a" if ok else "b"}
                fh.write(json.dumps(stmt, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
    tmp.replace(out)
    return {"file": f"{demo_events.parent.name}/{EVENTS_FILE}", "statements": count}
