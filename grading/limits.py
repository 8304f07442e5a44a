"""Sandbox limits for autograding, one source of truth for defaults and their French help.

A course can change them in `incubo_grading.yml` at the root of its course
directory; the help text below is what `incubo grade autograde --help`
shows, so trainers read the same thing the code uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from incubo.errors import IncuboError, suggestion

log = logging.getLogger(__name__)

CONFIG_FILE = "incubo_grading.yml"


@dataclass(frozen=True)
class Limits:
    """What one sandboxed kernel may use while it runs one submitted notebook."""

    #: seconds a cell may run (None: nbgrader's `Execute.timeout`, 30 s by default)
    cell_timeout: float | None = None
    #: seconds a whole notebook may run before its kernel is killed
    notebook_timeout: float = 300.0
    #: address-space cap of the kernel, in MiB
    memory_mib: int = 1024
    #: processes and threads of the kernel (a fork bomb stops here)
    max_processes: int = 64
    #: outputs a notebook may send, in MiB, before its kernel is stopped
    output_mib: float = 5.0
    #: size of one file the kernel may write, in MiB
    file_mib: int = 100
    #: run kernels in bubblewrap (no network, private file system, unprivileged user)
    isolation: bool = True
    #: first user id of the unprivileged users kernels run as (when started as root)
    uid_base: int = 610000


#: the keys trainers write in `incubo_grading.yml` (French) → the fields above
YAML_KEYS: dict[str, str] = {
    "temps_par_cellule": "cell_timeout",
    "temps_par_notebook": "notebook_timeout",
    "memoire_mo": "memory_mib",
    "processus": "max_processes",
    "sortie_mo": "output_mib",
    "fichier_mo": "file_mib",
    "isolation": "isolation",
    "uid_base": "uid_base",
}

HELP_FR: dict[str, str] = {
    "temps_par_cellule": "secondes qu'une cellule peut durer (défaut : celui de nbgrader, 30 s)",
    "temps_par_notebook": "secondes qu'un notebook entier peut durer avant l'arrêt de son noyau (défaut : 300)",
    "memoire_mo": "mémoire maximale d'un noyau, en Mio (défaut : 1024)",
    "processus": "nombre maximal de processus et fils d'exécution d'un noyau (défaut : 64)",
    "sortie_mo": "volume maximal des sorties d'un notebook, en Mio, avant l'arrêt du noyau (défaut : 5)",
    "fichier_mo": "taille maximale d'un fichier écrit par le noyau, en Mio (défaut : 100)",
    "isolation": "exécuter chaque noyau dans un bac à sable bubblewrap : sans réseau, sans accès au cours (défaut : true)",
    "uid_base": "premier identifiant d'utilisateur non privilégié pour les noyaux lancés par root (défaut : 610000)",
}

HELP_TEXT_FR = (
    "Limites de la correction automatique : fichier incubo_grading.yml à la racine du dossier de cours, "
    "par exemple « temps_par_cellule: 10 » puis « memoire_mo: 512 ». Clés possibles : "
    + " ; ".join(f"{k} = {v}" for k, v in HELP_FR.items())
    + "."
)


def load_limits(course_dir: Path) -> Limits:
    """The course's limits: defaults overridden by `incubo_grading.yml` when it exists."""
    path = Path(course_dir) / CONFIG_FILE
    if not path.exists():
        return Limits()
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise IncuboError(
            f"Le fichier {path} n'est pas un YAML valide ({exc}). Corrigez-le ou supprimez-le.",
            code="config-correction-invalide",
        ) from exc
    if not isinstance(data, dict):
        raise IncuboError(
            f"Le fichier {path} doit contenir des paires « clé: valeur ».",
            code="config-correction-invalide",
        )
    values = {}
    for key, value in data.items():
        if key not in YAML_KEYS:
            raise IncuboError(
                f"Clé inconnue « {key} » dans {path}.{suggestion(str(key), YAML_KEYS)}",
                code="config-correction-invalide",
            )
        expected = bool if key == "isolation" else (int, float)
        if value is not None and (
            not isinstance(value, expected) or (expected is not bool and isinstance(value, bool))
        ):
            raise IncuboError(
                f"La valeur de « {key} » dans {path} doit être {'true ou false' if key == 'isolation' else 'un nombre'}.",
                code="config-correction-invalide",
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            raise IncuboError(
                f"La valeur de « {key} » dans {path} doit être positive.",
                code="config-correction-invalide",
            )
        values[YAML_KEYS[key]] = value
    limits = replace(Limits(), **values)
    log.debug("limits for %s: %s", course_dir, limits)
    return limits
