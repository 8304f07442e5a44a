"""Spaced review, side by side: recall at day 90 and reviews done, for FSRS (« Ma révision du jour »),
today's « Le quiz du jour » (one question a day, the same for everyone) and a fixed interval
(7 days, and 3 days: about FSRS's number of reviews, for a comparison at equal effort).

200 simulated agents over 90 days under a known forgetting model
(`incubo.reports.demo_reviews.ForgettingModel`: exponential forgetting, a
stability per agent × question that grows with each successful spaced
retrieval). The questions are the real banks of `courses/` (73); each agent
follows one parcours, starting a new module every 6 to 14 days and studying
its questions then; every agent opens the day's review on the same days
(each day with probability 0.6) whatever the policy. Recall at day 90 is the
mean chance to recall the questions the agent has studied. Not a test:
`python benchmarks/revision.py [--agents N] [--days D] [--seed S]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incubo import quiz_bank  # noqa: E402
from incubo.reports.demo_reviews import Agent, ForgettingModel, recall_at, run  # noqa: E402

#: (label, policy, interval in days for the fixed one); a 3-day interval spends about FSRS's budget.
POLICIES = [
    ("FSRS (Ma révision du jour, 5/jour)", "fsrs", 0),
    ("Quiz du jour (même question pour tous)", "quiz-du-jour", 0),
    ("Intervalle fixe (7 jours, 5/jour)", "intervalle-fixe", 7),
    ("Intervalle fixe (3 jours, 5/jour)", "intervalle-fixe", 3),
    ("Aucune révision", "aucune", 0),
]


def questions() -> dict[str, list[tuple[str, str, str]]]:
    """Each parcours' questions, module by module, from the real banks."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for parcours, module, bank in quiz_bank.course_banks(ROOT / "courses"):
        out.setdefault(parcours, []).extend(
            (parcours, module, str(q["id"])) for q in bank if q.get("id")
        )
    return out


def make_agent(n: int, by_parcours: dict, days: int, seed: int) -> Agent:
    rng = random.Random(f"{seed}:agent:{n}")
    parcours = sorted(by_parcours)[n % len(by_parcours)]
    modules: dict[str, list] = {}
    for key in by_parcours[parcours]:
        modules.setdefault(key[1], []).append(key)
    study, day = [], rng.uniform(0, 3)
    for module in sorted(modules):
        if day >= days:
            break
        study += [(day + i / 1440, key, None) for i, key in enumerate(modules[module])]
        day += rng.uniform(6, 14)
    active = {d for d in range(days) if rng.random() < 0.6}
    return Agent(f"agent-{n}", study, active, rng.gauss(0, 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = ForgettingModel()
    by_parcours = questions()
    everything = [k for p in sorted(by_parcours) for k in by_parcours[p]]
    print(
        f"{args.agents} agents simulés, {args.days} jours, {len(everything)} questions "
        f"({len(by_parcours)} parcours), graine {args.seed}"
    )
    print(f"{'politique':<42}{'rappel à J' + str(args.days):>14}{'révisions / agent':>20}")
    for label, policy, interval in POLICIES:
        t0 = time.perf_counter()
        recalls, counts = [], []
        for n in range(args.agents):
            agent = make_agent(n, by_parcours, args.days, args.seed)
            rng = random.Random(f"{args.seed}:recall:{n}")  # same draws for every policy
            run(agent, policy, args.days, model=model, rng=rng, all_questions=everything,
                interval=interval or 7)  # fmt: skip
            recalls.append(recall_at(agent, args.days, model))
            studied = len(agent.study)
            counts.append(len(agent.reviews) - studied)  # the lessons' own answers are not reviews
        print(
            f"{label:<42}{statistics.fmean(recalls):>13.1%} "
            f"{statistics.fmean(counts):>19.1f}"
            f"   ({time.perf_counter() - t0:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
