"""One MyST-Markdown course notebook → a checked nbgrader *source* notebook.

The author writes nbgrader's own markers and a few readable cell keys
(`exercice`, `role`, `points`, `indices`, `solution`); this module checks
them with the line they are on, and maps them to nbgrader's metadata
(docs/contracts.md « Course sources »).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from incubo.errors import suggestion
from incubo.learning_paths import ID_RE
from incubo.solution_policy import SolutionPolicy
from incubo.yaml_source import read_utf8, source_error

log = logging.getLogger(__name__)

#: nbgrader finds its markers anywhere in a line (substring test); so do we.
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
ROLES = ("reponse", "tests")
NOTEBOOK_TYPES = ("lecon", "exercices")
FIRST_CELL_ID = "incubo-demarrer"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def demarrer_source(stem: str) -> str:
    """The first cell the build inserts in every notebook."""
    return (
        f'from incubo.widgets import demarrer, verifier, indice, solution, Quiz\ndemarrer("{stem}")'
    )


@dataclass
class RegionLine:
    """One line inside a solution or hidden-tests region, with where it comes from."""

    path: Path
    line: int
    text: str
    kind: str  # "solution" | "tests-caches"


@dataclass
class SourceExercise:
    id: str
    notebook: str
    answer_line: int
    tests_line: int | None = None
    points: float = 1
    indices: list[str] = field(default_factory=list)
    politique: SolutionPolicy | None = None
    solution: str = ""  # the answer cell without marker lines
    tests_visibles: str = ""  # the tests cell without its hidden regions
    titre: str = ""  # the heading above the answer cell (« Exercice 1 : les courriers du jour »)


@dataclass
class SourceNotebook:
    path: Path
    stem: str
    meta: dict
    nb: object  # nbformat.NotebookNode
    exercises: list[SourceExercise]
    regions: list[RegionLine]
    code_lines: list[tuple[int, str]] = field(
        default_factory=list
    )  # (line, text) of every code cell


def _locate(lines: list[str], source: str, start: int) -> int:
    """Index of the first line of `source` in `lines`, searching from `start`."""
    wanted = source.split("\n")
    if not source:
        return start
    n = len(wanted)
    for i in range(start, len(lines) - n + 1):
        if lines[i] == wanted[0] and lines[i : i + n] == wanted:
            return i
    return start


def _directive_line(lines: list[str], start: int) -> int:
    """1-based line of the ```{code-cell} fence that opens the cell starting at `start`."""
    for i in range(start - 1, max(-1, start - 60), -1):
        if "{code-cell}" in lines[i]:
            return i + 1
    return max(1, start)


def _front_matter_line(lines: list[str], key: str) -> int | None:
    for i, text in enumerate(lines[:200]):
        if text.startswith(f"{key}:"):
            return i + 1
    return 1


def _read(path: Path):
    import jupytext

    text = read_utf8(path, "ce notebook", "myst-invalide")
    try:
        nb = jupytext.reads(text, fmt="md:myst")
    except Exception as exc:  # jupytext raises many kinds (YAML, MyST parse errors)
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise source_error(
            path,
            line,
            f"ce notebook MyST est illisible ({type(exc).__name__} : {str(exc).splitlines()[0][:120]}).",
            "myst-invalide",
        ) from None
    return text, nb


def _check_meta(path: Path, lines: list[str], nb) -> dict:
    meta = nb.metadata.get("incubo")
    line = _front_matter_line(lines, "incubo")
    if not isinstance(meta, dict):
        raise source_error(
            path,
            1,
            "il manque le bloc « incubo: » (type, titre, duree…) dans l'en-tête du notebook.",
            "myst-invalide",
        )
    kind = meta.get("type")
    if kind not in NOTEBOOK_TYPES:
        raise source_error(
            path,
            line,
            "« type » doit valoir lecon ou exercices dans le bloc incubo.",
            "myst-invalide",
        )
    if not meta.get("titre"):
        raise source_error(
            path, line, "il manque le « titre » dans le bloc incubo de l'en-tête.", "myst-invalide"
        )
    duree = meta.get("duree")
    if duree is not None and not isinstance(duree, int | float):
        raise source_error(path, line, "« duree » doit être un nombre de minutes.", "myst-invalide")
    if not isinstance(meta.get("optionnel", False), bool):
        raise source_error(
            path, line, "« optionnel » vaut true ou false dans le bloc incubo.", "myst-invalide"
        )
    for key in ("objectifs", "points_cles"):
        value = meta.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise source_error(
                path, line, f"« {key} » doit être une liste de phrases.", "myst-invalide"
            )
    return meta


def _scan_markers(path: Path, first: int, cell, role: str | None) -> tuple[list[RegionLine], bool]:
    """Check that markers are balanced and where they belong; return the region lines."""
    regions: list[RegionLine] = []
    open_kind: str | None = None
    open_line = 0
    has_solution = False
    for i, text in enumerate(cell.source.split("\n")):
        lineno = first + i
        found = None
        for marker, kind, begin in (
            (BEGIN_HIDDEN, "tests-caches", True),
            (END_HIDDEN, "tests-caches", False),
            (BEGIN_SOLUTION, "solution", True),
            (END_SOLUTION, "solution", False),
        ):
            if marker in text:
                found = (marker, kind, begin)
                break
        if found is None:
            if open_kind:
                regions.append(RegionLine(path, lineno, text, open_kind))
            continue
        marker, kind, begin = found
        needed = "reponse" if kind == "solution" else "tests"
        if cell.cell_type != "code" or role != needed:
            where_ok = (
                "une cellule de code « role: reponse »"
                if kind == "solution"
                else "une cellule de code « role: tests »"
            )
            raise source_error(
                path,
                lineno,
                f"le marqueur « {marker} » ne peut se trouver que dans {where_ok}.",
                "marqueurs",
            )
        if begin:
            if open_kind:
                raise source_error(
                    path,
                    lineno,
                    f"« {marker} » arrive avant la fin de la région ouverte ligne {open_line} ; fermez-la d'abord.",
                    "marqueurs",
                )
            open_kind, open_line = kind, lineno
            has_solution = has_solution or kind == "solution"
        else:
            if open_kind != kind:
                raise source_error(
                    path,
                    lineno,
                    f"« {marker} » ferme une région qui n'a pas été ouverte (il manque le BEGIN correspondant).",
                    "marqueurs",
                )
            open_kind = None
    if open_kind:
        end = END_SOLUTION if open_kind == "solution" else END_HIDDEN
        raise source_error(
            path,
            open_line,
            f"cette région n'est jamais fermée : ajoutez la ligne « ### {end} ».",
            "marqueurs",
        )
    return regions, has_solution


def _without_markers(source: str, drop_hidden: bool) -> str:
    """The cell as the learner sees it (hidden regions dropped) or as the solution reads."""
    out, hidden = [], False
    for text in source.split("\n"):
        if BEGIN_HIDDEN in text:
            hidden = True
        elif END_HIDDEN in text:
            hidden = False
        elif BEGIN_SOLUTION in text or END_SOLUTION in text:
            continue
        elif not (hidden and drop_hidden):
            out.append(text)
    return "\n".join(out)


def _nbgrader_meta(
    grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float | None = None
) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return int(value) if float(value).is_integer() else float(value)


def read_source(path: Path, *, parcours: str, module: str) -> SourceNotebook:
    """Read, check and convert one course notebook; raise IncuboError with file and line."""
    text, nb = _read(path)
    lines = text.split("\n")
    meta = _check_meta(path, lines, nb)
    stem = path.stem
    exercises: dict[str, SourceExercise] = {}
    regions: list[RegionLine] = []
    code_lines: list[tuple[int, str]] = []
    cursor = 0
    heading = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = _last_heading(cell.source) or heading
        start = _locate(lines, cell.source, cursor)
        cursor = start + max(1, cell.source.count("\n") + 1) if cell.source else cursor
        first = start + 1
        ex_id, role = cell.metadata.get("exercice"), cell.metadata.get("role")
        cell_line = _directive_line(lines, start) if cell.cell_type == "code" else first
        if role is not None or ex_id is not None:
            _check_labels(path, cell, cell_line, ex_id, role)
        if cell.cell_type == "code":
            code_lines.extend((first + i, t) for i, t in enumerate(cell.source.split("\n")))
        found, has_solution = _scan_markers(path, first, cell, role)
        regions.extend(found)
        if role == "reponse":
            _answer_cell(path, cell, cell_line, exercises, has_solution, stem, heading)
        elif role is not None:
            _tests_cell(path, cell, cell_line, exercises)
    _check_every_exercise_has_tests(path, exercises)
    _finish_notebook(nb, {**meta, "parcours": parcours, "module": module, "notebook": stem})
    return SourceNotebook(path, stem, meta, nb, list(exercises.values()), regions, code_lines)


def _last_heading(markdown: str) -> str:
    """The last Markdown heading of a cell (the title an exercise below it takes), or ""."""
    titles = [t.lstrip("#").strip() for t in markdown.splitlines() if re.match(r"#{1,6} ", t)]
    return titles[-1] if titles else ""


def _without_labels(md: dict) -> dict:
    """A cell's metadata without incubo's labels (nbgrader's take their place)."""
    return {
        k: v
        for k, v in md.items()
        if k not in ("exercice", "role", "indices", "solution", "points")
    }


def _check_labels(path: Path, cell, cell_line: int, ex_id, role) -> None:
    """« exercice » and « role » only on a code cell, with a valid id and a known role."""
    if cell.cell_type != "code":
        raise source_error(
            path,
            cell_line,
            "« exercice » et « role » ne vont que sur une cellule de code.",
            "cellule-invalide",
        )
    if not ex_id or not isinstance(ex_id, str):
        raise source_error(
            path,
            cell_line,
            "cette cellule a un « role » mais pas d'« exercice: » qui la nomme.",
            "cellule-invalide",
        )
    if not ID_RE.match(ex_id):
        raise source_error(
            path,
            cell_line,
            f"l'identifiant « {ex_id} » ne doit contenir que des minuscules sans accent, des chiffres et des tirets.",
            "id-invalide",
        )
    if role not in ROLES:
        hint = suggestion(str(role), ROLES) if role else ""
        raise source_error(
            path,
            cell_line,
            f"« role » doit valoir reponse ou tests (ici : {role!r}).{hint}",
            "cellule-invalide",
        )


def _answer_cell(
    path: Path, cell, cell_line: int, exercises: dict, has_solution: bool, stem: str, heading: str
) -> None:
    """An exercise's answer cell: checked, added to `exercises`, its labels turned into nbgrader's."""
    md, ex_id = cell.metadata, cell.metadata["exercice"]
    if ex_id in exercises:
        raise source_error(
            path,
            cell_line,
            f"l'exercice « {ex_id} » a déjà une cellule réponse ligne {exercises[ex_id].answer_line}.",
            "id-duplique",
        )
    if not has_solution:
        raise source_error(
            path,
            cell_line,
            "cette cellule réponse n'a pas de région ### BEGIN SOLUTION / ### END SOLUTION.",
            "marqueurs",
        )
    indices = md.get("indices", [])
    if not isinstance(indices, list) or not all(isinstance(h, str) for h in indices):
        raise source_error(
            path,
            cell_line,
            "« indices » doit être une liste de phrases.",
            "cellule-invalide",
        )
    policy = None
    if "solution" in md:
        try:
            policy = SolutionPolicy.parse(md["solution"])
        except ValueError:
            raise source_error(
                path,
                cell_line,
                "« solution » doit valoir jamais, toujours ou apres-N-essais.",
                "cellule-invalide",
            ) from None
    exercises[ex_id] = SourceExercise(
        ex_id,
        stem,
        cell_line,
        indices=list(indices),
        politique=policy,
        solution=_without_markers(cell.source, drop_hidden=False),
        titre=heading,
    )
    cell.metadata = _without_labels(md)
    cell.metadata["nbgrader"] = _nbgrader_meta(
        f"{ex_id}-reponse", solution=True, grade=False, locked=False
    )


def _tests_cell(path: Path, cell, cell_line: int, exercises: dict) -> None:
    """An exercise's tests cell, after its answer: points checked, labels turned into nbgrader's."""
    md, ex_id = cell.metadata, cell.metadata["exercice"]
    ex = exercises.get(ex_id)
    if ex is None:
        raise source_error(
            path,
            cell_line,
            f"cette cellule de tests de « {ex_id} » n'a pas de cellule « role: reponse » avant elle.{suggestion(ex_id, exercises)}",
            "tests-sans-reponse",
        )
    if ex.tests_line is not None:
        raise source_error(
            path,
            cell_line,
            f"l'exercice « {ex_id} » a déjà une cellule de tests ligne {ex.tests_line}.",
            "id-duplique",
        )
    points = _number(md.get("points", 1))
    if points is None:
        raise source_error(
            path, cell_line, "« points » doit être un nombre positif.", "cellule-invalide"
        )
    ex.tests_line, ex.points = cell_line, points
    ex.tests_visibles = _without_markers(cell.source, drop_hidden=True)
    cell.metadata = _without_labels(md)
    cell.metadata["nbgrader"] = _nbgrader_meta(
        ex_id, solution=False, grade=True, locked=True, points=points
    )


def _check_every_exercise_has_tests(path: Path, exercises: dict) -> None:
    """A graded exercise without tests would give its points to anyone: refused at build."""
    for ex in exercises.values():
        if ex.tests_line is None:
            raise source_error(
                path,
                ex.answer_line,
                f"l'exercice noté « {ex.id} » n'a pas de cellule de tests (ajoutez une cellule « exercice: {ex.id} » et « role: tests »).",
                "reponse-sans-tests",
            )


def _finish_notebook(nb, incubo_meta: dict) -> None:
    """The « démarrer » cell, nbgrader's notebook metadata, stable cell ids, no outputs."""
    import nbformat

    stem = incubo_meta["notebook"]
    first_cell = nbformat.v4.new_code_cell(demarrer_source(stem))
    first_cell.metadata = {
        "nbgrader": _nbgrader_meta(FIRST_CELL_ID, solution=False, grade=False, locked=True),
        "tags": ["incubo-demarrer"],
        "editable": False,
        "deletable": False,
    }
    # below the notebook's title (a learner reads the title first), above any code
    title_first = (
        bool(nb.cells)
        and nb.cells[0].cell_type == "markdown"
        and nb.cells[0].source.lstrip().startswith("# ")
    )
    nb.cells.insert(1 if title_first else 0, first_cell)
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("kernelspec", dict(KERNELSPEC))
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata["incubo"] = incubo_meta
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell["id"] = grade_id if grade_id else f"cellule-{i}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
