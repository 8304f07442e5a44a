"""A synthetic cohort for demos, tests and benchmarks, reproducible from its seed.

Writes into the course directory what a real run of the programme leaves
there, so that the reports read demo data with the same code as real data:

- `apprenants.csv`: one row per learner, with real-looking names, e-mails and
  user names (reports must never show them) and the attributes the research
  uses (service, département, tranche d'âge, cohorte);
- `evenements/demo.jsonl`: xAPI statements built by `incubo.xapi.statement()`;
- `gradebook.db`: an nbgrader gradebook (see `demo_gradebook`);
- `seances/<CODE>.json` and `evenements/seances-demo.jsonl`: a few live séances of the
  room and what their participants did (see `demo_seances`);
- `evenements/revisions-demo.jsonl`: « Ma révision du jour » over 90 days after each learner's
  first lesson, scheduled by FSRS, answered under a known forgetting model (see `demo_reviews`).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incubo import console, course_layout, xapi
from incubo.errors import IncuboError
from incubo.reports import demo_reviews
from incubo.reports.course_shape import CourseShape, read_shape

log = logging.getLogger(__name__)

LEARNERS_FILE = course_layout.LEARNERS
EVENTS_DIR = course_layout.EVENTS
DEMO_EVENTS_FILE = "demo.jsonl"
MARKER = ".incubo-demo.json"
LEARNER_COLUMNS = [
    "identifiant",
    "prenom",
    "nom",
    "courriel",
    "service",
    "departement",
    "tranche_age",
    "cohorte",
]

DEPARTEMENTS = ["09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"]
_DEPT_WEIGHTS = [2, 5, 4, 9, 18, 3, 14, 3, 1, 3, 6, 5, 3]
SERVICES = ["Préfecture", "DDETS", "DDT(M)", "DREAL", "DRAAF", "Rectorat", "DRFiP", "ARS"]
_SERVICE_WEIGHTS = [24, 14, 18, 9, 6, 12, 11, 6]
AGE_BANDS = ["moins de 30 ans", "30-39 ans", "40-49 ans", "50-59 ans", "60 ans et plus"]
_AGE_WEIGHTS = [8, 17, 27, 35, 13]
COHORTS = [
    ("2026-printemps", datetime(2026, 3, 2, tzinfo=UTC)),
    ("2026-automne", datetime(2026, 9, 7, tzinfo=UTC)),
]
#: Self-assessment items (Likert 1–5), asked at the start (`debut`) and the end (`fin`).
#: Same item ids as the `Autoevaluation` widget writes (`autoevaluation-<item>`).
SELF_ASSESSMENT = [
    f"autoevaluation-{item}"
    for item in (
        "aise-numerique",
        "tableur",
        "comprendre-code",
        "ecrire-code",
        "erreurs",
        "donnees",
    )
]

_FIRST = (
    "Marie Nathalie Isabelle Sylvie Catherine Christine Sandrine Valérie Véronique Céline Sophie Anne "
    "Laurence Martine Françoise Brigitte Patricia Nicole Hélène Claire Agnès Émilie Julie Camille "
    "Philippe Pierre Jean Michel Alain Patrick Nicolas Christophe Laurent Éric Frédéric Stéphane "
    "Olivier Thierry David Pascal Didier Bruno Gilles Thomas Julien Sébastien Vincent Jérôme Mathieu"
).split()
_LAST = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel "
    "Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier Dupont Lambert Bonnet Fontaine "
    "Rousseau Blanc Guerin Muller Henry Roussel Nicolas Perrin Morin Mathieu Clement Gauthier Dumont Lopez "
    "Fabre Sanchez Rouquette Cazals Vidal Bouissou Azéma Séguier Mas Bousquet Delmas Combes Fabié"
).split()
_DOMAINS = {
    "Préfecture": "occitanie.gouv.fr",
    "DDETS": "ddets.gouv.fr",
    "DDT(M)": "equipement-agriculture.gouv.fr",
    "DREAL": "developpement-durable.gouv.fr",
    "DRAAF": "agriculture.gouv.fr",
    "Rectorat": "ac-toulouse.fr",
    "DRFiP": "dgfip.finances.gouv.fr",
    "ARS": "ars.sante.fr",
}


@dataclass
class Learner:
    identifiant: str
    prenom: str
    nom: str
    courriel: str
    service: str
    departement: str
    tranche_age: str
    cohorte: str
    ability: float = 0.0
    engagement: float = 0.0
    # filled by the simulation: module id -> {exercise id: score}
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    submitted_at: dict[str, datetime] = field(default_factory=dict)
    reached: list = field(default_factory=list)  # modules opened
    span: tuple = ()  # first and last activity

    def row(self) -> list[str]:
        return [getattr(self, c) for c in LEARNER_COLUMNS]


def _ascii(text: str) -> str:
    return (
        unicodedata.normalize("NFKD", text)
        .encode("ascii", "ignore")
        .decode()
        .lower()
        .replace(" ", "")
    )


def make_learners(n: int, rng: random.Random) -> list[Learner]:
    learners: list[Learner] = []
    used: set[str] = set()
    for i in range(n):
        prenom, nom = rng.choice(_FIRST), rng.choice(_LAST)
        service = rng.choices(SERVICES, _SERVICE_WEIGHTS)[0]
        base = (_ascii(prenom)[0] + _ascii(nom))[:12]
        ident, k = base, 1
        while ident in used:
            k += 1
            ident = f"{base}{k}"
        used.add(ident)
        mail_local = f"{_ascii(prenom)}.{_ascii(nom)}" + (str(k) if k > 1 else "")
        learners.append(
            Learner(
                identifiant=ident,
                prenom=prenom,
                nom=nom,
                courriel=f"{mail_local}@{_DOMAINS[service]}",
                service=service,
                departement=rng.choices(DEPARTEMENTS, _DEPT_WEIGHTS)[0],
                tranche_age=rng.choices(AGE_BANDS, _AGE_WEIGHTS)[0],
                cohorte=COHORTS[i % len(COHORTS)][0],
                ability=rng.gauss(0, 1),
                engagement=rng.gauss(0, 1),
            )
        )
    return learners


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _ts(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Writer:
    """Builds statements with `incubo.xapi.statement()` and writes them as JSON Lines."""

    def __init__(self, fh, rng: random.Random) -> None:
        self.fh, self.rng, self.count = fh, rng, 0

    def emit(self, learner: Learner, t: datetime, verb: str, **kw) -> None:
        sid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        registration = str(uuid.uuid5(uuid.NAMESPACE_URL, f"incubo:cohorte:{learner.cohorte}"))
        stmt = xapi.statement(
            verb,
            actor_name=learner.identifiant,
            timestamp=_ts(t),
            statement_id=sid,
            registration=registration,
            homepage=xapi.DEFAULT_HOMEPAGE,
            **kw,
        )
        self.fh.write(json.dumps(stmt, ensure_ascii=False, separators=(",", ":")))
        self.fh.write("\n")
        self.count += 1


def _difficulty(exercise_id: str, seed: int) -> float:
    return random.Random(f"{seed}:{exercise_id}").uniform(-1.2, 1.0)


def simulate(learner: Learner, shape: CourseShape, w: _Writer, seed: int) -> None:
    """One learner's path through the course: lessons, attempts, hints, drop-out, returns, self-assessments."""
    rng = w.rng
    start = dict(COHORTS)[learner.cohorte]
    t = start + timedelta(
        days=rng.randint(0, 6), hours=rng.randint(8, 16), minutes=rng.randint(0, 59)
    )
    first = t
    parcours = shape.parcours[0]
    base_likert = 2.3 + 0.5 * learner.ability
    t, initial = _questionnaire(
        learner, w, parcours, t, "debut",
        lambda item: max(1, min(5, round(base_likert + rng.gauss(0, 0.8)))),
    )  # fmt: skip
    done = 0
    modules = [m for m in shape.modules if m.parcours == parcours]
    for index, module in enumerate(modules):
        if index and rng.random() > _sigmoid(2.2 + 0.9 * learner.engagement - 0.2 * index):
            break  # drop-out
        learner.reached.append(module)
        if index:
            gap = (
                rng.randint(2, 9) if rng.random() > 0.12 else rng.randint(21, 42)
            )  # sometimes a long pause, then a return
            t = t.replace(hour=rng.randint(8, 16)) + timedelta(days=gap)
        t, outcome = _work_through_module(learner, w, parcours, module, t, seed)
        if outcome == "left":
            break
        done += outcome == "completed"
    learner.span = (first, t)
    if done == len(modules) or rng.random() < 0.35 * done / max(len(modules), 1):
        t += timedelta(days=rng.randint(0, 10))
        gain = 0.1 + 1.0 * done / max(len(modules), 1)
        _questionnaire(
            learner, w, parcours, t, "fin",
            lambda item: max(1, min(5, round(initial[item] + gain + rng.gauss(0, 1.0)))),
        )  # fmt: skip


def _questionnaire(learner, w: _Writer, parcours: str, t: datetime, moment: str, value_of):
    """The self-assessment at the start or the end: one answer per item; (time after, answers)."""
    answers = {}
    for item in SELF_ASSESSMENT:
        answers[item] = value = value_of(item)
        t += timedelta(seconds=w.rng.randint(5, 40))
        w.emit(
            learner,
            t,
            "answered",
            parcours=parcours,
            kind="questionnaire",
            ident=item,
            result={"response": str(value)},
            extensions={"questionnaire-moment": moment},
        )
    return t, answers


def _work_through_module(learner, w: _Writer, parcours: str, module, t: datetime, seed: int):
    """Lessons, quiz, exercises, submission of one module: (time after, "left", "completed" or "continued")."""
    rng = w.rng
    for lesson in module.lessons:
        w.emit(
            learner,
            t,
            "experienced",
            parcours=parcours,
            module=module.id,
            kind="lecon",
            ident=lesson,
        )
        t += timedelta(minutes=rng.randint(5, 15))
    if rng.random() < 0.06 + 0.05 * max(0.0, -learner.engagement):
        return t, "left"  # opened the module's lessons, never tried its exercises
    for q in module.quiz:
        ok = rng.random() < _sigmoid(1.0 + learner.ability)
        w.emit(
            learner, t, "answered", parcours=parcours, module=module.id, kind="quiz", ident=q,
            result={"success": ok, "response": "a" if ok else "b"},
        )  # fmt: skip
        t += timedelta(seconds=rng.randint(20, 90))
    for nb in module.exercise_notebooks:
        w.emit(
            learner, t, "experienced", parcours=parcours, module=module.id, kind="lecon", ident=nb
        )
        t += timedelta(minutes=rng.randint(1, 3))
    scores: dict[str, float] = {}
    for ex in module.exercises:
        if scores and rng.random() < 0.07:
            return t, "left"  # left in the middle of the exercises
        t, scores[ex.id] = _exercise(learner, w, parcours, module.id, ex, t, seed)
    if rng.random() < 0.9:  # submitted and autograded
        t += timedelta(minutes=rng.randint(1, 30))
        _submitted(learner, w, parcours, module, scores, t)
    if sum(1 for s in scores.values() if s > 0) * 2 >= len(module.exercises):
        t += timedelta(seconds=rng.randint(5, 60))
        w.emit(learner, t, "completed", parcours=parcours, module=module.id)
        return t, "completed"
    return t, "continued"


def _exercise(learner, w: _Writer, parcours: str, module: str, ex, t: datetime, seed: int):
    """Attempts (with hints) until passed or given up; (time after, score the grader will give)."""
    rng = w.rng
    d = _difficulty(ex.id, seed)
    hints = 0
    passed = False
    where = dict(parcours=parcours, module=module, kind="exercice", ident=ex.id)
    for attempt in range(1, 7):
        if attempt > 1 and hints < max(ex.hints, 1) and rng.random() < 0.55:
            hints += 1
            w.emit(learner, t, "asked", **where, extensions={"hint-number": hints})
            t += timedelta(seconds=rng.randint(30, 120))
        t += timedelta(seconds=rng.randint(40, 400))
        passed = rng.random() < _sigmoid(learner.ability - d + 0.5 * (attempt - 1) + 0.4 * hints)
        verdict = "correct" if passed else rng.choice(["incorrect", "incorrect", "erreur"])
        w.emit(
            learner, t, "attempted", **where, result={"success": passed},
            extensions={"verdict": verdict, "attempt": attempt},
        )  # fmt: skip
        if passed or (attempt >= 2 and rng.random() < 0.2):
            break
    t += timedelta(seconds=rng.randint(2, 10))
    w.emit(
        learner, t, "passed" if passed else "failed", **where, result={"success": passed},
        extensions={"attempt": attempt},
    )  # fmt: skip
    return t, ex.points if passed else (ex.points / 2 if rng.random() < 0.3 else 0.0)


def _submitted(learner, w: _Writer, parcours: str, module, scores: dict, t: datetime) -> None:
    """The module submitted and autograded at `t`: its scores kept, one « scored » per exercise."""
    learner.scores[module.id] = scores
    learner.submitted_at[module.id] = t
    for ex in module.exercises:
        w.emit(
            learner, t, "scored", parcours=parcours, module=module.id, kind="exercice", ident=ex.id,
            result=dict(
                score=xapi.score(scores[ex.id], ex.points), success=scores[ex.id] >= ex.points
            ),
        )  # fmt: skip


def _check_course_dir(course_dir: Path) -> dict:
    marker = course_dir / MARKER
    previous = {}
    if marker.exists():
        previous = json.loads(marker.read_text(encoding="utf-8"))
        return previous
    for name in (LEARNERS_FILE, f"{EVENTS_DIR}/{DEMO_EVENTS_FILE}"):
        if (course_dir / name).exists():
            raise IncuboError(
                f"Le dossier de cours {course_dir} contient déjà « {name} », qui ne vient pas de « incubo demo-data ». "
                "Choisissez un autre dossier avec --course-dir pour ne pas écraser des données réelles.",
                code="demo-dossier-occupe",
            )
    return previous


def revisit(people: list[Learner], w: _Writer, count: int, parcours: str) -> None:
    """Lessons opened again during a learner's active period (to reach a benchmark's statement count)."""
    rng = w.rng
    active = [p for p in people if p.reached and p.span]
    for _ in range(count if active else 0):
        p = rng.choice(active)
        module = rng.choice(p.reached)
        lesson = rng.choice(module.lessons or module.exercise_notebooks or ["lecon"])
        first, last = p.span
        t = first + (last - first) * rng.random()
        w.emit(p, t, "experienced", parcours=parcours, module=module.id, kind="lecon", ident=lesson)


def generate(
    course_dir: Path,
    *,
    learners: int = 200,
    seed: int = 0,
    gradebook: bool = True,
    statements: int | None = None,
    progress: bool = False,
    seances: bool | None = None,
) -> dict:
    """Write a synthetic cohort into `course_dir`; returns a summary (counts, files).

    `statements`, when given, pads the cohort with lessons opened again until
    the file holds exactly that many statements (benchmarks), and then no
    séances are written unless `seances` says so.
    """
    if learners < 1:
        raise IncuboError(
            "Le nombre d'apprenants doit être au moins 1 (option --learners).",
            code="demo-parametre",
        )
    course_dir = Path(course_dir)
    course_dir.mkdir(parents=True, exist_ok=True)
    previous = _check_course_dir(course_dir)
    if gradebook:
        from incubo.reports.demo_gradebook import check_gradebook

        check_gradebook(course_dir, previous.get("gradebook_created"))
    shape = read_shape(course_dir)
    rng = random.Random(seed)
    people = make_learners(learners, rng)
    with open(course_dir / LEARNERS_FILE, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(LEARNER_COLUMNS)
        out.writerows(p.row() for p in people)
    count = _write_events(course_dir, shape, people, rng, seed, statements, progress)
    summary = {
        "learners": learners,
        "seed": seed,
        "statements": count,
        "shape": shape.origin,
        "files": [LEARNERS_FILE, f"{EVENTS_DIR}/{DEMO_EVENTS_FILE}"],
    }
    reviews_file = course_dir / EVENTS_DIR / demo_reviews.EVENTS_FILE
    if statements:  # a benchmark's exact count: no review histories
        reviews_file.unlink(missing_ok=True)
    else:
        events = course_dir / EVENTS_DIR / DEMO_EVENTS_FILE
        made_reviews = demo_reviews.generate(course_dir, people, events, seed)
        summary["review_statements"] = made_reviews["statements"]
        summary["files"].append(made_reviews["file"])
    from incubo.reports import demo_seances

    demo_seances.remove(course_dir, previous.get("seances", []))
    if seances if seances is not None else not statements:
        made = demo_seances.generate(course_dir, shape, people, COHORTS, seed)
        summary["seances"] = made["codes"]
        summary["seance_statements"] = made["statements"]
        summary["files"] += [made["file"], f"{demo_seances.SEANCES_DIR}/"]
    else:
        (course_dir / EVENTS_DIR / demo_seances.EVENTS_FILE).unlink(missing_ok=True)
    if gradebook:
        from incubo.reports.demo_gradebook import write_gradebook

        created = write_gradebook(course_dir, shape, people, previous.get("gradebook_created"))
        summary["gradebook_created"] = created
        summary["files"].append("gradebook.db")
    (course_dir / MARKER).write_text(
        json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    log.info("demo data: %s", summary)
    return summary


def _write_events(
    course_dir: Path, shape, people: list, rng, seed: int, statements: int | None, progress: bool
) -> int:
    """Every learner simulated into the events file (padded to `statements` if given); the count."""
    events = course_dir / EVENTS_DIR / DEMO_EVENTS_FILE
    events.parent.mkdir(exist_ok=True)
    tmp = events.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        writer = _Writer(fh, rng)
        bar = (
            console.progress_bar(len(people), "Apprenants simulés", "apprenant")
            if progress
            else None
        )
        for person in people:
            simulate(person, shape, writer, seed)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        if statements and writer.count < statements:
            revisit(people, writer, statements - writer.count, shape.parcours[0])
        elif statements and writer.count > statements:
            log.warning("%d statements simulated, more than the %d asked", writer.count, statements)
    tmp.replace(events)
    return writer.count
