"""The room's services on the hub: Ralph behind the LRS gate, the trainers' dashboard, solutions.

`configure_services(c, settings)` is called by `incubo.hub.config.configure`.
It adds four JupyterHub-managed services and gives each learner's server
its own LRS identity at spawn:

| service | where | who |
| --- | --- | --- |
| `ralph` | 127.0.0.1 only, not proxied | the gate (its own account) |
| `lrs` (gate) | `/services/lrs/` | learners write/read their own; readers read |
| `tableau-de-bord` | `/services/tableau-de-bord/` | trainers (`formgrade-<course>`); its `seance/apprenant`: learners' servers |
| `solutions` | `/services/solutions/` | each learner, for their own attempts |

Ports are chosen once and kept in `<hub_dir>/lrs/ports.json`, so servers
still running after a hub restart keep reaching the gate.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from incubo.config import DEFAULT_GRADER_USER, room_services_settings
from incubo.hub import lrs_keys, privileges

log = logging.getLogger(__name__)

DASHBOARD = "tableau-de-bord"
PORT_NAMES = ("ralph", "lrs", DASHBOARD, "solutions")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_ports(hub_dir: Path, fixed: dict[str, int] | None = None) -> dict[str, int]:
    """The services' ports: `fixed` ones (a pod declares them), the others chosen once per hub directory."""
    path = lrs_keys.lrs_dir(hub_dir) / "ports.json"
    try:
        ports = {k: int(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        ports = {}
    wanted = {
        name: (fixed or {}).get(name) or ports.get(name) or _free_port() for name in PORT_NAMES
    }
    if wanted != ports:
        path.write_text(json.dumps(wanted))
    return wanted


def lifeline(command: list[str]) -> list[str]:
    """`command` run through `incubo.hub.lifeline`: it gets SIGTERM when the hub dies."""
    return [sys.executable, "-m", "incubo.hub.lifeline", *command]


def ralph_python() -> Path | None:
    """Ralph's Python: `INCUBO_RALPH_PYTHON`, else the checkout's `.venv-ralph` (`make ralph`)."""
    from incubo.config import ralph_python as configured

    candidate = configured()
    return candidate if candidate.exists() else None


def _get(settings: Any, name: str, default: Any = None) -> Any:
    return getattr(settings, name, default) if settings is not None else default


def hub_url(settings: Any) -> str:
    """The hub's URL as learners see it: every actor's `homePage`."""
    url = _get(settings, "url") or _get(settings, "public_url") or ""
    if not url:
        url = f"http://127.0.0.1:{_get(settings, 'port', 8000)}"
    return str(url).rstrip("/")


def parcours_page_config() -> Path:
    """A Jupyter config folder that turns on « Mon parcours » in each learner's server."""
    return Path(__file__).with_name("jupyter-config")


def _grader_access(hub_dir: Path, settings: Any, secret: bytes, port: int, homepage: str) -> None:
    """Where `incubo grade autograde` on this machine finds the gate, as the grader (its account's file)."""
    import pwd

    from incubo.authority import GraderAccess, write_access

    owner = None
    if os.geteuid() == 0:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(_get(settings, "grader_user") or DEFAULT_GRADER_USER)
            owner = (entry.pw_uid, entry.pw_gid)
    url = f"http://127.0.0.1:{port}/services/lrs/"
    write_access(hub_dir, GraderAccess(url, lrs_keys.grader_auth(secret), homepage), owner)


def configure_services(c: Any, settings: Any) -> None:
    """Add Ralph, the LRS gate, the dashboard and the solutions service; per-learner LRS env."""
    hub_dir = Path(_get(settings, "hub_dir"))
    course_id = _get(settings, "course_id", "incubo")
    course_dir = Path(_get(settings, "course_dir") or ".").resolve()
    folder = lrs_keys.lrs_dir(hub_dir)
    secret = lrs_keys.gate_secret(hub_dir)
    lrs_keys.ralph_password(hub_dir)
    layout = room_services_settings()
    ports = service_ports(hub_dir, dict(layout.ports))
    homepage = hub_url(settings)
    python = ralph_python()
    managed_ralph = not layout.ralph_url and python is not None
    ralph = layout.ralph_url or (f"http://127.0.0.1:{ports['ralph']}" if managed_ralph else "")
    host = layout.host  # how the proxy and the learners' servers reach the services
    gate_url = f"http://{host}:{ports['lrs']}/services/lrs/"
    solutions_url = f"http://{host}:{ports['solutions']}/services/solutions/"
    seance_url = f"http://{host}:{ports[DASHBOARD]}/services/{DASHBOARD}/seance/"
    base_env = {
        "INCUBO_HUB_DIR": str(hub_dir),
        "INCUBO_COURSE_DIR": str(course_dir),
        "INCUBO_ACTOR_HOMEPAGE": homepage,
        "PYTHONUNBUFFERED": "1",
    }
    if layout.bind_ip != "127.0.0.1":
        base_env["INCUBO_SERVICE_BIND_IP"] = layout.bind_ip
    unprivileged = _run_unprivileged(settings)
    own_python = sys.executable
    if unprivileged:  # the launcher finds the same accounts and folders as the hub
        base_env.update(privileges.account_env(settings))
        own_python = privileges.unprivileged_python(settings, sys.executable, "hub")
        if python is not None:
            python = Path(privileges.unprivileged_python(settings, python, "ralph"))
    services: list[dict[str, Any]] = []
    if not ralph:
        log.warning(
            "Ralph is not installed (make ralph, or INCUBO_RALPH_PYTHON): learning events stay in each learner's journal"
        )
    if managed_ralph:
        services += [
            {
                "name": "ralph",
                "command": [
                    str(python),
                    str(Path(__file__).with_name("ralph_service.py")),
                    "--port",
                    str(ports["ralph"]),
                    "--dir",
                    str(folder),
                    "--homepage",
                    homepage,
                ],  # fmt: skip
                "environment": dict(base_env, PYTHONUNBUFFERED="1")
                if unprivileged
                else {"PYTHONUNBUFFERED": "1"},
                "cwd": str(folder),
            }
        ]
    if ralph:
        gate_env = dict(
            base_env,
            INCUBO_RALPH_URL=ralph,
            INCUBO_DASHBOARD_WAKE_URL=f"http://127.0.0.1:{ports[DASHBOARD]}/services/{DASHBOARD}/reveil",
        )
        if layout.ralph_auth:
            gate_env["INCUBO_RALPH_AUTH"] = layout.ralph_auth
        _grader_access(hub_dir, settings, secret, ports["lrs"], homepage)
        services.append(
            {
                "name": "lrs",
                "url": f"http://{host}:{ports['lrs']}",
                "command": [own_python, "-m", "incubo.hub.lrs_gate"],
                "environment": gate_env,
            }
        )
    reader_env = dict(
        base_env, INCUBO_LRS_URL=f"http://127.0.0.1:{ports['lrs']}/services/lrs/"
    )  # same pod
    services += [
        {
            "name": DASHBOARD,
            "url": f"http://{host}:{ports[DASHBOARD]}",
            "command": [own_python, "-m", "incubo.hub.dashboard"],
            "environment": dict(
                reader_env,
                INCUBO_LRS_AUTH=lrs_keys.reader_auth(secret, "formateurs"),
                **_seance_env(course_id, homepage),
                **_health_env(settings),
            ),
            "oauth_no_confirm": True,
            "display": True,
            "info": {"titre": "Tableau de bord de la salle"},
        },
        {
            "name": "solutions",
            "url": f"http://{host}:{ports['solutions']}",
            "command": [own_python, "-m", "incubo.hub.solutions"],
            "environment": reader_env,
            "display": False,
        },
    ]
    for service in services:  # every service dies with the hub, even killed outright
        if unprivileged:  # the lifeline after the drop: a change of user clears PR_SET_PDEATHSIG
            lifeline_cmd = [own_python, "-m", "incubo.hub.lifeline", *service["command"]]
            service["command"] = privileges.launcher("services", lifeline_cmd)
        else:
            service["command"] = lifeline(service["command"])
    c.JupyterHub.services.extend(services)
    c.JupyterHub.load_roles.append(
        {
            "name": "incubo-formateurs-tableau-de-bord",
            "description": "Les formateurs voient le tableau de bord de la salle.",
            "scopes": [f"access:services!service={DASHBOARD}"],
            "groups": [f"formgrade-{course_id}"],
        }
    )
    c.JupyterHub.load_roles.append(
        {  # the dashboard's « État de la salle » corner (incubo.hub.health): who is connected
            "name": "incubo-tableau-de-bord-salle",
            "description": "Le tableau de bord voit quels apprenants ont un serveur en marche (formateurs à part).",
            "scopes": ["list:users", "read:users:name", "read:users:groups", "read:servers"],
            "services": [DASHBOARD],
        }
    )
    learner_env: dict[str, Any] = {
        "INCUBO_ACTOR_HOMEPAGE": homepage,
        "INCUBO_SOLUTIONS_URL": solutions_url,
        "INCUBO_SEANCE_URL": seance_url,
        "JUPYTER_CONFIG_PATH": _chained_config_path(c),
    }
    from incubo.hub import seance_panel

    learner_env.update(seance_panel.learner_env(course_id))  # JUPYTER_PATH, INCUBO_COURSE_ID
    if ralph:
        learner_env["INCUBO_LRS_URL"] = gate_url
        learner_env["INCUBO_LRS_AUTH"] = lambda spawner: lrs_keys.learner_auth(
            secret, spawner.user.name
        )
    c.Spawner.environment.update(learner_env)
    log.info("room services: LRS gate %s, dashboard and solutions on ports %s", gate_url, ports)


def _run_unprivileged(settings: Any) -> bool:
    """A hub that runs as root on its machine starts its services as the services account."""
    from incubo.config import HubSettings

    return isinstance(settings, HubSettings) and os.geteuid() == 0


def _seance_env(course_id: str, homepage: str) -> dict[str, str]:
    """What the séance (opened from the dashboard: `incubo.hub.seance_ops`) reads as `HubSettings`."""
    env = {"INCUBO_COURSE_ID": str(course_id), "INCUBO_HUB_PUBLIC_URL": homepage}
    if os.environ.get("INCUBO_SEANCE_K"):
        env["INCUBO_SEANCE_K"] = os.environ["INCUBO_SEANCE_K"]
    return env


def _health_env(settings: Any) -> dict[str, str]:
    """What `incubo.hub.health.room_state` reads as `HubSettings` in the dashboard: ports, homes, limits."""
    env = {
        name: str(value)
        for name, value in (
            ("INCUBO_HUB_PORT", _get(settings, "port")),
            ("INCUBO_HUB_API_PORT", _get(settings, "hub_port")),
            ("INCUBO_HUB_PROXY_API_PORT", _get(settings, "proxy_api_port")),
            ("INCUBO_HUB_HOME_BASE", _get(settings, "home_base")),
            ("INCUBO_HUB_IP", _get(settings, "ip")),
        )
        if value
    }
    for name in ("INCUBO_LIMITE_MEMOIRE", "INCUBO_LIMITE_PROCESSUS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def _chained_config_path(c: Any):
    """Our folder in front of the value an earlier part set (nbgrader's per-role folders, h12-exchange)."""
    previous = (dict(c.Spawner.environment) if "environment" in c.Spawner else {}).get(
        "JUPYTER_CONFIG_PATH"
    )
    if previous is None:
        return _config_path

    def value(spawner: Any) -> str:
        before = previous(spawner) if callable(previous) else previous
        return os.pathsep.join([str(parcours_page_config()), before])

    return value


def _config_path(spawner: Any) -> str:
    """Our Jupyter config folder first, then whatever the server would read anyway."""
    extra = os.environ.get("JUPYTER_CONFIG_PATH")
    return os.pathsep.join([str(parcours_page_config()), *([extra] if extra else [])])
