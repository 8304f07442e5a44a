"""The room's JupyterHub configuration, in one function for every deployment.

`configure(c)` is what `incubo hub` (through `hub/jupyterhub_config.py`), the
TLJH plugin (`tljh_custom_jupyterhub_config`) and Zero to JupyterHub
(`hub.extraConfig`) call. It sets what a room needs whatever runs the hub:
login, accounts, French pages, state in the hub folder, servers that
survive a hub restart; then lets the nbgrader exchange
(`incubo.hub.exchange.configure_exchange`) and the hub services
(`incubo.hub.services.configure_services`) add theirs. What only a hub on
this machine needs (ports, the proxy process) is in `incubo.hub.local`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from incubo.config import HubSettings, hub_settings
from incubo.errors import IncuboError
from incubo.hub.exchange import configure_exchange
from incubo.hub.services import configure_services
from incubo.secret_files import private_secret

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
#: French error pages of each user's own server (jupyter_server's are in English).
SERVER_TEMPLATES = TEMPLATES / "server"
#: The hub's own service: warm-up and administration from the command line (token in hub_dir).
# Not "incubo": nbgrader names the formgrader service after the course id, "incubo" by default.
SERVICE_NAME = "incubo-salle"
#: Hub role given to trainers (group `formgrade-<course>`): see the room, start/stop servers, never open them.
TRAINER_SCOPES = ["admin-ui", "list:users", "read:users", "read:users:activity", "servers"]


def check(settings: HubSettings) -> None:
    """Refuse, in French, a configuration the hub cannot run safely."""
    if settings.auth not in ("demo", "proconnect"):
        raise IncuboError(
            f"INCUBO_HUB_AUTH vaut « {settings.auth} » : choisissez « demo » ou « proconnect ».",
            code="hub-auth-inconnue",
        )
    if settings.auth == "demo" and not settings.demo_password:
        raise IncuboError(
            "La connexion de démonstration exige un mot de passe partagé : définissez INCUBO_DEMO_PASSWORD "
            "(par exemple « export INCUBO_DEMO_PASSWORD='un mot de passe' ») puis relancez.",
            code="hub-mot-de-passe-absent",
        )
    if settings.spawner not in ("unix", "externe"):
        raise IncuboError(
            f"INCUBO_HUB_SPAWNER vaut « {settings.spawner} » : choisissez « unix » ou « externe ».",
            code="hub-spawner-inconnu",
        )


#: A secret kept in the hub folder, created (0600) the first time: the core's one way.
private_file = private_secret


def prepare_hub_dir(settings: HubSettings) -> None:
    """Create the state folder: traversable (the exchange lives inside), secrets private."""
    hub_dir = settings.hub_dir
    hub_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(hub_dir, 0o755)
    settings.logs_dir.mkdir(exist_ok=True)
    os.chmod(settings.logs_dir, 0o700)
    if settings.db_url == f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}":
        # an empty file is an empty SQLite database: create it private before the hub opens it
        os.close(os.open(hub_dir / "jupyterhub.sqlite", os.O_WRONLY | os.O_CREAT, 0o600))
    for name in ("jupyterhub.sqlite", "cookie_secret", "proxy_token", "service_token"):
        p = hub_dir / name
        if p.exists():
            os.chmod(p, 0o600)


def _append(c, section: str, key: str, items: list) -> None:
    """Append to a list setting without dropping what others configured before."""
    current = list(c[section][key]) if key in c[section] else []
    c[section][key] = current + items


def configure_auth(c, settings: HubSettings) -> None:
    c.Authenticator.manage_groups = True  # trainer / learner groups follow the list at each login
    c.Authenticator.allow_all = True  # anyone the login accepts is a learner
    if settings.auth == "demo":
        from incubo.hub.auth_demo import DemoAuthenticator
        from incubo.hub.trainers import passwords_file

        c.JupyterHub.authenticator_class = DemoAuthenticator
        c.DemoAuthenticator.password = settings.demo_password
        c.DemoAuthenticator.formateurs = list(settings.formateurs)
        c.DemoAuthenticator.course_id = settings.course_id
        c.DemoAuthenticator.passwords_file = str(passwords_file(settings.hub_dir))
    else:
        from incubo.hub.proconnect import ProConnectAuthenticator

        c.JupyterHub.authenticator_class = ProConnectAuthenticator


def configure_spawner(c, settings: HubSettings) -> None:
    """One Unix account per user, French JupyterLab opening on their home; cheap spawns on 2 cores."""
    if settings.spawner == "unix":
        from incubo.hub.spawner import IncuboSpawner

        c.JupyterHub.spawner_class = IncuboSpawner
        c.IncuboSpawner.home_base = str(settings.home_base)
        if "cmd" not in c.Spawner:
            from incubo.hub.pythonenv import learner_python

            python = learner_python(settings)
            c.Spawner.cmd = [python, "-m", "jupyterhub.singleuser"]
            env = dict(c.Spawner.environment) if "environment" in c.Spawner else {}
            env.setdefault("PATH", f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin")
            c.Spawner.environment = env
    # the first screen: the RGPD notice until the agent has read its current version, then
    # JupyterLab (incubo.hub.rgpd_page's WelcomeHandler)
    c.Spawner.default_url = "/incubo/accueil"
    c.Spawner.notebook_dir = "~"
    # 30 servers starting together on 2 cores take longer than the 30 s default to answer
    c.Spawner.http_timeout = 180
    c.Spawner.start_timeout = 300
    args = list(c.Spawner.args) if "args" in c.Spawner else []
    args += [
        "--LabApp.news_url=",  # no "Jupyter news" pop-up (also off in the lab overrides)
        "--ServerApp.shutdown_no_activity_timeout=0",
        # skip what a learner's server never uses: faster start, less memory per learner
        "--ServerApp.jpserver_extensions=jupyter_lsp=False",
        f"--ServerApp.extra_template_paths={SERVER_TEMPLATES}",
    ]
    c.Spawner.args = args
    env = dict(c.Spawner.environment) if "environment" in c.Spawner else {}
    env.setdefault("LANG", "fr_FR.UTF-8")
    env.setdefault("INCUBO_COURSE_ID", settings.course_id)
    c.Spawner.environment = env


def configure_state(c, settings: HubSettings) -> None:
    """Hub state in hub_dir; servers left running when the hub stops (a restart costs nobody their work)."""
    prepare_hub_dir(settings)
    c.JupyterHub.db_url = settings.db_url
    c.JupyterHub.cookie_secret_file = str(settings.cookie_secret_file)
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.template_paths = [str(TEMPLATES)]
    c.JupyterHub.jinja_environment_options = {"extensions": ["incubo.hub.page_text.FrenchPage"]}
    c.JupyterHub.template_vars = {"incubo_cours": settings.course_id}
    c.JupyterHub.shutdown_on_logout = False
    tornado = dict(c.JupyterHub.tornado_settings) if "tornado_settings" in c.JupyterHub else {}
    tornado.setdefault(
        "slow_spawn_timeout", 0
    )  # show the French waiting page at once, not after 10 s
    c.JupyterHub.tornado_settings = tornado
    token = private_file(settings.service_token_file)
    _append(c, "JupyterHub", "services", [{"name": SERVICE_NAME, "api_token": token}])
    _append(
        c,
        "JupyterHub",
        "load_roles",
        [
            {
                "name": "incubo-service",
                "description": "Préchauffage et administration de la salle (incubo hub).",
                "scopes": ["admin:users", "admin:servers", "list:users", "read:users"],
                "services": [SERVICE_NAME],
            },
            {
                "name": "incubo-formateur",
                "description": "Formateurs : voir la salle, démarrer et arrêter les serveurs.",
                "scopes": TRAINER_SCOPES,
                "groups": [f"formgrade-{settings.course_id}"],
            },
        ],
    )


def configure(c, settings: HubSettings | None = None) -> None:
    """Apply the whole room configuration to the JupyterHub config object `c`."""
    settings = settings or hub_settings()
    check(settings)
    configure_state(c, settings)
    configure_auth(c, settings)
    configure_spawner(c, settings)
    # Nothing here creates an account or a group: the hub's start does (incubo.hub.privileges).
    configure_exchange(c, settings)
    configure_services(c, settings)
