"""What only `incubo hub` on this machine needs: ports, logs, and a proxy that outlives the hub.

JupyterHub normally starts configurable-http-proxy itself and kills any
previous one at start-up, which cuts every learner's open lab during a hub
restart. Here `incubo hub` starts the proxy once, detached, records its pid
in the hub folder and reuses it at the next start: while the hub restarts,
learners' labs keep working through the proxy, and the hub re-registers
every running server's route when it is back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

from incubo.config import HubSettings, hub_settings, project_root
from incubo.errors import IncuboError
from incubo.hub.config import private_file

log = logging.getLogger(__name__)

PROXY = "configurable-http-proxy"


def proxy_command() -> str:
    """configurable-http-proxy: from the checkout's node_modules (`make node`), the current folder, or PATH."""
    candidates = [
        hub_settings().proxy_cmd,
        str(project_root() / "node_modules" / ".bin" / PROXY),
        str(Path.cwd() / "node_modules" / ".bin" / PROXY),
        shutil.which(PROXY) or "",
        f"/usr/local/bin/{PROXY}",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise IncuboError(
        "configurable-http-proxy est introuvable : installez-le avec « make node » "
        "(ou « npm install -g configurable-http-proxy »), puis relancez.",
        code="hub-proxy-absent",
    )


def configure_local(c, settings: HubSettings) -> None:
    """Ports on this machine, the proxy we keep, the pid and log files in hub_dir."""
    c.JupyterHub.bind_url = f"http://{settings.ip}:{settings.port}"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings.hub_port}"
    c.JupyterHub.pid_file = str(settings.hub_dir / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.auth_token = private_file(settings.proxy_token_file)
    c.ConfigurableHTTPProxy.should_start = False  # `incubo hub` runs it (see ensure_proxy)
    c.JupyterHub.cleanup_proxy = False
    c.Application.logging_config = {
        "handlers": {
            "incubo_file": {
                "class": "logging.FileHandler",
                "filename": str(settings.logs_dir / "jupyterhub.log"),
                "formatter": "incubo",
            }
        },
        "formatters": {"incubo": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "loggers": {"JupyterHub": {"handlers": ["console", "incubo_file"]}},
    }


def _pid_file(settings: HubSettings) -> Path:
    return settings.hub_dir / "proxy.pid"


def _proxy_api_ok(settings: HubSettings, token: str) -> bool:
    try:
        r = requests.get(
            f"http://127.0.0.1:{settings.proxy_api_port}/api/routes",
            headers={"Authorization": f"token {token}"},
            timeout=2,
        )
        return r.status_code == 200
    except requests.RequestException:
        return False


def running_proxy(settings: HubSettings) -> int | None:
    """The pid of the proxy a previous `incubo hub` left running for this hub folder, if it still answers."""
    import psutil

    try:
        pid = int(_pid_file(settings).read_text().split()[0])
        proc = psutil.Process(pid)
        cmdline = " ".join(proc.cmdline())
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
    wanted = (
        f"--port {settings.port} " in cmdline + " "
        and f"--api-port {settings.proxy_api_port}" in cmdline
    )
    if PROXY not in cmdline or not wanted:
        return None
    with contextlib.suppress(psutil.Error):
        if os.geteuid() == 0 and settings.spawner == "unix" and proc.uids().real == 0:
            return None  # left by an older incubo that ran it as root: replaced (labs reconnect)
    token = private_file(settings.proxy_token_file)
    return pid if _proxy_api_ok(settings, token) else None


def stop_proxy(settings: HubSettings) -> bool:
    """Stop the proxy recorded in the hub folder (the end of the day: `incubo hub arreter`)."""
    import psutil

    try:
        pid = int(_pid_file(settings).read_text().split()[0])
        proc = psutil.Process(pid)
        if PROXY not in " ".join(proc.cmdline()):
            return False
        proc.terminate()
        proc.wait(10)
    except (OSError, ValueError, IndexError, psutil.Error):
        return False
    finally:
        with contextlib.suppress(OSError):
            _pid_file(settings).unlink()
    return True


def _unprivileged(settings: HubSettings) -> dict:
    """Popen options that start the proxy as the services account when `incubo hub` runs as root.

    The proxy parses every request of the room: it never needs root (its ports are above 1024;
    in front of it, a reverse proxy on 443 is IT's). The account is made at hub start.
    """
    if os.geteuid() != 0 or settings.spawner != "unix":
        return {}
    if settings.port < 1024:
        raise IncuboError(
            f"Le port {settings.port} est réservé à root : le proxy de la salle tourne sous un compte "
            "sans privilèges. Choisissez INCUBO_HUB_PORT au-dessus de 1023 (un serveur web frontal "
            "peut écouter sur 443).",
            code="hub-port-privilegie",
        )
    import pwd

    entry = pwd.getpwnam(settings.service_user)  # made at hub start (incubo.hub.privileges)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def ensure_proxy(settings: HubSettings, *, timeout: float = 30) -> int:
    """Reuse the proxy left by the previous run, or start one detached from this terminal."""
    pid = running_proxy(settings)
    if pid:
        log.info("reusing configurable-http-proxy pid %s", pid)
        return pid
    stop_proxy(settings)  # a stale one with other ports
    token = private_file(settings.proxy_token_file)
    hub = f"http://127.0.0.1:{settings.hub_port}"
    cmd = [
        proxy_command(),
        "--ip", settings.ip,
        "--port", str(settings.port),
        "--api-ip", "127.0.0.1",
        "--api-port", str(settings.proxy_api_port),
        "--default-target", hub,
        "--error-target", f"{hub}/hub/error",
    ]  # fmt: skip
    env = dict(os.environ, CONFIGPROXY_AUTH_TOKEN=token)
    options = _unprivileged(settings)
    if options:
        env.update(HOME="/", USER=settings.service_user, LOGNAME=settings.service_user)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.logs_dir / "proxy.log", "ab") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
            **options,
        )
    _pid_file(settings).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while not _proxy_api_ok(settings, token):
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            tail = (settings.logs_dir / "proxy.log").read_text(errors="replace")[-500:]
            raise IncuboError(
                f"Le proxy n'a pas démarré (port {settings.port} déjà pris ?). Fin du journal : {tail.strip()}",
                code="hub-proxy-echec",
            )
        time.sleep(0.1)
    return proc.pid
