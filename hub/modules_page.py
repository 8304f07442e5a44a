"""« Mes modules » in each learner's own server on the hub: what the lab panel shows and does.

A Jupyter server extension (turned on by `jupyter-config/…/incubo-mes-modules.json`, like
« Commencez ici », `incubo.hub.home_page`), asked by the `@incubo/labextension:mes-modules`
panel. The server runs as the learner: it reads and writes only what the learner may.

- `GET incubo/modules`: the modules received (`home_page.received`), each with its due date in
  French, its state (à commencer, en cours, rendu, en retard, corrigé), when it was last handed
  in, whether it may be handed in now, the files a hand-in sends, and once feedback is released,
  the score and the address of the feedback.
- `POST incubo/modules/<module>/rendre`: hands the module in through nbgrader's own exchange
  (`ExchangeSubmit`, the same call as nbgrader's Assignment List), as often as the learner
  wants; after the due date, refused in French when the trainer chose so (`incubo.deadlines`).
- `GET incubo/modules/<module>/retour[/<notebook>]`: the released feedback page, read from the
  learner's feedback folder and served under a strict Content-Security-Policy (no script, no
  request out), never through the file browser.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web

from incubo import deadlines, french_time
from incubo.exchange import VIEW_DIR, safe_name
from incubo.hub import home_page

PATH = "incubo/modules"
LATE = "en retard"
#: The state's CSS class in the panel (the state is always written in words too).
STATE_CLASS = {**home_page.STATE_CLASS, LATE: "etat-4"}
#: nbgrader's own ignore list (CourseDirectory.ignore), and incubo's internal files.
NOT_LISTED = (".ipynb_checkpoints", "__pycache__", "feedback", ".DS_Store")
MAX_LISTED = 20
FEEDBACK_BYTES = 20 * 1024 * 1024
#: What a feedback page may do in the learner's browser: show itself, nothing else.
FEEDBACK_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
)
_SCORE = re.compile(r"Note\s*:\s*([0-9]+(?:[.,][0-9]+)?)\s*/\s*([0-9]+(?:[.,][0-9]+)?)")
REFUSED = (
    "La date de remise est passée : ce module ne peut plus être rendu. "
    "Parlez-en à votre formateur ou à votre formatrice."
)
LATE_ALLOWED = (
    "La date de remise est passée : vous pouvez encore rendre votre travail, "
    "il sera signalé en retard."
)


class HandInRefused(Exception):
    """A hand-in that cannot be done (French message, HTTP 400)."""


@dataclass
class Place:
    """Where one learner's things are: their home, their course folder, their exchange view."""

    home: Path
    course: str

    @property
    def view(self) -> Path:
        return self.home / VIEW_DIR / self.course

    def folder(self, module: str) -> Path:
        return self.home / self.course / module

    def deadline(self, module: str) -> deadlines.Deadline | None:
        return deadlines.read(self.view / "outbound", module)

    def submissions(self, module: str) -> list[Path]:
        return home_page._submissions(self.view / "inbound", module)


# --- what the panel shows -----------------------------------------------------------------------


def feedback_pages(place: Place, module: str) -> dict[str, Path]:
    """Notebook stem → its feedback page, for the newest hand-in that has feedback."""
    from incubo.exchange import feedback_pages as pages_of

    return pages_of(place.submissions(module), place.view / "feedback")


def read_page(page: Path) -> str:
    """A feedback page's text (never through a link; bounded)."""
    fd = os.open(page, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        return f.read(FEEDBACK_BYTES).decode("utf-8", errors="replace")


def score(pages: dict[str, Path]) -> str:
    """« Note : 3 / 4 », summed over the notebooks' feedback pages (incubo's French feedback)."""
    total = maximum = 0.0
    found = False
    for page in pages.values():
        try:
            match = _SCORE.search(read_page(page))
        except OSError:
            continue
        if match:
            found = True
            total += float(match.group(1).replace(",", "."))
            maximum += float(match.group(2).replace(",", "."))
    if not found:
        return ""
    return f"Note : {total:g} / {maximum:g}".replace(".", ",")


def files_sent(folder: Path) -> list[str]:
    """The files a hand-in sends (the module's folder as nbgrader copies it), as the learner reads them."""
    names = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in NOT_LISTED and not d.startswith("."))
        rel = Path(root).relative_to(folder)
        names += [
            (rel / f).as_posix()
            for f in sorted(files)
            if not f.startswith((".", "incubo_")) and f not in NOT_LISTED
        ]
    names.sort(key=lambda n: (not n.endswith(".ipynb"), n.count("/"), n))
    if len(names) > MAX_LISTED:
        rest = len(names) - MAX_LISTED + 1
        names = [*names[: MAX_LISTED - 1], f"… et {rest} autres fichiers du dossier"]
    return names


def _state(module: home_page.Module, handed: datetime | None, deadline, graded: bool, now) -> str:
    if graded:
        return home_page.GRADED
    if handed is not None:
        return LATE if deadline and deadline.is_late(handed) else home_page.HANDED_IN
    if deadline and deadline.is_late(now):
        return LATE
    return module.state


def _handed_text(handed: datetime | None, deadline, now: datetime) -> str:
    if handed is None:
        return ""
    late = " (en retard)" if deadline and deadline.is_late(handed) else ""
    return f"rendu le {french_time.french_moment(handed, now)}{late}"


def _message(deadline, now: datetime) -> str:
    if deadline is None or not deadline.is_late(now):
        return ""
    return REFUSED if deadline.refuses(now) else LATE_ALLOWED


def describe(place: Place, module: home_page.Module, now: datetime) -> dict[str, Any]:
    """One module as the panel shows it (see docs/contracts.md, « Mes modules »)."""
    deadline = place.deadline(module.id)
    subs = place.submissions(module.id)
    handed = deadlines.handed_in_at(subs[-1]) if subs else None
    pages = feedback_pages(place, module.id)
    state = _state(module, handed, deadline, bool(pages), now)
    return {
        "id": module.id,
        "titre": module.title,
        "parcours": module.parcours,
        "etat": state,
        "classe": STATE_CLASS[state],
        "echeance": deadline.french(now) if deadline else "",
        "rendu_le": _handed_text(handed, deadline, now),
        "message": _message(deadline, now),
        "peut_rendre": not (deadline and deadline.refuses(now)),
        "fichiers": files_sent(place.folder(module.id)),
        "note": score(pages),
        "retour": f"{PATH}/{module.id}/retour" if pages else "",
    }


def modules(place: Place, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    return [describe(place, m, now) for m in home_page.received(place.home, place.course)]


# --- handing in ---------------------------------------------------------------------------------


def nbgrader_config(place: Place, module: str):
    """nbgrader's config as its Assignment List reads it (the role's nbgrader_config.py), for `module`."""
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader
    from traitlets.config import Application

    app = NbGrader()  # its defaults; then the files, as nbgrader reads them (no chdir: one process)
    paths = [*jupyter_config_path(), str(place.home)]
    Application.load_config_file(app, "nbgrader_config", path=paths)
    config = app.config
    config.CourseDirectory.course_id = place.course
    config.CourseDirectory.assignment_id = module
    config.Exchange.assignment_dir = str(place.home)
    return config


def hand_in(place: Place, module: str, now: datetime | None = None) -> str:
    """Hand `module` in through nbgrader's exchange, as this server's user; the French answer.

    Raises HandInRefused (French) for a module not received, or after a due date that refuses.
    """
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeError, ExchangeFactory

    now = now or datetime.now(UTC)
    if not safe_name(module) or not place.folder(module).is_dir():
        raise HandInRefused("Ce module n'est pas dans votre espace : rien n'a été envoyé.")
    deadline = place.deadline(module)
    if deadline and deadline.refuses(now):
        raise HandInRefused(REFUSED)
    config = nbgrader_config(place, module)
    try:
        ExchangeFactory(config=config).Submit(
            coursedir=CourseDirectory(config=config),
            authenticator=Authenticator(config=config),
            config=config,
        ).start()
    except (ExchangeError, OSError) as err:
        raise HandInRefused(
            "Votre travail n'a pas pu être envoyé : réessayez, ou prévenez votre formateur "
            f"ou votre formatrice ({type(err).__name__})."
        ) from None
    late = " Il est signalé en retard." if deadline and deadline.is_late(now) else ""
    return (
        f"Travail rendu le {french_time.french_moment(now, now)}.{late} Vous pouvez le rendre "
        "à nouveau tant que la date de remise le permet : la dernière copie compte."
    )


# --- handlers -----------------------------------------------------------------------------------


def _place(handler: JupyterHandler) -> Place:
    home = Path(handler.settings.get("server_root_dir") or os.getcwd()).expanduser()
    from incubo.hub.seance_panel import course_id

    return Place(home, course_id(home))


class ModulesHandler(APIHandler):
    """`GET incubo/modules`: the modules, as JSON."""

    @web.authenticated
    async def get(self) -> None:
        found = await asyncio.to_thread(modules, _place(self))
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"modules": found}, ensure_ascii=False))


class HandInHandler(APIHandler):
    """`POST incubo/modules/<module>/rendre`: hand the module in."""

    @web.authenticated
    async def post(self, module: str) -> None:
        try:
            message = await asyncio.to_thread(hand_in, _place(self), module)
        except HandInRefused as err:
            self.set_status(400)
            return self.finish(json.dumps({"erreur": str(err)}, ensure_ascii=False))
        self.finish(json.dumps({"ok": True, "message": message}, ensure_ascii=False))


FEEDBACK_INDEX = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Retour : {title}</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem;
color: #1e1e1e; line-height: 1.5; }} a {{ color: #000091; }}</style></head>
<body><main><h1>Retour : {title}</h1><p>Le retour de votre formateur, notebook par notebook :</p>
<ul>{items}</ul></main></body></html>
"""


def feedback_index(place: Place, module: str, pages: dict[str, Path]) -> str:
    """The module's feedback pages, one link and one score each (a module of several notebooks)."""
    found = [m for m in home_page.received(place.home, place.course) if m.id == module]
    titles = {nb.stem: nb.title for nb in found[0].notebooks} if found else {}
    items = "".join(
        f'<li><a href="retour/{html.escape(stem)}">{html.escape(titles.get(stem, stem))}</a>'
        f"{' — ' + html.escape(note) if (note := score({stem: page})) else ''}</li>"
        for stem, page in pages.items()
    )
    title = found[0].title if found else module
    return FEEDBACK_INDEX.format(title=html.escape(title), items=items)


class FeedbackHandler(JupyterHandler):
    """`GET incubo/modules/<module>/retour[/<notebook>]`: the feedback page, under a strict CSP."""

    @web.authenticated
    async def get(self, module: str, notebook: str | None = None) -> None:
        place = _place(self)
        if not safe_name(module):
            raise web.HTTPError(404)
        pages = await asyncio.to_thread(feedback_pages, place, module)
        if notebook is None and len(pages) > 1:
            return self._send(await asyncio.to_thread(feedback_index, place, module, pages))
        page = pages.get(notebook) if notebook else next(iter(pages.values()), None)
        if page is None:
            raise web.HTTPError(404)
        self._send(await asyncio.to_thread(read_page, page))

    def _send(self, text: str) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", FEEDBACK_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        self.finish(text)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "incubo.hub.modules_page"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base = serverapp.web_app.settings["base_url"]
    name = "([^/]+)"
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (base + PATH + "/?", ModulesHandler),
            (base + f"{PATH}/{name}/rendre/?", HandInHandler),
            (base + f"{PATH}/{name}/retour/?", FeedbackHandler),
            (base + f"{PATH}/{name}/retour/{name}", FeedbackHandler),
        ],
    )
    serverapp.log.info("« Mes modules » at %s%s", base, PATH)
