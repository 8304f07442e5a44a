"""The small-group threshold k: never below 5 with real data, unless a research protocol says so.

The README promises that every group of fewer than 5 learners is masked. A
report run with a real pseudonymisation key and `-p k 2` would publish groups
of two: it is refused before anything runs or is written. A research
protocol that needs a lower threshold (approved by its ethics or data
protection officer) names itself with `--derogation-k REFERENCE`: the run is
then logged in `<output>/derogations-k.log` and the report says so on its
first page. Demo data (`--demo`) is synthetic and may use any k.
"""

from __future__ import annotations

import getpass
import html
import logging
from datetime import UTC, datetime
from pathlib import Path

from incubo.errors import IncuboError

log = logging.getLogger(__name__)

MIN_K = 5
LOG_NAME = "derogations-k.log"


def check(k: int, *, demo: bool, derogation: str | None) -> str | None:
    """Refuse k < MIN_K on real data without a protocol reference; return the notice to print, if any."""
    if k >= MIN_K or demo:
        return None
    reference = (derogation or "").strip()
    if not reference:
        raise IncuboError(
            f"Avec des données réelles, le seuil de masquage des petits groupes ne peut pas descendre sous {MIN_K} "
            f"(k = {k} demandé) : les groupes de moins de {MIN_K} personnes doivent rester masqués. "
            "Si un protocole de recherche validé l'exige, indiquez sa référence avec --derogation-k.",
            code="seuil-trop-bas",
        )
    return (
        f"Dérogation au seuil de masquage : les groupes de {k} personnes ou plus sont affichés "
        f"(au lieu de {MIN_K}), au titre du protocole de recherche « {reference} »."
    )


def record(out_dir: Path, report: str, k: int, reference: str) -> Path:
    """Append the override to the output folder's log (who, when, which report, which protocol)."""
    path = Path(out_dir) / LOG_NAME
    when = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "?"
    line = f"{when}\t{user}\trapport={report}\tk={k}\tprotocole={reference.strip()}\n"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)
    log.warning(
        "k=%s below %s for report %s under protocol %r (logged in %s)",
        k,
        MIN_K,
        report,
        reference,
        path,
    )
    return path


def banner_cell(notice: str):
    """A markdown cell for the top of the report: the override is the first thing a reader sees."""
    import nbformat

    return nbformat.v4.new_markdown_cell(
        '<div class="derogation" role="note" style="border:2px solid #b34000;background:#fff4e5;padding:.6rem 1rem">'
        f"<strong>Attention :</strong> {html.escape(notice)}</div>"
    )
