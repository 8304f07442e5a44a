"""`incubo rgpd exporter`: everything incubo holds about one agent, in one folder (RGPD art. 15 and 20).

The folder holds `traces.json` (the agent's statements as stored, xAPI) and `traces.csv`
(the same for a French spreadsheet), `notes.csv`, `seances.csv` (their answers to the
séances' polls), `choix-et-accuses.json` (research choices, acknowledgements of the
notice), `copies/` (submissions and feedback files) and `LISEZMOI.md`, in French.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from incubo import rgpd, xapi
from incubo.french_time import local, zone_label
from incubo.rgpd_places import Places, is_of, read_file, read_lrs, read_spool_file
from incubo.spreadsheet import csv_bytes

log = logging.getLogger(__name__)


@dataclass
class AgentData:
    """What incubo holds about one agent, gathered from every place."""

    agent: str
    statements: list[dict] = field(default_factory=list)
    from_lrs: int = 0
    grades: list[tuple[str, str, float, float]] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    choices: list[dict] = field(default_factory=list)
    acks: list[dict] = field(default_factory=list)
    in_store: bool = False

    @property
    def empty(self) -> bool:
        return not (self.statements or self.grades or self.folders or self.choices or self.acks)


def gather(agent: str, where: Places) -> AgentData:
    """Read every place (a French error, before anything is written, when one cannot be read)."""
    data = AgentData(agent)
    mine = is_of(agent)
    seen: set[str] = set()

    def add(stmt: dict) -> bool:
        sid = str(stmt.get("id", ""))
        if sid and sid in seen:
            return False
        seen.add(sid)
        data.statements.append(stmt)
        return True

    if where.lrs_endpoint:
        for stmt in read_lrs(where.lrs_endpoint):
            if mine(stmt) and add(stmt):
                data.from_lrs += 1
    for path in where.statement_files():
        if where.lrs_endpoint and where.lrs_fs_dir and path.parent == where.lrs_fs_dir:
            continue  # the LRS's own files: already read through the LRS
        for stmt in read_file(path):
            if mine(stmt):
                add(stmt)
    for path in where.spool_files():
        stmt = read_spool_file(path)
        if stmt and mine(stmt):
            add(stmt)
    data.statements.sort(key=lambda s: str(s.get("timestamp", "")))
    if where.gradebook_url:
        from incubo import gradebook

        data.grades = [
            (g.module, g.exercise, g.score, g.max_score)
            for g in gradebook.grades(where.gradebook_url)
            if g.student == agent
        ]
    data.folders = where.folders_of(agent)
    data.choices = rgpd.choice_history(agent)
    data.acks = rgpd.acknowledgements(agent)
    return data


def _row(stmt: dict) -> dict:
    parcours, module, exercise = xapi.located(stmt)
    result = stmt.get("result") or {}
    score = result.get("score") or {}
    ts = xapi.timestamp_of(stmt)
    verb = xapi.verb_of(stmt)
    success = result.get("success")
    return {
        "date": local(ts).strftime("%d/%m/%Y %H:%M:%S") if ts else "",  # the room's time
        "action": xapi.VERB_DISPLAY_FR.get(verb, verb),
        "activite": xapi.object_iri(stmt),
        "parcours": parcours or "",
        "module": module or "",
        "exercice": exercise or "",
        "reussite": "" if success is None else ("oui" if success else "non"),
        "note": score.get("raw"),
        "note_max": score.get("max"),
        "reponse": result.get("response") or "",
        "verdict": xapi.verdict_of(stmt) or "",
        "seance": (stmt.get("context") or {}).get("registration") or "",
        "identifiant_trace": stmt.get("id", ""),
    }


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """Scores as numbers, so the French CSV writes them with a decimal comma."""
    for column in ("note", "note_max"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def is_seance_answer(stmt: dict) -> bool:
    return xapi.verb_of(stmt) == "answered" and "/quiz/seance-" in xapi.object_iri(stmt)


def write(data: AgentData, out: Path) -> dict[str, int]:
    """Write the export folder; the counts written."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "traces.json").write_text(
        json.dumps(data.statements, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    rows = [_row(s) for s in data.statements]
    frame = _numeric(pd.DataFrame(rows, columns=list(_row({}).keys())))
    (out / "traces.csv").write_bytes(csv_bytes(frame))
    answers = _numeric(
        pd.DataFrame(
            [_row(s) for s in data.statements if is_seance_answer(s)],
            columns=list(_row({}).keys()),
        )
    )
    (out / "seances.csv").write_bytes(csv_bytes(answers))
    grades = pd.DataFrame(data.grades, columns=["module", "exercice", "note", "note_max"])
    (out / "notes.csv").write_bytes(csv_bytes(grades))
    (out / "choix-et-accuses.json").write_text(
        json.dumps(
            {"choix_recherche": data.choices, "accuses_notice": data.acks},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    copies = 0
    for folder in data.folders:
        # course folders (submitted, autograded, feedback) and the hub's exchange (inbound, feedback)
        hub = (
            folder.parent.parent.parent.name == "exchange"
        )  # <hub>/exchange/<course>/<kind>/<agent>
        dest = out / "copies" / (("echange-" if hub else "") + folder.parent.name)
        shutil.copytree(folder, dest, symlinks=False, dirs_exist_ok=True)
        copies += sum(1 for p in dest.rglob("*") if p.is_file())
    counts = {
        "traces": len(data.statements),
        "traces_lrs": data.from_lrs,
        "notes": len(data.grades),
        "reponses_seances": len(answers),
        "fichiers": copies,
        "choix": len(data.choices),
        "accuses": len(data.acks),
    }
    (out / "LISEZMOI.md").write_text(readme(data.agent, counts), encoding="utf-8")
    return counts


def readme(agent: str, counts: dict[str, int]) -> str:
    rule = rgpd.research_rule()
    status = "incluse" if rule.included(agent) else "exclue"
    return f"""# Vos données dans incubo

Export du {rgpd.now_iso()} pour l'identifiant « {agent} ». Ce dossier contient tout ce
qu'incubo conserve à votre sujet sur ce serveur.

| fichier | contenu |
| --- | --- |
| `traces.json` | vos {counts["traces"]} traces d'activité, telles qu'elles sont enregistrées (format xAPI) |
| `traces.csv` | les mêmes, une ligne par action, lisibles dans un tableur (séparateur « ; ») |
| `seances.csv` | vos {counts["reponses_seances"]} réponses aux sondages des séances en salle |
| `notes.csv` | vos {counts["notes"]} notes d'exercices corrigés automatiquement |
| `choix-et-accuses.json` | vos choix pour la recherche ({counts["choix"]}) et vos prises de connaissance de la notice d'information ({counts["accuses"]}) |
| `copies/` | vos devoirs rendus et les retours reçus ({counts["fichiers"]} fichiers) |

Colonnes de `traces.csv` : date ({zone_label()}), action, activité (adresse de l'exercice ou de la
leçon), parcours, module, exercice, réussite (oui/non), note et note maximale, réponse donnée,
verdict de la vérification, séance (code d'enregistrement), identifiant de la trace.

Recherche : vos traces sont actuellement **{status}s** des rapports de recherche
(base : {rule.base}). Les rapports de recherche ne contiennent jamais votre nom.

Pour faire corriger ou effacer ces données, ou changer votre choix, adressez-vous à
{rgpd.settings().rgpd_contact or "votre formateur"}.
"""
