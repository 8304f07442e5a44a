"""« Devoirs »'s web handlers, in the formgrader service's Jupyter server (see incubo.hub.devoirs).

The hub lets into this service only the trainers' group (`formgrade-<course>`: the service's
access role, `incubo.hub.formgrader.roles`); when the hub's user model names the groups, the
handlers ask `incubo.hub.trainers.is_trainer` too. Answers are French; a refused action is one
sentence, never a traceback.
"""

from __future__ import annotations

import json

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from incubo.errors import IncuboError
from incubo.hub import trainers
from incubo.hub.devoirs import Room, page_html

REFUSED = "Cette page est réservée aux formateurs du cours."


class _Base(JupyterHandler):
    def initialize(self, room: Room) -> None:
        self.room = room

    def trainer_only(self) -> None:
        """403 for someone the hub says is not in the trainers' group."""
        model = getattr(self.current_user, "hub_user", None)
        if isinstance(model, dict) and "groups" in model:
            if not trainers.is_trainer(model, self.room.layout.course_id):
                raise web.HTTPError(403, REFUSED)

    def no_store(self) -> None:
        self.set_header("Cache-Control", "no-store")

    def answer(self, status: int, data: dict) -> None:
        self.set_status(status)
        self.no_store()
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False))


class PageHandler(_Base):
    @web.authenticated
    def get(self) -> None:
        self.trainer_only()
        self.no_store()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        page = page_html().replace("__XSRF__", self.xsrf_token.decode())
        self.finish(page)


class DataHandler(_Base):
    @web.authenticated
    def get(self) -> None:
        self.trainer_only()
        self.answer(200, self.room.view())


class ActionHandler(_Base):
    """POST {"action", "module", "date", "heure", "retard"}: start the `incubo grade` command."""

    @web.authenticated
    def post(self) -> None:
        self.trainer_only()
        try:
            form = json.loads(self.request.body or b"{}")
            if not isinstance(form, dict):
                raise ValueError
        except ValueError:
            self.answer(400, {"erreur": "Demande illisible."})
            return
        try:
            job = self.room.start(str(form.get("action")), str(form.get("module")), form)
        except IncuboError as exc:
            self.answer(409 if exc.code == "action-en-cours" else 400, {"erreur": str(exc)})
            return
        self.answer(202, job.to_json())


class ExportHandler(_Base):
    """The grades as `incubo grade export` writes them (CSV for Excel in French), to download."""

    @web.authenticated
    async def get(self) -> None:
        self.trainer_only()
        data, error = await self.room.export()
        if error:
            self.answer(500, {"erreur": error})
            return
        self.no_store()
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="notes.csv"')
        self.finish(data)
