"""Demo login: any name, one shared password, for rooms without SSO and for tests.

Learners type any name and the room password. Trainers are the names listed
in INCUBO_HUB_FORMATEURS, and each logs in with their own password (set on
the hub machine by `incubo hub formateur NOM`, see `incubo.hub.trainers`):
the room password never logs a listed name in, so a learner who types a
trainer's name gets nothing. The hub groups nbgrader expects
(`formgrade-<course>` for trainers, `nbgrader-<course>` for everyone) are
returned at each login, so JupyterHub (`manage_groups`) keeps them in sync.

What this login does not protect: a learner told the room password can
still log in under another *learner's* name. ProConnect does not have that
hole (`incubo.hub.proconnect`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from secrets import compare_digest

from jupyterhub.auth import Authenticator
from tornado import web
from traitlets import List, Unicode, default

from incubo.hub import trainers

log = logging.getLogger(__name__)

#: Hub names the demo login accepts (lower-cased first): letters, digits, dot, dash, underscore.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


def _refused(message: str) -> web.HTTPError:
    """A refusal the login page shows as it is (JupyterHub renders it as `login_error`)."""
    exc = web.HTTPError(403, message)
    exc.jupyterhub_message = message
    return exc


class DemoAuthenticator(Authenticator):
    """One shared password (INCUBO_DEMO_PASSWORD) for learners; trainers by their own password."""

    password = Unicode("", help="The shared password (never empty: the hub refuses to start).").tag(
        config=True
    )
    formateurs = List(Unicode(), help="Hub names of the trainers.").tag(config=True)
    course_id = Unicode("incubo", help="nbgrader course id, for the group names.").tag(config=True)
    passwords_file = Unicode(
        help="Trainers' own password hashes (`incubo hub formateur`), root-only, in the hub folder."
    ).tag(config=True)

    @default("passwords_file")
    def _passwords_file_default(self) -> str:
        from incubo.config import hub_settings

        return str(trainers.passwords_file(hub_settings().hub_dir))

    def check_allow_config(self):
        if not self.password:
            raise ValueError(
                "Connexion de démonstration sans mot de passe : définissez INCUBO_DEMO_PASSWORD avant de lancer le hub."
            )
        for name in self.formateurs:
            if not trainers.has_password(self.passwords_file, name):
                log.warning(
                    "trainer %r has no password of their own and cannot log in: "
                    "run « incubo hub formateur %s » on the hub machine",
                    name,
                    trainers.normalize_name(name),
                )
        super().check_allow_config()

    def normalize_username(self, username: str) -> str:
        return super().normalize_username(username.strip())

    def validate_username(self, username: str) -> bool:
        return bool(NAME_PATTERN.match(username)) and username != "root"

    async def authenticate(self, handler, data):
        name = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        if not self.validate_username(name):
            log.info("demo login refused: invalid name %r", name)
            return None
        if trainers.listed_name(self.formateurs, name):
            return await self._trainer(name, password)
        if not self.password or not compare_digest(password.encode(), self.password.encode()):
            log.info("demo login refused for %r (wrong password)", name)
            return None
        return {"name": name, "groups": trainers.room_groups(self.course_id, trainer=False)}

    async def _trainer(self, name: str, password: str) -> dict:
        """A listed name: its own password or nothing (Argon2 takes ~0.1 s: off the event loop)."""
        verdict = await asyncio.get_running_loop().run_in_executor(
            None, trainers.check_password, self.passwords_file, name, password
        )
        if verdict is None:
            log.warning("trainer %r has no password of their own: login refused", name)
            raise _refused(
                f"« {name} » est un compte de formateur sans mot de passe personnel : sur la machine "
                f"du hub, un administrateur le définit avec « incubo hub formateur {name} »."
            )
        if not verdict:
            log.warning("trainer login refused for %r (wrong password)", name)
            raise _refused(
                f"Mot de passe incorrect pour le compte de formateur « {name} » : un formateur se "
                "connecte avec son mot de passe personnel, jamais avec celui de la salle."
            )
        return {"name": name, "groups": trainers.room_groups(self.course_id, trainer=True)}
