"""The memorisation report's tables: recall by interval since the last review, the forgetting curve,
and the share of due reviews actually done (`notebooks/analyses/memorisation.ipynb`).

A *review* is the first answer of a day to a quiz question (the lesson's own
quiz or « Ma révision du jour »), as `incubo.review` counts them; the first
review of a question is when the agent studied it, every later one is a
retrieval after an interval. Days are the room's (`INCUBO_FUSEAU_HORAIRE`,
Europe/Paris by default), like `incubo.review`'s: an answer at 00:30 in Paris
is that Paris day's, whatever UTC says. Every published rate comes with its number of
agents, and a rate of fewer than k agents is hidden (with secondary
suppression when sizes and totals are published, `suppression.group_mask`).
Agents who objected to research (or did not consent, per the configured basis) are left out
by `incubo.reports.load` before anything is read; `reviews` says how many.
"""

from __future__ import annotations

import math
from datetime import UTC, timedelta

import numpy as np
import pandas as pd

from incubo import french_time, review
from incubo.reports.suppression import group_mask, protect

#: Intervals since the last review (days), as published.
BUCKETS = [
    (0.5, 1.5, "1 jour"),
    (1.5, 3.5, "2 à 3 jours"),
    (3.5, 7.5, "4 à 7 jours"),
    (7.5, 14.5, "8 à 14 jours"),
    (14.5, 30.5, "15 à 30 jours"),
    (30.5, math.inf, "plus de 30 jours"),
]


STATUSES = ["faite à temps", "faite en retard", "pas faite"]


def reviews(data) -> tuple[pd.DataFrame, int]:
    """One row per review: learner, parcours, module, item, ts, success, interval (days, NaN for the
    first), rank (1 = studied); and how many agents were left out by their research choice."""
    frame = data.sql(
        "select learner, parcours, module, item, ts, success from statements "
        "where verb = 'answered' and kind = 'quiz' and success is not null and module is not null "
        "order by learner, parcours, module, item, ts"
    )
    n_excluded = data.excluded  # left out by `reports.load` before anything is read
    if frame.empty:
        return frame.assign(interval=[], rank=[]), n_excluded
    frame["day"] = room_days(frame["ts"])
    frame = frame.drop_duplicates(["learner", "parcours", "module", "item", "day"], keep="first")
    keys = ["learner", "parcours", "module", "item"]
    frame["interval"] = frame.groupby(keys)["ts"].diff().dt.total_seconds() / 86400
    frame["rank"] = frame.groupby(keys).cumcount() + 1
    return frame.drop(columns="day").reset_index(drop=True), n_excluded


def room_days(ts: pd.Series) -> pd.Series:
    """The room's day of each timestamp (naive timestamps are UTC, as the statements' are loaded)."""
    utc = ts.dt.tz_localize(UTC) if ts.dt.tz is None else ts.dt.tz_convert(UTC)
    return utc.dt.tz_convert(french_time.zone()).dt.date


def _bucket(days: float) -> str | None:
    for low, high, label in BUCKETS:
        if low <= days < high:
            return label
    return None


def _rates(frame: pd.DataFrame, by: str, order: list[str], k: int) -> pd.DataFrame:
    """Agents, reviews and recall rate per group; a rate of fewer than k agents is hidden."""
    groups = frame.groupby(by)
    table = pd.DataFrame(
        {
            "apprenants": groups["learner"].nunique(),
            "révisions": groups.size(),
            "rappel (%)": 100 * groups["success"].mean(),
        }
    ).reindex([o for o in order if o in groups.groups])
    table.index.name = {"bucket": "intervalle depuis la révision précédente"}.get(by, by)
    sizes = table["apprenants"].astype(int)
    hidden = group_mask(sizes, k) if len(sizes) else pd.Series(dtype=bool)
    published = protect(sizes.rename("apprenants"), k).published()["apprenants"].drop("Total")
    out = table.astype(object)
    out["apprenants"] = published
    for col in ("révisions", "rappel (%)"):
        out.loc[hidden[hidden].index, col] = "supprimé"
    return out


def recall_by_interval(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    later = frame[frame["interval"].notna()].copy()
    later["bucket"] = later["interval"].map(_bucket)
    return _rates(later.dropna(subset=["bucket"]), "bucket", [b[2] for b in BUCKETS], k)


def recall_by(frame: pd.DataFrame, column: str, order: list[str], k: int) -> pd.DataFrame:
    later = frame[frame["interval"].notna() & (frame["interval"] >= 0.5)]
    return _rates(later, column, order, k)


def fit_forgetting(frame: pd.DataFrame) -> dict[str, float] | None:
    """p(t) = exp(-t / S) fitted to the retrievals (interval ≥ half a day) by maximum likelihood."""
    from scipy.optimize import minimize_scalar

    later = frame[frame["interval"].notna() & (frame["interval"] >= 0.5)]
    if len(later) < 20:
        return None
    t = later["interval"].to_numpy(dtype=float)
    y = later["success"].to_numpy(dtype=float)

    def loss(log_s: float) -> float:
        p = np.clip(np.exp(-t / math.exp(log_s)), 1e-6, 1 - 1e-6)
        return -float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))

    best = minimize_scalar(loss, bounds=(math.log(0.1), math.log(3650)), method="bounded")
    stability = math.exp(best.x)
    return {"stabilite": stability, "demi_vie": stability * math.log(2), "n": len(later)}


def due_reviews(frame: pd.DataFrame, end, grace_days: int = 1) -> tuple[pd.Series, pd.Series]:
    """Reviews FSRS made due before the end of the data, and whether the agent did them: on time
    (by the day after the due day), late, or not (yet) done. Reviews and agents per status."""
    from fsrs import Card, Rating

    rows = []
    sched = review.scheduler()
    zone = french_time.zone()
    end_day = review.local_day(pd.Timestamp(end).to_pydatetime(), zone)
    for _key, group in frame.groupby(["learner", "parcours", "module", "item"], sort=False):
        times = [ts.to_pydatetime().replace(tzinfo=UTC) for ts in group["ts"]]
        card = Card(card_id=1)
        for i, (moment, ok) in enumerate(zip(times, group["success"], strict=True)):
            card, _log = sched.review_card(card, Rating.Good if ok else Rating.Again, moment)
            due_day = review.local_day(card.due, zone)
            if due_day > end_day:
                continue
            following = times[i + 1] if i + 1 < len(times) else None
            if following is None:
                status = "pas faite"
            elif review.local_day(following, zone) <= due_day + timedelta(days=grace_days):
                status = "faite à temps"
            else:
                status = "faite en retard"
            rows.append((group["learner"].iat[0], status))
    table = pd.DataFrame(rows, columns=["learner", "statut"])
    counts = table.groupby("statut").size().reindex(STATUSES, fill_value=0)
    agents = table.groupby("statut")["learner"].nunique().reindex(STATUSES, fill_value=0)
    return counts, agents


def due_table(counts: pd.Series, agents: pd.Series, k: int) -> tuple[pd.DataFrame, int]:
    """Due reviews by status with their share; a status of fewer than k agents is hidden."""
    prot = protect(agents.rename("apprenants"), k)
    hidden = prot.mask["apprenants"].drop("Total")
    total = int(counts.sum())
    out = pd.DataFrame(
        {
            "apprenants": prot.published()["apprenants"].drop("Total"),
            "révisions dues": counts.astype(object),
            "part (%)": (100 * counts / total if total else counts * 0).astype(object),
        }
    )
    out.index.name = "révision due"
    out.loc[hidden[hidden].index, ["révisions dues", "part (%)"]] = "supprimé"
    return out, prot.n_suppressed
