"""Start JupyterLab for learners: French interface, no news pop-up, works as root."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from incubo import console, processes
from incubo.errors import IncuboError

#: JupyterLab settings every learner gets (language, no news, no update check).
LAB_OVERRIDES = {
    "@jupyterlab/translation-extension:plugin": {"locale": "fr_FR"},
    "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"},
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


def command(course_dir: Path, *, ip: str = "127.0.0.1", port: int = 8888, open_browser: bool = False) -> list[str]:
    """The `jupyter lab` command line we run (tests start exactly this)."""
    default_url = "/lab/tree/release" if (course_dir / "release").is_dir() else "/lab"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={ip}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={course_dir}",
        f"--ServerApp.default_url={default_url}",
        f"--ServerApp.open_browser={open_browser}",
        "--LabApp.news_url=",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--ServerApp.allow_root=True")
    return cmd


def serve(course_dir: Path, *, ip: str = "127.0.0.1", port: int = 8888, open_browser: bool = False) -> int:
    if not course_dir.is_dir():
        raise IncuboError(
            f"Le dossier de cours « {course_dir} » n'existe pas. Lancez d'abord « incubo build ».",
            code="cours-absent",
        )
    install_overrides()
    console.info(f"JupyterLab démarre sur le cours « {course_dir} ».")
    console.info(f"Ouvrez l'adresse http://{ip}:{port}/lab (le jeton d'accès s'affiche ci-dessous). Ctrl+C pour arrêter.")
    # from the course directory, so nbgrader's server extensions find its nbgrader_config.py;
    # Ctrl+C or SIGTERM stops JupyterLab and every kernel it started
    return processes.run_tree(command(course_dir, ip=ip, port=port, open_browser=open_browser), cwd=course_dir)
