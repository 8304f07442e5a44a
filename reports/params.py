"""Checking a report's parameters before anything runs.

The notebook's `parameters` cell is the list of what may be set (read with
papermill's own inspector, like `papermill --help-notebook`); the rules
below say what a valid value is for the names the analyses share. A value
for any other parameter must have the type of its default.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from incubo.errors import IncuboError, suggestion

log = logging.getLogger(__name__)

GROUPS = ["service", "departement", "tranche_age", "aucun"]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _k(value: str):
    try:
        k = int(value)
    except ValueError:
        raise ValueError("un nombre entier est attendu") from None
    if not 2 <= k <= 1000:
        raise ValueError("k doit être compris entre 2 et 1000")
    return k


def _date(value: str):
    if value == "":
        return ""
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "une date au format AAAA-MM-JJ est attendue (par exemple 2026-09-07)"
        ) from None
    return value


def _ident(value: str):
    if value and not _ID.match(value):
        raise ValueError("un identifiant (lettres, chiffres, - _ .) est attendu")
    return value


def _group(value: str):
    if value not in GROUPS:
        raise ValueError(f"valeurs possibles : {', '.join(GROUPS)}.{suggestion(value, GROUPS)}")
    return value


def _text(value: str):
    return value


def _seance_code(value: str) -> str:
    from incubo.reports.seances import check_code

    return check_code(value)


RULES: dict[str, Callable[[str], object]] = {
    "k": _k,
    "debut": _date,
    "fin": _date,
    "parcours": _ident,
    "cohorte": _text,
    "groupe": _group,
    "dossier_cours": _text,
    "evenements": _text,
    "carnet": _text,
    "apprenants": _text,
    "pause_jours": lambda v: _positive(v),
    "seance": _seance_code,
}


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise ValueError("un nombre entier est attendu") from None
    if n < 1:
        raise ValueError("un nombre entier positif est attendu")
    return n


@functools.lru_cache(maxsize=16)
def _inspect(path: str, mtime: float) -> dict[str, dict]:
    import papermill

    return papermill.inspect_notebook(path)


def declared(notebook: Path) -> dict[str, dict]:
    """The notebook's parameters as papermill reads them: name → {default, help, inferred_type_name}."""
    return _inspect(str(notebook), Path(notebook).stat().st_mtime)


def _by_default_type(value: str, default_repr: str):
    if re.fullmatch(r"-?\d+", default_repr or ""):
        try:
            return int(value)
        except ValueError:
            raise ValueError("un nombre entier est attendu") from None
    if re.fullmatch(r"-?\d+\.\d*", default_repr or ""):
        try:
            return float(value.replace(",", "."))
        except ValueError:
            raise ValueError("un nombre est attendu") from None
    if default_repr in ("True", "False"):
        if value.lower() in ("true", "vrai", "oui", "1"):
            return True
        if value.lower() in ("false", "faux", "non", "0"):
            return False
        raise ValueError("oui ou non est attendu")
    return value


def validate(report: str, notebook: Path, given: list[tuple[str, str]]) -> dict[str, object]:
    """Typed parameters for papermill, or a French error naming the first bad one."""
    known = declared(notebook)
    if not known:
        raise IncuboError(
            f"Le notebook du rapport « {report} » n'a pas de cellule « parameters ».",
            code="rapport-sans-parametres",
        )
    values: dict[str, object] = {}
    for name, raw in given:
        if name not in known:
            raise IncuboError(
                f"Paramètre inconnu pour le rapport « {report} » : « {name} ».{suggestion(name, known)} "
                f"Paramètres possibles : {', '.join(known)}.",
                code="parametre-inconnu",
            )
        if raw is None or (raw == "" and name in ("k",)):
            raise IncuboError(
                f"Le paramètre « {name} » n'a pas de valeur.", code="parametre-manquant"
            )
        try:
            rule = RULES.get(name)
            values[name] = rule(raw) if rule else _by_default_type(raw, known[name].get("default"))
        except ValueError as exc:
            raise IncuboError(
                f"Valeur invalide pour le paramètre « {name} » : « {raw} » ({exc}).",
                code="parametre-invalide",
            ) from None
    debut, fin = values.get("debut"), values.get("fin")
    if debut and fin and str(debut) > str(fin):
        raise IncuboError(
            f"La date de début ({debut}) est après la date de fin ({fin}).", code="dates-inversees"
        )
    return values
