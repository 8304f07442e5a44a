"""`incubo rgpd exporter`: everything incubo holds about one agent, in one folder (RGPD art. 15 and 20).

The one writer of the export's format: the trainer's `incubo rgpd exporter` (`gather`, as root,
every place) and the agent's own archive in « Mes données » (`incubo.hub.rgpd_mine`, as the
agent, what their rights reach; its README says what it lacks) both call `write`.

The folder holds `traces.json` (the agent's statements as stored, xAPI) and `traces.csv`
(the same for a French spreadsheet), `notes.csv`, `seances.csv` (their answers to the
séances' polls), `choix-et-accuses.json` (research choices, acknowledgements of the
notice), `copies/` (submissions and feedback files) and `LISEZMOI.md`, in French.
"""

from __future__ import annotations

import json
import logging
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
    #: (name under `copies/`, folder) when not named by `copy_name` (the agent's own archive)
    copies: list[tuple[str, Path]] = field(default_factory=list)
    #: (included, base) of the research choice when this store is not the one to ask
    research: tuple[bool, str] | None = None
    #: the agent's own archive, gathered with their rights only (its README says what it lacks)
    own: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.statements
            or self.grades
            or self.folders
            or self.copies
            or self.choices
            or self.acks
        )

    def named_folders(self) -> list[tuple[str, Path]]:
        return self.copies or [(copy_name(f), f) for f in self.folders]


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


def grades_of(statements: list[dict]) -> list[tuple[str, str, float, float]]:
    """The grades autograde recorded in `statements` (`scored`, on the grader's word when an
    authority is set, as the LRS gate sets it): the newest per exercise, as in `notes.csv`."""
    from incubo.authority import by_grader

    newest: dict[tuple[str, str], tuple[str, str, float, float]] = {}
    for stmt in sorted(statements, key=lambda s: str(s.get("timestamp", ""))):
        if xapi.verb_of(stmt) != "scored" or (stmt.get("authority") and not by_grader(stmt)):
            continue
        _, module, exercise = xapi.located(stmt)
        score = (stmt.get("result") or {}).get("score") or {}
        raw, top = score.get("raw"), score.get("max")
        if module and exercise and isinstance(raw, int | float) and isinstance(top, int | float):
            newest[(module, exercise)] = (module, exercise, float(raw), float(top))
    return [newest[key] for key in sorted(newest)]


def copy_name(folder: Path) -> str:
    """The folder's name under `copies/`: course folders (submitted, autograded, feedback) by
    their kind, the hub's exchange (`<hub>/exchange/<course>/<kind>/<agent>`) as `echange-<kind>`."""
    hub = folder.parent.parent.parent.name == "exchange"
    return ("echange-" if hub else "") + folder.parent.name


def write_traces(statements: list[dict], out: Path) -> int:
    """`traces.json`, `traces.csv` and `seances.csv`; the number of séance answers."""
    (out / "traces.json").write_text(
        json.dumps(statements, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (out / "traces.csv").write_bytes(statements_csv(statements))
    answers = [s for s in statements if is_seance_answer(s)]
    (out / "seances.csv").write_bytes(statements_csv(answers))
    return len(answers)


def statements_csv(statements: list[dict]) -> bytes:
    """Statements as `traces.csv`: one row each, for a French spreadsheet (`;`, BOM, decimal comma)."""
    rows = [_row(s) for s in statements]
    return csv_bytes(_numeric(pd.DataFrame(rows, columns=list(_row({}).keys()))))


def write_grades(grades: list[tuple[str, str, float, float]], out: Path) -> None:
    frame = pd.DataFrame(grades, columns=["module", "exercice", "note", "note_max"])
    (out / "notes.csv").write_bytes(csv_bytes(frame))


def write_choices(choices: list[dict], acks: list[dict], out: Path) -> None:
    (out / "choix-et-accuses.json").write_text(
        json.dumps(
            {"choix_recherche": choices, "accuses_notice": acks}, ensure_ascii=False, indent=1
        ),
        encoding="utf-8",
    )


def copy_folders(
    named: list[tuple[str, Path]], dest: Path, *, own: bool = False
) -> tuple[int, list[str]]:
    """Copy each folder to `dest/<name>` without following any link below it (a learner controls
    these folders; the CLI runs as root): the files copied, and what was left out, in French.

    `own`: the agent's own server copies their own folders, opened directly (the exchange's
    `inbound/` above them is not readable by a learner); the CLI opens them from their parent.
    """
    from incubo.exchange import copy_tree_nofollow

    files, skipped = 0, []
    for name, folder in named:
        try:
            report = copy_tree_nofollow(folder, dest / name, base=folder if own else None)
        except OSError as err:  # unreadable, or replaced by a link since it was found
            skipped.append(f"« {name} » illisible : {err.strerror or err}.")
            continue
        files += report.files
        skipped += [f"{name}/{line}" for line in report.skipped]
    return files, skipped


def write(data: AgentData, out: Path) -> dict[str, int]:
    """Write the export folder; the counts written."""
    out.mkdir(parents=True, exist_ok=True)
    answers = write_traces(data.statements, out)
    write_grades(data.grades, out)
    write_choices(data.choices, data.acks, out)
    copies, skipped = copy_folders(data.named_folders(), out / "copies", own=data.own)
    counts = {
        "traces": len(data.statements),
        "traces_lrs": data.from_lrs,
        "notes": len(data.grades),
        "reponses_seances": answers,
        "fichiers": copies,
        "fichiers_ignores": len(skipped),
        "choix": len(data.choices),
        "accuses": len(data.acks),
    }
    (out / "LISEZMOI.md").write_text(readme(data, counts, skipped), encoding="utf-8")
    return counts


def readme(data: AgentData, counts: dict[str, int], skipped: list[str] = ()) -> str:
    """`LISEZMOI.md`: what each file holds; for the agent's own archive, what it leaves out."""
    included, base = data.research or _research_of(data.agent)
    status = "incluse" if included else "exclue"
    contact = rgpd.settings().rgpd_contact or "votre formateur"
    intro = OWN_INTRO if data.own else FULL_INTRO
    text = f"""# Vos données dans incubo

{intro.format(date=rgpd.now_iso(), agent=data.agent)}

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
(base : {base}). Les rapports de recherche ne contiennent jamais votre nom.

Pour faire corriger ou effacer ces données, ou changer votre choix, adressez-vous à
{contact}.
"""
    if data.own:
        text += OWN_LIMITS.format(agent=data.agent, contact=contact)
    if skipped:
        text += SKIPPED + "".join(f"- {line}\n" for line in skipped)
    return text


def _research_of(agent: str) -> tuple[bool, str]:
    rule = rgpd.research_rule()
    return rule.included(agent), rule.base


FULL_INTRO = """Export du {date} pour l'identifiant « {agent} ». Ce dossier contient tout ce
qu'incubo conserve à votre sujet sur ce serveur."""

OWN_INTRO = """Archive du {date} pour l'identifiant « {agent} », téléchargée depuis votre espace
(« Mes données »). Elle contient ce que votre espace peut lire à votre sujet, avec vos propres
droits : la section « Ce que cette archive ne contient pas » dit le reste, et comment l'obtenir."""

OWN_LIMITS = """
## Ce que cette archive ne contient pas

Votre espace ne lit que vos propres données, jamais les dossiers de votre formateur. Cette
archive ne contient donc pas :

- le carnet de notes de la formation : `notes.csv` reprend les notes que la correction
  automatique a enregistrées dans vos traces (la dernière correction de chaque exercice) ;
  une note modifiée ensuite à la main par votre formateur n'y figure pas ;
- les copies de travail de la correction, gardées dans le dossier du cours chez votre
  formateur (dossiers `submitted`, `autograded` et `feedback`) ;
- les traces encore en attente d'envoi depuis un autre poste.

Pour obtenir l'export complet, demandez-le à {contact} : votre formateur le produit avec la
commande `incubo rgpd exporter {agent} -o DOSSIER`, au même format que cette archive.
"""

SKIPPED = """
## Fichiers non copiés

Ces éléments de vos dossiers ne sont pas des fichiers ordinaires (liens, fichiers spéciaux) ou
dépassent les limites d'une copie ; ils n'ont pas été copiés :

"""
