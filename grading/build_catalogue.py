"""What the learner's side needs to find its way: the catalogue of parcours and the « next » links.

The build writes `incubo_parcours.json` at the root of the course directory
(parcours and modules in the order of their `parcours.yml`, with titles and
durations) so a learner's workspace or a hub home can show a « Commencez ici »
page without reading the course sources; and it ends each released notebook
with a link to the next one.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .build import ModulePlan

log = logging.getLogger(__name__)

CATALOGUE = "incubo_parcours.json"
NEXT_CELL_ID = "incubo-suite"


def _module_entry(plan: ModulePlan) -> dict:
    notebooks = [
        {
            "notebook": nb.stem,
            "titre": str(nb.meta.get("titre") or nb.stem),
            "type": str(nb.meta.get("type") or ""),
            "duree": nb.meta.get("duree"),
        }
        for nb in plan.notebooks
    ]
    durations = [n["duree"] for n in notebooks if isinstance(n["duree"], int | float)]
    return {
        "id": plan.module.id,
        "titre": plan.module.title,
        "duree": sum(durations) if durations else None,
        "notebooks": notebooks,
    }


def write_catalogue(course_dir: Path, plans: list[ModulePlan]) -> Path:
    """Merge the parcours just read into the course directory's catalogue (others are kept)."""
    path = course_dir / CATALOGUE
    try:
        known = json.loads(path.read_text(encoding="utf-8")).get("parcours", [])
    except (OSError, ValueError, AttributeError):
        known = []
    fresh: dict[str, dict] = {}
    for plan in plans:
        p = plan.parcours
        entry = fresh.setdefault(
            p.id,
            {
                "id": p.id,
                "titre": p.title,
                "duree": p.duration,
                "public": p.audience,
                "ordre": p.order,
                "modules": [],
            },
        )
        entry["modules"].append(_module_entry(plan))
    merged = [fresh.pop(e.get("id"), e) for e in known if isinstance(e, dict)] + list(
        fresh.values()
    )
    merged.sort(
        key=lambda e: (not isinstance(e.get("ordre"), int), e.get("ordre") or 0, str(e.get("id")))
    )
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps({"format": 1, "parcours": merged}, ensure_ascii=False, indent=1) + "\n", "utf-8"
    )
    os.replace(tmp, path)
    return path


def next_links(plans: list[ModulePlan]) -> dict[tuple[str, str], tuple[str, str]]:
    """(module, notebook) → (relative link, French sentence) to what follows it in its parcours."""
    by_parcours: dict[str, list[ModulePlan]] = {}
    for plan in plans:
        by_parcours.setdefault(plan.parcours.id, []).append(plan)
    links: dict[tuple[str, str], tuple[str, str]] = {}
    for group in by_parcours.values():
        order = {m.id: i for i, m in enumerate(group[0].parcours.modules)}
        group.sort(key=lambda pl: order.get(pl.module.id, 0))
        for i, plan in enumerate(group):
            nbs = plan.notebooks
            for j, nb in enumerate(nbs):
                if j + 1 < len(nbs):
                    nxt = nbs[j + 1]
                    title = str(nxt.meta.get("titre") or nxt.stem)
                    links[(plan.module.id, nb.stem)] = (f"{nxt.stem}.ipynb", f"Suite : {title}")
                elif i + 1 < len(group) and group[i + 1].notebooks:
                    after = group[i + 1]
                    first = after.notebooks[0].stem
                    links[(plan.module.id, nb.stem)] = (
                        f"../{after.module.id}/{first}.ipynb",
                        f"Module suivant : {after.module.title}",
                    )
    return links


def add_next_cell(nb, link: tuple[str, str] | None) -> None:
    """End a notebook with the way on (or the end of the parcours)."""
    import nbformat

    if link is None:
        text = "---\n\n**Fin du parcours.** Bravo ! Revenez à la page « Commencez ici » pour choisir la suite."
    else:
        target, sentence = link
        href = target.replace(" ", "%20")
        text = f"---\n\n**[{sentence}]({href})**"
    cell = nbformat.v4.new_markdown_cell(text)
    cell["id"] = NEXT_CELL_ID
    cell.metadata = {"editable": False, "deletable": False, "tags": [NEXT_CELL_ID]}
    nb.cells.append(cell)
