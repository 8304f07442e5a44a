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

The service runs as root, like the trainer's `incubo grade` commands, because
the course directory (sources, gradebook) is root's and unreadable to learners.
Grade with `incubo grade autograde` (sandboxed); the formgrader is for
reviewing, manual grading and feedback.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

log = logging.getLogger(__name__)

PLUGINS = "incubo.grading.nbgrader_exchange"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    return folder


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
    course_id = settings.course_id
    port = int(getattr(settings, "formgrader_port", 0) or free_port())
    bindir = Path(sys.executable).parent
    service = {
        "name": course_id,
        "url": f"http://127.0.0.1:{port}",
        "command": [
            str(bindir / "jupyterhub-singleuser"),
            "--allow-root",
            f"--ServerApp.root_dir={settings.course_dir}",
            "--LabApp.news_url=",
            "--ServerApp.shutdown_no_activity_timeout=0",
        ],
        "cwd": str(settings.course_dir),
        "oauth_no_confirm": True,
        "display": True,
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
            "JUPYTER_CONFIG_PATH": str(service_config_dir(settings)),
            "LANG": "fr_FR.UTF-8",
            "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
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
