"""Under systemd, the proxy and each room service run as units of their own.

In a terminal, `incubo hub` starts the proxy (detached) and JupyterHub starts
the services (through their launcher and lifeline: they die with it). Under
systemd (`INCUBO_SOUS_SYSTEMD=1`, set by `incubo-hub.service`) the init
system supervises each one, as TLJH does for its proxy:

| unit | runs as | what the hub keeps |
| --- | --- | --- |
| `incubo-proxy.service` | the services account | `should_start = False` (it already is) |
| `incubo-ralph.service` | the services account | nothing (the gate alone talks to Ralph) |
| `incubo-<service>.service` (`lrs`, `tableau-de-bord`, `solutions`) | the services account | an external service: name, URL, token, no command |

Each unit has `Restart=on-failure` and `PartOf=incubo-hub.service`; its
settings and tokens (JupyterHub's own `JUPYTERHUB_*` variables, which the
hub gives to the services it starts) are in an environment file readable by
root only; `ExecStartPre=+…privileges services -- true` makes as root what
the account owns, as the launcher does. The formgrader stays a service the
hub starts (nbgrader's own configuration, `incubo.hub.exchange`).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from incubo.secret_files import private_secret

SWITCH = "INCUBO_SOUS_SYSTEMD"
#: What JupyterHub keeps of a service another supervisor runs.
_RUN_ONLY = ("command", "environment", "cwd")


def under_systemd(env: dict[str, str] | None = None) -> bool:
    """True when the hub runs from `incubo-hub.service` (its units run the proxy and the services)."""
    return (os.environ if env is None else env).get(SWITCH, "") == "1"


def service_token(hub_dir: Path, name: str) -> str:
    """The API token of service `name`: in the hub folder, root's (0600), the same at every start."""
    return private_secret(Path(hub_dir) / "jetons-services" / name)


def declared(hub_dir: Path, services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hub's view of services run by their units: URL and token, no command (Ralph: none)."""
    return [
        dict(
            {k: v for k, v in s.items() if k not in _RUN_ONLY},
            api_token=service_token(hub_dir, s["name"]),
        )
        for s in services
        if s.get("url")
    ]


def jupyterhub_env(
    service: dict[str, Any], token: str, hub_port: int, public_url: str
) -> dict[str, str]:
    """What JupyterHub gives a service it starts (`jupyterhub.services.service.Service.start`)."""
    name = service["name"]
    prefix = f"/services/{name}/"
    scopes = json.dumps([f"access:services!service={name}"])
    return {
        "JUPYTERHUB_SERVICE_NAME": name,
        "JUPYTERHUB_API_TOKEN": token,
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub_port}/hub/api",
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_SERVICE_URL": service["url"],
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_CLIENT_ID": f"service-{name}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": prefix + "oauth_callback",
        "JUPYTERHUB_OAUTH_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": scopes,
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": "[]",
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_PUBLIC_URL": public_url.rstrip("/") + prefix,
    }


def environment_text(env: dict[str, str]) -> str:
    """An EnvironmentFile= for systemd: one KEY="value" a line."""
    lines = ["# Écrit par « incubo hub installer » : lisible par root seulement (jetons)."]
    for key in sorted(env):
        value = str(env[key]).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{key}="{value}"')
    return "\n".join(lines) + "\n"


def unit(description: str, account: str, env_file: Path, command: list[str], **options: Any) -> str:
    """A room unit: the services account, its environment file, restarted after a failure.

    `after`: units started first; `cwd`; `pid_file`: where the main pid is recorded (the proxy's,
    as `incubo hub` records it); `part_of_hub`: stopped and restarted with the hub.
    """
    prepare = [sys.executable, "-m", "incubo.hub.privileges", "services", "--", "true"]
    post = options.get("pid_file")
    return (
        f"[Unit]\nDescription=incubo : {description}\n"
        f"After={' '.join(['network-online.target', *options.get('after', [])])}\n"
        + ("PartOf=incubo-hub.service\n" if options.get("part_of_hub", True) else "")
        + "\n[Service]\nType=simple\n"
        f"User={account}\nGroup={account}\n"
        f"EnvironmentFile={env_file}\nWorkingDirectory={options.get('cwd', '/')}\n"
        f"ExecStartPre=+{shlex.join(prepare)}\n"  # what the account owns, made as root
        f"ExecStart={shlex.join(command)}\n"
        + (f"ExecStartPost=+/bin/sh -c 'echo $$MAINPID > {post}'\n" if post else "")
        + "Restart=on-failure\nRestartSec=5\n"
        "StandardOutput=journal\nStandardError=journal\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def wait_for_proxy(settings: Any, timeout: float = 60) -> int:
    """Under systemd the proxy is its unit's: wait until it answers (its pid recorded), never start one."""
    from incubo.errors import IncuboError
    from incubo.hub.local import running_proxy

    deadline = time.monotonic() + timeout
    while (pid := running_proxy(settings)) is None:
        if time.monotonic() > deadline:
            raise IncuboError(
                "Le proxy de la salle (incubo-proxy.service) ne répond pas : consultez "
                "« journalctl -u incubo-proxy », corrigez, puis « systemctl restart incubo-hub ».",
                code="hub-proxy-echec",
            )
        time.sleep(0.5)
    return pid


def proxy_command(settings: Any) -> list[str]:
    """configurable-http-proxy as `incubo hub` starts it (`incubo.hub.local.ensure_proxy`)."""
    from incubo.hub.local import proxy_command as chp

    hub = f"http://127.0.0.1:{settings.hub_port}"
    return [
        chp(),
        "--ip", settings.ip, "--port", str(settings.port),
        "--api-ip", "127.0.0.1", "--api-port", str(settings.proxy_api_port),
        "--default-target", hub, "--error-target", f"{hub}/hub/error",
    ]  # fmt: skip


def room_units(settings: Any, env_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The proxy's and the services' unit files and environment files, by file name."""
    from incubo.hub import privileges
    from incubo.hub.config import private_file
    from incubo.hub.services import room_services

    account = settings.service_user
    token = private_file(settings.proxy_token_file)
    proxy = unit(
        "proxy de la salle",
        account,
        env_dir / "proxy.env",
        proxy_command(settings),
        pid_file=settings.hub_dir / "proxy.pid",
        part_of_hub=False,
    )  # not part of the hub: learners' labs go through it while the hub restarts
    units = {"incubo-proxy.service": proxy}
    accounts = privileges.account_env(settings)  # for the launcher of ExecStartPre
    envs = {"proxy.env": environment_text(dict(accounts, CONFIGPROXY_AUTH_TOKEN=token, HOME="/"))}
    for service in room_services(settings):
        name = service["name"]
        env = dict(service.get("environment") or {})
        if service.get("url"):
            secret = service_token(settings.hub_dir, name)
            env.update(jupyterhub_env(service, secret, settings.hub_port, settings.url))
        after = ["incubo-hub.service"] + (["incubo-ralph.service"] if name != "ralph" else [])
        units[f"incubo-{name}.service"] = unit(
            f"service « {name} » de la salle", account, env_dir / f"{name}.env",
            service["command"], after=after, cwd=service.get("cwd", "/"),
        )  # fmt: skip
        envs[f"{name}.env"] = environment_text(env)
    return units, envs
