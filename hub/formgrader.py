"""The course's formgrader as a hub-managed service at `/services/<course id>/`, trainers only.

nbgrader's multi-user model (docs `configuration/jupyterhub_config.rst`,
`demos/demo_multiple_classes`): the service is named after the course; group
`formgrade-<course>` may open it (`access:services!service=<course>`), group
`nbgrader-<course>` may only discover it. Anyone else gets the hub's 403.

JupyterHub ≥ 4.1 forbids framing a server's pages (nbgrader #1870: blank
Formgrader panel). Rather than weakening that (`frame-ancestors 'self'` would
let any learner's page frame the trainer's formgrader), the service opens on
the formgrader page itself (`JUPYTERHUB_DEFAULT_URL=/formgrader`): the
Course List's link and `/services/<course>/` show it as a whole tab.

The service runs as the grader account (`incubo-correcteur`, which owns the
course directory: see `incubo.hub.privileges`), never root, and without
terminals. nbgrader's « Autograde » would run learners' code in-process, out
of any sandbox: this module is also a small server extension that answers
it, and the formgrader's « Release » (one writer of the exchange's outbound:
the services account), with a French sentence naming the incubo command.
Grade with `incubo grade autograde` (sandboxed); the formgrader is for
reviewing, manual grading and feedback.

The same server also serves « Devoirs » (`incubo.hub.devoirs`, at
`/services/<course>/devoirs`): the trainers' page that releases, collects,
grades and returns feedback by running the `incubo grade` commands as the grader.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from incubo.net import free_port

log = logging.getLogger(__name__)

PLUGINS = "incubo.grading.nbgrader_exchange"
#: nbgrader formgrader actions answered by a French sentence instead: (handler class, message).
REFUSED = {
    "AutogradeHandler": "La correction automatique ne se lance pas depuis le formgrader : elle exécuterait "
    "le code des apprenants hors de tout bac à sable. Utilisez « Corriger » dans la page « Devoirs » "
    "(ou, sur la machine du hub, « incubo grade autograde DEVOIR »).",
    "ReleaseHandler": "La distribution d'un module ne se fait pas depuis le formgrader : utilisez "
    "« Distribuer » dans la page « Devoirs » (ou « incubo grade release MODULE » sur la machine du hub).",
    "UnReleaseHandler": "Le retrait d'un module distribué ne se fait pas depuis le formgrader : sur la "
    "machine du hub, redistribuez-le avec « incubo grade release MODULE --force ».",
}


def service_config_dir(settings) -> Path:
    """nbgrader config of the service: the private exchange plugins (course dir config stays the trainer's)."""
    folder = Path(settings.hub_dir) / "config" / "formgrader"
    folder.mkdir(parents=True, exist_ok=True)
    exchange = Path(settings.hub_dir) / "exchange"
    (folder / "nbgrader_config.py").write_text(
        "# nbgrader for the formgrader service (written by incubo.hub.formgrader at each hub start).\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(settings.course_dir)!r}\n"
        f"c.CourseDirectory.course_id = {settings.course_id!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.ExchangeFactory.release_assignment = '{PLUGINS}.ReleaseAssignment'\n"
        f"c.ExchangeFactory.collect = '{PLUGINS}.Collect'\n"
        f"c.ExchangeFactory.release_feedback = '{PLUGINS}.ReleaseFeedback'\n",
        encoding="utf-8",
    )
    server = {
        "ServerApp": {
            "terminals_enabled": False,
            "jpserver_extensions": {"incubo.hub.formgrader": True},
        }
    }
    (folder / "jupyter_server_config.json").write_text(
        json.dumps(server, indent=1), encoding="utf-8"
    )
    return folder


def _refusal(message: str):
    """A formgrader API method that answers `message` (403) instead of acting."""

    def refuse(self, *args, **kwargs) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"success": False, "error": message, "message": message}))

    return refuse


def _load_jupyter_server_extension(serverapp) -> None:
    """In the formgrader service: refuse nbgrader's in-process autograde and release (see REFUSED)."""
    from nbgrader.server_extensions.formgrader import apihandlers

    for name, message in REFUSED.items():
        handler = getattr(apihandlers, name, None)
        if handler is not None:
            handler.post = _refusal(message)
    serverapp.log.info("incubo: formgrader autograde and release answered by incubo's commands")
    from incubo.hub import devoirs

    devoirs.install(serverapp)


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "incubo.hub.formgrader"}]


def roles(course_id: str) -> list[dict]:
    return [
        {
            "name": f"formgrade-{course_id}",
            "description": "Formateurs : ouvrir le formgrader du cours.",
            "groups": [f"formgrade-{course_id}"],
            "scopes": [
                f"access:services!service={course_id}",
                "list:services",
                f"read:services!service={course_id}",
            ],
        },
        {
            "name": f"nbgrader-{course_id}",
            "description": "Apprenants : découvrir le cours (nbgrader).",
            "groups": [f"nbgrader-{course_id}"],
            "scopes": ["list:services", f"read:services!service={course_id}"],
        },
    ]


def configure_formgrader(c, settings) -> None:
    import os

    from incubo.hub import privileges

    course_id = settings.course_id
    port = int(getattr(settings, "formgrader_port", 0) or free_port())
    bindir = Path(sys.executable).parent
    as_root = os.geteuid() == 0 and hasattr(settings, "grader_user")
    python = (
        privileges.unprivileged_python(settings, sys.executable, "hub")
        if as_root
        else sys.executable
    )
    command = [
        python,
        "-m",
        "jupyterhub.singleuser",
        f"--ServerApp.root_dir={settings.course_dir}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=",
        "--ServerApp.shutdown_no_activity_timeout=0",
    ]
    lifeline = [python, "-m", "incubo.hub.lifeline", *command]
    service = {
        "name": course_id,
        "url": f"http://127.0.0.1:{port}",
        # as root: becomes the grader account (made at hub start), which owns the course directory;
        # then dies with the hub like the other services (the lifeline after the change of user)
        "command": privileges.launcher("correcteur", lifeline) if as_root else lifeline,
        "cwd": str(settings.course_dir),
        "oauth_no_confirm": True,
        "display": True,
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
            "JUPYTER_CONFIG_PATH": str(service_config_dir(settings)),
            "LANG": "fr_FR.UTF-8",
            "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
            **(privileges.account_env(settings) if as_root else {}),
        },
    }
    services = list(c.JupyterHub.services) if "services" in c.JupyterHub else []
    c.JupyterHub.services = [s for s in services if s.get("name") != course_id] + [service]
    if not ("manage_groups" in c.Authenticator and c.Authenticator.manage_groups):
        # the groups must exist for the roles; an authenticator that manages groups creates them at login
        groups = dict(c.JupyterHub.load_groups) if "load_groups" in c.JupyterHub else {}
        for name in (f"formgrade-{course_id}", f"nbgrader-{course_id}"):
            groups.setdefault(name, [])
        c.JupyterHub.load_groups = groups
    existing = list(c.JupyterHub.load_roles) if "load_roles" in c.JupyterHub else []
    names = {r["name"] for r in existing}
    c.JupyterHub.load_roles = existing + [r for r in roles(course_id) if r["name"] not in names]
