"""« Ma révision du jour » inside each learner's own server on the hub (`/user/<name>/incubo/revision`).

A Jupyter server extension beside « Mon parcours », turned on the same way
(`hub/jupyter-config`): plain HTML forms, no kernel, usable with the keyboard
alone. The questions are the banks of the modules released into the
learner's home; the schedule is `incubo.review`'s, rebuilt at each visit
from the learner's own statements (the LRS through the gate, which gives a
learner nothing but their own, and the local journal for what the LRS has
not received yet). An answer is judged by `incubo.quiz_check` and recorded
like any quiz answer (`incubo.events`: journal, then the LRS). Nobody else,
trainers included, can see this page or its data.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from incubo import review
from incubo.hub import page_head
from incubo.quiz_check import Evaluation, Question

log = logging.getLogger(__name__)

ROUTE = "incubo/revision"

STYLE = """ fieldset { padding: .4rem .8rem; margin: .6rem 0; }
 legend { font-weight: 700; padding: 0 .3rem; }
 input[type=text] { font-size: 1.1rem; padding: .2rem .4rem; }
 button, a.bouton { font-size: 1.1rem; padding: .4rem .9rem; background: #000091; color: #fff; border: 0;
   border-radius: .25rem; text-decoration: none; display: inline-block; cursor: pointer; }
 .retour, .bilan { border-left: .4rem solid #000091; background: #f5f5fe; padding: .4rem .8rem; margin: .6rem 0; }
"""
HEAD = page_head.head("Ma révision du jour", STYLE)
#: The rest of the page, after HEAD (a str.format template).
PAGE = """<body><header><h1>Ma révision du jour</h1><p>Quelques questions choisies pour vous, au bon moment pour ne pas oublier.</p></header>
<main>{body}<p><a href="{parcours}">Mon parcours</a> · <a href="{lab}">Revenir à JupyterLab</a></p></main></body></html>
"""


def _home(handler: JupyterHandler) -> Path:
    return Path(handler.settings.get("server_root_dir") or os.getcwd()).expanduser()


def _key(item: review.BankQuestion) -> str:
    return "/".join(item.key)


def question_form(
    item: review.BankQuestion, number: int, total: int, xsrf: str, message: str = ""
) -> str:
    q = Question.from_spec(item.spec)
    text = html.escape(q.question)
    if q.type in ("choix-unique", "choix-multiple"):
        kind = "radio" if q.type == "choix-unique" else "checkbox"
        options = "".join(
            f'<label><input type="{kind}" name="reponse" value="{i}"> {html.escape(str(o.get("texte", "")))}</label>'
            for i, o in enumerate(q.options)
        )
        hint = "" if kind == "radio" else " <span>(plusieurs réponses possibles)</span>"
        field = f"<fieldset><legend>{text}{hint}</legend>{options}</fieldset>"
    else:
        placeholder = "un nombre, par exemple 3,5" if q.type == "nombre" else "votre réponse"
        field = (
            f'<p><strong id="enonce">{text}</strong></p>'
            f'<label for="reponse">Votre réponse</label>'
            f'<input type="text" id="reponse" name="reponse" placeholder="{placeholder}" aria-describedby="enonce">'
        )
    alert = f'<p class="erreur" role="alert">{html.escape(message)}</p>' if message else ""
    return (
        f"<h2>Question {number} sur {total}</h2>{alert}"
        f'<form method="post">{xsrf}<input type="hidden" name="question" value="{html.escape(_key(item))}">'
        f'{field}<p><button type="submit">Valider</button></p></form>'
    )


def feedback_html(q: Question, ev: Evaluation, last: bool, here: str) -> str:
    verdict = "Bonne réponse." if ev.success else "Ce n'est pas la bonne réponse."
    details = " ".join(f for f in ev.feedback if f != "Bonne réponse !")
    text = f"<p><strong>{html.escape(verdict)}</strong> {html.escape(details)}</p>"
    if q.explication:
        text += f"<p>Explication : {html.escape(q.explication)}</p>"
    following = "Voir mon bilan" if last else "Question suivante"
    return (
        f'<div class="retour" role="status">{text}</div>'
        f'<p><a class="bouton" id="suivant" href="{html.escape(here)}" autofocus>{following}</a></p>'
    )


def summary_html(plan: review.Plan) -> str:
    lead = "<p>Révision terminée pour aujourd'hui.</p>" if plan.done else ""
    return f'<div class="bilan" role="status"><h2>Bilan du jour</h2>{lead}<p><strong>{html.escape(plan.summary())}</strong></p></div>'


class RevisionHandler(JupyterHandler):
    async def _plan(self) -> tuple[list[review.BankQuestion], review.Plan]:
        questions = review.home_questions(_home(self))
        statements = await asyncio.get_running_loop().run_in_executor(None, review.own_statements)
        return questions, review.plan(questions, statements)

    def _page(self, body: str) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish(
            HEAD
            + PAGE.format(
                body=body,
                parcours=self.base_url + "incubo/mon-parcours",
                lab=self.base_url + "lab",
            )
        )

    def _question(self, plan: review.Plan, message: str = "") -> str:
        number = len(plan.done) + 1
        total = len(plan.done) + len(plan.todo)
        return question_form(plan.todo[0], number, total, self.xsrf_form_html(), message)

    @web.authenticated
    async def get(self) -> None:
        questions, plan = await self._plan()
        if not questions:
            body = "<p>Aucun module n'est encore arrivé dans votre espace : il n'y a rien à réviser pour l'instant.</p>"
        elif plan.finished:
            body = summary_html(plan)
        else:
            body = self._question(plan)
        self._page(body)

    @web.authenticated
    async def post(self) -> None:
        questions, plan = await self._plan()
        wanted = self.get_body_argument("question", "")
        item = next((q for q in plan.todo if _key(q) == wanted), None)
        if item is None:  # answered meanwhile (another tab) or no longer due: show what is next
            self.redirect(self.request.path)
            return
        q = Question.from_spec(item.spec)
        values = self.get_body_arguments("reponse")
        if q.type == "choix-multiple":
            answer: Any = [int(v) for v in values if v.isdigit()]
        elif q.type == "choix-unique":
            answer = int(values[0]) if values and values[0].isdigit() else None
        else:
            answer = values[0] if values else ""
        ev = q.evaluate(answer)
        if ev.success is None:
            self._page(self._question(plan, " ".join(ev.feedback)))
            return
        review.record_answer(item, bool(ev.success), ev.response)
        number = len(plan.done) + 1
        total = len(plan.done) + len(plan.todo)
        head = f"<h2>Question {number} sur {total}</h2><p><strong>{html.escape(q.question)}</strong></p>"
        self._page(head + feedback_html(q, ev, len(plan.todo) <= 1, self.request.path))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "incubo.hub.revision_page"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(base + ROUTE + "/?", RevisionHandler)])
    serverapp.log.info("« Ma révision du jour » at %s%s", base, ROUTE)
