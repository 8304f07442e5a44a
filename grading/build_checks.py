"""Checks of the build that span files: unique ids, quiz banks, references, leaks.

Each check raises IncuboError naming the file and line (one French sentence);
the build stops at the first problem and leaves the course directory alone.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from incubo.errors import suggestion
from incubo.learning_paths import LearningPath as Parcours
from incubo.yaml_source import source_error, where

from .myst_source import RegionLine, SourceNotebook

log = logging.getLogger(__name__)

QUIZ_CALL = re.compile(r"""\bQuiz\(\s*(?:id\s*=\s*)?["']([^"']+)["']""")
EXERCISE_CALL = re.compile(
    r"""\b(verifier|indice|solution)\(\s*(?:exercice\s*=\s*)?["']([^"']+)["']"""
)


#: Lines of a solution or hidden region too common to count as a leak (see meaningful()).
TRIVIAL_LINES = {
    "pass",
    "...",
    "else:",
    "try:",
    "finally:",
    "return",
    "break",
    "continue",
    "raise",
    "return None",
    "return True",
    "return False",
    "print()",
    "True",
    "False",
    "None",
}
#: A region line shorter than this (spaces removed) is not looked for in released files.
MIN_LEAK_CHARS = 6


def normalize(line: str) -> str:
    """Whitespace-insensitive form of a line, for leak comparisons."""
    return " ".join(line.split())


def meaningful(line: str) -> str | None:
    """The normalized line if finding it in a released file would be a real leak.

    Ignored: blank lines, comment-only lines, a few trivial statements
    (`pass`, `else:`…) and lines of fewer than MIN_LEAK_CHARS characters
    once spaces are removed (`x = 1`): these appear in any notebook.
    """
    norm = normalize(line)
    if not norm or norm.startswith("#") or norm in TRIVIAL_LINES:
        return None
    if len(norm.replace(" ", "")) < MIN_LEAK_CHARS:
        return None
    return norm


@dataclass
class Located:
    path: Path
    line: int | None


def check_unique_modules(parcours: Iterable[Parcours]) -> None:
    """Module ids are nbgrader assignment names: unique across all parcours."""
    _check_unique(
        ((m.id, Located(p.file, m.line)) for p in parcours for m in p.modules),
        "le module « {id} » existe déjà dans {first} ; changez l'un des deux identifiants.",
    )


def check_unique_exercises(notebooks: Iterable[SourceNotebook]) -> None:
    """Exercise ids are grade ids, statement ids and gradebook keys: unique everywhere."""
    _check_unique(
        ((ex.id, Located(nb.path, ex.answer_line)) for nb in notebooks for ex in nb.exercises),
        "l'exercice « {id} » existe déjà dans {first} ; donnez-lui un autre identifiant.",
    )


def _check_unique(ids: Iterable[tuple[str, Located]], message: str) -> None:
    """The second place an id stands is refused, naming the first."""
    seen: dict[str, Located] = {}
    for ident, place in ids:
        if ident in seen:
            first = seen[ident]
            text = message.format(id=ident, first=where(first.path, first.line))
            raise source_error(place.path, place.line, text, "id-duplique")
        seen[ident] = place


def check_references(
    notebooks: list[SourceNotebook], exercises: set[str], quiz_ids: set[str], quiz_path: Path
) -> None:
    """`Quiz("q")`, `verifier("ex")`… must name something the module has."""
    for nb in notebooks:
        for line, text in nb.code_lines:
            for qid in QUIZ_CALL.findall(text):
                if qid not in quiz_ids:
                    raise source_error(
                        nb.path,
                        line,
                        f"la question « {qid} » n'existe pas dans {where(quiz_path)}.{suggestion(qid, quiz_ids)}",
                        "quiz-inconnu",
                    )
            for _func, ex in EXERCISE_CALL.findall(text):
                if ex not in exercises:
                    raise source_error(
                        nb.path,
                        line,
                        f"l'exercice « {ex} » n'existe pas dans ce module.{suggestion(ex, exercises)}",
                        "exercice-inconnu",
                    )


def check_bank_exercises(bank: list[dict], exercises: set[str], quiz_path: Path) -> None:
    """A question's `exercice:` (the exercise whose result counts as its review) is one of the module's."""
    for q in bank:
        ex = q.get("exercice")
        if ex is not None and str(ex) not in exercises:
            line = (q.get("__lines__") or {}).get("exercice") or q.get("__line__")
            raise source_error(
                quiz_path,
                line,
                f"la question « {q.get('id')} » renvoie à l'exercice « {ex} », qui n'existe pas dans ce module.{suggestion(str(ex), exercises)}",
                "exercice-inconnu",
            )


# --------------------------------------------------------------------------- leaks


def _strings(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def readable_text(path: Path) -> str | None:
    """What a reader of this released file sees, whitespace-normalized; None for binary files."""
    try:
        raw = path.read_bytes().decode("utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    text = raw
    if path.suffix in (".ipynb", ".json"):
        try:
            text = raw + "\n" + "\n".join(_strings(json.loads(raw)))
        except ValueError:
            pass
    return "\n".join(normalize(line) for line in text.split("\n"))


def find_leak(
    release_dirs: Iterable[Path], regions: list[RegionLine]
) -> tuple[RegionLine, Path] | None:
    """The first meaningful solution/hidden-test line found in a released file, if any."""
    wanted = [(r, m) for r in regions if (m := meaningful(r.text))]
    if not wanted:
        return None
    for folder in release_dirs:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            text = readable_text(path)
            if text is None:
                continue
            for region, norm in wanted:
                if norm in text:
                    return region, path
    return None


def check_no_leak(
    release_dirs: Iterable[Path], regions: list[RegionLine], shown_root: Path
) -> None:
    found = find_leak(release_dirs, regions)
    if found:
        region, path = found
        what = "de solution" if region.kind == "solution" else "de test caché"
        raise source_error(
            region.path,
            region.line,
            f"cette ligne {what} se retrouverait dans le fichier publié {path.relative_to(shown_root)} ; "
            "reformulez-la ou retirez-la de la partie visible.",
            "fuite",
        )
