"""Where things are: the one typed home of every `INCUBO_*` environment variable, and of paths.

Every part reads its settings through `settings()` (read at each call, so a
test or a kernel that changes the environment is seen at once); a part that
passes a variable to a child process names it with `env_var(field)`. Hub
settings live in the `# --- hub ---` block at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

#: Default course directory (nbgrader's `CourseDirectory.root`), relative to the current directory.
DEFAULT_COURSE_DIR = Path("_build") / "cours"
#: Default folder of course sources, relative to the current directory.
DEFAULT_COURSES_DIR = Path("courses")
#: Default base of activity ids (xAPI), when `INCUBO_ACTIVITY_BASE` is not set.
DEFAULT_ACTIVITY_BASE = "https://incubo.occitanie.local"
#: Statements asked per page when reading an LRS.
DEFAULT_LRS_PAGE_SIZE = 1000
#: Seconds between two refreshes of the trainer's dashboard.
DEFAULT_DASHBOARD_REFRESH = 30.0
#: Questions a day in « Ma révision du jour » (incubo.review).
DEFAULT_REVISION_MAX = 5

_TRUE = ("1", "true", "oui", "yes")


def _var(name: str, doc: str, default=None):
    """A settings field bound to one environment variable (its name is in the field's metadata)."""
    kwargs = {"default_factory": default} if callable(default) else {"default": default}
    return field(metadata={"env": name, "doc": doc}, **kwargs)


def _path(value: str) -> Path:
    return Path(value).expanduser()


@dataclass(frozen=True)
class Settings:
    """Every `INCUBO_*` environment variable of the product (the hub's are in `HubSettings` below)."""

    course_dir: Path | None = _var(
        "INCUBO_COURSE_DIR",
        "the nbgrader course directory (else --course-dir, cwd, ./_build/cours)",
    )
    courses_dir: Path | None = _var(
        "INCUBO_COURSES_DIR", "course sources read by the apps (quiz banks, titles)"
    )
    apps_dir: Path | None = _var("INCUBO_APPS_DIR", "the app notebooks `incubo apps` serves")
    analyses_dir: Path | None = _var(
        "INCUBO_ANALYSES_DIR", "the research notebooks `incubo report` runs"
    )
    events_file: Path | None = _var(
        "INCUBO_EVENTS_FILE", "the learner's own journal (else ~/.incubo/evenements.jsonl)"
    )
    events_dir: Path | None = _var(
        "INCUBO_EVENTS_DIR", "the room's journals (else <course dir>/evenements)"
    )
    spool_dir: Path = _var(
        "INCUBO_SPOOL_DIR",
        "statements waiting for the LRS",
        lambda: Path.home() / ".incubo" / "file-attente",
    )
    lrs_url: str = _var(
        "INCUBO_LRS_URL", "the Learning Record Store (Ralph); empty: journal only", ""
    )
    lrs_auth: str = _var("INCUBO_LRS_AUTH", "user:password for the LRS (HTTP Basic)", "")
    lrs_page_size: int = _var(
        "INCUBO_LRS_PAGE_SIZE",
        "statements per page when a report reads the LRS",
        DEFAULT_LRS_PAGE_SIZE,
    )
    activity_base: str = _var(
        "INCUBO_ACTIVITY_BASE", "base IRI of activity ids and extensions", DEFAULT_ACTIVITY_BASE
    )
    actor_homepage: str = _var(
        "INCUBO_ACTOR_HOMEPAGE", "the actor's account homePage (else the hub's URL)", ""
    )
    registration: str = _var(
        "INCUBO_REGISTRATION",
        "context.registration of every statement (a cohort or session id)",
        "",
    )
    grading: bool = _var(
        "INCUBO_GRADING",
        "set in the autograde sandbox: widgets emit nothing, show plain text",
        False,
    )
    gradebook_url: str = _var(
        "INCUBO_GRADEBOOK_URL",
        "the gradebook the dashboard reads (else <course dir>/gradebook.db)",
        "",
    )
    dashboard_refresh: float = _var(
        "INCUBO_DASHBOARD_REFRESH", "seconds between dashboard refreshes", DEFAULT_DASHBOARD_REFRESH
    )
    pseudonym_key: str = _var("INCUBO_PSEUDONYM_KEY", "the reports' pseudonymisation key", "")
    pseudonym_key_file: Path | None = _var(
        "INCUBO_PSEUDONYM_KEY_FILE", "a file holding that key, outside the checkout"
    )
    time_zone: str = _var(
        "INCUBO_FUSEAU_HORAIRE",
        "the room's time zone for the times shown to people (« America/Cayenne »)",
        "Europe/Paris",
    )
    pseudonym_demo: bool = _var(
        "INCUBO_PSEUDONYM_DEMO", "use the public demo key (demo data only)", False
    )
    workspace: Path | None = _var(
        "INCUBO_WORKSPACE", "the learner's workspace `incubo lab` opens (else ~/espace-incubo)"
    )
    revision_max: int = _var(
        "INCUBO_REVISION_MAX",
        "questions a day in « Ma révision du jour » (spaced review)",
        DEFAULT_REVISION_MAX,
    )
    recherche_base: str = _var(
        "INCUBO_RECHERCHE_BASE",
        "legal basis of the research use: opposition (included unless the agent objects) "
        "or consentement (excluded unless the agent agrees)",
        "opposition",
    )
    conservation_mois: int = _var(
        "INCUBO_CONSERVATION_MOIS",
        "months learning statements are kept (`incubo rgpd purger` deletes older ones)",
        24,
    )
    rgpd_contact: str = _var(
        "INCUBO_RGPD_CONTACT", "whom agents write to about their data (shown in the notice)", ""
    )
    rgpd_dir: Path | None = _var(
        "INCUBO_RGPD_DIR",
        "the RGPD store: choices, acknowledgements, erasure register "
        "(else <hub dir>/rgpd on a hub, ~/.incubo/rgpd on one machine)",
    )
    lrs_fs_dir: Path | None = _var(
        "INCUBO_LRS_FS_DIR",
        "the data folder of Ralph's file backend, which erasure and purge rewrite "
        "(else <hub dir>/lrs/donnees on a hub)",
    )

    @property
    def journal(self) -> Path:
        """The learner's own journal of statements: `INCUBO_EVENTS_FILE`, else `~/.incubo/evenements.jsonl`."""
        return self.events_file or Path.home() / ".incubo" / "evenements.jsonl"

    @property
    def lrs_credentials(self) -> tuple[str, str] | None:
        """`INCUBO_LRS_AUTH` as (user, password), or None."""
        if not self.lrs_auth:
            return None
        user, _, password = self.lrs_auth.partition(":")
        return user, password


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings as the environment gives them now (unset or empty variables keep their default)."""
    env = os.environ if env is None else env
    values = {}
    for f in fields(Settings):
        raw = env.get(f.metadata["env"], "")
        if not raw.strip():
            continue
        raw = raw.strip()
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        try:
            if kind.startswith("Path"):
                values[f.name] = _path(raw)
            elif kind == "bool":
                values[f.name] = raw.lower() in _TRUE
            elif kind == "int":
                values[f.name] = int(raw)
            elif kind == "float":
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        except ValueError:
            continue  # a malformed number keeps the default, as before
    return Settings(**values)


def env_var(name: str) -> str:
    """The environment variable behind a `Settings` field, for a part that sets it for a child process."""
    for f in fields(Settings):
        if f.name == name:
            return f.metadata["env"]
    raise KeyError(name)


#: Kept for the hub block below and for callers that set it for a child process.
ENV_COURSE_DIR = env_var("course_dir")
#: The learner's workspace `incubo lab` opens (a copy of the released parcours), see incubo.workspace.
ENV_WORKSPACE = env_var("workspace")
#: Default learner's workspace: a folder of their own, outside any course directory.
DEFAULT_WORKSPACE = Path("~") / "espace-incubo"


def project_root() -> Path:
    """The source checkout when running from one (for notebooks/ and courses/)."""
    return Path(__file__).resolve().parent.parent


def course_dir(value: str | os.PathLike | None = None) -> Path:
    """The nbgrader course directory: `--course-dir`, else `INCUBO_COURSE_DIR`, else the current
    folder when it is a course directory, else the default."""
    if value:
        return Path(value).expanduser().resolve()
    env = settings().course_dir
    if env:
        return env.resolve()
    here = Path.cwd()
    if is_course_dir(here):  # a trainer who `cd`-ed into the course folder
        return here.resolve()
    return (here / DEFAULT_COURSE_DIR).resolve()


def is_course_dir(path: Path) -> bool:
    """An nbgrader course directory: its config next to its sources, release or gradebook."""
    from incubo.course_layout import CourseLayout

    return CourseLayout(Path(path)).is_course_dir()


def workspace_dir(value: str | os.PathLike | None = None) -> Path:
    """The learner's workspace: `--espace`, else `INCUBO_WORKSPACE`, else `~/espace-incubo`."""
    raw = value or settings().workspace or DEFAULT_WORKSPACE
    return Path(raw).expanduser().resolve()


def courses_dir(value: str | os.PathLike | None = None) -> Path:
    """The folder of course sources: `--courses`, else `./courses`."""
    return (
        Path(value).expanduser().resolve()
        if value
        else (Path.cwd() / DEFAULT_COURSES_DIR).resolve()
    )


@dataclass(frozen=True)
class Context:
    """What every command receives: resolved global options."""

    course_dir: Path
    debug: bool = False


# --- hub ---


@dataclass(frozen=True)
class ProConnectSettings:
    """The ProConnect client registration (values given by ProConnect's partner space)."""

    issuer: str = ""  # PROCONNECT_ISSUER, ends in /api/v2
    client_id: str = ""  # PROCONNECT_CLIENT_ID
    client_secret: str = ""  # PROCONNECT_CLIENT_SECRET
    callback_url: str = ""  # PROCONNECT_CALLBACK_URL, e.g. https://hub/hub/oauth_callback
    post_logout_url: str = ""  # PROCONNECT_POST_LOGOUT_URL, exactly as registered
    acr_values: str = "eidas1"  # PROCONNECT_ACR_VALUES
    sirets: tuple[str, ...] = ()  # PROCONNECT_SIRETS: only these administrations (empty: all)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ProConnectSettings:
        env = os.environ if env is None else env
        return cls(
            issuer=env.get("PROCONNECT_ISSUER", "").rstrip("/"),
            client_id=env.get("PROCONNECT_CLIENT_ID", ""),
            client_secret=env.get("PROCONNECT_CLIENT_SECRET", ""),
            callback_url=env.get("PROCONNECT_CALLBACK_URL", ""),
            post_logout_url=env.get("PROCONNECT_POST_LOGOUT_URL", ""),
            acr_values=env.get("PROCONNECT_ACR_VALUES", "") or "eidas1",
            sirets=tuple(x.replace(" ", "") for x in _env_list(env.get("PROCONNECT_SIRETS"))),
        )


# --- hub services (LRS gate, room dashboard, solutions) ---

ENV_HUB_DIR = "INCUBO_HUB_DIR"
#: Where the LRS gate finds Ralph (set by the hub for its services).
ENV_RALPH_URL = "INCUBO_RALPH_URL"
#: The `homePage` of every learner's actor account: the hub's URL.
ENV_ACTOR_HOMEPAGE = "INCUBO_ACTOR_HOMEPAGE"
#: The solutions service a learner's kernel asks on a hub (unset on one machine).
ENV_SOLUTIONS_URL = "INCUBO_SOLUTIONS_URL"
#: Seconds between two reads of the LRS by the room's dashboard (the gate also wakes it on each write).
ENV_DASHBOARD_POLL = "INCUBO_DASHBOARD_POLL"
#: Where the LRS gate wakes the dashboard up after storing statements.
ENV_DASHBOARD_WAKE_URL = "INCUBO_DASHBOARD_WAKE_URL"


@dataclass(frozen=True)
class ServiceSettings:
    """What a hub service (gate, dashboard, solutions) is told by the hub through its environment."""

    hub_dir: Path
    ralph_url: str
    homepage: str
    bind_url: str
    prefix: str
    course_dir: Path
    lrs_url: str
    lrs_auth: str
    poll_seconds: float
    wake_url: str = ""
    ralph_auth: str = ""


def service_settings() -> ServiceSettings:
    """Read a hub service's environment (JupyterHub sets `JUPYTERHUB_SERVICE_*`, incubo the rest)."""
    env = os.environ
    try:
        poll = max(0.2, float(env.get(ENV_DASHBOARD_POLL, "5")))
    except ValueError:
        poll = 5.0
    return ServiceSettings(
        hub_dir=Path(env.get(ENV_HUB_DIR, ".")).expanduser().resolve(),
        ralph_url=env.get(ENV_RALPH_URL, ""),
        homepage=env.get(ENV_ACTOR_HOMEPAGE, "http://localhost"),
        bind_url=_bind_url(
            env.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8101"), env.get(ENV_SERVICE_BIND_IP)
        ),
        prefix=env.get("JUPYTERHUB_SERVICE_PREFIX", "/"),
        course_dir=course_dir(),
        lrs_url=env.get("INCUBO_LRS_URL", ""),
        lrs_auth=env.get("INCUBO_LRS_AUTH", ""),
        poll_seconds=poll,
        wake_url=env.get(ENV_DASHBOARD_WAKE_URL, ""),
        ralph_auth=env.get(ENV_RALPH_AUTH, ""),
    )


def _bind_url(url: str, ip: str | None) -> str:
    """The service's URL with its host replaced by `ip` (listening on every interface in a pod)."""
    if not ip:
        return url
    from urllib.parse import urlparse

    parsed = urlparse(url)
    return parsed._replace(netloc=f"{ip}:{parsed.port or 80}").geturl()


def solutions_url() -> str | None:
    """The solutions service of the hub, when this kernel runs on one."""
    return (os.environ.get(ENV_SOLUTIONS_URL) or "").strip() or None


#: Ralph's Python on a hub (its own virtualenv); default: the checkout's `.venv-ralph`.
ENV_RALPH_PYTHON = "INCUBO_RALPH_PYTHON"
#: The gate's `user:password` at a Ralph the hub does not start (given to the gate only).
ENV_RALPH_AUTH = "INCUBO_RALPH_AUTH"
#: Where a hub service listens (its JupyterHub URL's host otherwise; `0.0.0.0` in a pod).
ENV_SERVICE_BIND_IP = "INCUBO_SERVICE_BIND_IP"


@dataclass(frozen=True)
class RoomServicesSettings:
    """How the room's services are laid out: one VM (defaults) or a hub pod (the region)."""

    ralph_url: str = (
        ""  # INCUBO_HUB_RALPH_URL: a Ralph the hub does not start (Helm chart, ClickHouse)
    )
    ralph_auth: str = ""  # INCUBO_HUB_RALPH_AUTH: the gate's user:password at that Ralph
    bind_ip: str = "127.0.0.1"  # INCUBO_HUB_SERVICES_IP: where the services listen
    host: str = "127.0.0.1"  # INCUBO_HUB_SERVICES_HOST: how learners' servers reach them (a Service's DNS name)
    ports: tuple[
        tuple[str, int], ...
    ] = ()  # INCUBO_HUB_SERVICES_PORTS: lrs=8101,tableau-de-bord=8102,solutions=8103


def room_services_settings(env=None) -> RoomServicesSettings:
    """Read the room services' layout from the environment of `incubo hub` (or the Z2JH hub pod)."""
    env = os.environ if env is None else env
    ports = []
    for item in (env.get("INCUBO_HUB_SERVICES_PORTS") or "").split(","):
        name, sep, value = item.strip().partition("=")
        if sep and value.strip().isdigit():
            ports.append((name.strip(), int(value)))
    return RoomServicesSettings(
        ralph_url=(env.get("INCUBO_HUB_RALPH_URL") or "").strip().rstrip("/"),
        ralph_auth=(env.get("INCUBO_HUB_RALPH_AUTH") or "").strip(),
        bind_ip=(env.get("INCUBO_HUB_SERVICES_IP") or "127.0.0.1").strip(),
        host=(env.get("INCUBO_HUB_SERVICES_HOST") or "127.0.0.1").strip(),
        ports=tuple(ports),
    )


def ralph_python() -> Path:
    """The Python that runs Ralph for the hub: `INCUBO_RALPH_PYTHON`, else `<checkout>/.venv-ralph/bin/python`."""
    value = os.environ.get(ENV_RALPH_PYTHON)
    return Path(value).expanduser() if value else project_root() / ".venv-ralph" / "bin" / "python"


# --- hub: the room ---
# Everything `incubo hub`, the TLJH plugin and Z2JH read (see docs/contracts.md and hub/config.py).

#: Where the hub keeps its state when INCUBO_HUB_DIR is not set (the VM layout of deploy/README.md).
DEFAULT_HUB_DIR = Path("/srv/incubo/hub")
#: System account that owns the course directory and runs the formgrader (never root).
DEFAULT_GRADER_USER = "incubo-correcteur"
#: System account of the services that parse learners' requests (LRS gate, Ralph, dashboard, proxy).
DEFAULT_SERVICE_USER = "incubo-services"
#: Unix group of the trainers' accounts and of the grader (enters learners' exchange folders).
DEFAULT_TRAINERS_GROUP = "incubo-formateurs"


def _env_list(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in (value or "").split(",") if v.strip()))


def _env_int(env, name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        from incubo.errors import IncuboError

        raise IncuboError(
            f"La variable {name} doit être un nombre entier (reçu « {raw} »).",
            code="config-invalide",
        ) from None


@dataclass(frozen=True)
class HubSettings:
    """The room's hub settings, read once from the environment (see `hub_settings`)."""

    hub_dir: Path  # INCUBO_HUB_DIR: hub db, cookie secret, proxy token, exchange, logs
    auth: str = "demo"  # INCUBO_HUB_AUTH: demo | proconnect
    demo_password: str = ""  # INCUBO_DEMO_PASSWORD (demo login only; required then)
    formateurs: tuple[str, ...] = ()  # INCUBO_HUB_FORMATEURS: hub user names of the trainers
    db_url: str = ""  # INCUBO_HUB_DB_URL (default: SQLite in hub_dir)
    course_dir: Path = Path(DEFAULT_COURSE_DIR)  # INCUBO_COURSE_DIR / --course-dir
    course_id: str = "incubo"  # INCUBO_COURSE_ID
    ip: str = "127.0.0.1"  # INCUBO_HUB_IP: where `incubo hub` listens
    port: int = 8000  # INCUBO_HUB_PORT
    hub_port: int = 8081  # INCUBO_HUB_API_PORT: the hub's own API (127.0.0.1)
    proxy_api_port: int = (
        8001  # INCUBO_HUB_PROXY_API_PORT: configurable-http-proxy's API (127.0.0.1)
    )
    public_url: str = ""  # INCUBO_HUB_PUBLIC_URL: the address learners type (for links and logs)
    home_base: Path = Path("/home")  # INCUBO_HUB_HOME_BASE: learners' Unix homes go under it
    spawner: str = (
        "unix"  # INCUBO_HUB_SPAWNER: unix (one Unix account each) | externe (Z2JH sets its own)
    )
    proxy_cmd: str = (
        ""  # INCUBO_HUB_PROXY_CMD: configurable-http-proxy (else found by incubo.hub.local)
    )
    python: str = (
        ""  # INCUBO_HUB_PYTHON: interpreter of learners' servers (else incubo.hub.pythonenv)
    )
    grader_user: str = DEFAULT_GRADER_USER  # INCUBO_HUB_COMPTE_CORRECTEUR: owns the course directory, runs the formgrader
    service_user: str = DEFAULT_SERVICE_USER  # INCUBO_HUB_COMPTE_SERVICES: runs the LRS gate, Ralph, dashboard, solutions, proxy
    trainers_group: str = DEFAULT_TRAINERS_GROUP  # INCUBO_HUB_GROUPE_FORMATEURS: trainers' Unix accounts and the grader

    @property
    def cookie_secret_file(self) -> Path:
        return self.hub_dir / "cookie_secret"

    @property
    def proxy_token_file(self) -> Path:
        return self.hub_dir / "proxy_token"

    @property
    def service_token_file(self) -> Path:
        """Token of the hub's own `incubo` service (warm-up, administration), readable by root only."""
        return self.hub_dir / "service_token"

    @property
    def exchange_dir(self) -> Path:
        return self.hub_dir / "exchange"

    @property
    def logs_dir(self) -> Path:
        return self.hub_dir / "logs"

    @property
    def url(self) -> str:
        """The hub's public address (what a learner types)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "", "::") else self.ip
        return f"http://{host}:{self.port}"


def hub_dir(value: str | os.PathLike | None = None, env=None) -> Path:
    """The hub's state folder: argument, else INCUBO_HUB_DIR, else /srv/incubo/hub."""
    env = os.environ if env is None else env
    raw = value or env.get("INCUBO_HUB_DIR", "").strip()
    return Path(raw).expanduser().resolve() if raw else DEFAULT_HUB_DIR


#: The hub's internal ports (its API, the proxy's API) chosen by `incubo hub` when the defaults were
#: taken, remembered in the hub folder so every command of this room finds them.
INTERNAL_PORTS_FILE = "ports-internes.json"


def internal_ports(state: Path) -> dict[str, int]:
    try:
        data = json.loads((state / INTERNAL_PORTS_FILE).read_text())
        return {k: int(v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


#: The room's public address (ip, port, public URL) of the last `incubo hub` run on this hub folder,
#: so that commands typed later in a plain root shell (`incubo seance ouvrir`) print the real one.
PUBLIC_ADDRESS_FILE = "adresse.json"


def public_address(state: Path) -> dict:
    try:
        data = json.loads((state / PUBLIC_ADDRESS_FILE).read_text())
        return {
            "ip": str(data.get("ip") or ""),
            "port": int(data["port"]) if data.get("port") else 0,
            "public_url": str(data.get("public_url") or ""),
        }
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def remember_public_address(settings: HubSettings) -> None:
    """Written by `incubo hub` when the room starts (see PUBLIC_ADDRESS_FILE)."""
    data = {"ip": settings.ip, "port": settings.port, "public_url": settings.public_url}
    (settings.hub_dir / PUBLIC_ADDRESS_FILE).write_text(json.dumps(data) + "\n", encoding="utf-8")


def hub_settings(env=None, **overrides) -> HubSettings:
    """Read the hub settings from `env` (default: os.environ); keyword arguments win.

    The public address not given in `env` is the one the room last started with (`adresse.json`).
    """
    env = os.environ if env is None else env
    state = hub_dir(overrides.pop("hub_dir", None), env)
    internal = internal_ports(state)
    address = public_address(state)
    values = dict(
        hub_dir=state,
        auth=env.get("INCUBO_HUB_AUTH", "demo").strip().lower() or "demo",
        demo_password=env.get("INCUBO_DEMO_PASSWORD", ""),
        formateurs=_env_list(env.get("INCUBO_HUB_FORMATEURS")),
        db_url=env.get("INCUBO_HUB_DB_URL", "").strip()
        or f"sqlite:///{state / 'jupyterhub.sqlite'}",
        course_dir=course_dir(overrides.pop("course_dir", None) or env.get(ENV_COURSE_DIR)),
        course_id=env.get("INCUBO_COURSE_ID", "").strip() or "incubo",
        ip=env.get("INCUBO_HUB_IP", "").strip() or address.get("ip") or "127.0.0.1",
        port=_env_int(env, "INCUBO_HUB_PORT", address.get("port") or 8000),
        hub_port=_env_int(env, "INCUBO_HUB_API_PORT", internal.get("hub", 8081)),
        proxy_api_port=_env_int(env, "INCUBO_HUB_PROXY_API_PORT", internal.get("proxy-api", 8001)),
        public_url=env.get("INCUBO_HUB_PUBLIC_URL", "").strip() or address.get("public_url", ""),
        home_base=Path(env.get("INCUBO_HUB_HOME_BASE", "").strip() or "/home"),
        spawner=env.get("INCUBO_HUB_SPAWNER", "").strip().lower() or "unix",
        proxy_cmd=env.get("INCUBO_HUB_PROXY_CMD", "").strip(),
        python=env.get("INCUBO_HUB_PYTHON", "").strip(),
        grader_user=env.get("INCUBO_HUB_COMPTE_CORRECTEUR", "").strip() or DEFAULT_GRADER_USER,
        service_user=env.get("INCUBO_HUB_COMPTE_SERVICES", "").strip() or DEFAULT_SERVICE_USER,
        trainers_group=env.get("INCUBO_HUB_GROUPE_FORMATEURS", "").strip()
        or DEFAULT_TRAINERS_GROUP,
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    return HubSettings(**values)
