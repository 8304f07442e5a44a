"""`incubo apps`: the Voila apps for agents who do not code, fast and in French.

Stock `voila notebooks/apps/` starts a kernel and runs the notebook for every
page view (seconds per page), shows the notebook's Python when sources are
not stripped, English texts and tracebacks. We serve the same notebooks with
a pool of pre-started kernels that have already run each app, our French
template (no CDN), sources stripped and tracebacks kept in the server log.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from incubo import console, processes
from incubo.config import Context, env_var, project_root, settings
from incubo.errors import IncuboError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8866
#: Kernels kept ready per app (BASELINES.md: pool of 2 → warm pages in ~0.01 s).
DEFAULT_POOL = 2
APP_NOTEBOOKS = (
    "explorateur.ipynb",
    "quiz-du-jour.ipynb",
    "tableau-de-bord.ipynb",
    "mon-parcours.ipynb",
    "revision-du-jour.ipynb",
)
#: Browser uploads travel in one websocket message; the explorer accepts files up to 60 MB.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024
TEMPLATE_ROOT = Path(__file__).resolve().parent.parent / "share"


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "apps",
        parents=[common],
        help="servir les applications sans code (explorer un tableau, quiz du jour, tableau de bord, mon parcours, ma révision du jour)",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port d'écoute (défaut : {DEFAULT_PORT})"
    )
    p.add_argument("--ip", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
    p.add_argument(
        "--pool",
        type=int,
        default=DEFAULT_POOL,
        metavar="N",
        help=f"nombre de noyaux préchauffés par application (défaut : {DEFAULT_POOL})",
    )
    p.add_argument(
        "--apps",
        metavar="DOSSIER",
        default=None,
        help="dossier des applications (défaut : celles d'incubo)",
    )
    p.set_defaults(func=run)


def apps_dir(value: str | os.PathLike | None = None) -> Path:
    """The folder of app notebooks: `--apps`, else the checkout's `notebooks/apps`, else the installed copy."""
    candidates = [Path(value).expanduser()] if value else []
    if not value:
        if settings().apps_dir:
            candidates.append(settings().apps_dir)
        candidates += [
            project_root() / "notebooks" / "apps",
            Path(sys.prefix) / "share" / "incubo" / "apps",
        ]
    for path in candidates:
        if path.is_dir() and any(path.glob("*.ipynb")):
            return path.resolve()
    where = candidates[0] if value else project_root() / "notebooks" / "apps"
    raise IncuboError(
        f"Aucune application trouvée dans « {where} » : réinstallez incubo ou indiquez le dossier avec --apps.",
        code="apps-absentes",
    )


#: A Unix socket's path is at most 107 bytes. Voila keeps its kernels' connection files in a
#: folder of its own under the temporary folder: `<tmp>/voila_<8>/kernel-<uuid>-ipc-<n>`.
MAX_IPC_TMP_DIR = 107 - len("/voila_xxxxxxxx/kernel-00000000-0000-0000-0000-000000000000-ipc-9")


def kernel_transport() -> str:
    """Unix sockets for the apps' kernels, TCP only where the temporary folder's path is too long.

    Over TCP, the server picks five free ports and the kernel binds them a moment later: another
    process may take one in between (seen in CI: « Address already in use »), and Voila then hands
    out the dead pre-heated kernel: its app's page never finishes loading.
    """
    return "ipc" if len(os.fsencode(tempfile.gettempdir())) <= MAX_IPC_TMP_DIR else "tcp"


def voila_config(pool: int, transport: str = "tcp") -> dict:
    """Voila configuration (written as voila.json: dicts do not fit on a command line)."""
    return {
        "KernelManager": {"transport": transport},
        "VoilaConfiguration": {
            "preheat_kernel": pool > 0,
            "default_pool_size": max(pool, 0),
            "strip_sources": True,
            "show_tracebacks": False,
            "template": "incubo",
            "theme": "light",
            # no template or theme switch through the query string: pre-rendered pages stay usable
            "allow_template_override": "NO",
            "allow_theme_override": "NO",
            # only the widget managers: the lab extensions of nbgrader, jupytext… fail in Voila and slow pages
            "extension_allowlist": [
                "@jupyter-widgets/jupyterlab-manager",
                "@voila-dashboards/widgets-manager8",
            ],
        },
        "VoilaKernelManager": {"fill_delay": 0.5},
        # idle kernels of closed pages go away; a page left open is never cut off
        "MappingKernelManager": {
            "cull_idle_timeout": 900,
            "cull_interval": 120,
            "cull_connected": False,
        },
        "VoilaExecutor": {
            "cell_error_instruction": "L'erreur complète est dans le journal du serveur.",
            # a room arriving at once keeps the CPU busy: never drop an app's output or give up on a kernel
            "iopub_timeout": 120,
            "startup_timeout": 180,
        },
        "HTMLExporter": {"language_code": "fr"},
        "Voila": {"tornado_settings": {"websocket_max_message_size": MAX_MESSAGE_BYTES}},
    }


def command(folder: Path, config_dir: Path, *, ip: str, port: int) -> list[str]:
    """The Voila command line we run (tests and the benchmark start exactly this through `incubo apps`)."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(folder),
        "--no-browser",
        f"--Voila.ip={ip}",
        f"--port={port}",
        "--Voila.port_retries=0",
        f"--Voila.config_file_paths={config_dir}",
        f"--Voila.root_dir={folder}",
    ]


def environment(ctx: Context) -> dict[str, str]:
    """Environment of the server and its kernels: our template on JUPYTER_PATH, the course dir."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH", "")) if p
    )
    env[env_var("course_dir")] = str(ctx.course_dir)
    checkout_courses = project_root() / "courses"
    if env_var("courses_dir") not in env and checkout_courses.is_dir():
        env[env_var("courses_dir")] = str(checkout_courses)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _check_port_free(ip: str, port: int) -> None:
    """Voila says so only in English in its log; say it in French before starting."""
    from incubo.net import port_is_free

    if not port_is_free(ip, port):
        raise IncuboError(
            f"Le port {port} est déjà utilisé sur {ip} : arrêtez l'autre serveur ou choisissez un autre port avec --port.",
            code="port-occupe",
        )


def run(args, ctx: Context) -> int:
    if not 1 <= args.port <= 65535:
        raise IncuboError(
            f"Le port {args.port} n'est pas valable : choisissez un nombre entre 1 et 65535.",
            code="port-invalide",
        )
    if args.pool < 0 or args.pool > 16:
        raise IncuboError("--pool doit être compris entre 0 et 16.", code="pool-invalide")
    folder = apps_dir(args.apps)
    _check_port_free(args.ip, args.port)
    config_dir = Path(tempfile.mkdtemp(prefix="incubo-apps-"))
    try:
        (config_dir / "voila.json").write_text(
            json.dumps(voila_config(args.pool, kernel_transport()), indent=2), encoding="utf-8"
        )
        cmd = command(folder, config_dir, ip=args.ip, port=args.port)
        log.debug("voila command: %s", cmd)
        console.info(
            f"Les applications démarrent ({args.pool} noyau(x) préchauffé(s) par application)."
        )
        console.info(
            f"Ouvrez l'adresse http://{args.ip}:{args.port}/ dans votre navigateur. Ctrl+C pour arrêter."
        )
        # Ctrl+C or SIGTERM stops Voila and its pre-started kernels (Voila leaves them running)
        return processes.run_tree(cmd, env=environment(ctx))
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)
