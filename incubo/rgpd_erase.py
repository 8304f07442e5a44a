"""`incubo rgpd effacer` and `incubo rgpd purger`: erasure of one agent (art. 17), retention (art. 5).

Erasure checks everything before deleting anything (`plan`): the agent is known here, is
not a trainer still listed in `INCUBO_HUB_FORMATEURS`, the LRS answers and its statements
can be erased (Ralph's file backend), the gradebook opens. Then `execute` removes the
agent's statements (LRS files, journals, spools), gradebook rows, submissions and
feedback, exchange copies, their line in the learners file, their choices and
acknowledgements, and (on a hub) their Unix account and home; it checks the LRS holds
nothing more of them and writes the erasure register's entry (no name).

Purge removes every statement older than `INCUBO_CONSERVATION_MOIS` months from the same
statement files and spools.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from incubo import rgpd, xapi
from incubo.config import _env_list
from incubo.errors import IncuboError, suggestion
from incubo.rgpd_export import AgentData, gather
from incubo.rgpd_places import (
    Places,
    is_of,
    read_file,
    read_lrs,
    read_spool_file,
    rewrite_statements,
)

log = logging.getLogger(__name__)


@dataclass
class Plan:
    agent: str
    data: AgentData
    account: str | None = None
    in_hub: bool = False
    in_gradebook: bool = False
    learners_rows: int = 0
    lrs_count: int = 0
    files: dict[Path, int] = field(default_factory=dict)


def trainers(where: Places) -> tuple[str, ...]:
    return where.trainers or _env_list(os.environ.get("INCUBO_HUB_FORMATEURS"))


def plan(
    agent: str,
    where: Places,
    *,
    account_of: Callable[[str], str | None],
    in_hub: Callable[[str], bool] = lambda agent: False,
) -> Plan:
    """Everything erasure will remove, checked; a French error (nothing touched) when it cannot."""
    agent = agent.strip()
    if not agent:
        raise IncuboError("Donnez le nom de l'agent à effacer.", code="agent-vide")
    if agent in trainers(where):
        raise IncuboError(
            f"« {agent} » est encore formateur (INCUBO_HUB_FORMATEURS) : retirez-le de cette liste "
            "et redémarrez le hub avant d'effacer ses données ; rien n'a été effacé.",
            code="formateur-liste",
        )
    _refuse_a_remote_lrs(where, "effacer les traces", "effacé")
    data = _gather_checked(agent, where)
    found = Plan(agent, data, account=account_of(agent), in_hub=in_hub(agent))
    found.lrs_count = data.from_lrs
    found.in_gradebook = agent in _students(where)
    found.learners_rows = len(_learner_rows(where.course_dir, agent)[1])
    for path in where.statement_files():
        mine = sum(1 for s in read_file(path) if xapi.learner_of(s) == agent)
        if mine:
            found.files[path] = mine
    if where.lrs_endpoint:
        in_files = sum(n for path, n in found.files.items() if path.parent == where.lrs_fs_dir)
        if found.lrs_count > in_files:
            raise IncuboError(
                f"Le LRS renvoie {found.lrs_count} traces de « {agent} » mais ses fichiers de données "
                f"({where.lrs_fs_dir}) n'en contiennent que {in_files} : INCUBO_LRS_FS_DIR ne désigne "
                "pas le dossier de ce LRS ; rien n'a été effacé.",
                code="lrs-dossier-incoherent",
            )
    if data.empty and not (
        found.account or found.in_hub or found.in_gradebook or found.learners_rows
    ):
        known = sorted(_known_agents(where))
        raise IncuboError(
            f"Aucune donnée sur l'agent « {agent} » ici.{suggestion(agent, known)} "
            "Vérifiez le nom (celui de sa connexion au hub) ; rien n'a été effacé.",
            code="agent-inconnu",
        )
    return found


def _gather_checked(agent: str, where: Places) -> AgentData:
    try:
        return gather(agent, where)
    except IncuboError:
        raise
    except Exception as exc:  # a gradebook or a file that cannot be read: stop before deleting
        raise IncuboError(
            f"Impossible de lire les données de « {agent} » ({type(exc).__name__} : {exc}) : "
            "rien n'a été effacé.",
            code="lecture-impossible",
        ) from None


def _students(where: Places) -> list[str]:
    if not where.gradebook_url:
        return []
    from incubo import gradebook

    return gradebook.students(where.gradebook_url)


def _known_agents(where: Places) -> set[str]:
    names = set(rgpd.known_agents()) | set(_students(where))
    for path in where.statement_files()[:5]:
        names |= {xapi.learner_of(s) for s in read_file(path)}
    return names


def _learner_rows(course_dir: Path, agent: str) -> tuple[list[str], list[int]]:
    """The learners file's lines, and the indexes of the agent's rows (`identifiant` column)."""
    path = course_dir / "apprenants.csv"
    if not path.is_file():
        return [], []
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    if not lines:
        return lines, []
    header = next(csv.reader([lines[0]]))
    try:
        col = header.index("identifiant")
    except ValueError:
        return lines, []
    hits = []
    for i, line in enumerate(lines[1:], start=1):
        row = next(csv.reader(io.StringIO(line)), [])
        if len(row) > col and row[col] == agent:
            hits.append(i)
    return lines, hits


def execute(
    found: Plan, where: Places, *, remove_account: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Remove everything the plan lists; check the LRS; write the register. The counts removed."""
    agent = found.agent
    mine = is_of(agent)
    removed = {"traces": 0, "fichiers_attente": 0, "notes": 0, "dossiers": 0}
    for path in found.files:
        removed["traces"] += rewrite_statements(path, lambda s: not mine(s))
    for path in where.spool_files():
        stmt = read_spool_file(path)
        if stmt and mine(stmt):
            path.unlink(missing_ok=True)
            removed["fichiers_attente"] += 1
    if found.in_gradebook:
        removed["notes"] = len(found.data.grades)
        _remove_from_gradebook(where.gradebook_url, agent)
    for folder in found.data.folders:
        shutil.rmtree(folder)
        removed["dossiers"] += 1
    if found.learners_rows:
        lines, hits = _learner_rows(where.course_dir, agent)
        path = where.course_dir / "apprenants.csv"
        kept = [line for i, line in enumerate(lines) if i not in set(hits)]
        tmp = path.with_name(".apprenants.csv.tmp")
        tmp.write_text("".join(kept), encoding="utf-8-sig")
        os.replace(tmp, path)
    removed["choix_et_accuses"] = rgpd.forget(agent)
    if (found.account or found.in_hub) and remove_account is not None:
        remove_account(agent)
        removed["compte"] = 1
    if where.lrs_endpoint:
        left = sum(1 for s in read_lrs(where.lrs_endpoint) if mine(s))
        if left:
            raise IncuboError(
                f"Le LRS renvoie encore {left} trace(s) de cet agent après effacement : relancez "
                "la commande (elle reprend où elle s'est arrêtée).",
                code="lrs-reste",
            )
    rgpd.register_erasure(agent, removed)
    return removed


def _remove_from_gradebook(url: str, agent: str) -> None:
    """nbgrader's own removal (submissions, grades, comments), then no trace left in the SQLite file."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        gb.remove_student(agent)
    if url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(url[len("sqlite:///") :])) as db:
            db.execute("VACUUM")  # deleted rows stay in free pages until then


# --- retention --------------------------------------------------------------------------------


def months_ago(when: datetime, months: int) -> datetime:
    """`when` minus whole calendar months (the day clamped to the month's length)."""
    import calendar

    year, month = divmod(when.year * 12 + (when.month - 1) - months, 12)
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)


def _older_than(cutoff: datetime) -> Callable[[dict], bool]:
    def old(stmt: dict) -> bool:
        ts = xapi.timestamp_of(stmt)
        if ts is None:
            return False
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return ts < cutoff

    return old


def _refuse_a_remote_lrs(where: Places, action: str, nothing: str) -> None:
    """Only Ralph's file store on this machine can be rewritten: any other LRS, refuse before touching anything."""
    if where.lrs_endpoint and not (where.lrs_fs_dir and where.lrs_fs_dir.is_dir()):
        raise IncuboError(
            "Le LRS configuré n'est pas le stockage fichier de Ralph de cette machine "
            f"(INCUBO_LRS_FS_DIR) : incubo ne peut pas y {action} "
            f"(voir deploy/ralph/README.md pour ClickHouse) ; rien n'a été {nothing}.",
            code="lrs-non-effacable",
        )


def purge(
    where: Places, months: int, *, simulation: bool = False, now: datetime | None = None
) -> tuple[datetime, dict[str, int]]:
    """Remove (or count, with `simulation`) statements older than `months`; the cutoff and counts per file."""
    cutoff = months_ago(now or datetime.now(UTC), months)
    old = _older_than(cutoff)
    _refuse_a_remote_lrs(where, "supprimer les anciennes traces", "supprimé")
    counts: dict[str, int] = {}
    for path in where.statement_files():
        n = rewrite_statements(path, lambda s: not old(s), dry_run=simulation)
        if n:
            counts[str(path)] = n
    spooled = 0
    for path in where.spool_files():
        stmt = read_spool_file(path)
        if stmt and old(stmt):
            spooled += 1
            if not simulation:
                path.unlink(missing_ok=True)
    if spooled:
        counts["file d'attente"] = spooled
    return cutoff, counts
