"""Quiz banks: `courses/<parcours>/quiz/<module>.yml`, copied by the build as `incubo_quiz.yml`.

The one reader of those files. The build reads a source bank strictly
(`load_source_bank`: a French error naming the file and the line); the
widgets, the apps and the reports read banks leniently (`read_bank`: an
unreadable bank is logged and empty, never an error in a learner's page).
Question keys are French (`question`, `options`, `reponse`, `explication`…,
pinned in docs/contracts.md).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from incubo.errors import suggestion
from incubo.learning_paths import check_new_id
from incubo.yaml_source import load_yaml, source_error

log = logging.getLogger(__name__)

#: Folder of a parcours holding its modules' banks.
SOURCE_DIR = "quiz"
#: The module's bank as the build copies it beside the notebooks.
MODULE_COPY = "incubo_quiz.yml"
QUIZ_TYPES = ("choix-unique", "choix-multiple", "nombre", "texte")


def source_path(parcours_folder: Path, module_id: str) -> Path:
    return Path(parcours_folder) / SOURCE_DIR / f"{module_id}.yml"


def load_source_bank(path: Path) -> list[dict[str, Any]]:
    """Read and check a module's quiz bank as its author wrote it (the build): French errors with lines."""
    data = load_yaml(path, with_lines=True)
    if data is None:
        return []
    if not isinstance(data, list):
        raise source_error(
            path,
            1,
            "la banque de quiz doit être une liste de questions (- id: …).",
            "quiz-invalide",
        )
    seen: dict[str, int | None] = {}
    for q in data:
        if not isinstance(q, dict):
            raise source_error(
                path,
                None,
                "chaque question doit avoir au moins id, type et question.",
                "quiz-invalide",
            )
        line, lines = q.get("__line__"), q.get("__lines__", {})
        for key in ("id", "type", "question"):
            if not q.get(key):
                raise source_error(
                    path, line, f"il manque la clé « {key} » de cette question.", "quiz-invalide"
                )
        check_new_id(
            path,
            lines.get("id") or line,
            str(q["id"]),
            seen,
            malformed="l'identifiant « {id} » ne doit contenir que des minuscules, des chiffres et des tirets.",
            twice="la question « {id} » est déjà définie ligne {line}.",
        )
        if q["type"] not in QUIZ_TYPES:
            raise source_error(
                path,
                lines.get("type"),
                f"le type « {q['type']} » est inconnu (choix-unique, choix-multiple, nombre ou texte).{suggestion(str(q['type']), QUIZ_TYPES)}",
                "quiz-invalide",
            )
        if q["type"].startswith("choix"):
            options = q.get("options")
            if (
                not isinstance(options, list)
                or not options
                or not any(isinstance(o, dict) and o.get("correct") for o in options)
            ):
                raise source_error(
                    path,
                    line,
                    "une question à choix a besoin d'« options » dont au moins une est correcte.",
                    "quiz-invalide",
                )
        elif "reponse" not in q:
            raise source_error(
                path, line, "il manque la « reponse » attendue de cette question.", "quiz-invalide"
            )
    return data


def parse_bank(text: str) -> list[dict[str, Any]]:
    """Questions from YAML text: a list of questions, or a mapping with `questions:`. Raises on bad YAML."""
    import yaml

    data = yaml.safe_load(text) or []
    if isinstance(data, dict):
        data = data.get("questions") or []
    return [q for q in data if isinstance(q, dict)] if isinstance(data, list) else []


def read_bank(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The questions of one bank file; [] when it is missing or unreadable (logged)."""
    path = Path(path)
    try:
        return parse_bank(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except Exception:
        log.warning("unreadable quiz bank %s", path, exc_info=True)
        return []


def module_bank(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The bank beside a module's notebooks (`incubo_quiz.yml`); FileNotFoundError when there is none."""
    path = Path(folder) / MODULE_COPY
    return parse_bank(path.read_text(encoding="utf-8"))


def course_banks(courses: str | os.PathLike | None) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(parcours, module, questions) of every `courses/<parcours>/quiz/<module>.yml`."""
    if not courses or not Path(courses).is_dir():
        return []
    return [
        (path.parent.parent.name, path.stem, read_bank(path))
        for path in sorted(Path(courses).glob(f"*/{SOURCE_DIR}/*.yml"))
    ]
