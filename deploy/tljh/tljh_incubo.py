"""TLJH plugin: a room of incubo on a VM installed with The Littlest JupyterHub.

Installed with TLJH's bootstrap (`--plugin`); TLJH calls these pluggy hooks
(marker "tljh", entry point group "tljh"). The hub's configuration is
`incubo.hub.config.configure`, the same as `incubo hub` and Kubernetes.
TLJH runs the hub under systemd, so the room's settings are read from a
file, /etc/incubo/hub.env (KEY=VALUE lines: INCUBO_HUB_AUTH,
INCUBO_DEMO_PASSWORD, INCUBO_HUB_FORMATEURS, INCUBO_COURSE_DIR, …), or the
file named by INCUBO_HUB_ENV_FILE.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pluggy

hookimpl = pluggy.HookimplMarker("tljh")
log = logging.getLogger(__name__)

#: The room's settings file (written by IT, readable by root only: it holds the demo password).
ENV_FILE = Path("/etc/incubo/hub.env")
#: What pip installs in the hub's and the learners' environments (a wheel path or URL is fine).
DEFAULT_SPEC = "incubo"


def _spec() -> str:
    return os.environ.get("INCUBO_PIP_SPEC", "").strip() or DEFAULT_SPEC


def read_env_file(path: Path | None = None) -> dict[str, str]:
    """KEY=VALUE lines (blank lines and # comments ignored), put in os.environ unless already set."""
    path = path or Path(os.environ.get("INCUBO_HUB_ENV_FILE", "") or ENV_FILE)
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    for key, value in values.items():
        os.environ.setdefault(key, value)
    return values


@hookimpl
def tljh_extra_user_pip_packages():
    """Learners' environment: incubo (widgets, nbgrader, JupyterLab in French)."""
    return [_spec()]


@hookimpl
def tljh_extra_hub_pip_packages():
    """Hub's environment: incubo with its hub extra (configuration, authenticators, services)."""
    spec = _spec()
    if spec.endswith((".whl", ".tar.gz")) and "://" not in spec:
        return [f"incubo[hub] @ file://{Path(spec).resolve()}"]
    return [spec if "[" in spec or "://" in spec else f"{spec}[hub]"]


@hookimpl
def tljh_extra_apt_packages():
    """bubblewrap: the sandbox `incubo grade autograde` runs learners' code in."""
    return ["bubblewrap"]


@hookimpl
def tljh_custom_jupyterhub_config(c):
    """Apply the room's configuration over TLJH's (TLJH keeps its proxy and user environment)."""
    read_env_file()
    os.environ.setdefault("INCUBO_HUB_DIR", "/opt/tljh/state/incubo")
    from incubo.hub.config import configure

    configure(c)


#: TLJH's jupyterhub.service has the default KillMode (control-group): restarting the hub would kill
#: every learner's server, which runs as a child of the hub here (one Unix account each).
DROPIN = """[Service]
# incubo: learners' servers are children of the hub; a hub restart must not stop them
KillMode=process
"""


def write_systemd_dropin(root: Path = Path("/")) -> Path:
    """The drop-in that keeps learners' servers alive across `systemctl restart jupyterhub`."""
    path = root / "etc" / "systemd" / "system" / "jupyterhub.service.d" / "incubo.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DROPIN, encoding="utf-8")
    return path


@hookimpl
def tljh_post_install():
    write_systemd_dropin()
    subprocess.run(["systemctl", "daemon-reload"], check=False)
