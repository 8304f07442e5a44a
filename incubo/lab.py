"""Start JupyterLab for learners: French interface, no news pop-up, works as root."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from incubo import config, console, processes
from incubo.errors import IncuboError
from incubo.net import port_is_free  # noqa: F401 - also lab.port_is_free for its callers

#: JupyterLab settings every learner gets (language, no news, no update check).
LAB_OVERRIDES = {
    "@jupyterlab/translation-extension:plugin": {"locale": "fr_FR"},
    "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"},
    # the side panel is narrow: the whole width for file names, not a « modified » column
    "@jupyterlab/filebrowser-extension:browser": {"showLastModifiedColumn": False},
}


def settings_dir() -> Path:
    """Where JupyterLab reads `overrides.json` for this environment."""
    return Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"


def install_overrides() -> Path:
    """Make sure our namespaced overrides file is there (the wheel installs it too)."""
    target = settings_dir() / "overrides.d" / "incubo.json"
    try:
        if json.loads(target.read_text(encoding="utf-8")) == LAB_OVERRIDES:
            return target
    except (OSError, ValueError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n", encoding="utf-8")
    return target


def command(
    root: Path,
    *,
    ip: str = "127.0.0.1",
    port: int = 8888,
    open_browser: bool = False,
    default_url: str | None = None,
) -> list[str]:
    """The `jupyter lab` command line we run (tests start exactly this)."""
    if default_url is None:
        default_url = "/lab/tree/release" if (root / "release").is_dir() else "/lab"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={ip}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.default_url={default_url}",
        f"--LabApp.default_url={default_url}",  # JupyterLab, started as the server, sets its own otherwise
        f"--ServerApp.open_browser={open_browser}",
        "--LabApp.news_url=",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--ServerApp.allow_root=True")
    return cmd


def _check(course_dir: Path, ip: str, port: int) -> None:
    if not course_dir.is_dir():
        raise IncuboError(
            f"Le dossier de cours « {course_dir} » n'existe pas. Lancez d'abord « incubo build ».",
            code="cours-absent",
        )
    if not port_is_free(ip, port):
        raise IncuboError(
            f"Le port {port} est déjà utilisé (un autre JupyterLab est peut-être ouvert) : arrêtez-le, "
            f"ou choisissez un autre port, par exemple « incubo lab --port {port + 1} ».",
            code="port-occupe",
        )


def inform() -> None:
    """The RGPD notice in the terminal, the first time this person meets its current version.

    On one machine the terminal is the first screen (`make run`): the notice is printed once,
    and recorded as shown in the local store (`incubo.rgpd.inform_once`).
    """
    from incubo import rgpd, xapi

    text = rgpd.inform_once(xapi.learner_of({"actor": xapi.actor()}))
    if text:
        console.info(
            text.rstrip()
            + "\n\n(Cette notice ne s'affiche qu'une fois, puis à chaque nouvelle version.)\n"
        )


def serve(
    course_dir: Path,
    *,
    ip: str = "127.0.0.1",
    port: int = 8888,
    open_browser: bool = False,
    workspace: Path | None = None,
    trainer: bool = False,
) -> int:
    """JupyterLab for a learner (their workspace, learner's interface) or, with `trainer`, on the course."""
    _check(course_dir, ip, port)
    install_overrides()
    if trainer:
        console.info(
            f"JupyterLab (formateur) démarre sur le cours « {course_dir} », avec les outils nbgrader."
        )
        console.info(
            f"Ouvrez l'adresse http://{ip}:{port}/lab (le jeton d'accès s'affiche ci-dessous). Ctrl+C pour arrêter."
        )
        # from the course directory, so nbgrader's server extensions find its nbgrader_config.py;
        # Ctrl+C or SIGTERM stops JupyterLab and every kernel it started
        return processes.run_tree(
            command(course_dir, ip=ip, port=port, open_browser=open_browser), cwd=course_dir
        )
    from incubo import learner_ui
    from incubo import workspace as ws

    root = ws.prepare(course_dir, workspace or ws.workspace_dir())
    env = learner_ui.apply_learner_ui(dict(os.environ))
    env[config.ENV_COURSE_DIR] = str(
        course_dir
    )  # the widgets read solutions there, outside the workspace
    home = "/lab/tree/" + ws.HOME_PAGE.replace(" ", "%20")
    inform()
    console.info(
        f"JupyterLab démarre sur votre espace « {root} » (une copie des parcours, à vous)."
    )
    console.info(
        f"Ouvrez l'adresse http://{ip}:{port}/ suivie du jeton d'accès affiché ci-dessous : "
        "la page « Commencez ici » s'ouvre. Ctrl+C pour arrêter."
    )
    cmd = command(root, ip=ip, port=port, open_browser=open_browser, default_url=home)
    return processes.run_tree(cmd, env=env, cwd=root)
