"""Reading course source files (YAML, UTF-8 text) with French errors that name the file and the line.

Authors edit `parcours.yml`, quiz banks and MyST notebooks by hand: a
mistake becomes one French sentence « courses/x/parcours.yml, ligne 3 : … ».
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from incubo.errors import IncuboError


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


def strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k not in ("__line__", "__lines__")}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value
