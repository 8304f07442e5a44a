"""`parcours.yml`: the learning path model and its one reader (keys, ids, notebooks and data that exist).

Authors write French keys (`titre`, `duree`, `donnees`…, pinned in
docs/contracts.md); they are mapped here, once, to the English model the
build uses. Errors are one French sentence naming the file and the line.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incubo.errors import suggestion
from incubo.solution_policy import DEFAULT as DEFAULT_POLICY
from incubo.solution_policy import SolutionPolicy
from incubo.yaml_source import load_yaml, source_error, where

log = logging.getLogger(__name__)

FILE_NAME = "parcours.yml"
#: Module, exercise and parcours ids: readable, stable, usable in paths and IRIs.
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

PARCOURS_KEYS = {"titre", "public", "duree", "objectifs", "solution", "modules", "donnees", "ordre"}
MODULE_KEYS = {"id", "titre", "notebooks", "donnees"}


@dataclass
class Module:
    id: str
    title: str  # titre
    notebooks: list[str]
    data_files: list[str] = field(default_factory=list)  # donnees
    line: int | None = None


@dataclass
class LearningPath:
    """One parcours: its folder under courses/ and what its parcours.yml says."""

    id: str
    folder: Path
    title: str  # titre
    modules: list[Module]
    audience: str = ""  # public
    duration: int | None = None  # duree, minutes
    objectives: list[str] = field(default_factory=list)  # objectifs
    solution: SolutionPolicy = field(default_factory=lambda: SolutionPolicy.parse(DEFAULT_POLICY))
    data_files: list[str] = field(default_factory=list)  # donnees
    #: place on the learner's « Commencez ici » page (smallest first; then by folder name)
    order: int | None = None  # ordre

    @property
    def file(self) -> Path:
        return self.folder / FILE_NAME

    def notebook_path(self, name: str) -> Path:
        return self.folder / f"{name}.md"

    def quiz_source(self, module_id: str) -> Path:
        """`quiz/<module>.yml`, the module's quiz bank (it may not exist)."""
        from incubo import quiz_bank

        return quiz_bank.source_path(self.folder, module_id)


def _str_list(path: Path, line: int | None, value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise source_error(
            path, line, f"« {what} » doit être une liste de textes.", "parcours-invalide"
        )
    return [str(v) for v in value]


def _check_data(folder: Path, path: Path, line: int | None, name: str) -> None:
    target = (folder / name).resolve()
    if not target.exists():
        raise source_error(
            path,
            line,
            f"le fichier de données « {name} » est introuvable dans {where(folder)}.",
            "donnees-absentes",
        )
    if not target.is_relative_to(folder.parent.resolve()):
        raise source_error(
            path,
            line,
            f"le fichier de données « {name} » doit se trouver dans le dossier courses/.",
            "donnees-hors-cours",
        )


def read_learning_path(folder: str | os.PathLike, *, check_files: bool = True) -> LearningPath:
    """Read and check `<folder>/parcours.yml` (keys, ids; with `check_files`, notebooks and data that exist)."""
    folder = Path(folder)
    path, data = _read_parcours_file(folder)
    lines = data.get("__lines__", {})
    policy, duree, order = _parcours_fields(path, data, lines)
    modules = _read_modules(folder, path, data["modules"], lines, check_files)
    parcours = LearningPath(
        id=folder.name,
        folder=folder,
        title=str(data["titre"]),
        modules=modules,
        audience=str(data.get("public") or ""),
        duration=duree,
        objectives=_str_list(path, lines.get("objectifs"), data.get("objectifs"), "objectifs"),
        solution=policy,
        data_files=_str_list(path, lines.get("donnees"), data.get("donnees"), "donnees"),
    )
    parcours.order = order
    for name in parcours.data_files if check_files else []:
        _check_data(folder, path, lines.get("donnees"), name)
    return parcours


def check_new_id(
    path: Path,
    line: int | None,
    ident: str,
    seen: dict[str, int | None],
    *,
    malformed: str,
    twice: str,
) -> None:
    """`ident` well formed (ID_RE) and not in `seen` yet, then noted there as declared at `line`.

    `malformed` and `twice` are the French sentences, with `{id}` and (`twice`) `{line}`, the first one's.
    """
    if not ID_RE.match(ident):
        raise source_error(path, line, malformed.format(id=ident), "id-invalide")
    if ident in seen:
        raise source_error(path, line, twice.format(id=ident, line=seen[ident]), "id-duplique")
    seen[ident] = line


def _read_parcours_file(folder: Path) -> tuple[Path, dict]:
    """parcours.yml read: the folder's name an id, the file there, known keys, titre and modules given."""
    path = folder / FILE_NAME
    if not ID_RE.match(folder.name):
        raise source_error(
            folder,
            None,
            "le nom du dossier de parcours doit n'avoir que des minuscules sans accent, des chiffres et des tirets.",
            "id-invalide",
        )
    if not path.is_file():
        raise source_error(
            path,
            None,
            "ce fichier manque ; chaque parcours a un parcours.yml (voir courses/README.md).",
            "parcours-absent",
        )
    data = load_yaml(path, with_lines=True)
    if not isinstance(data, dict):
        raise _invalid(
            path, 1, "le fichier doit décrire le parcours par des clés (titre, modules…)."
        )
    _check_keys(path, data, PARCOURS_KEYS, ("titre", "modules"), "la clé", "du parcours")
    return path, data


def _invalid(path: Path, line: int | None, message: str):
    """The error for a parcours.yml that says something wrong (file and line, code parcours-invalide)."""
    return source_error(path, line, message, "parcours-invalide")


def _check_keys(path: Path, raw: dict, known, required, key_words: str, of_what: str) -> None:
    """Every key of `raw` known (with the closest one suggested), every required key given."""
    lines = raw.get("__lines__", {})
    for key in raw:
        if key not in known | {"__line__", "__lines__"}:
            raise _invalid(
                path,
                lines.get(key),
                f"{key_words} « {key} » est inconnue.{suggestion(str(key), known)}",
            )
    for key in required:
        if not raw.get(key):
            raise _invalid(path, raw.get("__line__"), f"il manque la clé « {key} » {of_what}.")


def _parcours_fields(path: Path, data: dict, lines: dict):
    """The parcours' solution policy, duration (minutes) and order, checked."""
    try:
        policy = SolutionPolicy.parse(data.get("solution", DEFAULT_POLICY))
    except ValueError:
        raise _invalid(
            path,
            lines.get("solution"),
            "« solution » doit valoir jamais, toujours ou apres-N-essais (par exemple apres-2-essais).",
        ) from None
    duree = data.get("duree")
    if duree is not None and not isinstance(duree, int | float):
        raise _invalid(path, lines.get("duree"), "« duree » doit être un nombre de minutes.")
    order = data.get("ordre")
    if order is not None and (not isinstance(order, int) or isinstance(order, bool)):
        raise _invalid(
            path,
            lines.get("ordre"),
            "« ordre » doit être un nombre entier (1 pour le premier parcours).",
        )
    return policy, duree, order


def _read_modules(
    folder: Path, path: Path, raw_modules, lines: dict, check_files: bool
) -> list[Module]:
    """The parcours' modules, in order, ids unique."""
    if not isinstance(raw_modules, list):
        raise _invalid(
            path, lines.get("modules"), "« modules » doit être une liste de modules (- id: …)."
        )
    modules: list[Module] = []
    seen: dict[str, int | None] = {}
    for raw in raw_modules:
        modules.append(_read_module(folder, path, raw, lines, seen, check_files))
    return modules


def _read_module(
    folder: Path, path: Path, raw, lines: dict, seen: dict[str, int | None], check_files: bool
) -> Module:
    """One module of parcours.yml: its keys, a new id, its notebooks and data files."""
    if not isinstance(raw, dict):
        raise _invalid(
            path, lines.get("modules"), "chaque module doit avoir les clés id, titre et notebooks."
        )
    mline = raw.get("__line__")
    mlines = raw.get("__lines__", {})
    _check_keys(
        path, raw, MODULE_KEYS, ("id", "titre", "notebooks"), "la clé de module", "de ce module"
    )
    mid = str(raw["id"])
    check_new_id(
        path,
        mlines.get("id"),
        mid,
        seen,
        malformed="l'identifiant de module « {id} » ne doit contenir que des minuscules sans accent, des chiffres et des tirets.",
        twice="le module « {id} » est déjà déclaré ligne {line}.",
    )
    notebooks = _str_list(path, mlines.get("notebooks"), raw["notebooks"], "notebooks")
    known = sorted(p.stem for p in folder.glob("*.md") if p.name.lower() != "readme.md")
    for name in notebooks if check_files else []:
        if not (folder / f"{name}.md").is_file():
            raise source_error(
                path,
                mlines.get("notebooks"),
                f"le notebook « {name} » n'existe pas (fichier {name}.md attendu dans {where(folder)}).{suggestion(name, known)}",
                "notebook-inconnu",
            )
    if len(set(notebooks)) != len(notebooks):
        raise source_error(
            path,
            mlines.get("notebooks"),
            "un même notebook est cité deux fois dans ce module.",
            "id-duplique",
        )
    donnees = _str_list(path, mlines.get("donnees"), raw.get("donnees"), "donnees")
    for name in donnees if check_files else []:
        _check_data(folder, path, mlines.get("donnees"), name)
    return Module(mid, str(raw["titre"]), notebooks, donnees, mline)


def find_learning_paths(courses: str | os.PathLike) -> list[Path]:
    """The parcours folders of `courses/` (those holding a parcours.yml), sorted."""
    root = Path(courses)
    return sorted(p.parent for p in root.glob(f"*/{FILE_NAME}"))


def module_titles(courses: str | os.PathLike | None) -> dict[str, str]:
    """Module id → French title, over every parcours of `courses/` (order: parcours, then modules).

    For the apps: a parcours that does not read is skipped (logged), never raised.
    """
    titles: dict[str, str] = {}
    if not courses or not Path(courses).is_dir():
        return titles
    for folder in find_learning_paths(courses):
        try:
            for m in read_learning_path(folder, check_files=False).modules:
                titles.setdefault(m.id, m.title)
        except Exception:
            log.warning("unreadable %s", folder / FILE_NAME, exc_info=True)
    return titles
