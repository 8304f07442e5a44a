"""The parcours model (`parcours.yml`) and the exercise data file (`incubo_exercices.json`).

Shared by the build (which writes the data file next to each assignment's
notebooks) and the widgets (which read it from the learner's current
directory). The formats are pinned in docs/contracts.md.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incubo.errors import IncuboError, suggestion

log = logging.getLogger(__name__)

PARCOURS_FILE = "parcours.yml"
SIDECAR = "incubo_exercices.json"
QUIZ_FILE = "incubo_quiz.yml"
SIDECAR_FORMAT = 1

#: Module, exercise and parcours ids: readable, stable, usable in paths and IRIs.
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: Default solution policy when parcours.yml says nothing.
DEFAULT_POLICY = "apres-2-essais"

PARCOURS_KEYS = {"titre", "public", "duree", "objectifs", "solution", "modules", "donnees", "ordre"}
MODULE_KEYS = {"id", "titre", "notebooks", "donnees"}


def where(path: str | os.PathLike, line: int | None = None) -> str:
    """« courses/x/parcours.yml, ligne 3 » — a path readable from the current directory."""
    p = Path(path)
    try:
        shown = os.path.relpath(p)
        if shown.startswith(".." + os.sep + ".."):
            shown = str(p)
    except ValueError:
        shown = str(p)
    return f"{shown}, ligne {line}" if line else shown


def source_error(
    path: str | os.PathLike, line: int | None, sentence: str, code: str
) -> IncuboError:
    """One French sentence prefixed by the file and line it is about."""
    return IncuboError(f"{where(path, line)} : {sentence}", code=code)


# --------------------------------------------------------------------------- solution policy


@dataclass(frozen=True)
class Politique:
    """When a learner may see the solution: `jamais`, `toujours`, or `apres` N attempts."""

    mode: str = "apres"
    essais: int = 2

    @classmethod
    def parse(cls, value: Any) -> Politique:
        """Read `jamais | toujours | apres-N-essais`; ValueError otherwise."""
        text = str(value).strip()
        if text in ("jamais", "toujours"):
            return cls(text, 0)
        m = re.fullmatch(r"apres-(\d+)-essais?", text)
        if m:
            return cls("apres", int(m.group(1)))
        raise ValueError(text)

    @classmethod
    def from_dict(cls, data: dict) -> Politique:
        return cls(str(data.get("mode", "apres")), int(data.get("essais", 0) or 0))

    def to_dict(self) -> dict:
        return {"mode": self.mode, "essais": self.essais}

    def permet(self, essais_faits: int) -> bool:
        """Whether the solution may be shown after `essais_faits` attempts."""
        if self.mode == "toujours":
            return True
        if self.mode == "jamais":
            return False
        return essais_faits >= self.essais


def encode_solution(text: str) -> str:
    """base64(zlib(text)): no solution line appears as text in released files."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def decode_solution(blob: str) -> str:
    return zlib.decompress(base64.b64decode(blob)).decode("utf-8")


# --------------------------------------------------------------------------- parcours.yml


@dataclass
class Module:
    id: str
    titre: str
    notebooks: list[str]
    donnees: list[str] = field(default_factory=list)
    line: int | None = None


@dataclass
class Parcours:
    id: str
    dossier: Path
    titre: str
    modules: list[Module]
    public: str = ""
    duree: int | None = None
    objectifs: list[str] = field(default_factory=list)
    solution: Politique = field(default_factory=lambda: Politique.parse(DEFAULT_POLICY))
    donnees: list[str] = field(default_factory=list)
    #: place on the learner's « Commencez ici » page (smallest first; then by folder name)
    ordre: int | None = None

    @property
    def fichier(self) -> Path:
        return self.dossier / PARCOURS_FILE

    def notebook_path(self, name: str) -> Path:
        return self.dossier / f"{name}.md"


YAML_PROBLEMS = {
    "quoted scalar": "un guillemet n'est pas refermé",
    "tabulation": "une tabulation : utilisez des espaces",
    "mapping values are not allowed": "un deux-points mal placé",
    "could not find expected ':'": "il manque un deux-points",
    "expected <block end>": "l'indentation est incohérente",
    "flow sequence": "un crochet [ n'est pas refermé",
    "flow mapping": "une accolade { n'est pas refermée",
    "duplicate": "une clé en double",
}


def _line_loader():
    """A safe YAML loader whose mappings remember their line (``__line__``)."""
    import yaml

    class LineLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        mapping["__lines__"] = {
            k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")
        }
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


def read_utf8(path: Path, what: str, code: str) -> str:
    """A source file's text; anything but UTF-8 becomes a French error naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise source_error(
            path, None, f"{what} n'est pas enregistré en UTF-8 ; réenregistrez-le en UTF-8.", code
        ) from None


def load_yaml(path: Path, *, with_lines: bool = False) -> Any:
    """Parse a YAML file; a syntax error becomes a French error with its line."""
    import yaml

    text = read_utf8(path, "ce fichier", "yaml-invalide")
    try:
        return yaml.load(text, Loader=_line_loader() if with_lines else yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        context = exc.context or ""
        mark = exc.context_mark if exc.context_mark and "scanning" in context else exc.problem_mark
        mark = mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or "").strip()
        if "\\t" in problem or "'\t'" in problem:
            problem = "tabulation"
        french = next(
            (fr for en, fr in YAML_PROBLEMS.items() if en in problem or en in context),
            "syntaxe incorrecte",
        )
        raise source_error(
            path,
            line,
            f"le YAML est mal formé ({french}) ; vérifiez l'indentation, les deux-points et les guillemets.",
            "yaml-invalide",
        ) from None
    except yaml.YAMLError as exc:
        raise source_error(path, None, f"le YAML est mal formé ({exc}).", "yaml-invalide") from None


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k not in ("__line__", "__lines__")}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


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


def load_parcours(folder: str | os.PathLike) -> Parcours:
    """Read and check `<folder>/parcours.yml` (keys, ids, notebooks that exist)."""
    folder = Path(folder)
    path = folder / PARCOURS_FILE
    pid = folder.name
    if not ID_RE.match(pid):
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
        raise source_error(
            path,
            1,
            "le fichier doit décrire le parcours par des clés (titre, modules…).",
            "parcours-invalide",
        )
    lines = data.get("__lines__", {})
    for key in data:
        if key not in PARCOURS_KEYS | {"__line__", "__lines__"}:
            raise source_error(
                path,
                lines.get(key),
                f"la clé « {key} » est inconnue.{suggestion(str(key), PARCOURS_KEYS)}",
                "parcours-invalide",
            )
    for key in ("titre", "modules"):
        if not data.get(key):
            raise source_error(
                path,
                data.get("__line__"),
                f"il manque la clé « {key} » du parcours.",
                "parcours-invalide",
            )
    try:
        policy = Politique.parse(data.get("solution", DEFAULT_POLICY))
    except ValueError:
        raise source_error(
            path,
            lines.get("solution"),
            "« solution » doit valoir jamais, toujours ou apres-N-essais (par exemple apres-2-essais).",
            "parcours-invalide",
        ) from None
    duree = data.get("duree")
    if duree is not None and not isinstance(duree, int | float):
        raise source_error(
            path,
            lines.get("duree"),
            "« duree » doit être un nombre de minutes.",
            "parcours-invalide",
        )
    raw_modules = data["modules"]
    if not isinstance(raw_modules, list):
        raise source_error(
            path,
            lines.get("modules"),
            "« modules » doit être une liste de modules (- id: …).",
            "parcours-invalide",
        )
    modules: list[Module] = []
    seen: dict[str, int | None] = {}
    for raw in raw_modules:
        if not isinstance(raw, dict):
            raise source_error(
                path,
                lines.get("modules"),
                "chaque module doit avoir les clés id, titre et notebooks.",
                "parcours-invalide",
            )
        mline = raw.get("__line__")
        mlines = raw.get("__lines__", {})
        for key in raw:
            if key not in MODULE_KEYS | {"__line__", "__lines__"}:
                raise source_error(
                    path,
                    mlines.get(key),
                    f"la clé de module « {key} » est inconnue.{suggestion(str(key), MODULE_KEYS)}",
                    "parcours-invalide",
                )
        for key in ("id", "titre", "notebooks"):
            if not raw.get(key):
                raise source_error(
                    path, mline, f"il manque la clé « {key} » de ce module.", "parcours-invalide"
                )
        mid = str(raw["id"])
        if not ID_RE.match(mid):
            raise source_error(
                path,
                mlines.get("id"),
                f"l'identifiant de module « {mid} » ne doit contenir que des minuscules sans accent, des chiffres et des tirets.",
                "id-invalide",
            )
        if mid in seen:
            raise source_error(
                path,
                mlines.get("id"),
                f"le module « {mid} » est déjà déclaré ligne {seen[mid]}.",
                "id-duplique",
            )
        seen[mid] = mlines.get("id")
        notebooks = _str_list(path, mlines.get("notebooks"), raw["notebooks"], "notebooks")
        known = sorted(p.stem for p in folder.glob("*.md") if p.name.lower() != "readme.md")
        for name in notebooks:
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
        for name in donnees:
            _check_data(folder, path, mlines.get("donnees"), name)
        modules.append(Module(mid, str(raw["titre"]), notebooks, donnees, mline))
    parcours = Parcours(
        id=pid,
        dossier=folder,
        titre=str(data["titre"]),
        modules=modules,
        public=str(data.get("public") or ""),
        duree=duree,
        objectifs=_str_list(path, lines.get("objectifs"), data.get("objectifs"), "objectifs"),
        solution=policy,
        donnees=_str_list(path, lines.get("donnees"), data.get("donnees"), "donnees"),
    )
    ordre = data.get("ordre")
    if ordre is not None and (not isinstance(ordre, int) or isinstance(ordre, bool)):
        raise source_error(
            path, lines.get("ordre"), "« ordre » doit être un nombre entier (1 pour le premier parcours).", "parcours-invalide"
        )
    parcours.ordre = ordre
    for name in parcours.donnees:
        _check_data(folder, path, lines.get("donnees"), name)
    return parcours


def find_parcours(courses: str | os.PathLike) -> list[Path]:
    """The parcours folders of `courses/` (those holding a parcours.yml), sorted."""
    root = Path(courses)
    return sorted(p.parent for p in root.glob(f"*/{PARCOURS_FILE}"))


# --------------------------------------------------------------------------- incubo_exercices.json


@dataclass
class Exercice:
    """What the widgets know about one graded exercise (never its hidden tests)."""

    notebook: str
    points: float
    tests_visibles: str
    indices: list[str]
    politique_solution: Politique
    solution: str | None = None  # encoded; None when the policy is `jamais`
    titre: str = ""  # what the learner reads above the exercise (never its id)

    def solution_texte(self) -> str | None:
        return decode_solution(self.solution) if self.solution else None

    def to_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "points": self.points,
            "tests_visibles": self.tests_visibles,
            "indices": list(self.indices),
            "politique_solution": self.politique_solution.to_dict(),
            "solution": self.solution,
            "titre": self.titre,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Exercice:
        return cls(
            notebook=data["notebook"],
            points=data.get("points", 1),
            tests_visibles=data.get("tests_visibles", ""),
            indices=list(data.get("indices") or []),
            politique_solution=Politique.from_dict(data.get("politique_solution") or {}),
            solution=data.get("solution"),
            titre=str(data.get("titre") or ""),
        )


@dataclass
class ExercicesFile:
    """The `incubo_exercices.json` of one assignment (module)."""

    parcours: str
    module: str
    notebooks: dict[str, dict] = field(default_factory=dict)
    exercices: dict[str, Exercice] = field(default_factory=dict)
    format: int = SIDECAR_FORMAT

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "parcours": self.parcours,
            "module": self.module,
            "notebooks": self.notebooks,
            "exercices": {k: v.to_dict() for k, v in self.exercices.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> ExercicesFile:
        return cls(
            parcours=data.get("parcours", ""),
            module=data.get("module", ""),
            notebooks=dict(data.get("notebooks") or {}),
            exercices={k: Exercice.from_dict(v) for k, v in (data.get("exercices") or {}).items()},
            format=int(data.get("format", SIDECAR_FORMAT)),
        )


def read_exercices(directory: str | os.PathLike = ".") -> ExercicesFile | None:
    """The data file of the assignment in `directory`, or None when there is none."""
    path = Path(directory) / SIDECAR
    try:
        return ExercicesFile.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("unreadable %s: %s", path, exc)
        return None


def write_exercices(directory: str | os.PathLike, data: ExercicesFile) -> Path:
    path = Path(directory) / SIDECAR
    path.write_text(
        json.dumps(data.to_dict(), ensure_ascii=False, indent=1, sort_keys=False) + "\n",
        encoding="utf-8",
    )
    return path
