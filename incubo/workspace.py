"""The learner's workspace: their own copy of the released parcours, with a « Commencez ici » page.

`incubo lab` never opens the course directory to a learner: it holds the
sources with their solutions, the gradebook and the release everyone copies
from. It copies each released module into a folder of the learner's own
(`~/espace-incubo` by default, `INCUBO_WORKSPACE` or `--espace` to change it), once:
what the learner wrote is never overwritten. The copies hold no solution: the
widgets read it, when the parcours' policy allows, from the course directory
(`INCUBO_COURSE_DIR`), which stays outside the learner's JupyterLab.

`write_home_page` is also what a hub uses to give each learner the same home.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import nbformat

from incubo import config, exercise_data

log = logging.getLogger(__name__)

HOME_PAGE = "Commencez ici.ipynb"
CATALOGUE = "incubo_parcours.json"
SIDECAR = exercise_data.FILE_NAME
#: Never copied into a learner's workspace (editor leftovers of the release folder).
_SKIPPED = {".ipynb_checkpoints", "__pycache__"}


def read_catalogue(course_dir: Path) -> list[dict[str, Any]]:
    """The parcours the build recorded (in order), keeping only modules that are released."""
    try:
        data = json.loads((course_dir / CATALOGUE).read_text(encoding="utf-8"))
        parcours = [p for p in data.get("parcours", []) if isinstance(p, dict)]
    except (OSError, ValueError, AttributeError):
        parcours = []
    release = course_dir / "release"
    listed = {m.get("id") for p in parcours for m in p.get("modules", [])}
    out = []
    for p in parcours:
        modules = [m for m in p.get("modules", []) if (release / str(m.get("id"))).is_dir()]
        if modules:
            out.append({**p, "modules": modules})
    # a stock nbgrader course (no catalogue): its assignments, by name
    extra = (
        sorted(d.name for d in release.glob("*") if d.is_dir() and d.name not in listed)
        if release.is_dir()
        else []
    )
    if extra:
        out.append(
            {
                "id": "devoirs",
                "titre": "Devoirs",
                "modules": [
                    {
                        "id": name,
                        "titre": name,
                        "notebooks": [
                            {"notebook": nb.stem, "titre": nb.stem}
                            for nb in sorted((release / name).glob("*.ipynb"))
                        ],
                    }
                    for name in extra
                ],
            }
        )
    return out


def module_folder(parcours: dict[str, Any], module: dict[str, Any]) -> str:
    """Where a module lives inside a workspace, relative to its root."""
    return f"{parcours['id']}/{module['id']}"


def _duration(minutes: Any) -> str:
    return f" — {minutes} min" if isinstance(minutes, int | float) and minutes else ""


def _href(path: str) -> str:
    return path.replace(" ", "%20")


def home_page_markdown(catalogue: list[dict[str, Any]]) -> str:
    """The French text of « Commencez ici »: each parcours, its modules in order, links to every notebook."""
    lines = [
        "# Commencez ici",
        "",
        "Bienvenue ! Voici les parcours qui vous sont proposés. Suivez-les dans l'ordre : "
        "chaque module commence par une leçon et finit par des exercices. "
        "Cliquez sur un titre pour ouvrir le notebook ; à la fin de chaque notebook, un lien mène au suivant.",
        "",
        "Vos réponses sont enregistrées dans votre propre dossier : vous pouvez fermer et revenir quand vous voulez.",
    ]
    if not catalogue:
        lines += [
            "",
            "Aucun parcours n'est encore publié : demandez à votre formateur ou à votre formatrice.",
        ]
    for p in catalogue:
        lines += ["", f"## {p.get('titre') or p['id']}{_duration(p.get('duree'))}"]
        if p.get("public"):
            lines += ["", f"*Pour : {p['public']}*"]
        lines.append("")
        for i, m in enumerate(p.get("modules", []), start=1):
            folder = module_folder(p, m)
            notebooks = m.get("notebooks") or []
            first = notebooks[0]["notebook"] if notebooks else ""
            title = m.get("titre") or m["id"]
            head = f"[{title}]({_href(f'{folder}/{first}.ipynb')})" if first else title
            lines.append(f"{i}. **{head}**{_duration(m.get('duree'))}")
            for nb in notebooks:
                link = _href(f"{folder}/{nb['notebook']}.ipynb")
                lines.append(
                    f"   - [{nb.get('titre') or nb['notebook']}]({link}){_duration(nb.get('duree'))}"
                )
    return "\n".join(lines) + "\n"


def write_home_page(dest: Path, catalogue: list[dict[str, Any]]) -> Path:
    """Write (or refresh) `Commencez ici.ipynb` in `dest`: one read-only Markdown cell."""
    return _write_page(dest, home_page_markdown(catalogue))


def hub_pointer_markdown(url: str) -> str:
    """On a hub, `Commencez ici.ipynb` leads to the live page (`incubo.hub.home_page`): an open
    notebook is not reloaded when the file changes, the page is."""
    return (
        "# Commencez ici\n\n"
        "Vos modules, dans l'ordre, avec leur état (à commencer, en cours, rendu, corrigé) et la date "
        f"à laquelle les rendre : **[ouvrir la page « Commencez ici »]({url})**. Elle s'ouvre dans un "
        "nouvel onglet et se met à jour toute seule quand votre formateur publie un module.\n"
    )


def write_hub_pointer(home: Path, url: str) -> Path | None:
    """`~/Commencez ici.ipynb` on a hub; a learner's own file of that name is left alone."""
    path = home / HOME_PAGE
    if path.is_symlink():
        return None
    if path.exists():
        try:
            cells = nbformat.read(path, as_version=4).cells
        except Exception:  # noqa: BLE001 - not ours to judge: leave it
            return None
        if [c.get("id") for c in cells] != ["commencez-ici"]:
            return None
    return _write_page(home, hub_pointer_markdown(url))


def _write_page(dest: Path, markdown: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    cell = nbformat.v4.new_markdown_cell(markdown)
    cell["id"] = "commencez-ici"
    cell.metadata = {"editable": False, "deletable": False}
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata.update(kernel_metadata())
    path = dest / HOME_PAGE
    text = nbformat.writes(nb) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def learner_sidecar(data: dict[str, Any]) -> dict[str, Any]:
    """The exercise file a learner may hold: everything but the solutions."""
    exercises = {
        k: {kk: vv for kk, vv in v.items() if kk != "solution"}
        for k, v in (data.get("exercices") or {}).items()
    }
    return {**data, "exercices": exercises}


def kernel_metadata() -> dict[str, Any]:
    """The kernelspec and language_info JupyterLab writes once the kernel starts.

    A copy that already holds them is not marked modified as soon as it opens.
    """
    import platform

    display_name = "Python 3 (ipykernel)"
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        display_name = KernelSpecManager().get_kernel_spec("python3").display_name
    except Exception:
        log.debug("no python3 kernel spec", exc_info=True)
    return {
        "kernelspec": {"display_name": display_name, "language": "python", "name": "python3"},
        "language_info": {
            "codemirror_mode": {"name": "ipython", "version": 3},
            "file_extension": ".py",
            "mimetype": "text/x-python",
            "name": "python",
            "nbconvert_exporter": "python",
            "pygments_lexer": "ipython3",
            "version": platform.python_version(),
        },
    }


def _copy_notebook(src: Path, target: Path) -> None:
    nb = nbformat.read(src, as_version=4)
    nb.metadata.update(kernel_metadata())
    nbformat.write(nb, target)


def _copy_missing(src: Path, dest: Path) -> int:
    """Copy what the learner does not have yet; never overwrite their files. Returns files copied."""
    copied = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in _SKIPPED for part in rel.parts) or path.name == SIDECAR:
            continue
        target = dest / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".ipynb":
                _copy_notebook(path, target)
            else:
                shutil.copyfile(path, target)
            copied += 1
    sidecar = src / SIDECAR
    if (
        sidecar.is_file()
    ):  # refreshed every time: hints and checks follow the course, solutions stay out
        data = learner_sidecar(exercise_data.read_file(sidecar))
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        target = dest / SIDECAR
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return copied


def prepare(course_dir: Path, dest: Path) -> Path:
    """Make `dest` the learner's workspace for `course_dir`: modules copied, home page written."""
    course_dir, dest = Path(course_dir).resolve(), Path(dest).expanduser().resolve()
    if dest == course_dir or course_dir in dest.parents or dest in course_dir.parents:
        from incubo.errors import IncuboError

        raise IncuboError(
            f"L'espace de l'apprenant « {dest} » ne peut pas être le dossier de cours ni le contenir : "
            "choisissez un autre dossier avec --espace.",
            code="espace-invalide",
        )
    catalogue = read_catalogue(course_dir)
    copied = 0
    for p in catalogue:
        for m in p["modules"]:
            copied += _copy_missing(course_dir / "release" / m["id"], dest / module_folder(p, m))
    write_home_page(dest, catalogue)
    log.info("workspace %s: %d file(s) copied from %s", dest, copied, course_dir)
    return dest


def workspace_dir(value: str | os.PathLike | None = None) -> Path:
    """The learner's workspace: `--espace`, else `INCUBO_WORKSPACE`, else `~/espace-incubo`."""
    return config.workspace_dir(value)
