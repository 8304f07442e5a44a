"""`incubo hub etat`: the room at a glance — hub, proxy, services, learners, memory, spools, disk.

Read-only and cheap: one request to the hub's API, one TCP connect per
service, the learners' control groups (`incubo.hub.limits`), a count of the
statements waiting in each learner's spool (folders the learner controls:
opened one level at a time without following links), the free disk space.

The trainers' dashboard (`incubo.hub.dashboard`) shows the same figures in a
corner, from the same `room_state`, as the services account: with its own
hub token (`list:users`, `read:users:name`, `read:users:groups`,
`read:servers`), and without the
learners' homes (0700), so its spool counts are `None` (« inconnu »). Any
figure this process cannot read is `None`, never a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from incubo.config import HubSettings
from incubo.errors import IncuboError
from incubo.hub import accounts, limits, lrs_keys, trainers

#: The services `incubo.hub.services` starts, with the French name an administrator reads.
SERVICES = {
    "ralph": "LRS Ralph",
    "lrs": "passerelle LRS",
    "tableau-de-bord": "tableau de bord",
    "solutions": "solutions",
}
SPOOL = (".incubo", "file-attente")


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _ports(settings: HubSettings) -> dict[str, int]:
    try:
        data = json.loads((lrs_keys.lrs_dir(settings.hub_dir) / "ports.json").read_text())
        return {k: int(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def spooled(home: Path) -> int | None:
    """Statements waiting in a learner's spool, counted without following any link they planted.

    0 when there is no spool; `None` when this process may not look (a home it cannot enter).
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    fds: list[int] = []
    try:
        fds.append(os.open(home, flags))
        for part in SPOOL:
            fds.append(os.open(part, flags, dir_fd=fds[-1]))
        with os.scandir(fds[-1]) as entries:
            return sum(
                1 for e in entries if e.name.endswith(".json") and not e.name.startswith(".")
            )
    except PermissionError:
        return None
    except OSError:
        return 0
    finally:
        for fd in fds:
            os.close(fd)


def _learners(
    settings: HubSettings, token: str | None = None, api_url: str | None = None
) -> tuple[bool, list[dict[str, Any]]]:
    from incubo.hub.api import HubAPI

    try:
        users = HubAPI(settings, timeout=5, token=token, base=api_url).users()
    except Exception:  # noqa: BLE001 - the hub is down: say so, list nothing
        return False, []
    groups = limits.Cgroups(settings.hub_dir)
    out = []
    for user in users:
        if trainers.is_trainer(user, settings.course_id):
            continue  # a trainer's own server is not a learner's
        servers = user.get("servers") or {}
        running = bool(servers.get("", {}).get("ready")) if servers else bool(user.get("server"))
        unix = accounts.unix_name(user["name"])
        usage = groups.usage(unix) or {}
        home = Path(settings.home_base) / unix
        out.append(
            {
                "nom": user["name"],
                "connecte": running,
                "memoire": usage.get("memoire"),
                "memoire_limite": usage.get("memoire_limite"),
                "processus": usage.get("processus"),
                "processus_limite": usage.get("processus_limite"),
                "arrets_memoire": usage.get("arrets_memoire"),
                "refus_processus": usage.get("refus_processus"),
                "en_attente_lrs": spooled(home),
            }
        )
    return True, out


def _proxy_up(settings: HubSettings) -> bool:
    from incubo.hub.local import running_proxy

    private = (settings.hub_dir / "proxy.pid", settings.proxy_token_file)
    if not any(path.exists() and not os.access(path, os.R_OK) for path in private):
        with contextlib.suppress(OSError):
            return bool(running_proxy(settings))
    # its pid file or token is not ours to read (the services account): does its API port answer?
    return _port_open(settings.proxy_api_port)


def _sum(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def room_state(
    settings: HubSettings, *, token: str | None = None, api_url: str | None = None
) -> dict[str, Any]:
    """Everything `incubo hub etat` shows, as plain data (the `--json` output).

    `token`/`api_url`: the hub's API as a service sees it (the dashboard); by default the
    `incubo` service token of the hub folder. A figure that cannot be read is `None`.
    """
    hub_up, learners = _learners(settings, token, api_url)
    ports = _ports(settings)
    services = {
        name: {
            "nom": label,
            "port": ports.get(name),
            "actif": bool(ports.get(name)) and _port_open(ports[name]),
        }
        for name, label in SERVICES.items()
    }
    try:
        disk = shutil.disk_usage(settings.hub_dir if settings.hub_dir.exists() else "/")
        free, total = disk.free, disk.total
    except OSError:
        free = total = None
    try:
        room_limits = limits.limits_from_env()
        memory, processes = room_limits.memory, room_limits.processes
    except IncuboError:
        memory = processes = None
    return {
        "hub": {"actif": hub_up, "adresse": settings.url},
        "proxy": {"actif": _proxy_up(settings)},
        "services": services,
        "apprenants": learners,
        "connectes": sum(1 for learner in learners if learner["connecte"]),
        "en_attente_lrs": _sum([learner["en_attente_lrs"] for learner in learners]),
        "disque_libre": free,
        "disque_total": total,
        "limites": {"memoire": memory, "processus": processes},
    }


def _state(up: bool) -> str:
    return "en marche" if up else "ARRÊTÉ"


def render(state: dict[str, Any]) -> str:
    """The state for a terminal, in French."""
    size = limits.human_size
    lines = [
        f"Hub : {_state(state['hub']['actif'])} ({state['hub']['adresse']})",
        f"Proxy : {_state(state['proxy']['actif'])}",
    ]
    for service in state["services"].values():
        lines.append(f"Service {service['nom']} : {_state(service['actif'])}")
    learners = state["apprenants"]
    lines.append(f"Apprenants connectés : {state['connectes']} sur {len(learners)}")
    for learner in learners:
        if not learner["connecte"] and not learner["memoire"]:
            continue
        memory = (
            f"{size(learner['memoire'])} sur {size(learner['memoire_limite'])}"
            if learner["memoire"] is not None and learner["memoire_limite"]
            else "mémoire inconnue"
        )
        percent = (
            f" ({100 * learner['memoire'] // learner['memoire_limite']} %)"
            if learner["memoire"] is not None and learner["memoire_limite"]
            else ""
        )
        extra = (
            f", {learner['en_attente_lrs']} trace(s) en attente"
            if learner["en_attente_lrs"]
            else ""
        )  # None (a home not ours to read) is said once, in the total
        lines.append(f"  - {learner['nom']} : {memory}{percent}{extra}")
    waiting = state["en_attente_lrs"]
    lines.append(f"Traces en attente d'envoi au LRS : {'inconnu' if waiting is None else waiting}")
    if state["disque_libre"] is None:
        lines.append("Disque libre : inconnu")
    else:
        lines.append(
            f"Disque libre : {size(state['disque_libre'])} sur {size(state['disque_total'])}"
        )
    return "\n".join(lines)
