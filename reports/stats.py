"""The numbers of the four analyses, computed in SQL over the tidy tables, suppressed before publication.

Each function returns what a notebook may publish: `Protected` count tables
(small groups hidden, see `suppression`) or per-item statistics whose small
groups are already blanked. Definitions (also stated in the reports):

- a learner *started* a module when any statement names it; *completed* it
  with a `completed` statement; the completion rate is completed / started;
- a learner *attempted* an exercise with any `attempted`, `passed` or
  `failed` statement; *succeeded* with `passed` (or a successful attempt);
  the success rate is succeeded / attempted;
- discrimination of an exercise: the corrected item–rest point-biserial
  correlation between succeeding it and the number of *other* exercises of
  its parcours succeeded, over the learners who attempted it only;
- self-assessment: a learner's score at a moment is the mean of their last
  answer to each item; the paired test compares `fin` with `debut`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from incubo.reports.load import Data
from incubo.reports.suppression import Protected, group_mask, protect

log = logging.getLogger(__name__)

STAGES = ["ouvert, aucun exercice tenté", "exercices tentés, non terminé", "terminé"]
SCORE_BINS = ["0 à 20 %", "20 à 40 %", "40 à 60 %", "60 à 80 %", "80 à 100 %"]
ATTEMPT_VERBS = "('attempted', 'passed', 'failed')"
SESSION_GAP_MIN = 30


def modules(data: Data) -> list[str]:
    return [
        m
        for (m,) in data.con.execute(
            "SELECT DISTINCT module FROM statements WHERE module IS NOT NULL ORDER BY module"
        ).fetchall()
    ]


def percent(num: int | None, den: int | None) -> float | None:
    return None if num is None or not den else round(100.0 * num / den, 1)


# --- progression ---------------------------------------------------------------------------


def funnel(data: Data) -> tuple[Protected, pd.DataFrame]:
    """Learners per module by furthest stage reached, and the completion rate where it can be published."""
    df = data.sql(f"""
        SELECT module,
               CASE WHEN bool_or(verb = 'completed') THEN 3
                    WHEN bool_or(verb IN {ATTEMPT_VERBS}) THEN 2 ELSE 1 END AS stage
        FROM statements WHERE module IS NOT NULL GROUP BY learner, module""")
    table = (
        df.assign(stage=df["stage"].map(dict(enumerate(STAGES, 1))))
        .pivot_table(index="module", columns="stage", aggfunc="size", fill_value=0)
        .reindex(columns=STAGES, fill_value=0)
        .sort_index()
    )
    table.index.name, table.columns.name = "module", None
    prot = protect(
        table, data.k, col_totals=False
    )  # a learner starts several modules: no column total
    rows = []
    for module in table.index:
        started, done = prot.value(module, "Total"), prot.value(module, "terminé")
        rows.append(
            {
                "module": module,
                "commencé": started,
                "terminé": done,
                "taux d'achèvement (%)": percent(done, started),
            }
        )
    return prot, pd.DataFrame(rows, dtype=object)


def weekly_progress(data: Data) -> pd.DataFrame:
    """Per week: active learners and learners who completed at least one module (counts < k hidden)."""
    df = data.sql("""
        SELECT date_trunc('week', ts)::DATE AS semaine,
               count(DISTINCT learner) AS actifs,
               count(DISTINCT learner) FILTER (WHERE verb = 'completed') AS ayant_termine
        FROM statements GROUP BY 1 ORDER BY 1""")
    return hide_small(_all_weeks(df), ["actifs", "ayant_termine"], data.k)


def _all_weeks(df: pd.DataFrame) -> pd.DataFrame:
    """Weeks without any activity are zeros, not missing: figures must not join the points across them."""
    if df.empty:
        return df
    weeks = pd.date_range(
        pd.Timestamp(df["semaine"].min()), pd.Timestamp(df["semaine"].max()), freq="7D"
    )
    out = (
        df.assign(semaine=pd.to_datetime(df["semaine"]))
        .set_index("semaine")
        .reindex(weeks, fill_value=0)
    )
    return out.rename_axis("semaine").reset_index()


def hide_small(df: pd.DataFrame, columns: list[str], k: int) -> pd.DataFrame:
    """Blank counts of 1 to k−1 (for figures: counts that are not summed into any published total)."""
    out = df.copy()
    for col in columns:
        out[col] = out[col].astype("Float64").mask((out[col] > 0) & (out[col] < k))
    return out


def score_distribution(data: Data) -> Protected | None:
    """Learners per module by grade band (gradebook), small cells hidden."""
    if not data.grades():
        return None
    df = data.sql("""
        SELECT module, 100.0 * sum(score) / nullif(sum(max_score), 0) AS pct
        FROM grades GROUP BY learner, module HAVING sum(max_score) > 0""")
    if df.empty:
        return None
    df["bande"] = pd.cut(
        df["pct"], [-0.001, 20, 40, 60, 80, 100.001], right=False, labels=SCORE_BINS
    )
    table = df.pivot_table(
        index="module", columns="bande", aggfunc="size", fill_value=0, observed=False
    )
    table = table.reindex(columns=SCORE_BINS, fill_value=0).sort_index()
    table.index.name, table.columns.name = "module", None
    return protect(table, data.k, col_totals=False)  # a learner is graded in several modules


# --- exercices -----------------------------------------------------------------------------


def _learner_item(data: Data) -> pd.DataFrame:
    return data.sql(f"""
        WITH ex AS (
          SELECT learner, parcours, module, item, verb, success, ts FROM statements WHERE kind = 'exercice'),
        first_pass AS (
          SELECT learner, item, min(ts) AS t_pass FROM ex
          WHERE verb = 'passed' OR (verb = 'attempted' AND success) GROUP BY 1, 2)
        SELECT ex.learner, ex.parcours, ex.module, ex.item,
               bool_or(ex.verb IN {ATTEMPT_VERBS}) AS attempted,
               bool_or(fp.t_pass IS NOT NULL) AS passed,
               count(*) FILTER (WHERE ex.verb = 'attempted' AND (fp.t_pass IS NULL OR ex.ts <= fp.t_pass)) AS attempts,
               count(*) FILTER (WHERE ex.verb = 'asked') AS hints
        FROM ex LEFT JOIN first_pass fp ON ex.learner = fp.learner AND ex.item = fp.item
        GROUP BY 1, 2, 3, 4""")


def _time_on_task(data: Data) -> pd.DataFrame:
    return data.sql(f"""
        WITH s AS (
          SELECT learner, item, kind, ts,
                 lag(ts) OVER (PARTITION BY learner ORDER BY ts) AS prev_ts,
                 lag(item) OVER (PARTITION BY learner ORDER BY ts) AS prev_item
          FROM statements WHERE kind IN ('exercice', 'lecon'))
        SELECT learner, item, sum(epoch(ts - prev_ts)) / 60.0 AS minutes
        FROM s WHERE kind = 'exercice' AND prev_item = item AND ts - prev_ts <= INTERVAL {SESSION_GAP_MIN} MINUTE
        GROUP BY 1, 2""")


def item_analysis(data: Data) -> tuple[pd.DataFrame, Protected, Protected]:
    """Per exercise: success, attempts before success, hints, discrimination, time; and the two count tables behind the rates."""
    li = _learner_item(data)
    li = li[li["attempted"] | (li["hints"] > 0)]
    if li.empty:
        empty = protect(pd.DataFrame({"réussi": [], "non réussi": []}), data.k)
        return pd.DataFrame(), empty, empty
    order = li[["parcours", "module", "item"]].drop_duplicates().sort_values(["module", "item"])
    items = list(order["item"])
    success = (
        li.assign(res=np.where(li["passed"], "réussi", "non réussi"))
        .pivot_table(index="item", columns="res", aggfunc="size", fill_value=0)
        .reindex(index=items, columns=["réussi", "non réussi"], fill_value=0)
    )
    hints = (
        li.assign(h=np.where(li["hints"] > 0, "avec indice", "sans indice"))
        .pivot_table(index="item", columns="h", aggfunc="size", fill_value=0)
        .reindex(index=items, columns=["avec indice", "sans indice"], fill_value=0)
    )
    for t in (success, hints):
        t.index.name, t.columns.name = "exercice", None
    # no column totals: a learner works on several exercises, a sum over exercises counts nobody
    p_success = protect(success, data.k, col_totals=False)
    p_hints = protect(hints, data.k, col_totals=False)
    tot = li.merge(_time_on_task(data), on=["learner", "item"], how="left")
    rows = []
    for parcours, module, item in order.itertuples(index=False):
        sub = li[li["item"] == item]
        n = len(sub)
        small = n < data.k or bool(p_success.mask.loc[item, "Total"])
        ok, total = p_success.value(item, "réussi"), p_success.value(item, "Total")
        with_hint = p_hints.value(item, "avec indice")
        passers = sub[sub["passed"]]
        rows.append(
            {
                "module": module,
                "exercice": item,
                "apprenants": None if small else n,
                "taux de réussite (%)": None if small else percent(ok, total),
                "essais avant réussite (moyenne)": None
                if small or len(passers) < data.k
                else round(passers["attempts"].mean(), 2),
                "recours aux indices (%)": None if small else percent(with_hint, total),
                "discrimination": None
                if small
                else _discrimination(li[li["parcours"] == parcours], item, data.k),
                "temps médian (min)": None
                if small
                else _median(tot.loc[tot["item"] == item, "minutes"], data.k),
            }
        )
    return pd.DataFrame(rows), p_success, p_hints


def _median(values: pd.Series, k: int) -> float | None:
    values = values.dropna()
    return round(float(values.median()), 1) if len(values) >= k else None


def _discrimination(li: pd.DataFrame, item: str, k: int) -> float | None:
    """Corrected item–rest point-biserial correlation of `item` over the learners who attempted it.

    `li` holds the learner × exercise rows of the item's parcours only. A
    learner who never attempted the item is left out (counting them as failing
    it would reward exercises placed early in the parcours); the rest score is
    the number of *other* exercises of the parcours the learner succeeded. Fewer
    than `k` attempters, or no variation in either variable: no value.
    """
    x = (
        li.loc[(li["item"] == item) & li["attempted"]]
        .groupby("learner")["passed"]
        .max()
        .astype(float)
    )
    if len(x) < k:
        return None
    others = li.loc[(li["item"] != item) & li["passed"]].groupby("learner")["item"].nunique()
    rest = others.reindex(x.index, fill_value=0).astype(float)
    if x.std() == 0 or rest.std() == 0:
        return None
    return round(float(np.corrcoef(x, rest)[0, 1]), 2)


# --- autoevaluation ------------------------------------------------------------------------


def self_assessment(data: Data) -> pd.DataFrame:
    """One row per learner with both moments: mean Likert score at `debut` and at `fin`."""
    df = data.sql("""
        WITH last AS (
          SELECT learner, item, moment, arg_max(TRY_CAST(response AS DOUBLE), ts) AS value
          FROM statements
          WHERE kind = 'questionnaire' AND verb = 'answered' AND moment IN ('debut', 'fin')
          GROUP BY 1, 2, 3)
        SELECT learner, avg(value) FILTER (WHERE moment = 'debut') AS debut,
               avg(value) FILTER (WHERE moment = 'fin') AS fin
        FROM last WHERE value BETWEEN 1 AND 5 GROUP BY 1""")
    return df.dropna().reset_index(drop=True)


def self_assessment_items(data: Data) -> pd.DataFrame:
    return data.sql("""
        SELECT learner, item, moment, arg_max(TRY_CAST(response AS DOUBLE), ts) AS value
        FROM statements WHERE kind = 'questionnaire' AND verb = 'answered' AND moment IN ('debut', 'fin')
        GROUP BY 1, 2, 3""")


def wilcoxon(debut, fin, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Wilcoxon signed-rank test of fin vs debut, with the matched-pairs rank-biserial effect size and its bootstrap CI.

    Zero differences are dropped (Wilcoxon's convention, scipy's default); ties get average ranks.
    """
    from scipy.stats import rankdata
    from scipy.stats import wilcoxon as scipy_wilcoxon

    d = np.asarray(fin, dtype=float) - np.asarray(debut, dtype=float)
    nz = d[d != 0]
    out = {
        "n": int(len(d)),
        "n_non_nuls": int(len(nz)),
        "mediane_diff": float(np.median(d)) if len(d) else None,
    }
    if len(nz) < 1:
        return {
            **out,
            "w_plus": 0.0,
            "w_moins": 0.0,
            "statistique": None,
            "p": None,
            "r": None,
            "ic_bas": None,
            "ic_haut": None,
        }
    ranks = rankdata(np.abs(nz))
    w_plus, w_minus = float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())
    res = scipy_wilcoxon(
        np.asarray(fin, dtype=float), np.asarray(debut, dtype=float)
    )  # zero_method="wilcox"
    r = (w_plus - w_minus) / (w_plus + w_minus)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        s = rng.choice(nz, size=len(nz), replace=True)
        rk = rankdata(np.abs(s))
        wp, wm = rk[s > 0].sum(), rk[s < 0].sum()
        boots.append((wp - wm) / (wp + wm))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {
        **out,
        "w_plus": w_plus,
        "w_moins": w_minus,
        "statistique": float(res.statistic),
        "p": float(res.pvalue),
        "r": float(r),
        "ic_bas": float(lo),
        "ic_haut": float(hi),
    }


def differences(paired: pd.DataFrame, k: int) -> Protected:
    d = paired["fin"] - paired["debut"]
    cats = pd.Series(
        pd.Categorical(
            np.select(
                [d < 0, d == 0, d < 1],
                ["baisse", "stable", "hausse de moins d'un point"],
                "hausse d'un point ou plus",
            ),
            categories=[
                "baisse",
                "stable",
                "hausse de moins d'un point",
                "hausse d'un point ou plus",
            ],
        )
    )
    return protect(cats.value_counts(sort=False).rename("apprenants"), k)


def by_group(data: Data, paired: pd.DataFrame, group: str) -> tuple[pd.DataFrame, Protected] | None:
    """The paired comparison per group, where the group has at least k learners (and secondary suppression holds)."""
    if group == "aucun" or not data.has_learners:
        return None
    attrs = data.sql(f"SELECT learner, {group} AS groupe FROM learners")
    df = paired.merge(attrs, on="learner", how="left").fillna({"groupe": "non renseigné"})
    sizes = df.groupby("groupe").size().rename("apprenants")
    prot = protect(sizes, data.k)
    hidden = group_mask(sizes, data.k)
    rows = []
    for name, sub in df.groupby("groupe"):
        if hidden[name]:
            rows.append({"groupe": name, "apprenants": prot.published().loc[name, "apprenants"]})
            continue
        w = wilcoxon(sub["debut"], sub["fin"], n_boot=500)
        rows.append(
            {
                "groupe": name,
                "apprenants": len(sub),
                "moyenne début": round(sub["debut"].mean(), 2),
                "moyenne fin": round(sub["fin"].mean(), 2),
                "W": w["statistique"],
                "p": None if w["p"] is None else round(w["p"], 4),
                "r (rang bisérial)": None if w["r"] is None else round(w["r"], 2),
            }
        )
    return pd.DataFrame(rows), prot


# --- engagement ----------------------------------------------------------------------------


def weekly_activity(data: Data) -> pd.DataFrame:
    df = data.sql("""
        SELECT date_trunc('week', ts)::DATE AS semaine, count(DISTINCT learner) AS actifs, count(*) AS statements
        FROM statements GROUP BY 1 ORDER BY 1""")
    out = hide_small(_all_weeks(df), ["actifs"], data.k)
    out["statements"] = out["statements"].astype("Float64").mask(out["actifs"].isna())
    return out


def learner_paths(data: Data, pause_days: int = 14, idle_days: int = 21) -> pd.DataFrame:
    mods = modules(data)
    last_module = mods[-1] if mods else None
    df = data.sql(
        f"""
        WITH s AS (
          SELECT learner, ts, module, verb,
                 ts - lag(ts) OVER (PARTITION BY learner ORDER BY ts) AS gap FROM statements),
        bounds AS (SELECT max(ts) AS end_ts FROM statements)
        SELECT learner, max(module) AS dernier_module,
               bool_or(gap >= INTERVAL {int(pause_days)} DAY) AS retour,
               bool_or(verb = 'completed' AND module = ?) AS fini,
               max(ts) < (SELECT end_ts FROM bounds) - INTERVAL {int(idle_days)} DAY AS inactif
        FROM s GROUP BY 1""",
        [last_module],
    )
    df["statut"] = np.select(
        [df["fini"].fillna(False), df["inactif"]], ["parcours terminé", "a décroché"], "en cours"
    )
    return df


def paths_tables(data: Data, pause_days: int = 14) -> tuple[Protected, Protected, Protected]:
    df = learner_paths(data, pause_days)
    last = (
        df["dernier_module"]
        .fillna("(aucun module)")
        .value_counts()
        .sort_index()
        .rename("apprenants")
    )
    status = (
        df["statut"]
        .value_counts()
        .reindex(["parcours terminé", "en cours", "a décroché"], fill_value=0)
        .rename("apprenants")
    )
    ret = (
        df["retour"]
        .fillna(False)
        .map(
            {
                True: f"revenu après une pause d'au moins {pause_days} jours",
                False: "sans pause aussi longue",
            }
        )
        .value_counts()
        .rename("apprenants")
    )
    return protect(last, data.k), protect(status, data.k), protect(ret, data.k)
