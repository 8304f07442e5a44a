"""Demo login: any name, one shared password, for rooms without SSO and for tests.

Trainers are named in INCUBO_HUB_FORMATEURS; anyone else who logs in is a
learner. The hub groups nbgrader expects (`formgrade-<course>` for
trainers, `nbgrader-<course>` for everyone) are returned at each login, so
JupyterHub (`manage_groups`) keeps them in sync with the trainers' list.
"""

from __future__ import annotations

import logging
import re
from secrets import compare_digest

from jupyterhub.auth import Authenticator
from traitlets import List, Unicode

log = logging.getLogger(__name__)

#: Hub names the demo login accepts (lower-cased first): letters, digits, dot, dash, underscore.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


def room_groups(name: str, formateurs, course_id: str) -> list[str]:
    """The hub groups of a user: every user is in `nbgrader-<course>`, trainers also in `formgrade-<course>`."""
    groups = [f"nbgrader-{course_id}"]
    if name in formateurs:
        groups.append(f"formgrade-{course_id}")
    return groups


class DemoAuthenticator(Authenticator):
    """One shared password (INCUBO_DEMO_PASSWORD); trainers by name; groups synced at login."""

    password = Unicode("", help="The shared password (never empty: the hub refuses to start).").tag(
        config=True
    )
    formateurs = List(Unicode(), help="Hub names of the trainers.").tag(config=True)
    course_id = Unicode("incubo", help="nbgrader course id, for the group names.").tag(config=True)

    def check_allow_config(self):
        if not self.password:
            raise ValueError(
                "Connexion de démonstration sans mot de passe : définissez INCUBO_DEMO_PASSWORD avant de lancer le hub."
            )
        super().check_allow_config()

    def normalize_username(self, username: str) -> str:
        return super().normalize_username(username.strip())

    def validate_username(self, username: str) -> bool:
        return bool(NAME_PATTERN.match(username)) and username != "root"

    async def authenticate(self, handler, data):
        name = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        if not self.password or not compare_digest(password.encode(), self.password.encode()):
            log.info("demo login refused for %r (wrong password)", name)
            return None
        if not self.validate_username(name):
            log.info("demo login refused: invalid name %r", name)
            return None
        return {"name": name, "groups": room_groups(name, self.formateurs, self.course_id)}
