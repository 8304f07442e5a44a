"""What a learner's JupyterLab shows: only what they use, in French; trainers keep nbgrader's tools.

nbgrader adds « Validate », « Create Assignment », a « Nbgrader » menu and its
Formgrader to every JupyterLab it is installed in, and jupytext adds launcher
entries (« Jupytext / Python - Percent Format »). For a learner they are noise
in English. The packaged folder `share/jupyter-apprenant` is a Jupyter
configuration directory that turns them off the supported way: JupyterLab's
`page_config.json` (`disabledExtensions`) and the server's
`jpserver_extensions`. Put it first on `JUPYTER_CONFIG_PATH` for a learner's
server (`incubo lab`; on a hub, the spawner's environment for non-trainers).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

LEARNER_CONFIG_DIR = Path(__file__).resolve().parent / "share" / "jupyter-apprenant"


def learner_config_dir() -> Path:
    """The Jupyter configuration directory of a learner's server."""
    return LEARNER_CONFIG_DIR


def hidden_extensions() -> list[str]:
    """JupyterLab plugins a learner does not see (from the packaged page_config.json)."""
    data = json.loads(
        (LEARNER_CONFIG_DIR / "labconfig" / "page_config.json").read_text(encoding="utf-8")
    )
    return sorted(k for k, v in data.get("disabledExtensions", {}).items() if v)


def learner_config_path(current: str | None = None) -> str:
    """A `JUPYTER_CONFIG_PATH` value with the learner's configuration first (others kept after it)."""
    parts = [p for p in (current or "").split(os.pathsep) if p and Path(p) != LEARNER_CONFIG_DIR]
    return os.pathsep.join([str(LEARNER_CONFIG_DIR), *parts])


def apply_learner_ui(env: dict[str, str]) -> dict[str, str]:
    """Make the server started with `env` a learner's one (returns `env`, changed in place)."""
    env["JUPYTER_CONFIG_PATH"] = learner_config_path(env.get("JUPYTER_CONFIG_PATH"))
    return env
