"""Each learner's server as a Unix account of their own, created at first login.

LocalProcessSpawner already knows how to run a server as a Unix user; it
only assumes the account exists and is named like the hub user. This
subclass creates the account (`incubo.hub.accounts`), maps the hub name to
the Unix name, refuses root, and lets `incubo.hub.exchange.prepare_learner`
put the released modules in the home before the server starts.
"""

from __future__ import annotations

import asyncio
import logging
import pwd
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Unicode

from incubo.hub import accounts, trainers
from incubo.hub.exchange import prepare_learner

log = logging.getLogger(__name__)


class IncuboSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose Unix account is created at first spawn, never root."""

    home_base = Unicode("/home", help="Folder under which learners' homes are created.").tag(
        config=True
    )

    @property
    def unix_user(self) -> str:
        return accounts.unix_name(self.user.name)

    @property
    def settings(self):
        from incubo.config import hub_settings

        return hub_settings()

    def is_trainer(self) -> bool:
        """Membership of `formgrade-<course>`, as the login set it (never the name)."""
        return trainers.is_trainer(self.user, self.settings.course_id)

    def make_preexec_fn(self, name):
        return set_user_setuid(self.unix_user)

    def user_env(self, env):
        entry = pwd.getpwnam(self.unix_user)
        env["USER"] = entry.pw_name
        env["LOGNAME"] = entry.pw_name
        env["HOME"] = entry.pw_dir
        env["SHELL"] = entry.pw_shell or "/bin/bash"
        return env

    async def move_certs(self, paths):  # internal SSL is not used in a room; keep it explicit
        raise NotImplementedError("internal_ssl is not supported by IncuboSpawner")

    async def ensure_account(self) -> tuple[str, Path]:
        """Create (or find) the account and its private home, off the event loop."""
        loop = asyncio.get_running_loop()
        name, home = await loop.run_in_executor(
            None, accounts.ensure_account, self.user.name, self.home_base
        )
        await loop.run_in_executor(None, accounts.set_trainer, name, self.is_trainer())
        return name, home

    async def progress(self):
        """Progress events in French (the hub shows them on the waiting page)."""
        yield {"progress": 40, "message": "Préparation de votre espace de travail…"}
        yield {"progress": 70, "message": "Démarrage de JupyterLab…"}

    async def start(self):
        unix_user, home = await self.ensure_account()
        settings = self.settings  # prepare_learner runs commands as the learner: off the event loop
        await asyncio.get_running_loop().run_in_executor(
            None, prepare_learner, self, unix_user, home, settings
        )
        self.log.info(
            "starting %s's server as Unix user %s (home %s)", self.user.name, unix_user, home
        )
        return await super().start()
