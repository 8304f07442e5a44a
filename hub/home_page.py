"""« Commencez ici » on the hub: the learner's first screen once the notice is read.

`/user/<name>/incubo/commencez-ici`, served by the learner's own server (so it reads only what
the learner may read, as the learner): the modules received in their home (`~/<course>/<module>/`,
fetched at login and, while the server runs, by `incubo.hub.release_watch`), grouped by parcours
and in order, each with its duration, its state and its due date, one click to open it in
JupyterLab.

A page rather than the one-machine notebook (`incubo.workspace.HOME_PAGE`): JupyterLab 4 does not
reload an open notebook changed on disk (it only warns at the next save), so a notebook home would
stay empty in front of a learner whose room was pre-warmed before the release. The page asks its
own server for the list every few seconds and shows a module within seconds, without a click.

States, from files only (no LRS round trip, so thirty pages polling cost nothing):
- « corrigé »: feedback exists for one of the learner's hand-ins of the module (nbgrader's hashed
  file in their exchange feedback folder, or a `feedback/` folder already fetched into the module);
- « rendu »: a hand-in of the module is in the learner's submission folder (`inbound`);
- « en cours »: the learner opened a notebook of it (JupyterLab leaves a checkpoint in
  `.ipynb_checkpoints` at the first opening) or saved one (newer than the released copy);
- « à commencer »: none of these.
"""

from __future__ import annotations

import html
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from incubo import deadlines, exercise_data
from incubo.exchange import VIEW_DIR, feedback_pages
from incubo.hub import page_head

log = logging.getLogger(__name__)

PATH = "incubo/commencez-ici"
#: Seconds between two looks of the page at its list.
POLL_SECONDS = 3
CATALOGUE_BYTES = 512 * 1024
NOT_STARTED, STARTED, HANDED_IN, GRADED = "à commencer", "en cours", "rendu", "corrigé"
#: The state's CSS class (the state is always written in words too: never colour alone).
STATE_CLASS = {NOT_STARTED: "etat-0", STARTED: "etat-1", HANDED_IN: "etat-2", GRADED: "etat-3"}


@dataclass
class Notebook:
    stem: str
    title: str
    minutes: float | None = None


@dataclass
class Module:
    """One module received, as the home shows it."""

    id: str
    parcours: str
    title: str
    notebooks: list[Notebook] = field(default_factory=list)
    state: str = NOT_STARTED
    due: str = ""
    #: (parcours, module) index in the catalogue; unknown modules after the known ones
    place: tuple[int, int] = (0, 0)

    @property
    def minutes(self) -> float | None:
        found = [n.minutes for n in self.notebooks if n.minutes]
        return sum(found) if found else None


def _minutes(value: Any) -> float | None:
    return value if isinstance(value, int | float) and value > 0 else None


def _notebooks(folder: Path, sidecar: dict[str, Any]) -> list[Notebook]:
    """The module's notebooks on disk: the build's order first, then any other, by name."""
    present = {p.stem for p in folder.glob("*.ipynb") if p.is_file()}
    described = sidecar.get("notebooks") if isinstance(sidecar.get("notebooks"), dict) else {}
    out = [
        Notebook(stem, str(meta.get("titre") or stem), _minutes(meta.get("duree")))
        for stem, meta in described.items()
        if stem in present and isinstance(meta, dict)
    ]
    out += [Notebook(stem, stem) for stem in sorted(present - set(described))]
    return out


def _read_sidecar(folder: Path) -> dict[str, Any]:
    path = folder / exercise_data.FILE_NAME
    if not path.is_file():
        return {}
    try:
        return exercise_data.read_file(path)
    except (OSError, ValueError):
        log.warning("unreadable %s", path)
        return {}


def _submissions(inbound: Path, module: str) -> list[Path]:
    """The learner's hand-ins of `module` (nbgrader's `<learner>+<module>+<time>[+<random>]`), newest last."""
    try:
        entries = list(os.scandir(inbound))
    except OSError:
        return []
    found = [
        Path(e.path)
        for e in entries
        if e.is_dir(follow_symlinks=False) and e.name.split("+")[1:2] == [module]
    ]
    return sorted(found, key=lambda p: p.name.split("+")[2] if p.name.count("+") >= 2 else "")


def _opened_or_changed(folder: Path, released: Path, notebooks: list[Notebook]) -> bool:
    checkpoints = folder / ".ipynb_checkpoints"
    if any(checkpoints.glob("*-checkpoint.ipynb")):
        return True
    for nb in notebooks:
        try:
            mine = (folder / f"{nb.stem}.ipynb").stat().st_mtime
            theirs = (released / f"{nb.stem}.ipynb").stat().st_mtime
        except OSError:
            continue
        if mine > theirs + 1:
            return True
    return False


def module_state(home: Path, course: str, folder: Path, notebooks: list[Notebook]) -> str:
    view = home / VIEW_DIR / course
    submissions = _submissions(view / "inbound", folder.name)
    fetched = folder / "feedback"
    if (fetched.is_dir() and any(fetched.iterdir())) or feedback_pages(
        submissions, view / "feedback"
    ):
        return GRADED
    if submissions:
        return HANDED_IN
    if _opened_or_changed(folder, view / "outbound" / folder.name, notebooks):
        return STARTED
    return NOT_STARTED


def read_catalogue(outbound: Path) -> dict[str, dict[str, Any]]:
    """module id → its parcours' title and place, its own title and place (the published catalogue)."""
    from incubo.exchange import CATALOGUE, read_small

    try:
        data = json.loads(read_small(outbound, CATALOGUE, CATALOGUE_BYTES, base=outbound) or "{}")
        parcours = [p for p in data.get("parcours") or [] if isinstance(p, dict)]
    except (ValueError, AttributeError, TypeError):
        return {}
    found = {}
    for i, p in enumerate(parcours):
        for j, m in enumerate(p.get("modules") or []):
            if isinstance(m, dict) and m.get("id"):
                found[str(m["id"])] = {
                    "parcours": str(p.get("id") or ""),
                    "parcours_titre": str(p.get("titre") or p.get("id") or ""),
                    "titre": str(m.get("titre") or m["id"]),
                    "place": (i, j),
                }
    return found


def _due(deadline: deadlines.Deadline | None) -> str:
    if deadline is None:
        return ""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return deadline.french(now) + (" (date dépassée)" if deadline.is_late(now) else "")


def received(home: Path, course: str) -> list[Module]:
    """The modules in the learner's home, in the catalogue's order (parcours, then module)."""
    root = home / course
    try:
        folders = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    outbound = home / VIEW_DIR / course / "outbound"
    catalogue = read_catalogue(outbound)
    unknown = (len(catalogue) + 1, 0)
    modules = []
    for folder in folders:
        if folder.name.startswith("."):
            continue
        sidecar = _read_sidecar(folder)
        notebooks = _notebooks(folder, sidecar)
        if not notebooks:
            continue
        deadline = deadlines.read(outbound, folder.name)
        known = catalogue.get(folder.name, {})
        modules.append(
            Module(
                id=folder.name,
                parcours=known.get("parcours_titre") or str(sidecar.get("parcours") or ""),
                title=known.get("titre") or str(sidecar.get("titre") or folder.name),
                place=known.get("place") or unknown,
                notebooks=notebooks,
                state=module_state(home, course, folder, notebooks),
                due=_due(deadline),
            )
        )
    return sorted(modules, key=lambda m: (m.place, m.parcours, m.id))


def _duration(minutes: float | None) -> str:
    return f"{minutes:g} min" if minutes else ""


def _href(lab_tree: str, course: str, module: Module, nb: Notebook) -> str:
    return lab_tree + quote(f"{course}/{module.id}/{nb.stem}.ipynb")


def render_list(modules: list[Module], lab_tree: str, course: str) -> str:
    """The list part of the page (what the page's script replaces when it changes)."""
    if not modules:
        return (
            '<p class="vide">Aucun module n\'est encore arrivé dans votre espace. Dès que votre '
            "formateur ou votre formatrice le publie, il apparaît ici, sans recharger la page.</p>"
        )
    out, current = [], None
    for m in modules:
        if m.parcours != current:
            if current is not None:
                out.append("</ol></section>")
            current = m.parcours
            label = m.parcours or "Autres modules"
            out.append(f'<section class="parcours"><h2>{html.escape(label)}</h2><ol>')
        details = [d for d in (_duration(m.minutes), m.due) if d]
        items = "".join(
            f'<li><a href="{_href(lab_tree, course, m, nb)}">{html.escape(nb.title)}</a>'
            f"{' — ' + _duration(nb.minutes) if nb.minutes else ''}</li>"
            for nb in m.notebooks
        )
        out.append(
            f'<li class="module" data-module="{html.escape(m.id)}">'
            f'<h3><a href="{_href(lab_tree, course, m, m.notebooks[0])}">{html.escape(m.title)}</a></h3>'
            f'<p><span class="etat {STATE_CLASS[m.state]}">{html.escape(m.state)}</span>'
            f"{''.join(' · ' + html.escape(d) for d in details)}</p>"
            f'<ul aria-label="Notebooks du module {html.escape(m.title)}">{items}</ul></li>'
        )
    out.append("</ol></section>")
    return "".join(out)


STYLE = """ header a { color: #fff; }
 ol { padding-left: 1.4rem; } li.module { border: 1px solid #929292; padding: .2rem .8rem; margin: .6rem 0; }
 li.module h3 { margin: .3rem 0; } li.module p { margin: .2rem 0; }
 .etat { font-weight: bold; padding: 0 .4rem; border: 1px solid #3a3a3a; }
 .etat-0 { background: #fff; } .etat-1 { background: #fff4d6; }
 .etat-2 { background: #e3f0ff; } .etat-3 { background: #dffee6; }
 .vide { border-left: .4rem solid #000091; background: #eeeeff; padding: .4rem .8rem; }
 .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
 nav ul { list-style: none; padding: 0; display: flex; gap: 1.5rem; flex-wrap: wrap; }
"""
HEAD = page_head.head("Commencez ici", STYLE)
#: The rest of the page, after HEAD (a str.format template).
PAGE = """<body><header><h1>Commencez ici</h1><p>{hello}Vos modules, dans l'ordre. Cliquez sur un titre pour l'ouvrir dans JupyterLab ;
votre travail est enregistré dans votre propre dossier.</p></header>
<main>
<div id="modules">{modules}</div>
<p id="annonce" class="visually-hidden" role="status" aria-live="polite"></p>
<nav aria-label="Autres pages"><ul>
<li><a href="{lab}">Ouvrir JupyterLab (tous mes fichiers)</a></li>
<li><a href="{parcours}">Mon parcours</a></li>
<li><a href="{donnees}">Mes données</a></li>
</ul></nav>
</main>
<script>
(function () {{
  var box = document.getElementById("modules"), said = document.getElementById("annonce");
  var last = {initial};
  function count() {{ return box.querySelectorAll("li.module").length; }}
  function look() {{
    fetch({url}, {{credentials: "same-origin", cache: "no-store", headers: {{"X-XSRFToken": {xsrf}}}}})
      .then(function (r) {{ return r.ok ? r.json() : null; }})
      .then(function (data) {{
        if (data && data.html !== last) {{
          var before = count();
          box.innerHTML = data.html;
          last = data.html;
          if (count() > before) {{ said.textContent = "Un nouveau module est arrivé dans votre espace."; }}
        }}
      }})
      .catch(function () {{}})
      .then(function () {{ setTimeout(look, {every}); }});
  }}
  setTimeout(look, {every});
}})();
</script>
</body></html>
"""


def _home(handler: JupyterHandler) -> Path:
    return Path(handler.settings.get("server_root_dir") or os.getcwd()).expanduser()


def _course(home: Path) -> str:
    from incubo.hub.seance_panel import course_id

    return course_id(home)


class HomeHandler(JupyterHandler):
    """`GET …/incubo/commencez-ici` (the page) and `…/commencez-ici/liste` (its list, as JSON)."""

    @web.authenticated
    async def get(self, part: str | None = None) -> None:
        import asyncio

        home = _home(self)
        course = _course(home)
        modules = await asyncio.to_thread(received, home, course)
        listing = render_list(modules, self.base_url + "lab/tree/", course)
        self.set_header("Cache-Control", "no-store")
        if part == "liste":
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"html": listing}, ensure_ascii=False))
            return
        user = os.environ.get("JUPYTERHUB_USER", "")
        self.finish(
            HEAD
            + PAGE.format(
                hello=f"Bonjour {html.escape(user)} ! " if user else "",
                modules=listing,
                lab=self.base_url + "lab",
                parcours=self.base_url + "incubo/mon-parcours",
                donnees=self.base_url + "incubo/mes-donnees",
                url=json.dumps(self.base_url + PATH + "/liste"),
                initial=json.dumps(listing, ensure_ascii=False).replace("</", "<\\/"),
                every=POLL_SECONDS * 1000,
                # a cookie-authenticated request that is not a navigation needs it (JupyterHub >= 4.1)
                xsrf=json.dumps(self.xsrf_token.decode("ascii")),
            )
        )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "incubo.hub.home_page"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(
        ".*$", [(base + PATH + "/?", HomeHandler), (base + PATH + "/(liste)", HomeHandler)]
    )
    serverapp.log.info("« Commencez ici » at %s%s", base, PATH)
    from incubo.workspace import write_hub_pointer

    home = Path(serverapp.root_dir).expanduser()
    try:  # in JupyterLab, the file browser's root leads back to the page
        write_hub_pointer(home, base + PATH)
    except OSError as err:
        serverapp.log.warning("« Commencez ici.ipynb » not written in %s: %s", home, err)
