"""A warm room: start the expected learners' servers before the session.

Thirty servers starting at 9:00 on two cores take more than a minute each;
started the evening before or at 8:30, a learner logging in lands on a lab
that is already up. Goes through the hub's REST API as the `incubo` service,
a few at a time so each start stays well inside the hub's timeouts.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from incubo import console
from incubo.config import HubSettings
from incubo.errors import IncuboError

log = logging.getLogger(__name__)


def read_names(path: str | Path) -> list[str]:
    """One learner name per line (blank lines and `#` comments ignored)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise IncuboError(
            f"Impossible de lire la liste « {path} » ({exc.strerror}).", code="fichier-illisible"
        ) from None
    return [
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    ]


def warm_one(api, name: str, timeout: float) -> str | None:
    """Start one server and wait until it is ready; None when ready, else a French reason."""
    try:
        api.ensure_user(name)
        if api.server_state(name) == "pret":
            return None
        api.start_server(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = api.server_state(name)
            if state == "pret":
                return None
            if state == "arrete":
                return "le serveur s'est arrêté au démarrage (voir le journal du hub)"
            time.sleep(0.5)
        return f"pas prêt après {int(timeout)} s"
    except IncuboError as exc:
        return exc.message


def warm(
    settings: HubSettings, names: list[str], *, parallel: int = 4, timeout: float = 300
) -> int:
    """Start the servers of `names` (default: every user the hub knows); report in French."""
    from incubo.hub.api import HubAPI

    api = HubAPI(settings, timeout=60)
    if not api.alive():
        raise IncuboError(
            "Le hub ne répond pas : lancez « incubo hub » dans un autre terminal, puis recommencez.",
            code="hub-injoignable",
        )
    names = [n.strip().lower() for n in names if n.strip()]
    if not names:
        from incubo.hub import trainers

        names = [u["name"] for u in api.users() if not trainers.is_trainer(u, settings.course_id)]
    if not names:
        console.info(
            "Aucun apprenant à préchauffer : donnez leurs identifiants (incubo hub prechauffer NOM…)."
        )
        return 0
    names = list(dict.fromkeys(names))
    failures: dict[str, str] = {}
    bar = console.progress_bar(len(names), desc="Préchauffage", unit="serveur")
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for name, reason in zip(
            names, pool.map(lambda n: warm_one(api, n, timeout), names), strict=True
        ):
            bar.update(1)
            if reason:
                failures[name] = reason
    bar.close()
    for name, reason in failures.items():
        console.warning(f"« {name} » : {reason}.")
    ready = len(names) - len(failures)
    console.success(f"{ready} serveur(s) prêt(s) sur {len(names)}.")
    return 1 if failures else 0
