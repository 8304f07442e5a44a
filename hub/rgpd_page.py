"""« Mes données » inside each learner's own server (`/user/<name>/incubo/mes-donnees`).

A Jupyter server extension like « Mon parcours » (`incubo.hub.parcours_page`): the
information notice (its current version), and « Télécharger mes données »: one ZIP archive
with the layout and README of the trainer's `incubo rgpd exporter`, as far as the learner's
own rights reach (`incubo.hub.rgpd_mine`), and the learner's statements alone as JSON and as
a CSV for a French spreadsheet. Statements are read through the LRS gate with the server's
own credentials (the gate gives a learner nothing but their own; the page keeps only the
learner's actor all the same), or from their journal on one machine.

The notice comes from the RGPD store, and « J'ai lu la notice » records the learner's
acknowledgement there, through the LRS gate on a hub (`incubo.hub.rgpd_client`).
`/incubo/accueil` is the first screen the hub opens (the spawner's `default_url`): this page
while the learner has not acknowledged the current notice, « Commencez ici » afterwards.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from incubo.hub import page_head

log = logging.getLogger(__name__)

#: « Toutes mes données »: the learner's own archive (`incubo.hub.rgpd_mine.FILENAME`).
ARCHIVE = "mes-donnees-incubo.zip"

#: The page's own rules, after the common head (`incubo.hub.page_head`).
STYLE = """ .notice { border: 1px solid #929292; padding: .4rem 1rem; } .version { color: #3a3a3a; font-size: .95rem; }
 .a-lire { border-left: .4rem solid #000091; background: #eeeeff; padding: .4rem .8rem; }
"""
HEAD = page_head.head("Mes données", STYLE)

PAGE = """<body><header><h1>Mes données</h1></header>
<main>
{first}<section aria-labelledby="titre-notice"><h2 id="titre-notice">Ce qu'incubo enregistre, et vos droits</h2>
<div class="notice">{notice}</div>
<p class="version">Version de la notice : {version}.</p>{acknowledge}</section>
<section aria-labelledby="titre-export"><h2 id="titre-export">Télécharger mes données</h2>
<p>{count}</p>
<ul>
<li><a href="{base}/{archive}" download>Toutes mes données (archive ZIP)</a> : vos traces, vos
notes, vos devoirs rendus et les retours reçus, vos choix pour la recherche et vos lectures de
la notice, au format de l'export de votre formateur.</li>
<li><a href="{base}/traces.csv" download>Mes traces pour un tableur (CSV, {count_short})</a></li>
<li><a href="{base}/traces.json" download>Mes traces au format xAPI (JSON)</a></li>
</ul>
<p>L'archive contient ce que votre espace peut lire ; son fichier LISEZMOI.md dit ce qu'elle
ne contient pas (le carnet de notes et les copies de correction de votre formateur).
Pour obtenir tout ce qu'incubo garde à votre sujet, le faire effacer, ou changer votre choix
pour la recherche, écrivez à : {contact}. Votre choix pour la recherche se règle aussi
dans <a href="{parcours}">Mon parcours</a>.</p></section>
<p><a href="{lab}">Revenir à JupyterLab</a></p>
</main></body></html>
"""


def notice_html(text: str) -> str:
    """The notice's Markdown as plain HTML: headings, paragraphs, bold; everything escaped."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        block = html.escape(block.strip())
        block = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", block, flags=re.S)
        heading = re.match(r"#+\s+(.*)", block)
        out.append(f"<h3>{heading.group(1)}</h3>" if heading else f"<p>{block}</p>")
    return "\n".join(out)


async def my_statements(user: str) -> list[dict[str, Any]]:
    """The learner's own statements: through the gate on a hub, from their journal otherwise."""
    import asyncio

    from incubo import events, xapi
    from incubo.rgpd_places import read_lrs

    url = events.lrs_url()
    if url:
        found = await asyncio.to_thread(lambda: list(read_lrs(url, timeout=15)))
    else:
        found = events.read_jsonl()
    return [s for s in found if xapi.learner_of(s) == user]


def _user() -> str:
    from incubo import xapi

    return xapi.learner_of({"actor": xapi.actor()})


FIRST = (
    '<p class="a-lire" role="status">Bienvenue ! Avant de commencer, lisez ce qu\'incubo '
    "enregistre de votre activité et vos droits, puis confirmez en bas de la notice.</p>\n"
)
ACKNOWLEDGE = (
    '<form method="post" action="{action}">{xsrf}'
    '<input type="hidden" name="version" value="{version}">'
    '<p><button type="submit">J\'ai lu la notice</button></p></form>'
)
DONE = "<p>Vous avez lu cette version de la notice.</p>"


async def rgpd_state() -> dict[str, Any]:
    """The notice and this learner's choices; the store's notice when the gate does not answer."""
    from incubo.hub import rgpd_client

    try:
        return await rgpd_client.state()
    except Exception as err:  # noqa: BLE001 - the page still informs when the gate is down
        log.warning("Mes données: RGPD store unreachable: %s", err)
        from incubo import rgpd

        notice = rgpd.notice()
        return {"version": notice.version, "texte": notice.text, "a_lire": None, "erreur": True}


class WelcomeHandler(JupyterHandler):
    """The first screen (`default_url`): the notice until it is acknowledged, then « Commencez ici »
    (`incubo.hub.home_page`: the modules received, kept up to date)."""

    @web.authenticated
    async def get(self) -> None:
        from incubo.hub.home_page import PATH as HOME

        state = await rgpd_state()
        target = "incubo/mes-donnees" if state.get("a_lire") is not False else HOME
        self.redirect(self.base_url + target)


class MyDataHandler(JupyterHandler):
    async def send_archive(self, user: str, statements: list[dict[str, Any]]) -> None:
        """The learner's own archive (`incubo.hub.rgpd_mine`): the export's files, as a ZIP."""
        import asyncio

        from incubo.hub import rgpd_client, rgpd_mine
        from incubo.hub.seance_panel import course_id

        try:
            state, rows = await rgpd_client.state(), await rgpd_client.own_rows()
        except Exception as err:  # noqa: BLE001 - said in French
            log.warning("Mes données: RGPD store unreachable for the archive: %s", err)
            raise web.HTTPError(
                503, "Vos choix et vos lectures de la notice ne peuvent pas être lus : réessayez."
            ) from None
        home = Path(self.settings.get("server_root_dir") or os.getcwd()).expanduser()
        course = course_id(home)
        blob = await asyncio.to_thread(
            lambda: rgpd_mine.archive(
                rgpd_mine.own_data(user, home, course, statements, rows, state)
            )
        )
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{ARCHIVE}"')
        self.finish(blob)

    @web.authenticated
    async def post(self, what: str | None = None) -> None:
        from incubo.hub import rgpd_client

        if what != "accuse":
            raise web.HTTPError(404)
        try:
            await rgpd_client.acknowledge(self.get_body_argument("version", ""))
        except Exception as err:  # noqa: BLE001 - said in French on the page
            log.warning("Mes données: acknowledgement not recorded: %s", err)
            raise web.HTTPError(503, f"Votre lecture n'a pas pu être enregistrée : {err}") from None
        self.redirect(
            self.base_url + "incubo/accueil"
        )  # the first screen decides: « Commencez ici »

    @web.authenticated
    async def get(self, what: str | None = None) -> None:
        from incubo.config import settings

        user = _user()
        self.set_header("Cache-Control", "no-store")
        try:
            statements = await my_statements(user)
        except Exception as err:  # noqa: BLE001 - the LRS down must not break the page
            log.warning("Mes données: LRS unreadable: %s", err)
            statements = None
        if what in ("traces.csv", "traces.json", ARCHIVE) and statements is None:
            raise web.HTTPError(503, "Le LRS ne répond pas : réessayez dans un instant.")
        if what == ARCHIVE:
            await self.send_archive(user, statements)
            return
        if what in ("traces.csv", "traces.json"):
            self.set_header("Content-Disposition", f'attachment; filename="mes-{what}"')
            if what == "traces.json":
                self.set_header("Content-Type", "application/json; charset=utf-8")
                self.finish(json.dumps(statements, ensure_ascii=False, indent=1))
            else:
                self.set_header("Content-Type", "text/csv; charset=utf-8")
                from incubo.rgpd_export import statements_csv

                self.finish(statements_csv(statements))
            return
        state = await rgpd_state()
        page = self.base_url.rstrip("/") + "/incubo/mes-donnees"
        if state.get("a_lire"):
            acknowledge = ACKNOWLEDGE.format(
                action=page + "/accuse",
                xsrf=self.xsrf_form_html(),
                version=html.escape(str(state["version"])),
            )
        elif state.get("a_lire") is False:
            acknowledge = DONE
        else:
            acknowledge = "<p>Votre lecture ne peut pas être enregistrée pour l'instant : réessayez dans un instant.</p>"
        count = (
            "Vos traces ne peuvent pas être lues pour l'instant (le service qui les conserve ne répond pas)."
            if statements is None
            else f"incubo garde {len(statements)} traces de vos actions."
        )
        self.finish(
            HEAD
            + PAGE.format(
                first=FIRST if state.get("a_lire") else "",
                acknowledge=acknowledge,
                parcours=self.base_url + "incubo/mon-parcours",
                notice=notice_html(str(state["texte"])),
                version=html.escape(str(state["version"])),
                count=count,
                count_short=f"{len(statements or [])} lignes",
                base=page,
                archive=ARCHIVE,
                contact=html.escape(
                    settings().rgpd_contact or "votre formateur ou le responsable de la formation"
                ),
                lab=self.base_url + "lab",
            )
        )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "incubo.hub.rgpd_page"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (base + "incubo/mes-donnees/?", MyDataHandler),
            (
                base
                + r"incubo/mes-donnees/(traces\.csv|traces\.json|accuse|mes-donnees-incubo\.zip)",
                MyDataHandler,
            ),
            (base + "incubo/accueil/?", WelcomeHandler),
        ],
    )
    serverapp.log.info("« Mes données » at %sincubo/mes-donnees", base)
