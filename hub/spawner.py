"""Each learner's server as a Unix account of their own, created at first login.

LocalProcessSpawner already knows how to run a server as a Unix user; it
only assumes the account exists and is named like the hub user. This
subclass creates the account (`incubo.hub.accounts`), maps the hub name to
the Unix name, refuses root, and lets `incubo.hub.exchange.prepare_learner`
put the released modules in the home before the server starts. Its kernels
talk to it over Unix sockets in a folder of the learner's own
(`accounts.prepare_kernel_sockets`): TCP ports picked by thirty servers at once
collide.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Unicode

from incubo.hub import accounts, limits, trainers
from incubo.hub.exchange import prepare_learner

log = logging.getLogger(__name__)


class IncuboSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose Unix account is created at first spawn, never root."""

    home_base = Unicode("/home", help="Folder under which learners' homes are created.").tag(
        config=True
    )
    #: The learner's kernel sockets folder (`accounts.prepare_kernel_sockets`), None over TCP.
    kernel_sockets: Path | None = None

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

    @property
    def limits(self) -> limits.Limits:
        return limits.limits_from_env()

    @property
    def cgroups(self) -> limits.Cgroups:
        return limits.Cgroups(self.settings.hub_dir)

    def make_preexec_fn(self, name):
        """Join the learner's control group and cap memory (`incubo.hub.limits`), then become the learner."""
        groups = self.cgroups
        return limits.preexec(
            groups if groups.available() else None,
            self.unix_user,
            self.limits,
            set_user_setuid(self.unix_user),
        )

    def user_env(self, env):
        entry = pwd.getpwnam(self.unix_user)
        env["USER"] = entry.pw_name
        env["LOGNAME"] = entry.pw_name
        env["HOME"] = entry.pw_dir
        env["SHELL"] = entry.pw_shell or "/bin/bash"
        room = self.limits  # what the learner's kernels say when a limit stops a cell
        env["INCUBO_LIMITE_MEMOIRE"] = str(room.memory)
        env["INCUBO_LIMITE_MEMOIRE_TEXTE"] = limits.human_size(room.memory)
        env["INCUBO_LIMITE_PROCESSUS"] = str(room.processes)
        env["MALLOC_ARENA_MAX"] = limits.MALLOC_ARENA_MAX
        env["JUPYTER_PATH"] = os.pathsep.join(
            [str(limits.KERNELS_DIR), *filter(None, [env.get("JUPYTER_PATH")])]
        )
        if self.kernel_sockets:  # connection files and Unix sockets of the learner's kernels
            env["JUPYTER_RUNTIME_DIR"] = str(self.kernel_sockets)
        return env

    def get_args(self):
        """The server's arguments; its kernels on Unix sockets when their folder could be made."""
        args = list(super().get_args())  # a copy: the trait's own list is shared
        if self.kernel_sockets:
            args.append("--KernelManager.transport=ipc")
        return args

    def prepare_limits(self, unix_user: str) -> None:
        """The learner's control group, made before the server starts (root)."""
        groups = self.cgroups
        if groups.available():
            groups.prepare(unix_user, self.limits)
        else:
            self.log.warning(
                "cgroups not writable here: %s's server runs without memory/process limits",
                unix_user,
            )

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
        await asyncio.get_running_loop().run_in_executor(None, self.prepare_limits, unix_user)
        self.kernel_sockets = await asyncio.get_running_loop().run_in_executor(
            None, accounts.prepare_kernel_sockets, unix_user
        )
        self.log.info(
            "starting %s's server as Unix user %s (home %s)", self.user.name, unix_user, home
        )
        return await super().start()

    async def stop(self, now=False):
        await super().stop(now=now)
        self.cgroups.remove(self.unix_user)  # empty once the server and its kernels are gone
