"""The séance a report is about: its definition, from the hub's store or from the course directory.

On the hub machine the séances live in `<hub_dir>/seances/` (`incubo.seance`,
readable by root only); demo data and séances copied off the hub for research
are `<course_dir>/seances/<CODE>.json`, in the same format (`Seance.to_dict()`).
A report looks in both, the hub first.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from incubo.errors import IncuboError, suggestion

log = logging.getLogger(__name__)

#: Where a course directory keeps séance definitions (demo data, copies for research).
SEANCES_DIR = "seances"


def normalise(code: str) -> str:
    """A code as read aloud and typed: capitals, no spaces (« kt7 mqa » → « KT7MQA »)."""
    return re.sub(r"[\s-]+", "", str(code or "")).upper()


def check_code(value: str) -> str:
    """The parameter rule of `-p seance CODE` (a ValueError with the French reason)."""
    from incubo.seance import SeanceError
    from incubo.seance import check_code as core_check

    code = normalise(value)
    if not code:
        return code
    try:
        return core_check(code)
    except SeanceError:
        raise ValueError(
            "un code de séance est attendu : 4 à 8 lettres capitales ou chiffres, par exemple KT7MQA"
        ) from None


def _hub_dir() -> Path:
    from incubo.config import hub_dir

    return hub_dir()  # INCUBO_HUB_DIR, else the VM layout's /srv/incubo/hub


def known_codes(course_dir: Path) -> list[str]:
    """Codes of the séances a report can find (the hub's when readable, the course directory's)."""
    found: set[str] = set()
    for folder in (_hub_dir() / SEANCES_DIR, Path(course_dir) / SEANCES_DIR):
        try:
            found |= {p.stem for p in folder.glob("*.json")}
        except OSError:
            continue
    return sorted(found)


def find(code: str, course_dir: Path):
    """The séance `code` (an `incubo.seance.Seance`), or a French error listing the known ones."""
    from incubo import seance

    code = normalise(code)
    if not code:
        raise IncuboError(
            "Précisez la séance : incubo report seance -p seance CODE "
            "(le code affiché à l'ouverture de la séance).",
            code="seance-manquante",
        )
    here = Path(course_dir) / SEANCES_DIR
    hub = _hub_dir()
    if not os.access(
        hub / SEANCES_DIR, os.X_OK
    ):  # none here, or root's store read by another account
        hub = Path(course_dir)  # `load(d)` reads d/seances/: the course directory's copies only
    try:
        return seance.load(hub, code, also=[here])
    except seance.SeanceError as exc:
        if exc.code != "seance-inconnue":
            raise
        known = known_codes(course_dir)
        listing = f" Séances connues : {', '.join(known)}." if known else ""
        raise IncuboError(
            f"Séance inconnue : « {code} » (cherchée dans {_hub_dir() / SEANCES_DIR} et {here})."
            f"{suggestion(code, known)}{listing}",
            code="seance-inconnue",
        ) from None


def module_exercises(seance, course_dir: Path) -> dict[str, str]:
    """Exercise id → notebook for the séance's module: the release's sidecar, else the course shape."""
    from incubo import seance as core
    from incubo.reports.course_shape import read_shape

    try:
        return dict(core.module_info(Path(course_dir), seance.module).exercises)
    except (IncuboError, OSError, ValueError):
        pass
    for module in read_shape(Path(course_dir)).modules:
        if module.id == seance.module:
            return {ex.id: ex.notebook for ex in module.exercises}
    return {}


def _when(iso: str | None):
    """An ISO instant of the store → the room's local time (`incubo.french_time`), or None."""
    from incubo.french_time import local
    from incubo.seance import parse_time

    ts = parse_time(iso)
    return None if ts is None else local(ts)


def window_fr(seance) -> str:
    """« le jeudi 3 mars 2026, de 9 h 30 à 11 h 45 (heure de Paris) », or « … ouverte depuis 9 h 30 … »."""
    from incubo.french_time import french_clock, french_date, zone_label

    start, end = _when(seance.opened_at), _when(seance.closed_at)
    if start is None:
        return "à une date inconnue"

    def day(t) -> str:
        return f"{french_date(t.date())} {t.year}"

    zone = zone_label()
    if end is None:
        return (
            f"le {day(start)}, ouverte depuis {french_clock(start)} ({zone}) et pas encore fermée"
        )
    if end.date() == start.date():
        return f"le {day(start)}, de {french_clock(start)} à {french_clock(end)} ({zone})"
    return f"du {day(start)}, {french_clock(start)}, au {day(end)}, {french_clock(end)} ({zone})"


def check_data(seance, src) -> None:
    """Refuse, before a kernel starts, a séance of which the sources hold no statement."""
    import tempfile

    from incubo.reports import sources

    for url in src.lrs_urls:
        with tempfile.TemporaryDirectory() as tmp:
            if sources.fetch_lrs(
                url,
                Path(tmp) / "sonde.jsonl",
                lambda s: {},
                timeout=10,
                pages=1,
                limit=1,
                query={"registration": seance.registration},
                auth=src.lrs_auth.get(url),
            ):
                return
    if src.event_files:
        import duckdb

        found = duckdb.sql(
            "SELECT count(*) FROM read_json($files, format='newline_delimited', "
            "columns={context: 'STRUCT(registration VARCHAR)'}, ignore_errors=true) "
            "WHERE context.registration = $reg",
            params={"files": [str(p) for p in src.event_files], "reg": seance.registration},
        ).fetchall()[0][0]
        if found:
            return
    raise IncuboError(
        f"Aucune trace d'activité de la séance « {seance.code} » ({window_fr(seance)}) dans les "
        "sources lues : vérifiez -p evenements (le LRS de la salle ou les fichiers exportés).",
        code="seance-vide",
    )


def heading(data, seance, title: str) -> None:
    """What the report covers, in plain words: the séance, its module, when, how many, privacy."""
    import html

    from incubo.reports import nb, titles

    n, k = data.n_learners, data.k
    people = nb.fmt(n) if n >= k else f"moins de {k}"
    label = titles.module_label(seance.module)
    module = "" if label == seance.title else f" (module {html.escape(label)})"
    mode = (
        "étapes débloquées une à une par le formateur"
        if seance.step_by_step
        else "module entier ouvert"
    )
    nb.paragraph(
        nb.demo_banner(data)
        + f"<p><strong>{html.escape(title)}</strong> — séance <strong>{html.escape(seance.code)}</strong> : "
        f"« {html.escape(seance.title)} »{module}, "
        f"{html.escape(window_fr(seance))} ; {mode}.</p>"
        f"<p>{people} participants, {nb.fmt(data.n_statements)} actions enregistrées pendant la "
        f"séance, {len(seance.steps)} étape(s), {len(seance.polls)} sondage(s).</p>"
        "<p class='incubo-note'>Confidentialité : chaque participant est remplacé par un code qu’on ne "
        "peut pas relier à son nom sans une clé gardée à part ; aucun nom, courriel ni identifiant "
        f"n’apparaît. Tout groupe de moins de {k} personnes est masqué (« &lt; {k} »), et d’autres cases "
        "le sont si besoin (« supprimé ») pour qu’aucun total ne le révèle. Les termes techniques sont "
        "expliqués dans la section « Méthode », à la fin.</p>" + nb.exclusion_note(data)
    )
