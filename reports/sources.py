"""Where a report's data comes from: statement files or an LRS, a gradebook, a learners file.

Defaults follow the course directory (see docs/contracts.md, « Research data »):
`<course>/evenements/*.jsonl` (what `incubo demo-data` writes, and where
exported learner files can be dropped), the per-learner file named by
`INCUBO_EVENTS_FILE`, `<course>/gradebook.db`, `<course>/apprenants.csv`.
On the hub's machine (INCUBO_HUB_DIR, else /srv/incubo/hub, holding an LRS) and
without INCUBO_LRS_URL, the default is the room's own LRS, read through its gate
with the `recherche` reader's credentials. An `http(s)://` source is an xAPI LRS: its statements are fetched page by page
(`more`) and stored already pseudonymised, so no intermediate file holds an
identity.
"""

from __future__ import annotations

import glob
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from incubo import course_layout, lrs
from incubo.config import course_dir as resolve_course_dir
from incubo.config import env_var, settings
from incubo.errors import IncuboError

log = logging.getLogger(__name__)

EVENTS_DIR = course_layout.EVENTS
LEARNERS_FILE = course_layout.LEARNERS
GRADEBOOK = course_layout.GRADEBOOK
ENV_EVENTS_FILE = env_var("events_file")


@dataclass
class Sources:
    course_dir: Path
    event_files: list[Path] = field(default_factory=list)
    lrs_urls: list[str] = field(default_factory=list)
    lrs_auth: dict[str, str] = field(default_factory=dict)  # per URL, else INCUBO_LRS_AUTH
    gradebook_url: str | None = None
    learners_file: Path | None = None


def _split(value: str) -> list[str]:
    """Several sources are separated by « ; » (not « : », which URLs contain)."""
    return [v.strip() for v in value.split(";") if v.strip()] if value else []


def _expand(item: str, base: Path) -> list[Path]:
    path = Path(item).expanduser()
    if not path.is_absolute():
        path = base / path
    if any(ch in item for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(str(path)))
    if path.is_dir():
        return sorted(path.glob("*.jsonl")) + sorted(path.glob("*.json"))
    if path.exists():
        return [path]
    raise IncuboError(
        f"La source de statements « {item} » n'existe pas. Donnez un fichier JSON Lines, un dossier, un motif ou l'URL d'un LRS.",
        code="source-absente",
    )


def resolve(
    dossier_cours: str = "", evenements: str = "", carnet: str = "", apprenants: str = ""
) -> Sources:
    """Find the data sources; a French error when a named one is missing or no statements are found."""
    cdir = resolve_course_dir(dossier_cours or None)
    src = Sources(course_dir=cdir)
    items = _split(evenements)
    config = settings()
    # on the hub's machine, the room's own LRS; never under the public demo key
    hub = None if items or config.lrs_url.strip() or config.pseudonym_demo else _hub_lrs()
    if hub is not None:
        src.lrs_urls.append(hub[0])
        src.lrs_auth[hub[0]] = hub[1]
    elif not items:
        default = cdir / EVENTS_DIR
        if default.is_dir():
            items.append(str(default))
        named = config.events_file
        if named and named.exists():
            items.append(str(named))
    for item in items:
        if item.startswith(("http://", "https://")):
            src.lrs_urls.append(item)
        else:
            src.event_files.extend(_expand(item, Path.cwd()))
    if not src.event_files and not src.lrs_urls:
        raise IncuboError(
            f"Aucune source de statements : ni {cdir / EVENTS_DIR} ni ${ENV_EVENTS_FILE}. "
            "Précisez-en une avec -p evenements CHEMIN (ou l'URL d'un LRS), ou lancez « incubo demo-data ».",
            code="source-manquante",
        )
    if carnet:
        src.gradebook_url = (
            carnet if "://" in carnet else f"sqlite:///{Path(carnet).expanduser().resolve()}"
        )
        _check_gradebook_url(src.gradebook_url)
    elif (cdir / GRADEBOOK).exists():
        src.gradebook_url = f"sqlite:///{cdir / GRADEBOOK}"
    if apprenants:
        path = Path(apprenants).expanduser().resolve()
        if not path.exists():
            raise IncuboError(
                f"Le fichier des apprenants « {apprenants} » n'existe pas.",
                code="apprenants-absent",
            )
        src.learners_file = path
    elif (cdir / LEARNERS_FILE).exists():
        src.learners_file = cdir / LEARNERS_FILE
    return src


def _hub_lrs() -> tuple[str, str] | None:
    """On the hub's machine: the room's own LRS, read through its gate as `recherche`.

    The hub is INCUBO_HUB_DIR, else /srv/incubo/hub; None when there is none here. The gate must
    answer (the hub running): else one French sentence, not a silent fall back to files.
    """
    import socket
    from urllib.parse import urlparse

    from incubo import room_lrs
    from incubo.config import hub_dir

    folder = hub_dir()
    if not folder.is_dir():
        return None
    try:
        access = room_lrs.reader_access(folder, "recherche")
    except PermissionError:
        raise IncuboError(
            f"Le LRS du hub ({folder / 'lrs'}) n'est lisible qu'en root : relancez la commande en root, "
            "ou donnez une source avec -p evenements.",
            code="lrs-hub-illisible",
        ) from None
    except (OSError, ValueError, KeyError):
        return None
    if access is None:
        return None
    url = urlparse(access[0])
    try:
        socket.create_connection((url.hostname, url.port), timeout=3).close()
    except OSError:
        raise IncuboError(
            f"Le LRS du hub ({folder}) ne répond pas : démarrez le hub (« incubo hub ») puis relancez, "
            "ou donnez une source avec -p evenements.",
            code="lrs-hub-arrete",
        ) from None
    return access


def _check_gradebook_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise IncuboError(
            f"L'adresse du carnet de notes « {url} » n'est pas une URL SQLAlchemy valide.",
            code="carnet-invalide",
        ) from None
    if (
        parsed.drivername.startswith("sqlite")
        and parsed.database
        and not Path(parsed.database).exists()
    ):
        raise IncuboError(
            f"Le carnet de notes {parsed.database} n'existe pas.", code="carnet-absent"
        )


def probe_lrs(url: str, auth: str | None = None) -> None:
    """Fail early, in French, when the LRS cannot be read (before any notebook runs)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fetch_lrs(
            url, Path(tmp) / "sonde.jsonl", lambda s: {}, timeout=10, pages=1, limit=1, auth=auth
        )


def fetch_lrs(
    url: str,
    out: Path,
    transform: Callable[[dict], dict],
    *,
    timeout: float = 30,
    pages: int | None = None,
    limit: int | None = None,
    query: dict[str, str] | None = None,
    auth: str | None = None,
) -> int:
    """Copy an LRS's statements into `out` (JSON Lines), each passed through `transform` first.

    `query`: xAPI filters the LRS applies (`{"registration": …}` for one séance). `auth`:
    `user:password`, else INCUBO_LRS_AUTH.
    """
    count = 0
    with open(out, "w", encoding="utf-8") as fh:
        # the same version header and Basic auth (INCUBO_LRS_AUTH) as `incubo events`
        for stmt in lrs.iter_statements(
            url,
            query=query,
            limit=limit or settings().lrs_page_size,
            pages=pages,
            timeout=timeout,
            auth=auth,
        ):
            fh.write(json.dumps(transform(stmt), ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    log.info("fetched %d statements from %s", count, url)
    return count
