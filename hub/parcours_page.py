"""« Mon parcours » inside each learner's own server on the hub (`/user/<name>/incubo/mon-parcours`).

A Jupyter server extension (turned on by the hub through `JUPYTER_CONFIG_PATH`,
see `incubo.hub.services`): one light page, no kernel, so thirty learners
opening it cost nothing. It is built only from the learner's own statements
in the LRS, read through the gate with the server's own credentials
(`INCUBO_LRS_URL`, `INCUBO_LRS_AUTH`): the gate gives a learner nothing but
their own, so this page cannot show anyone else. The modules are the ones
released into the learner's home (their `incubo_exercices.json`). Below them, the
learner's research choice (`incubo.rgpd`), shown and changed through the gate
(`incubo.hub.rgpd_client`).
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from incubo import exercise_data, lrs
from incubo.exercise_data import FILE_NAME as SIDECAR
from incubo.hub import page_head

log = logging.getLogger(__name__)

STYLE = """ .carte { border: 1px solid #929292; padding: .4rem .8rem; margin: .6rem 0; }
 progress { width: 20rem; height: 1rem; }
"""
HEAD = page_head.head("Mon parcours", STYLE)
#: The rest of the page, after HEAD (a str.format template).
PAGE = """<body><header><h1>Mon parcours</h1><p>{hello}Où vous en êtes, module par module, et ce qu'il reste à faire.</p></header>
<main>{body}{research}<p><a href="{lab}">Revenir à JupyterLab</a></p></main></body></html>
"""


def module_folders(home: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Released modules in the learner's home (`~/<module>/` or `~/<course>/<module>/`)."""
    found = []
    for pattern in (f"*/{SIDECAR}", f"*/*/{SIDECAR}"):
        for path in sorted(home.glob(pattern)):
            if any(part.startswith(".") for part in path.relative_to(home).parts):
                continue
            try:
                found.append((path.parent, exercise_data.read_file(path)))
            except (OSError, ValueError):
                log.warning("unreadable %s", path)
    return found


async def own_statements(url: str, auth: str) -> list[dict[str, Any]]:
    """Every statement the LRS gives these credentials (through the gate: the learner's own only)."""
    return await lrs.read_statements_async(url, auth=auth, timeout=15)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def render(modules: list[tuple[Path, dict[str, Any]]], statements: list[dict[str, Any]]) -> str:
    """The page's body: next step, then one card per module."""
    from incubo.progress import module_progress

    if not modules:
        return "<h2>Mes modules</h2><p>Aucun module n'est encore arrivé dans votre espace : votre formateur doit d'abord le publier.</p>"
    passed = {
        str(s.get("object", {}).get("id", ""))
        for s in statements
        if str(s.get("verb", {}).get("id", "")).endswith("/passed")
    }
    cards, next_step = [], None
    done_total = total = 0
    for folder, sidecar in modules:
        p = module_progress(folder, sidecar, statements)
        titles = [
            str(n.get("titre"))
            for n in (sidecar.get("notebooks") or {}).values()
            if isinstance(n, dict) and n.get("titre")
        ]
        title = str(sidecar.get("titre") or (titles[0] if titles else p.module))
        done_total += p.exercises_done
        total += p.exercises
        if next_step is None and not p.completed:
            todo = [
                e
                for e in (sidecar.get("exercices") or {})
                if not any(i.endswith(f"/module/{p.module}/exercice/{e}") for i in passed)
            ]
            if todo:
                next_step = (title, todo[0], (sidecar["exercices"][todo[0]] or {}).get("notebook"))
        pct = round(100 * p.ratio)
        cards.append(
            f'<section class="carte" aria-label="Module {html.escape(title)}"><h3>{html.escape(title)}</h3>'
            f'<p>Avancement : {pct} % <progress max="100" value="{pct}" aria-label="Avancement du module {html.escape(title)}">{pct} %</progress></p>'
            f"<p>Exercices réussis : {p.exercises_done} sur {p.exercises} · Questions réussies : {p.quiz_done} sur {p.quiz}"
            f" · Notebooks ouverts : {p.lessons_seen} sur {p.lessons}</p></section>"
        )
    if next_step is None:
        step = "<p><strong>Bravo, vous avez réussi tous les exercices de vos modules !</strong></p>"
    else:
        title, ex, nb = next_step
        where = f" (notebook « {html.escape(str(nb))} »)" if nb else ""
        step = f"<p><strong>Module « {html.escape(title)} » : faites l'exercice « {html.escape(ex)} »{where}.</strong></p>"
    return (
        f"<h2>Prochaine étape</h2>{step}<h2>Mes modules</h2>"
        f"<p>{_plural(done_total, 'exercice')} réussi{'s' if done_total > 1 else ''} sur {total} au total"
        f" · {_plural(len(statements), 'action')} enregistrée{'s' if len(statements) > 1 else ''}.</p>{''.join(cards)}"
    )


RESEARCH = """<section aria-labelledby="titre-recherche"><h2 id="titre-recherche">Mes traces et la recherche</h2>
<p id="choix-actuel" role="status">{current}</p>
<form method="post" action="{action}">{xsrf}<fieldset><legend>Le partenaire de recherche du programme peut-il utiliser mes traces (pseudonymisées) ?</legend>
<label><input type="radio" name="recherche" value="oui"{yes}> Oui, mes traces peuvent servir à la recherche</label>
<label><input type="radio" name="recherche" value="non"{no}> Non, je m'oppose à l'usage de mes traces pour la recherche</label>
</fieldset><p><button type="submit">Enregistrer mon choix</button></p></form>
<p>Votre formateur voit toujours votre progression pour vous accompagner ; ce choix ne concerne que les rapports de recherche.
<a href="{data}">Mes données</a> : ce qu'incubo enregistre, et vos droits.</p></section>"""


async def research_section(handler: JupyterHandler) -> str:
    """The research choice: its current state and a form (native radios: keyboard and screen readers)."""
    from incubo.hub import rgpd_client

    try:
        state = await rgpd_client.state()
    except Exception as err:  # noqa: BLE001 - the rest of the page still shows
        log.warning("Mon parcours: RGPD store unreachable: %s", err)
        return '<p class="erreur">Votre choix pour la recherche ne peut pas être lu pour l\'instant : réessayez dans un instant.</p>'
    included = bool(state.get("inclus"))
    current = (
        "Actuellement : vos traces peuvent servir à la recherche (pseudonymisées)."
        if included
        else "Actuellement : vos traces ne servent pas à la recherche."
    )
    return RESEARCH.format(
        current=current,
        action=handler.base_url + "incubo/mon-parcours/recherche",
        xsrf=handler.xsrf_form_html(),
        yes=" checked" if included else "",
        no="" if included else " checked",
        data=handler.base_url + "incubo/mes-donnees",
    )


class ResearchChoiceHandler(JupyterHandler):
    """`POST …/incubo/mon-parcours/recherche`: the learner's own choice, recorded through the gate."""

    @web.authenticated
    async def post(self) -> None:
        from incubo.hub import rgpd_client

        value = self.get_body_argument("recherche", "")
        if value not in ("oui", "non"):
            raise web.HTTPError(400, "Choisissez « oui » ou « non ».")
        try:
            await rgpd_client.choose(value == "oui")
        except Exception as err:  # noqa: BLE001 - said in French
            log.warning("Mon parcours: research choice not recorded: %s", err)
            raise web.HTTPError(503, f"Votre choix n'a pas pu être enregistré : {err}") from None
        self.redirect(self.base_url + "incubo/mon-parcours#titre-recherche")


class MyProgressHandler(JupyterHandler):
    @web.authenticated
    async def get(self) -> None:
        from incubo import events
        from incubo.config import settings

        url, auth = events.lrs_url(), settings().lrs_auth
        try:
            statements = await own_statements(url, auth) if url else events.read_jsonl()
            body = render(
                module_folders(
                    Path(self.settings.get("server_root_dir") or os.getcwd()).expanduser()
                ),
                statements,
            )
        except Exception as err:
            log.warning("Mon parcours: LRS unreadable: %s", err)
            body = '<p class="erreur">Votre progression ne peut pas être lue pour l\'instant (le service qui conserve vos traces ne répond pas). Réessayez dans un instant.</p>'
        user = os.environ.get("JUPYTERHUB_USER", "")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            HEAD
            + PAGE.format(
                hello=f"Bonjour {html.escape(user)} ! " if user else "",
                body=body,
                research=await research_section(self),
                lab=self.base_url + "lab",
            )
        )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "incubo.hub.parcours_page"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (base + "incubo/mon-parcours/?", MyProgressHandler),
            (base + "incubo/mon-parcours/recherche", ResearchChoiceHandler),
        ],
    )
    serverapp.log.info("« Mon parcours » at %sincubo/mon-parcours", base)
