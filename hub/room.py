"""Run the room's hub in the foreground, stop it cleanly, and end the day.

`serve` starts (or reuses) the proxy, then JupyterHub as a child process;
SIGINT / SIGTERM / SIGHUP received by `incubo hub` become one SIGTERM for
JupyterHub, which then exits leaving learners' servers and the proxy up
(`cleanup_servers = False`). `stop_all` stops servers, hub and proxy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from incubo import console
from incubo.config import HubSettings, remember_public_address
from incubo.errors import IncuboError
from incubo.hub.config import check, prepare_hub_dir, private_file
from incubo.net import free_port, port_is_free

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def preflight(settings: HubSettings) -> None:
    """Everything that can be refused before anything starts, in French."""
    check(settings)
    if settings.spawner == "unix" and os.geteuid() != 0:
        raise IncuboError(
            "« incubo hub » crée un compte Unix par apprenant : lancez-le en tant que root (sudo).",
            code="hub-root",
        )
    if not settings.course_dir.is_dir():
        raise IncuboError(
            f"Le dossier de cours « {settings.course_dir} » n'existe pas. Lancez d'abord « incubo build » "
            "ou indiquez-le avec --course-dir.",
            code="cours-absent",
        )


def check_ports(settings: HubSettings) -> HubSettings:
    """The ports this room needs, free or already this room's; internal ones chosen once if taken.

    The public port is the administrator's choice: taken by something else, one French sentence
    saying which and how to choose another. The hub's and the proxy's internal ports (8081, 8001 by
    default) are nobody's business: when taken (a second room on this machine), free ones are chosen
    and remembered in the hub folder (`ports-internes.json`) for every later command of this room.
    """
    import dataclasses
    import json

    from incubo.config import INTERNAL_PORTS_FILE
    from incubo.hub.local import running_proxy

    ours = running_proxy(settings) is not None  # our proxy holds the public port and its API
    if not ours and not port_is_free(
        settings.ip if settings.ip != "0.0.0.0" else "", settings.port
    ):
        raise IncuboError(
            f"Le port {settings.port} est déjà pris sur cette machine (une autre salle, un autre service ?) : "
            "choisissez-en un autre avec « incubo hub --port 8100 » (ou INCUBO_HUB_PORT).",
            code="hub-port-pris",
        )
    explicit = {"hub": "INCUBO_HUB_API_PORT", "proxy-api": "INCUBO_HUB_PROXY_API_PORT"}
    wanted = {"hub": settings.hub_port, "proxy-api": settings.proxy_api_port}
    changed = False
    for name, port in wanted.items():
        if port_is_free("127.0.0.1", port) or (ours and name == "proxy-api"):
            continue
        if os.environ.get(explicit[name]):
            raise IncuboError(
                f"Le port interne {port} ({explicit[name]}) est déjà pris sur cette machine : "
                f"retirez {explicit[name]} pour qu'incubo en choisisse un libre, ou indiquez-en un autre.",
                code="hub-port-pris",
            )
        wanted[name], changed = free_port(), True
    if changed:
        path = settings.hub_dir / INTERNAL_PORTS_FILE
        path.write_text(json.dumps(wanted) + "\n", encoding="utf-8")
        log.info("internal ports taken by another program: using %s (%s)", wanted, path)
    return dataclasses.replace(settings, hub_port=wanted["hub"], proxy_api_port=wanted["proxy-api"])


def check_reachable(settings: HubSettings) -> None:
    """Learners' accounts must traverse the hub folder (the exchange is inside) and the homes' folder."""
    from incubo.hub.pythonenv import usable_by_others

    if settings.spawner != "unix":
        return
    for label, folder in (
        ("du hub", settings.hub_dir),
        ("des dossiers personnels", settings.home_base),
    ):
        blocked = next(
            (p for p in [folder, *folder.parents] if p.exists() and not p.stat().st_mode & 0o001),
            None,
        )
        if blocked is not None and not usable_by_others(folder):
            raise IncuboError(
                f"Le dossier {label} « {folder} » n'est pas accessible aux comptes des apprenants : "
                f"« {blocked} » leur est fermé. Ouvrez-le en traversée (« chmod o+x {blocked} ») ou choisissez "
                "un autre emplacement, puis relancez.",
                code="hub-dossier-inaccessible",
            )


def _warn_without_lrs() -> None:
    from incubo.config import room_services_settings
    from incubo.hub.services import ralph_python

    if not room_services_settings().ralph_url and ralph_python() is None:
        console.warning(
            "Le LRS Ralph n'est pas installé (« make ralph », ou INCUBO_RALPH_PYTHON) : la salle démarre sans "
            "lui, les traces restent dans le journal de chaque apprenant et le tableau de bord reste vide."
        )


def running_hub(settings: HubSettings) -> int | None:
    """The pid of a JupyterHub still running with this hub folder (its pid file), if any."""
    import psutil

    try:
        pid = int((settings.hub_dir / "jupyterhub.pid").read_text().strip())
        if "jupyterhub" in " ".join(psutil.Process(pid).cmdline()):
            return pid
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def _die_with_us():
    """A preexec_fn: SIGTERM to the child when `incubo hub` dies, whatever kills it."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    parent = os.getpid()

    def run() -> None:
        prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return run


def hub_command() -> list[str]:
    return [sys.executable, "-m", "jupyterhub", "-f", str(HERE / "jupyterhub_config.py")]


def _checked(settings: HubSettings) -> HubSettings:
    """Folders and ports checked before anything starts (under systemd, once its proxy answers)."""
    from incubo.hub.service_units import under_systemd, wait_for_proxy

    preflight(settings)
    prepare_hub_dir(settings)
    check_reachable(settings)
    if under_systemd():  # the proxy is its own unit's (incubo.hub.service_units)
        wait_for_proxy(settings)
    settings = check_ports(settings)
    remember_public_address(settings)  # for commands typed later in a plain shell
    _warn_without_lrs()
    return settings


def serve(settings: HubSettings, env: dict[str, str]) -> int:
    """Run the hub until a stop signal; return its exit code."""
    from incubo.hub.api import HubAPI
    from incubo.hub.local import ensure_proxy

    settings = _checked(settings)
    env = dict(
        env,
        INCUBO_HUB_API_PORT=str(settings.hub_port),
        INCUBO_HUB_PROXY_API_PORT=str(settings.proxy_api_port),
    )
    private_file(settings.service_token_file)  # the hub reads it; so do warm-up and this loop
    if settings.spawner == "unix":
        from incubo.hub.privileges import prepare_room

        # the system accounts (grader, services) and what they own, before anything runs as them
        prepare_room(settings)
    ensure_proxy(settings)
    old = running_hub(settings)
    if old:
        raise IncuboError(
            f"Un hub tourne déjà avec ce dossier (processus {old}). Arrêtez-le d'abord (Ctrl+C dans son terminal).",
            code="hub-deja-lance",
        )
    formateurs = ", ".join(settings.formateurs) or "aucun (INCUBO_HUB_FORMATEURS)"
    console.info(f"Le hub de la salle démarre : {settings.url}/ (formateurs : {formateurs}).")
    console.info(
        f"État du hub et journaux : {settings.hub_dir}. Ctrl+C arrête le hub ; les serveurs des apprenants continuent."
    )
    proc = subprocess.Popen(
        hub_command(),
        env=dict(os.environ, **env),
        cwd=settings.hub_dir,
        start_new_session=True,
        preexec_fn=_die_with_us(),  # `incubo hub` killed outright: JupyterHub stops, and its services
    )
    received: list[int] = []

    def forward(signum, _frame):
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in STOP_SIGNALS}
    try:
        api = HubAPI(settings, timeout=5)
        announced = False
        while proc.poll() is None:
            if not announced and not received and api.alive():
                console.success(f"Hub prêt : {settings.url}/")
                announced = True
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.5 if not announced else 5)
        code = proc.returncode
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:  # an error in this loop: never leave the hub behind
            proc.terminate()
            proc.wait(30)
    if received:
        console.info(
            "Hub arrêté. Les serveurs des apprenants et le proxy continuent : « incubo hub » reprend la salle, "
            "« incubo hub arreter » arrête tout."
        )
        return 0
    if code:
        raise IncuboError(
            f"Le hub s'est arrêté avec une erreur (code {code}). Détails : {settings.logs_dir / 'jupyterhub.log'}",
            code="hub-echec",
            exit_code=code if 0 < code < 126 else 1,
        )
    return 0


def _hub_users(settings: HubSettings) -> list[str]:
    """Names in the hub database (also when the hub is not running)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(sqlalchemy.text("SELECT name FROM users"))]
    except sqlalchemy.exc.SQLAlchemyError:
        return []
    finally:
        engine.dispose()


def stop_all(settings: HubSettings) -> int:
    """End of the day: every learner's server, the hub and the proxy (their units under systemd)."""
    from incubo.hub import accounts, units
    from incubo.hub.api import HubAPI
    from incubo.hub.local import stop_proxy

    api = HubAPI(settings, timeout=60)
    names = _hub_users(settings)
    as_units = units.installed()
    if api.alive():
        # each stop lasts seconds (the server shuts its kernels down): all at once, not one
        # after the other (a room of 15 learners took minutes); one client per request
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda name: HubAPI(settings, timeout=60).stop_server(name), names))
    if as_units:
        units.stop_room()
    elif api.alive():
        pid = running_hub(settings)
        with contextlib.suppress(ProcessLookupError):
            if pid:
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    os.kill(pid, 0)
                    time.sleep(0.2)
    if settings.spawner == "unix":
        for name in names:  # servers the hub no longer tracks (or when it is not running)
            accounts.kill_processes(accounts.unix_name(name))
    from incubo.hub.limits import Cgroups

    Cgroups(settings.hub_dir).remove_room()  # the learners' control groups, empty now
    if as_units:
        console.success(
            "Salle arrêtée : serveurs des apprenants, hub, services et proxy (services système ; "
            "ils repartent au prochain démarrage de la machine, ou avec « systemctl start incubo-hub »)."
        )
        return 0
    stopped = stop_proxy(settings)
    console.success(
        "Salle arrêtée : serveurs des apprenants, hub" + (" et proxy." if stopped else ".")
    )
    return 0
