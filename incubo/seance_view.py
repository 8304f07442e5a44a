"""What the room's screen shows of a séance, and what `incubo seance etat` prints: counts only, k-protected.

Built from the séance's own statements (their `context.registration`), never
from a name: the projection is read by the whole room. A count of 1 to k−1
learners is published as « < k »; a count whose complement in the room is
that small is hidden too (« masqué »), since the room's size is shown; among
the answers to a single-choice question, a lone hidden count is never left
computable from the others.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from incubo import xapi
from incubo.seance import CHOICE_SEPARATOR, Poll, Seance, normalise_word

HIDDEN = "masqué"


def small(k: int) -> str:
    return f"< {k}"


def binary(count: int, total: int, k: int) -> int | str:
    """A count out of `total` people, published only if neither it nor its complement is a small group."""
    if 0 < count < k:
        return small(k)
    if 0 < total - count < k:
        return HIDDEN
    return count


def partition(counts: list[int], k: int) -> list[int | str]:
    """Counts that add up to a published total (each person in one cell): primary + secondary suppression."""
    out: list[int | str] = [small(k) if 0 < c < k else c for c in counts]
    hidden = [i for i, v in enumerate(out) if isinstance(v, str)]
    if (
        len(hidden) == 1
    ):  # the total minus the others would give it away: hide the next smallest too
        others = sorted((c, i) for i, c in enumerate(counts) if i not in hidden and c > 0)
        if others:
            out[others[0][1]] = HIDDEN
    return out


def seance_statements(seance: Seance, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements of this séance (stamped with its registration by the LRS gate or the panel)."""
    return [
        s for s in statements if (s.get("context") or {}).get("registration") == seance.registration
    ]


def latest_answers(seance: Seance, poll: Poll, statements: list[dict[str, Any]]) -> dict[str, str]:
    """learner → their latest `result.response` to `poll` (used for counting, never published)."""
    iri = poll.activity(seance)
    latest: dict[str, tuple[str, str]] = {}
    for s in statements:
        if xapi.verb_of(s) != "answered" or xapi.object_iri(s) != iri:
            continue
        response = (s.get("result") or {}).get("response")
        if response is None:
            continue
        who, when = xapi.learner_of(s), str(s.get("timestamp") or "")
        if who not in latest or when >= latest[who][0]:
            latest[who] = (when, str(response))
    return {who: response for who, (_t, response) in latest.items()}


def option_counts(poll: Poll, responses: Iterable[str]) -> list[int]:
    """How many answers picked each option of a choice poll (option indexes joined by « [,] »)."""
    picked: Counter[int] = Counter()
    for response in responses:
        picked.update(
            {int(p) for p in str(response).split(CHOICE_SEPARATOR) if p.strip().isdigit()}
        )
    return [picked.get(i, 0) for i in range(len(poll.options))]


def word_groups(responses: Iterable[str]) -> dict[str, tuple[str, int]]:
    """A word poll's answers grouped (`normalise_word`): key → (the form most wrote, how many)."""
    typed: dict[str, Counter[str]] = {}
    for raw in responses:
        key = normalise_word(str(raw))
        if key:
            typed.setdefault(key, Counter())[" ".join(str(raw).split())] += 1
    return {key: (forms.most_common(1)[0][0], sum(forms.values())) for key, forms in typed.items()}


def poll_view(seance: Seance, poll: Poll, statements: list[dict[str, Any]]) -> dict[str, Any]:
    answers = latest_answers(seance, poll, statements)
    k = seance.k
    n = len(answers)
    view: dict[str, Any] = {
        "id": poll.id,
        "type": poll.kind,
        "question": poll.question,
        "reponses": n,
        "revele": poll.revealed,
        "ouvert": poll.closed_at is None,
        "options": [],
        "mots": [],
        "bonne_reponse": poll.answer_text() if poll.revealed else None,
    }
    if poll.kind.startswith("choix"):
        counts = option_counts(poll, answers.values())
        shown = (
            partition(counts, k)
            if poll.kind == "choix-unique"
            else [binary(c, n, k) for c in counts]
        )
        correct = set(poll.correct or []) if poll.revealed else set()
        view["options"] = [
            {
                "texte": text,
                "reponses": shown[i],
                "correcte": (i in correct) if poll.revealed else None,
            }
            for i, text in enumerate(poll.options)
        ]
    else:
        groups = word_groups(answers.values())
        shown_words = sorted(
            ((label, c) for label, c in groups.values() if c >= k), key=lambda g: -g[1]
        )
        rest = n - sum(c for _w, c in shown_words)
        view["mots"] = [{"mot": label, "reponses": c} for label, c in shown_words]
        view["autres"] = rest if rest == 0 or rest >= k else small(k)
    if poll.revealed and poll.correct not in (None, []):
        right = sum(1 for r in answers.values() if poll.is_correct(r))
        view["justes"] = binary(right, n, k)
    return view


@dataclass
class StepCount:
    """How many participants opened a step, and passed it (raw counts: protect before publishing)."""

    notebook: str
    exercises: int
    opened: int
    passed: int


def step_counts(
    seance: Seance,
    exercises: dict[str, str],
    participants: set[str],
    opened: dict[str, set[str]],
    passed: dict[str, set[str]],
) -> list[StepCount]:
    """The séance's figures per step, the one rule for the projection, `incubo seance etat` and the report.

    `exercises`: exercise id → notebook; `opened`: notebook → who opened it (`experienced`);
    `passed`: who → the module's exercises they passed. A step is passed by passing every
    exercise it holds; a step without exercises (a lesson) is passed by opening it.
    Steps first, then the optional notebooks, each once.
    """
    by_notebook: dict[str, set[str]] = defaultdict(set)
    for ex, nb in exercises.items():
        by_notebook[nb].add(ex)
    out = []
    for nb in dict.fromkeys([*seance.steps, *seance.optional]):
        needed = by_notebook.get(nb, set())
        who_opened = opened.get(nb, set()) & participants
        if needed:
            done = sum(1 for who in participants if needed <= passed.get(who, set()))
        else:
            done = len(who_opened)
        out.append(StepCount(nb, len(needed), len(who_opened), done))
    return out


def seance_view(
    seance: Seance, statements: list[dict[str, Any]], exercises: dict[str, str] | None = None
) -> dict[str, Any]:
    """The séance as the room's screen shows it: `exercises` maps exercise id → notebook."""
    own = seance_statements(seance, statements)
    k = seance.k
    participants = {xapi.learner_of(s) for s in own}
    n = len(participants)
    opened: dict[str, set[str]] = defaultdict(set)
    passed: dict[str, set[str]] = defaultdict(set)  # learner → exercises
    for s in own:
        verb, who = xapi.verb_of(s), xapi.learner_of(s)
        tail = xapi.object_tail(s)
        if verb == "experienced" and tail.startswith("lecon/"):
            opened[tail.split("/", 1)[1]].add(who)
        elif verb == "passed":
            _p, module, ex = xapi.located(s)
            if ex and module == seance.module:
                passed[who].add(ex)
    unlocked = set(seance.unlocked)
    steps = [
        {
            "notebook": c.notebook,
            "titre": seance.step_titles.get(c.notebook, c.notebook),
            "debloquee": c.notebook in unlocked or c.notebook in seance.optional,
            "optionnelle": c.notebook in seance.optional,
            "exercices": c.exercises,
            "ouverte_par": binary(c.opened, n, k),
            "reussie_par": binary(c.passed, n, k),
        }
        for c in step_counts(seance, exercises or {}, participants, opened, passed)
    ]
    current = seance.current_poll
    return {
        "code": seance.code,
        "titre": seance.title,
        "module": seance.module,
        "ouverte": seance.is_open,
        "ouverte_a": seance.opened_at,
        "fermee_a": seance.closed_at,
        "pas_a_pas": seance.step_by_step,
        "etape": seance.step + 1 if seance.step_by_step else len(seance.steps),
        "k": k,
        "participants": n,
        "declarations": len(own),
        "etapes": steps,
        "sondage": poll_view(seance, current, own) if current else None,
        "sondages": [poll_view(seance, p, own) for p in seance.polls],
    }
