"""Helpers for the curriculum tests: read the three parcours straight from their sources.

The tests read `courses/<parcours>/` as authors write it (MyST notebooks, parcours.yml,
quiz banks) so they also run before or without `incubo build`.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import yaml

from incubo.grading.build_checks import MIN_LEAK_CHARS, TRIVIAL_LINES

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
COURSES = ROOT / "courses"
#: The parcours this suite owns (issue 7); `premiers-pas` belongs to the build.
PARCOURS = ["python-pas-a-pas", "tableur-pandas", "donnees-demarches"]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "curriculum"

PREAMBLE = (
    "from incubo.widgets import demarrer, verifier, indice, solution, Quiz\ndemarrer({stem!r})"
)

_SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)
_HIDDEN = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M
)


@dataclass
class Exercise:
    ident: str
    notebook: str
    answer: str
    tests: str
    meta: dict = field(default_factory=dict)
    points: float = 0
    #: sources of the code cells before the answer cell (setup the answer relies on)
    setup: list[str] = field(default_factory=list)

    @property
    def visible_tests(self) -> str:
        return _HIDDEN.sub("", self.tests)

    @property
    def solution(self) -> str:
        return (
            self.answer.replace("### BEGIN SOLUTION\n", "")
            .replace("### END SOLUTION\n", "")
            .replace("### END SOLUTION", "")
        )


def load_parcours(pid: str) -> dict:
    return yaml.safe_load((COURSES / pid / "parcours.yml").read_text(encoding="utf-8"))


def modules(pid: str) -> list[dict]:
    return load_parcours(pid)["modules"]


def notebook_path(pid: str, stem: str) -> Path:
    return COURSES / pid / f"{stem}.md"


def read(pid: str, stem: str) -> nbformat.NotebookNode:
    return jupytext.read(notebook_path(pid, stem))


def all_notebooks() -> list[tuple[str, dict, str]]:
    """(parcours, module, notebook stem) for every notebook of the three parcours."""
    return [(pid, m, stem) for pid in PARCOURS for m in modules(pid) for stem in m["notebooks"]]


def exercises_of(pid: str, stem: str) -> list[Exercise]:
    nb = read(pid, stem)
    found: dict[str, Exercise] = {}
    setup: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        ex_id, role = cell.metadata.get("exercice"), cell.metadata.get("role")
        if role == "reponse":
            found[ex_id] = Exercise(
                ex_id, stem, cell.source + "\n", "", dict(cell.metadata), setup=list(setup)
            )
        elif role == "tests":
            found[ex_id].tests = cell.source + "\n"
            found[ex_id].points = cell.metadata.get("points", 0)
        elif "incubo.widgets" not in cell.source:  # widget panels are not setup the answer needs
            setup.append(cell.source)
    return list(found.values())


def all_exercises() -> list[tuple[str, dict, Exercise]]:
    return [(pid, m, ex) for pid, m, stem in all_notebooks() for ex in exercises_of(pid, stem)]


def released_source(src: str) -> str:
    """What nbgrader's generate_assignment leaves of an answer cell."""
    return _SOLUTION.sub("# YOUR CODE HERE\nraise NotImplementedError()\n", src)


def prepare_workdir(pid: str, dest: Path) -> Path:
    """A folder laid out like a released assignment: the parcours' data files and quiz banks."""
    dest.mkdir(parents=True, exist_ok=True)
    data = COURSES / pid / "donnees"
    if data.is_dir():
        shutil.copytree(data, dest / "donnees", dirs_exist_ok=True)
    return dest


def executable(pid: str, module_id: str, stem: str) -> nbformat.NotebookNode:
    """The source notebook with the cell the build inserts first."""
    nb = read(pid, stem)
    first = nbformat.v4.new_code_cell(PREAMBLE.format(stem=stem))
    nb.cells.insert(0, first)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def markdown_text(pid: str, stem: str) -> str:
    """Lesson prose for the spell check: markdown cells and front matter, without code."""
    nb = read(pid, stem)
    parts = []
    meta = nb.metadata.get("incubo", {})
    parts.append(meta.get("titre", ""))
    for key in ("questions", "objectifs", "points_cles"):
        parts.extend(meta.get(key, []))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
        elif cell.cell_type == "code":
            parts.extend(cell.metadata.get("indices", []))
    return "\n".join(parts)


def region_lines(ex: Exercise) -> list[tuple[str, str]]:
    """(kind, line) of the answer's solution region and of the hidden tests."""
    out = []
    m = _SOLUTION.search(ex.answer)
    if m:
        out += [("solution", line) for line in m.group(0).splitlines()[1:-1]]
    for hm in _HIDDEN.finditer(ex.tests):
        out += [("cache", line) for line in hm.group(0).splitlines()[1:-1]]
    return out


def released_texts(pid: str, module: dict) -> dict[str, str]:
    """Name → text a learner can read in the released module (approximation of the build's output)."""
    texts: dict[str, str] = {}
    for stem in module["notebooks"]:
        nb = read(pid, stem)
        parts = []
        for cell in nb.cells:
            src = cell.source
            if cell.cell_type == "code":
                src = _HIDDEN.sub("", released_source(src))
                parts.extend(cell.metadata.get("indices", []))
            parts.append(src)
        texts[stem] = "\n".join(parts)
    quiz = COURSES / pid / "quiz" / f"{module['id']}.yml"
    if quiz.exists():
        texts[quiz.name] = quiz.read_text(encoding="utf-8")
    return texts


_TRIVIAL = TRIVIAL_LINES  # the build's own list: a line it ignores is not a leak here either


def normalize(line: str) -> str:
    return " ".join(line.split())


def meaningful(line: str) -> str | None:
    """The documented no-leak rule (docs/contracts.md): which region lines must not be readable."""
    norm = normalize(line)
    if (
        not norm
        or norm.startswith("#")
        or norm in _TRIVIAL
        or len(norm.replace(" ", "")) < MIN_LEAK_CHARS
    ):
        return None
    return norm


def leaks(pid: str, module: dict) -> list[str]:
    """Solution or hidden-test lines a learner could read in the released module (the build refuses these)."""
    regions = []
    for stem in module["notebooks"]:
        for ex in exercises_of(pid, stem):
            regions += [(ex.ident, kind, line) for kind, line in region_lines(ex)]
    texts = {
        k: "\n".join(normalize(x) for x in v.split("\n"))
        for k, v in released_texts(pid, module).items()
    }
    found = []
    for ex_id, kind, line in regions:
        norm = meaningful(line)
        if not norm:
            continue
        for name, text in texts.items():
            if norm in text:
                found.append(f"{ex_id} ({kind}) : « {norm} » visible dans {name}")
    return found


_CODE_CHARS = set('._()[]{}=<>/\\"#%@*+|&$~^0123456789')
_EDGE = "«»()[],.;:!?\"'…“”’"


def code_names(pid: str, stem: str) -> set[str]:
    """Identifiers of a notebook's code, Python keywords and built-ins: prose may name them bare."""
    import builtins
    import keyword

    nb = read(pid, stem)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return (
        set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code)) | set(keyword.kwlist) | set(dir(builtins))
    )


def prose_for_spelling(text: str, skip: set[str] = frozenset()) -> str:
    """Lesson text without code: fenced blocks, inline code, links and code-like tokens removed."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"^\s*\|?\s*-{3,}.*$", " ", text, flags=re.M)  # table rules
    tokens = text.split()
    operator = [bool(t) and all(c in _CODE_CHARS or c in "!-:" for c in t) for t in tokens]
    kept = []
    for i, token in enumerate(tokens):
        core = token.strip(_EDGE)
        if not core or any(c in _CODE_CHARS for c in core) or core.startswith("-") or core in skip:
            continue
        if re.fullmatch(r"[a-z]+[A-Z]\w*", core):  # camelCase: an API field name
            continue
        if (i + 1 < len(tokens) and operator[i + 1]) or (i > 0 and operator[i - 1]):
            continue  # a name beside an operator (`departement == "31"`) is code
        kept.append(core)
    return " ".join(kept)
