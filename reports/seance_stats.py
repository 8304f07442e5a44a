"""The numbers of a séance's summary report, small groups hidden before anything is published.

Input: the séance's statements only (`open_data(registration=…)`: those whose
`context.registration` is the séance's) and its definition (`incubo.seance.Seance`:
steps, polls). Definitions, also stated in the report:

- a *participant* has at least one statement of the séance;
- a participant *opened* a step (a notebook) with an `experienced` statement on it; *passed*
  it by passing every exercise it holds (computed once, for the projection too:
  `incubo.seance_view.step_counts`; a step without exercises has no « passed » row here);
- a poll's answer is the participant's last `answered` statement on the poll's activity
  (`Poll.activity`), its `result.response` being the option index(es) joined by « [,] », a
  number or a word;
- *time spent*: from a participant's first to last statement of the séance.

Every count of 1 to k−1 people is hidden, and so is its complement (a participant either
did a thing or not: publishing one side with the total would reveal the other).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from incubo.reports.load import Data
from incubo.reports.suppression import Protected, protect

log = logging.getLogger(__name__)

TIME_BINS = [0, 15, 30, 60, 90, 120, float("inf")]
TIME_LABELS = [
    "moins de 15 min",
    "15 à 30 min",
    "30 min à 1 h",
    "1 h à 1 h 30",
    "1 h 30 à 2 h",
    "2 h ou plus",
]
KIND_FR = {
    "choix-unique": "choix unique",
    "choix-multiple": "choix multiple",
    "nombre": "nombre",
    "mot": "mot",
}
OTHER_WORDS = "autres mots"


def participants(data: Data) -> int:
    return data.n_learners


def yes_no(
    counts: dict[str, int], total: int, k: int, yes: str, no: str, index_name: str
) -> Protected:
    """For each row, those who did (`yes`) and those who did not, out of `total`; small sides hidden."""
    labels = list(counts)
    frame = pd.DataFrame(
        {yes: [counts[x] for x in labels], no: [max(total - counts[x], 0) for x in labels]},
        index=pd.Index(labels, name=index_name),
    )
    return protect(frame, k, row_totals=True, col_totals=False)


# --- steps and exercises -------------------------------------------------------------------------


def _learners(data: Data, where: str, params: list) -> set[str]:
    return set(
        data.sql(f"SELECT DISTINCT learner FROM statements WHERE {where}", params)["learner"]
    )


def steps(data: Data, seance, exercises: dict[str, str]) -> tuple[Protected, Protected | None]:
    """Participants who opened each step, and who passed each step that holds exercises.

    The counts are the projection's (`incubo.seance_view.step_counts`), read from the
    pseudonymised table; only their publication (k-protected tables) is the report's.
    """
    from collections import defaultdict

    from incubo.seance_view import step_counts

    rows = data.sql(
        "SELECT DISTINCT learner, verb, kind, item, module FROM statements "
        "WHERE (verb = 'experienced' AND kind = 'lecon') "
        "OR (verb = 'passed' AND kind = 'exercice' AND module = ?)",
        [seance.module],
    )
    opened: dict[str, set[str]] = defaultdict(set)
    passed: dict[str, set[str]] = defaultdict(set)
    for who, verb, item in zip(rows["learner"], rows["verb"], rows["item"], strict=True):
        if verb == "experienced":
            opened[item].add(who)
        else:
            passed[who].add(item)
    counts = step_counts(seance, exercises, _learners(data, "true", []), opened, passed)
    n = participants(data)
    opened_t = yes_no(
        {c.notebook: c.opened for c in counts}, n, data.k, "ont ouvert", "n'ont pas ouvert", "étape"
    )
    with_exercises = {c.notebook: c.passed for c in counts if c.exercises}
    passed_t = (
        yes_no(with_exercises, n, data.k, "ont tout réussi", "pas tout réussi", "étape")
        if with_exercises
        else None
    )
    return opened_t, passed_t


def exercises_passed(data: Data, seance, exercises: dict[str, str]) -> Protected | None:
    """Participants who passed each exercise of the module during the séance."""
    if not exercises:
        return None
    rows = data.sql(
        "SELECT item, count(DISTINCT learner) AS n FROM statements WHERE verb = 'passed' "
        "AND kind = 'exercice' AND module = ? GROUP BY item",
        [seance.module],
    )
    counts = dict(zip(rows["item"], rows["n"].astype(int), strict=True))
    order = sorted(exercises, key=lambda ex: (exercises[ex] or "~", ex))
    return yes_no(
        {ex: counts.get(ex, 0) for ex in order},
        participants(data),
        data.k,
        "ont réussi",
        "n'ont pas réussi",
        "exercice",
    )


# --- polls ---------------------------------------------------------------------------------------


@dataclass
class PollResult:
    poll: object
    respondents: int
    table: Protected | None
    correct_rows: list[str] = field(default_factory=list)  # rows of `table` that are right answers
    median: float | None = None  # numbers: the median answer (published only for k or more)
    correct_text: str = ""


def _last_answers(data: Data, seance, poll) -> pd.Series:
    rows = data.sql(
        "SELECT learner, response FROM (SELECT learner, response, row_number() OVER "
        "(PARTITION BY learner ORDER BY ts DESC) AS rn FROM statements WHERE verb = 'answered' "
        "AND kind = 'quiz' AND item = ?) WHERE rn = 1",
        [f"seance-{seance.code}-{poll.id}"],
    )
    return rows.set_index("learner")["response"].fillna("")


def _number(response: str) -> float | None:
    try:
        return float(str(response).strip().replace("\u202f", "").replace(" ", "").replace(",", "."))
    except ValueError:
        return None


def _word(response: str) -> str:
    from incubo.seance import normalise_word

    return normalise_word(str(response))


def _option_label(i: int, text: str) -> str:
    return f"{chr(65 + i) if i < 26 else i + 1}. {text}"


def poll_result(data: Data, seance, poll) -> PollResult:
    """One poll's answers, as published: per option (or word, or right/other for a number)."""
    answers = _last_answers(data, seance, poll)
    n = len(answers)
    k = data.k
    correct = poll.correct
    if poll.kind in ("choix-unique", "choix-multiple"):
        from incubo.seance_view import option_counts

        labels = [_option_label(i, t) for i, t in enumerate(poll.options)]
        counts = dict(zip(labels, option_counts(poll, answers), strict=True))
        right = [labels[i] for i in (correct or []) if 0 <= i < len(labels)]
        if poll.kind == "choix-unique":
            series = pd.Series(counts, name="réponses", dtype=int).rename_axis("réponse")
            table = protect(series, k)
        else:
            table = yes_no(counts, n, k, "ont coché", "n'ont pas coché", "réponse")
        return PollResult(poll, n, table, right, correct_text=poll.answer_text())
    if poll.kind == "nombre":
        values = [v for v in (_number(r) for r in answers) if v is not None]
        median = float(pd.Series(values).median()) if len(values) >= k else None
        if correct is None:
            return PollResult(poll, n, None, median=median)
        good = sum(1 for r in answers if poll.is_correct(str(r)))
        right_label = "bonne réponse"
        series = pd.Series(
            {right_label: good, "autre réponse": n - good}, name="réponses", dtype=int
        ).rename_axis("réponse")
        return PollResult(poll, n, protect(series, k), [right_label], median, poll.answer_text())
    # a word: words given by k people or more are shown (as most of them wrote it), the others together
    from incubo.seance_view import word_groups

    groups = word_groups(answers)
    shown = {label: c for _key, (label, c) in sorted(groups.items()) if c >= k}
    rest = sum(c for _label, c in groups.values() if c < k)
    series = pd.Series({**shown, OTHER_WORDS: rest}, dtype=int)
    series = series.rename("réponses").rename_axis("réponse")
    right = [w for w in shown if correct and _word(w) == _word(str(correct))]
    return PollResult(poll, n, protect(series, k), right, correct_text=poll.answer_text())


def polls(data: Data, seance) -> list[PollResult]:
    return [poll_result(data, seance, p) for p in seance.polls]


# --- participation and time spent -----------------------------------------------------------------


def answered_any_poll(data: Data, seance) -> int:
    items = [f"seance-{seance.code}-{p.id}" for p in seance.polls]
    if not items:
        return 0
    return len(
        _learners(
            data,
            "verb = 'answered' AND kind = 'quiz' AND item IN (SELECT unnest(?::VARCHAR[]))",
            [items],
        )
    )


def participation(data: Data, seance) -> Protected:
    """Participants who answered a poll, checked an exercise, passed one."""
    n = participants(data)
    rows = {
        "ont répondu à au moins un sondage": answered_any_poll(data, seance),
        "ont vérifié au moins un exercice": len(
            _learners(data, "verb IN ('attempted', 'passed', 'failed') AND kind = 'exercice'", [])
        ),
        "ont réussi au moins un exercice": len(
            _learners(data, "verb = 'passed' AND kind = 'exercice'", [])
        ),
    }
    return yes_no(rows, n, data.k, "oui", "non", "participants")


def minutes_spent(data: Data) -> pd.Series:
    """Minutes from each participant's first to last statement of the séance."""
    df = data.sql(
        "SELECT learner, date_diff('second', min(ts), max(ts)) / 60.0 AS minutes "
        "FROM statements GROUP BY learner"
    )
    return df.set_index("learner")["minutes"].astype(float)


def time_spent(data: Data) -> tuple[Protected, dict[str, float] | None]:
    """Participants per duration band, and the quartiles (only for k participants or more)."""
    minutes = minutes_spent(data)
    bands = pd.cut(minutes, TIME_BINS, labels=TIME_LABELS, right=False)
    counts = bands.value_counts().reindex(TIME_LABELS, fill_value=0).astype(int)
    table = protect(counts.rename("participants").rename_axis("temps passé"), data.k)
    summary = None
    if len(minutes) >= data.k:
        summary = {
            "q1": float(minutes.quantile(0.25)),
            "mediane": float(minutes.median()),
            "q3": float(minutes.quantile(0.75)),
        }
    return table, summary
