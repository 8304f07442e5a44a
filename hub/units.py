"""`incubo hub installer`: the room under systemd on a VM — started at boot, restarted after a crash.

As The Littlest JupyterHub does (`jupyterhub.service`, `traefik.service`), the
room is a set of units; the init system supervises, not a loop of ours:

| unit | what | runs as |
| --- | --- | --- |
| `incubo-hub.service` | `incubo hub` (JupyterHub, which starts each learner's server in its own control group: `Delegate=yes`, and the formgrader) | root (creates accounts) |
| `incubo-proxy.service`, `incubo-ralph.service`, `incubo-lrs.service`, `incubo-tableau-de-bord.service`, `incubo-solutions.service` | the proxy and each room service, external to JupyterHub (`incubo.hub.service_units`) | the services account |
| `incubo-sauvegarde.service` + `.timer` | `incubo hub sauvegarder`, every night, keeping the last N archives | root (reads every home) |
| `incubo-purge.service` + `.timer` | `incubo rgpd purger`, every night: statements older than `INCUBO_CONSERVATION_MOIS` | root, as `incubo rgpd` by hand on the hub |

`Restart=on-failure` brings the hub back after a crash; `KillMode=process`
stops only the hub on `systemctl restart`, so learners keep their open labs
(the proxy and their servers outlive it, as with `incubo hub` in a
terminal); the services are `PartOf=` the hub (the proxy is not: labs go
through it during a restart). The settings are in environment files
readable by root only (the room password, the services' tokens). Logs go to
the journal (`journalctl -u incubo-hub`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from incubo import console
from incubo.config import HubSettings
from incubo.errors import IncuboError
from incubo.hub import service_units

UNIT_DIR = Path("/etc/systemd/system")
ENV_FILE = Path("/etc/incubo/salle.env")
#: What the environment file keeps: every room setting the administrator exported.
KEPT_PREFIXES = ("INCUBO_", "PROCONNECT_", "LANG")


def _incubo_command() -> list[str]:
    return [sys.executable, "-m", "incubo"]


def environment_file(env: dict[str, str]) -> str:
    lines = ["# Réglages de la salle incubo (écrit par « incubo hub installer »)."]
    for key in sorted(env):
        if key.startswith(KEPT_PREFIXES):
            value = env[key].replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key}="{value}"')
    return "\n".join(lines) + "\n"


def units(
    settings: HubSettings, env_file: Path, *, keep: int = 14, at: str = "03:00"
) -> dict[str, str]:
    """The unit files' text, by file name."""
    incubo = " ".join(shlex.quote(part) for part in _incubo_command())
    backups = settings.hub_dir.parent / "sauvegardes"
    common = f"EnvironmentFile={env_file}\nWorkingDirectory={settings.hub_dir}\n"
    return {
        "incubo-hub.service": (
            "[Unit]\n"
            "Description=incubo : JupyterHub de la salle de formation\n"
            "After=network-online.target incubo-proxy.service\n"
            "Wants=network-online.target incubo-proxy.service\n\n"
            "[Service]\n"
            "Type=simple\n"
            f"{common}"
            f"Environment={service_units.SWITCH}=1\n"  # the proxy and services: their own units
            f"ExecStart={incubo} hub --course-dir {shlex.quote(str(settings.course_dir))}\n"
            "Restart=on-failure\nRestartSec=5\n"
            "KillMode=process\nTimeoutStopSec=60\n"
            "Delegate=yes\n"
            "StandardOutput=journal\nStandardError=journal\n\n"
            "[Install]\nWantedBy=multi-user.target\n"
        ),
        "incubo-sauvegarde.service": (
            "[Unit]\n"
            "Description=incubo : sauvegarde quotidienne de la salle\n"
            "After=incubo-hub.service\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            f"{common}"
            f"ExecStart={incubo} hub sauvegarder {shlex.quote(str(backups))} --garder {keep} "
            f"--course-dir {shlex.quote(str(settings.course_dir))}\n"
            "Nice=10\nIOSchedulingClass=idle\n"
        ),
        "incubo-sauvegarde.timer": (
            "[Unit]\nDescription=incubo : sauvegarde de la salle chaque nuit\n\n"
            "[Timer]\n"
            f"OnCalendar=*-*-* {at}:00\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
        ),
        # RGPD art. 5: statements older than INCUBO_CONSERVATION_MOIS go, every night
        "incubo-purge.service": (
            "[Unit]\n"
            "Description=incubo : suppression des traces plus anciennes que la durée de conservation\n"
            "After=incubo-hub.service\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            f"{common}"
            f"ExecStart={incubo} rgpd purger\n"
            "Nice=10\n"
        ),
        "incubo-purge.timer": (
            "[Unit]\nDescription=incubo : purge quotidienne des traces trop anciennes\n\n"
            "[Timer]\n"
            "OnCalendar=*-*-* 03:30:00\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
        ),
    }


def _systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


#: What `incubo hub arreter` stops when the room runs as units: the hub (its services are PartOf it)
#: and the proxy (which outlives a hub restart on purpose, but not the end of the day).
END_OF_DAY = ("incubo-hub.service", "incubo-proxy.service")


def installed(unit_dir: Path | None = None) -> bool:
    """True when this machine runs the room as systemd units (`incubo hub installer`)."""
    return (
        _systemd_running()
        and ((unit_dir or UNIT_DIR) / "incubo-hub.service").is_file()
        and shutil.which("systemctl") is not None
    )


def stop_room() -> None:
    """Stop the room's units (a signal to the hub would leave its services' units and the proxy's
    running, and `Restart=` watching them); they start again at boot or with `systemctl start`."""
    proc = subprocess.run(["systemctl", "stop", *END_OF_DAY], capture_output=True, text=True)
    if proc.returncode:
        raise IncuboError(
            f"« systemctl stop {' '.join(END_OF_DAY)} » a échoué : {proc.stderr.strip()}",
            code="hub-systemd",
        )


def _write_private(path: Path, text: str) -> None:
    """A file only root reads (settings, the room password, services' tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _write_units(texts: dict[str, str], unit_dir: Path) -> list[Path]:
    unit_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        (unit_dir / name).write_text(text, encoding="utf-8")
        written.append(unit_dir / name)
    return written


def install(
    settings: HubSettings,
    env: dict[str, str],
    *,
    unit_dir: Path = UNIT_DIR,
    env_file: Path = ENV_FILE,
    keep: int = 14,
) -> list[Path]:
    """Write the units and the environment file; enable and start them when systemd runs."""
    if os.geteuid() != 0:
        raise IncuboError(
            "« incubo hub installer » écrit des services système : lancez-le en tant que root (sudo).",
            code="hub-root",
        )
    if not settings.course_dir.is_dir():
        raise IncuboError(
            f"Le dossier de cours « {settings.course_dir} » n'existe pas. Lancez d'abord « incubo build ».",
            code="cours-absent",
        )
    _write_private(env_file, environment_file(env))
    written = _write_units(units(settings, env_file, keep=keep), unit_dir)
    room, envs = service_units.room_units(settings, env_file.parent)
    for name, text in envs.items():
        _write_private(env_file.parent / name, text)  # tokens: root's eyes only
    written += _write_units(room, unit_dir)
    oneshots = {"incubo-sauvegarde.service", "incubo-purge.service"}  # started by their timers
    names = [p.name for p in written if p.name not in oneshots]
    if _systemd_running() and shutil.which("systemctl") and unit_dir == UNIT_DIR:
        for cmd in (
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", *names],
        ):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                raise IncuboError(
                    f"« {' '.join(cmd)} » a échoué : {proc.stderr.strip()}", code="hub-systemd"
                )
        console.success(
            "La salle est installée comme service système : elle démarre avec la machine et redémarre "
            "seule après une panne (journal : « journalctl -u incubo-hub »)."
        )
    else:
        console.info(
            f"Services écrits dans {unit_dir} ; systemd ne tourne pas ici : sur la VM de la salle, lancez "
            f"« systemctl daemon-reload && systemctl enable --now {' '.join(names)} »."
        )
    return written
