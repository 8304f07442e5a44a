"""The séance a report is about: its definition, from the hub's store or from the course directory.

On the hub machine the séances live in `<hub_dir>/seances/` (`incubo.seance`,
readable by root only); demo data and séances copied off the hub for research
are `<course_dir>/seances/<CODE>.json`, in the same format (`Seance.to_dict()`).
A report looks in both, the hub first.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from incubo.errors import IncuboError, suggestion

log = logging.getLogger(__name__)

#: Where a course directory keeps séance definitions (demo data, copies for research).
SEANCES_DIR = "seances"
_CODE = re.compile(r"^[A-Z0-9]{4,8}$")


def normalise(code: str) -> str:
    """A code as read aloud and typed: capitals, no spaces (« abc 123 » → « ABC123 »)."""
    return re.sub(r"[\s-]+", "", str(code or "")).upper()


def check_code(value: str) -> str:
    """The parameter rule of `-p seance CODE` (a ValueError with the French reason)."""
    code = normalise(value)
    if code and not _CODE.match(code):
        raise ValueError("un code de séance (4 à 8 lettres capitales ou chiffres) est attendu")
    return code


def _hub_dir() -> Path:
    from incubo.config import hub_dir

    return hub_dir()  # INCUBO_HUB_DIR, else the VM layout's /srv/incubo/hub


def _from_hub(code: str):
    hub = _hub_dir()
    try:
        if not (hub / SEANCES_DIR / f"{code}.json").is_file():
            return None
    except OSError:  # the store is root's: not readable from this account
        return None
    from incubo import seance

    try:
        return seance.load(hub, code)
    except (IncuboError, OSError, ValueError) as exc:
        log.warning("séance %s not read from the hub store %s: %s", code, hub, exc)
        return None


def _from_course(code: str, course_dir: Path):
    path = Path(course_dir) / SEANCES_DIR / f"{code}.json"
    if not path.is_file():
        return None
    from incubo.seance import Seance

    try:
        return Seance.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise IncuboError(
            f"La définition de la séance « {code} » ({path}) est illisible : {exc}.",
            code="seance-illisible",
        ) from None


def known_codes(course_dir: Path) -> list[str]:
    """Codes of the séances a report can find (the hub's when readable, the course directory's)."""
    found: set[str] = set()
    for folder in (_hub_dir(), Path(course_dir)):
        try:
            found |= {p.stem for p in (folder / SEANCES_DIR).glob("*.json")}
        except OSError:
            continue
    return sorted(c for c in found if _CODE.match(c))


def find(code: str, course_dir: Path):
    """The séance `code` (an `incubo.seance.Seance`), or a French error listing the known ones."""
    code = normalise(code)
    if not code:
        raise IncuboError(
            "Précisez la séance : incubo report seance -p seance CODE "
            "(le code affiché à l'ouverture de la séance).",
            code="seance-manquante",
        )
    found = _from_hub(code) or _from_course(code, course_dir)
    if found is None:
        known = known_codes(course_dir)
        listing = f" Séances connues : {', '.join(known)}." if known else ""
        raise IncuboError(
            f"Séance inconnue : « {code} » (ni sur ce hub ni dans {Path(course_dir) / SEANCES_DIR})."
            f"{suggestion(code, known)}{listing}",
            code="seance-inconnue",
        )
    return found


def _when(iso: str | None):
    """An ISO instant of the store → Paris time (the room's), or None."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not iso:
        return None
    try:
        ts = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return None
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    try:
        return ts.astimezone(ZoneInfo("Europe/Paris"))
    except ZoneInfoNotFoundError:  # no time zone database: UTC, said so
        return ts.astimezone(UTC)


def window_fr(seance) -> str:
    """« le 03/03/2026 de 09:30 à 11:45 (heure de Paris) », or « … depuis 09:30 (séance ouverte) »."""
    start, end = _when(seance.opened_at), _when(seance.closed_at)
    if start is None:
        return "à une date inconnue"
    zone = "heure de Paris" if str(start.tzinfo) == "Europe/Paris" else "UTC"
    if end is None:
        return f"le {start:%d/%m/%Y}, ouverte depuis {start:%H:%M} ({zone}) et pas encore fermée"
    if end.date() == start.date():
        return f"le {start:%d/%m/%Y} de {start:%H:%M} à {end:%H:%M} ({zone})"
    return f"du {start:%d/%m/%Y %H:%M} au {end:%d/%m/%Y %H:%M} ({zone})"


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
            ):
                return
    if src.event_files:
        import duckdb

        found = duckdb.sql(
            "SELECT count(*) FROM read_json($files, format='newline_delimited', "
            "columns={context: 'STRUCT(registration VARCHAR)'}, ignore_errors=true) "
            "WHERE context.registration = $reg",
            params={"files": [str(p) for p in src.event_files], "reg": seance.registration},
        ).fetchone()[0]
        if found:
            return
    raise IncuboError(
        f"Aucune trace d'activité de la séance « {seance.code} » ({window_fr(seance)}) dans les "
        "sources lues : vérifiez -p evenements (le LRS de la salle ou les fichiers exportés).",
        code="seance-vide",
    )
