"""nbgrader on the room's hub: a private exchange, modules in every home, tools by role.

`configure_exchange(c, settings)` is called by `incubo.hub.config.configure`;
`prepare_learner(spawner, unix_user, home, settings)` by the spawner once the
account exists. The exchange layout and why it is private: `incubo.exchange`
and docs/contracts.md.

What each server gets comes from `JUPYTER_CONFIG_PATH`, set per user:
`<hub_dir>/config/apprenant` or `.../formateur` (which nbgrader tools show),
then `.../commun` (nbgrader_config.py: course id, the learner's exchange view).
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import subprocess
import sys
from pathlib import Path

from incubo.exchange import VIEW_DIR, ExchangeLayout, safe_name

log = logging.getLogger(__name__)

#: nbgrader's lab plugins (ids from the @jupyter/nbgrader labextension) and server extensions.
LAB = "@jupyter/nbgrader:"
SERVER = "nbgrader.server_extensions."
#: Which nbgrader tools each role sees (nbgrader's JupyterHub guide: students vs instructors;
#: the formgrader and « Create Assignment » live in the course's formgrader service).
#: Learners hand in from incubo's « Mes modules » (`incubo.hub.modules_page`), not from nbgrader's
#: Assignment List (English, no due date, no score) nor its « Nbgrader » menu (which opens it).
ROLE_TOOLS = {
    "apprenant": {
        "assignment-list": False,
        "menu": False,
        "course-list": False,
        "formgrader": False,
        "create-assignment": False,
        "validate-assignment": False,
    },
    "formateur": {
        "assignment-list": True,
        "menu": True,
        "course-list": True,
        "formgrader": False,
        "create-assignment": False,
        "validate-assignment": True,
    },
}
_SERVER_EXT = {
    "assignment-list": "assignment_list",
    "course-list": "course_list",
    "formgrader": "formgrader",
    "validate-assignment": "validate_assignment",
}

NBGRADER_CONFIG = """\
# nbgrader for every server of the room's hub (written by incubo.hub.exchange at each hub start).
import os
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.path_includes_course = True
# The learner's own view of the exchange (links to their own folders only): see incubo/exchange.py.
c.Exchange.root = os.path.join(os.path.expanduser("~"), {view!r})
"""


def layout(settings) -> ExchangeLayout:
    return ExchangeLayout(Path(settings.hub_dir) / "exchange", settings.course_id)


def trainers_gid() -> int:
    """Gid of the trainers' Unix group (`incubo.hub.accounts` owns it; 0 when it does not exist)."""
    from incubo.hub import accounts

    gid = accounts.trainers_gid()
    return gid if gid is not None else 0


def ensure_exchange(settings) -> ExchangeLayout:
    """Create the course's exchange folders with their permissions (idempotent, run by root)."""
    lay = layout(settings)
    gid = trainers_gid()
    for path, mode, group in (
        (lay.root, 0o755, 0),
        (lay.course, 0o755, 0),
        (lay.outbound, 0o755, 0),
        (lay.inbound, 0o751, gid),
        (lay.feedback, 0o751, gid),
    ):
        path.mkdir(exist_ok=True)
        if path.is_symlink():
            raise RuntimeError(f"{path} is a symbolic link: refusing to use it as the exchange")
        os.chown(path, 0, group)
        os.chmod(path, mode)
    return lay


def ensure_learner_dirs(lay: ExchangeLayout, hub_user: str, unix_user: str) -> None:
    """The learner's own submission and feedback folders: theirs and the trainers' group only."""
    if not safe_name(hub_user):
        raise ValueError(f"hub user name not usable as an exchange folder: {hub_user!r}")
    entry = pwd.getpwnam(unix_user)
    gid = trainers_gid()
    for path in (lay.inbound_of(hub_user), lay.feedback_of(hub_user)):
        if path.is_symlink():
            path.unlink()
        path.mkdir(exist_ok=True)
        os.chown(path, entry.pw_uid, gid)
        os.chmod(path, 0o2770)


def write_role_configs(settings) -> Path:
    """`<hub_dir>/config/{commun,apprenant,formateur}`: what JUPYTER_CONFIG_PATH points at."""
    from incubo.hub import learner_lab

    base = Path(settings.hub_dir) / "config"
    common = base / "commun"
    common.mkdir(parents=True, exist_ok=True)
    (common / "nbgrader_config.py").write_text(
        NBGRADER_CONFIG.format(course_id=settings.course_id, view=str(VIEW_DIR)), encoding="utf-8"
    )
    for role, tools in ROLE_TOOLS.items():
        folder = base / role
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        disabled = {LAB + name: True for name, on in tools.items() if not on}
        disabled.update(learner_lab.disabled_extensions(role))
        (folder / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": disabled}, indent=1), encoding="utf-8"
        )
        extensions = {SERVER + module: tools[name] for name, module in _SERVER_EXT.items()}
        server = {
            "ServerApp": {"jpserver_extensions": extensions},
            **learner_lab.server_config(role),
        }
        (folder / "jupyter_server_config.json").write_text(
            json.dumps(server, indent=1), encoding="utf-8"
        )
    for folder, _dirs, files in os.walk(base):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return base


def is_trainer(spawner, settings) -> bool:
    from incubo.hub import trainers

    return trainers.is_trainer(spawner.user, settings.course_id)


def role_config_path(settings):
    """A `Spawner.environment` value: the config folders of this user's role."""
    base = Path(settings.hub_dir) / "config"

    def value(spawner) -> str:
        role = "formateur" if is_trainer(spawner, settings) else "apprenant"
        return os.pathsep.join([str(base / role), str(base / "commun")])

    return value


def configure_exchange(c, settings) -> None:
    """nbgrader's multi-user model on the room's hub (exchange, per-role tools, formgrader service)."""
    from incubo.hub import formgrader

    if os.geteuid() == 0:
        ensure_exchange(settings)
        write_role_configs(settings)
    env = dict(c.Spawner.environment) if "environment" in c.Spawner else {}
    env["JUPYTER_CONFIG_PATH"] = role_config_path(settings)
    c.Spawner.environment = env
    formgrader.configure_formgrader(c, settings)


def prepare_learner(spawner, unix_user: str, home: Path, settings) -> list[str]:
    """Before the server starts: the learner's exchange folders, then (as the learner) every released module."""
    lay = layout(settings)
    if not lay.course.is_dir():
        ensure_exchange(settings)
    ensure_learner_dirs(lay, spawner.user.name, unix_user)
    return fetch_as(unix_user, home, lay, spawner.user.name)


def fetch_as(unix_user: str, home: Path, lay: ExchangeLayout, hub_user: str) -> list[str]:
    """Run `incubo.hub.learner_fetch` with the learner's uid; return the modules it fetched."""
    entry = pwd.getpwnam(unix_user)
    if entry.pw_uid == 0:
        raise PermissionError("refusing to fetch modules as root")
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    # setpriv rather than subprocess(user=...): the uid, gid and groups of the account, nothing else
    cmd = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "--"]
    proc = subprocess.run(
        [
            *cmd,
            sys.executable,
            "-m",
            "incubo.hub.learner_fetch",
            str(lay.course),
            hub_user,
            lay.course_id,
        ],
        env=env,
        cwd=str(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        log.error("fetching modules for %s failed: %s", hub_user, proc.stderr.strip()[-2000:])
        return []
    fetched = proc.stdout.split()
    if fetched:
        log.info("fetched %s for %s", ", ".join(fetched), hub_user)
    return fetched
