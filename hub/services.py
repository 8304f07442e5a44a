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
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incubo.config import DEFAULT_GRADER_USER, RoomServicesSettings, room_services_settings
from incubo.hub import lrs_keys, privileges, service_units
from incubo.net import free_port

log = logging.getLogger(__name__)

DASHBOARD = "tableau-de-bord"
PORT_NAMES = ("ralph", "lrs", DASHBOARD, "solutions")


def service_ports(hub_dir: Path, fixed: dict[str, int] | None = None) -> dict[str, int]:
    """The services' ports: `fixed` ones (a pod declares them), the others chosen once per hub directory."""
    path = lrs_keys.lrs_dir(hub_dir) / "ports.json"
    try:
        ports = {k: int(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        ports = {}
    wanted = {
        name: (fixed or {}).get(name) or ports.get(name) or free_port() for name in PORT_NAMES
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


@dataclass(frozen=True)
class _Room:
    """What every service's entry is computed from, decided once per `configure_services`."""

    hub_dir: Path
    course_id: str
    folder: Path  # the LRS's folder: Ralph's data, ports.json, the gate's keys
    secret: bytes  # the gate's secret: every LRS identity derives from it
    layout: RoomServicesSettings
    ports: dict[str, int]
    homepage: str
    ralph_python: Path | None  # None: no Ralph to start here
    ralph: str  # Ralph's URL ("": no LRS, events stay in the learners' journals)
    unprivileged: bool  # the hub runs as root: services run as the services account
    own_python: str  # the Python that runs our services
    base_env: dict[str, str]

    def url(self, name: str) -> str:
        """Where the proxy and the learners' servers reach service `name`."""
        return f"http://{self.layout.host}:{self.ports[name]}"


def configure_services(c: Any, settings: Any) -> None:
    """Add Ralph, the LRS gate, the dashboard and the solutions service; per-learner LRS env."""
    room = _room(settings)
    if not room.ralph:
        log.warning(
            "Ralph is not installed (make ralph, or INCUBO_RALPH_PYTHON): learning events stay in each learner's journal"
        )
    services = _services(room, settings)
    if service_units.under_systemd():  # each runs from its own unit (incubo.hub.service_units)
        c.JupyterHub.services.extend(service_units.declared(room.hub_dir, services))
    else:
        for service in services:
            service["command"] = _dies_with_hub(room, service["command"])
        c.JupyterHub.services.extend(services)
    c.JupyterHub.load_roles.append(
        {
            "name": "incubo-formateurs-tableau-de-bord",
            "description": "Les formateurs voient le tableau de bord de la salle.",
            "scopes": [f"access:services!service={DASHBOARD}"],
            "groups": [f"formgrade-{room.course_id}"],
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
    learner_env = _learner_env(c, room)  # before `c.Spawner.environment` is touched: it reads it
    c.Spawner.environment.update(learner_env)
    log.info(
        "room services: LRS gate %s, dashboard and solutions on ports %s",
        room.url("lrs") + "/services/lrs/",
        room.ports,
    )


def _services(room: _Room, settings: Any) -> list[dict[str, Any]]:
    return _ralph_service(room) + _gate_service(room, settings) + _reader_services(room, settings)


def room_services(settings: Any) -> list[dict[str, Any]]:
    """The services with the commands and environments their own units run (`service_units`)."""
    return _services(_room(settings), settings)


def _room(settings: Any) -> _Room:
    """The hub's folders, keys, ports and Ralph's whereabouts; the accounts the services run as."""
    hub_dir = Path(_get(settings, "hub_dir"))
    course_dir = Path(_get(settings, "course_dir") or ".").resolve()
    secret = lrs_keys.gate_secret(hub_dir)
    lrs_keys.ralph_password(hub_dir)
    layout = room_services_settings()
    ports = service_ports(hub_dir, dict(layout.ports))
    homepage = hub_url(settings)
    python = ralph_python()
    managed_ralph = not layout.ralph_url and python is not None
    ralph = layout.ralph_url or (f"http://127.0.0.1:{ports['ralph']}" if managed_ralph else "")
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
    return _Room(
        hub_dir=hub_dir,
        course_id=_get(settings, "course_id", "incubo"),
        folder=lrs_keys.lrs_dir(hub_dir),
        secret=secret,
        layout=layout,
        ports=ports,
        homepage=homepage,
        ralph_python=python if managed_ralph else None,
        ralph=ralph,
        unprivileged=unprivileged,
        own_python=own_python,
        base_env=base_env,
    )


def _ralph_service(room: _Room) -> list[dict[str, Any]]:
    """Ralph itself, on 127.0.0.1 only, when the hub starts it (not when `INCUBO_HUB_RALPH_URL` names one)."""
    if room.ralph_python is None:
        return []
    command = [
        str(room.ralph_python),
        str(Path(__file__).with_name("ralph_service.py")),
        "--port", str(room.ports["ralph"]),
        "--dir", str(room.folder),
        "--homepage", room.homepage,
    ]  # fmt: skip
    env = (
        dict(room.base_env, PYTHONUNBUFFERED="1")
        if room.unprivileged
        else {"PYTHONUNBUFFERED": "1"}
    )
    return [{"name": "ralph", "command": command, "environment": env, "cwd": str(room.folder)}]


def _gate_service(room: _Room, settings: Any) -> list[dict[str, Any]]:
    """The LRS gate in front of Ralph; the grader's access to it is written beside the hub."""
    if not room.ralph:
        return []
    gate_env = dict(
        room.base_env,
        **_rgpd_env(),  # the gate writes the RGPD store and reads the notice for learners
        INCUBO_RALPH_URL=room.ralph,
        INCUBO_DASHBOARD_WAKE_URL=f"http://127.0.0.1:{room.ports[DASHBOARD]}/services/{DASHBOARD}/reveil",
    )
    if room.layout.ralph_auth:
        gate_env["INCUBO_RALPH_AUTH"] = room.layout.ralph_auth
    _grader_access(room.hub_dir, settings, room.secret, room.ports["lrs"], room.homepage)
    return [
        {
            "name": "lrs",
            "url": room.url("lrs"),
            "command": [room.own_python, "-m", "incubo.hub.lrs_gate"],
            "environment": gate_env,
        }
    ]


def _reader_services(room: _Room, settings: Any) -> list[dict[str, Any]]:
    """The trainers' dashboard and the learners' solutions: both read the LRS through the gate."""
    reader_env = dict(
        room.base_env, INCUBO_LRS_URL=f"http://127.0.0.1:{room.ports['lrs']}/services/lrs/"
    )  # same pod
    return [
        {
            "name": DASHBOARD,
            "url": room.url(DASHBOARD),
            "command": [room.own_python, "-m", "incubo.hub.dashboard"],
            "environment": dict(
                reader_env,
                INCUBO_LRS_AUTH=lrs_keys.reader_auth(room.secret, "formateurs"),
                **_seance_env(room.course_id, room.homepage),
                **_health_env(settings),
            ),
            "oauth_no_confirm": True,
            "display": True,
            "info": {"titre": "Tableau de bord de la salle"},
        },
        {
            "name": "solutions",
            "url": room.url("solutions"),
            "command": [room.own_python, "-m", "incubo.hub.solutions"],
            "environment": reader_env,
            "display": False,
        },
    ]


def _dies_with_hub(room: _Room, command: list[str]) -> list[str]:
    """Every service dies with the hub, even killed outright."""
    if room.unprivileged:  # the lifeline after the drop: a change of user clears PR_SET_PDEATHSIG
        return privileges.launcher(
            "services", [room.own_python, "-m", "incubo.hub.lifeline", *command]
        )
    return lifeline(command)


def _learner_env(c: Any, room: _Room) -> dict[str, Any]:
    """What each learner's server gets at spawn: the services' addresses and its own LRS identity."""
    from incubo.hub import seance_panel

    env: dict[str, Any] = {
        "INCUBO_ACTOR_HOMEPAGE": room.homepage,
        "INCUBO_SOLUTIONS_URL": room.url("solutions") + "/services/solutions/",
        "INCUBO_SEANCE_URL": room.url(DASHBOARD) + f"/services/{DASHBOARD}/seance/",
        "JUPYTER_CONFIG_PATH": _chained_config_path(c),
    }
    # « Mes données » names the contact; the store itself is reached through the gate
    env.update({k: v for k, v in _rgpd_env().items() if k != "INCUBO_RGPD_DIR"})
    env.update(seance_panel.learner_env(room.course_id))  # JUPYTER_PATH, INCUBO_COURSE_ID
    if room.ralph:
        secret = room.secret
        env["INCUBO_LRS_URL"] = room.url("lrs") + "/services/lrs/"
        env["INCUBO_LRS_AUTH"] = lambda spawner: lrs_keys.learner_auth(secret, spawner.user.name)
    return env


def _rgpd_env() -> dict[str, str]:
    """The operator's RGPD settings (`incubo.rgpd`), for the gate and the learners' pages."""
    from incubo.config import env_var

    names = ("recherche_base", "conservation_mois", "rgpd_contact", "rgpd_dir")
    return {env_var(n): os.environ[env_var(n)] for n in names if os.environ.get(env_var(n))}


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
    """Our folder in front of the value an earlier part set (nbgrader's per-role folders)."""
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
