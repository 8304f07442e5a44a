"""Modules by their French title, in course order, as a reader of the reports knows them.

Events and the gradebook name a module by its id (`pap-01-premiers-calculs`);
the course sources (`parcours.yml`, read by `incubo.learning_paths`) give its title
and its place in the parcours. Reports look for the sources in
`INCUBO_COURSES_DIR`, `./courses`, then the checkout's `courses/`; an id
without a known title is shown as is.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def _candidates() -> list[Path]:
    from incubo.config import project_root, settings

    found = [settings().courses_dir] if settings().courses_dir else []
    return found + [Path.cwd() / "courses", project_root() / "courses"]


@functools.lru_cache(maxsize=4)
def _catalogue(folders: tuple[str, ...]) -> tuple[dict[str, str], dict[str, int]]:
    from incubo.learning_paths import find_learning_paths, read_learning_path

    titles: dict[str, str] = {}
    order: dict[str, int] = {}
    for folder in folders:
        for path in find_learning_paths(folder):
            try:
                parcours = read_learning_path(path)
            except Exception as exc:  # noqa: BLE001 - a broken course must not stop a report
                log.warning("course %s not read for titles: %s", path, exc)
                continue
            for module in parcours.modules:
                titles.setdefault(module.id, module.title)
                order.setdefault(module.id, len(order))
        if titles:
            break
    return titles, order


def module_titles() -> dict[str, str]:
    """Module id → French title (empty when no course source is found)."""
    return dict(_catalogue(tuple(str(p) for p in _candidates() if p.is_dir()))[0])


def module_label(module: str) -> str:
    return module_titles().get(module, module)


def course_order(modules) -> list:
    """Module ids in the order of their parcours (unknown ids last, alphabetically)."""
    _titles, order = _catalogue(tuple(str(p) for p in _candidates() if p.is_dir()))
    return sorted(modules, key=lambda m: (order.get(m, len(order)), str(m)))
