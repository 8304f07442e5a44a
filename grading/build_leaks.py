"""The no-leak rule across a course directory: no solution line of one module in another's released files.

Learners of one parcours can read what is released for every other parcours
of the same course directory (same hub, same exchange): a solution printed in
another module's lesson is a solution given away. `build_checks.check_no_leak`
compares a module with itself; this module compares every module's solution
and hidden-test lines with the released files of every *other* module, as the
course directory will be once the build is swapped in (modules built now from
the work folder, unchanged ones from the course directory). An incremental
build that changes a single module is therefore still checked against all the
others, and so is a module whose sources are gone (its regions are read back
from its nbgrader source notebooks).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from incubo.yaml_source import source_error, where

from .build_checks import meaningful, readable_text
from .myst_source import BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, RegionLine

log = logging.getLogger(__name__)


@dataclass
class BuiltModule:
    """One assignment of the course directory as it will be after the build."""

    module: str
    root: Path  # the folder released paths are shown from (work folder or course directory)
    release: Path
    regions: list[RegionLine]
    #: released notebook name -> the course source it was made from (for the message), when known
    sources: dict[str, Path] = field(default_factory=dict)


def regions_of_built_sources(folder: Path) -> list[RegionLine]:
    """Solution and hidden-test lines of an assignment's nbgrader source notebooks (`source/<module>/`).

    Used for modules whose course sources are not at hand or have changed
    since they were built: what counts is what their release was made from.
    """
    import nbformat

    regions: list[RegionLine] = []
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # noqa: BLE001 - an unreadable built notebook has no regions to compare
            log.warning("cannot read %s for the leak check: %s", path, exc)
            continue
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            kind = None
            for text in cell.source.split("\n"):
                if BEGIN_SOLUTION in text or BEGIN_HIDDEN in text:
                    kind = "solution" if BEGIN_SOLUTION in text else "tests-caches"
                elif END_SOLUTION in text or END_HIDDEN in text:
                    kind = None
                elif kind:
                    regions.append(RegionLine(path, 0, text, kind))
    return regions


def check_across_modules(modules: list[BuiltModule]) -> None:
    """Refuse when a meaningful region line of one module appears in a released file of another."""
    wanted = [(m, r, norm) for m in modules for r in m.regions if (norm := meaningful(r.text))]
    if not wanted:
        return
    texts: dict[
        str, str | None
    ] = {}  # content digest -> normalized text (data files repeat across modules)
    for target in modules:
        others = [(m, r, norm) for m, r, norm in wanted if m.module != target.module]
        if not others or not target.release.is_dir():
            continue
        for path in sorted(p for p in target.release.rglob("*") if p.is_file()):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in texts:
                texts[digest] = readable_text(path)
            text = texts[digest]
            if text is None:
                continue
            for owner, region, norm in others:
                if norm in text:
                    raise _leak_error(owner, region, norm, target, path)


def _leak_error(owner: BuiltModule, region: RegionLine, norm: str, target: BuiltModule, path: Path):
    what = "de solution" if region.kind == "solution" else "de test caché"
    shown = path.relative_to(target.root)
    source = target.sources.get(path.name)
    made_from = f" (fait à partir de {where(source)})" if source else ""
    return source_error(
        region.path,
        region.line or None,
        f"cette ligne {what} du module « {owner.module} », « {norm} », se retrouverait dans le fichier publié "
        f"{shown} du module « {target.module} »{made_from} ; tous les modules d'un même dossier de cours sont "
        "lisibles par les apprenants, reformulez l'une des deux.",
        "fuite",
    )
