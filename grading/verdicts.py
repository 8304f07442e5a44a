"""Verdicts: a stable code and a French reason for every way a submission can go wrong.

The codes are what exports and tests read; the reasons are what a trainer
reads next to the grade. Static checks here compare the submitted notebook
with the gradebook's copy of the assignment before nbgrader repairs it
(nbgrader logs the repair; we keep it as a verdict).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from nbformat import NotebookNode

log = logging.getLogger(__name__)

#: code -> (severity, French reason). "echec": the notebook could not be graded
#: (scored 0); "signale": graded, but the trainer should look.
CODES: dict[str, tuple[str, str]] = {
    "notebook-illisible": (
        "echec",
        "notebook illisible (JSON corrompu ou format invalide) : noté 0",
    ),
    "notebook-absent": ("echec", "notebook non rendu : noté 0"),
    "metadonnees-invalides": ("echec", "métadonnées nbgrader corrompues : notebook noté 0"),
    "reparation-impossible": (
        "echec",
        "nbgrader n'a pas pu rétablir les cellules du sujet dans ce notebook : noté 0",
    ),
    "test-modifie": ("signale", "cellule de test modifiée : la version du sujet a été rétablie"),
    "test-supprime": ("signale", "cellule de test supprimée : 0 point pour ce test"),
    "test-retype": (
        "signale",
        "type de cellule de test changé (nbgrader rétablit le type d'origine quand il le peut)",
    ),
    "noyau-etranger": (
        "signale",
        "noyau différent de celui du sujet : exécuté avec le noyau du sujet",
    ),
    "limite-temps": ("signale", "limite de temps dépassée"),
    "limite-memoire": ("signale", "limite de mémoire atteinte"),
    "limite-processus": (
        "signale",
        "limite de processus atteinte (création de processus en boucle)",
    ),
    "sortie-trop-volumineuse": (
        "signale",
        "sorties trop volumineuses : exécution arrêtée, cellules suivantes notées 0",
    ),
    "processus-arrete": (
        "signale",
        "le noyau s'est arrêté pendant l'exécution : cellules suivantes notées 0",
    ),
    "noyau-bloque": (
        "signale",
        "le noyau ne répondait plus : exécution arrêtée, cellules suivantes notées 0",
    ),
    "sortie-programme": ("signale", "le code appelle sys.exit() ou exit()"),
    "contournement": ("signale", "tentative de contournement des tests : tests suivants notés 0"),
    "affichage-erreurs-modifie": (
        "signale",
        "l'affichage des erreurs a été modifié (erreurs comptées quand même)",
    ),
    "lecture-interdite": (
        "signale",
        "tentative de lecture hors de la copie (carnet de notes, sujet ou autre copie) : refusée",
    ),
    "ecriture-hors-copie": (
        "signale",
        "tentative d'écriture hors de la copie de travail : refusée",
    ),
    "reseau": ("signale", "tentative d'accès au réseau : refusée"),
    "erreur-correction": ("echec", "erreur interne pendant la correction de ce notebook : noté 0"),
    "fichiers-pieges": (
        "signale",
        "liens symboliques ou fichiers spéciaux créés dans la copie : supprimés avant l'écriture des résultats",
    ),
}


@dataclass(frozen=True)
class Verdict:
    """One remark on one notebook of one submission."""

    code: str
    notebook: str
    detail: str = ""

    @property
    def severity(self) -> str:
        return CODES[self.code][0]

    @property
    def reason(self) -> str:
        text = CODES[self.code][1]
        return f"{self.notebook} : {text}" + (f" ({self.detail})" if self.detail else "")


def visible_source(source: str, config=None) -> str:
    """A test cell as the learner received it: nbgrader's own hidden-test removal."""
    from nbgrader.preprocessors import ClearHiddenTests

    cell = NotebookNode(cell_type="code", source=source or "", metadata={})
    try:
        ClearHiddenTests(config=config)._remove_hidden_test_region(cell)
    except RuntimeError:
        pass
    return cell.source


def _same(a: str, b: str) -> bool:
    return [line.rstrip() for line in a.strip().splitlines()] == [
        line.rstrip() for line in b.strip().splitlines()
    ]


def static_checks(notebook: str, submitted: NotebookNode, source_nb, config=None) -> list[Verdict]:
    """Tampering visible in the file itself: test cells edited, deleted or retyped, a foreign kernel.

    `source_nb` is the gradebook's `Notebook` row (source cells, grade cells, kernelspec).
    """
    verdicts: list[Verdict] = []
    by_id: dict[str, NotebookNode] = {}
    for cell in submitted.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id:
            by_id[grade_id] = cell
    sources = {c.name: c for c in source_nb.source_cells}
    for grade_cell in source_nb.grade_cells:
        source_cell = sources.get(grade_cell.name)
        if source_cell is None or grade_cell.name in {c.name for c in source_nb.solution_cells}:
            continue  # answers are the student's to write
        cell = by_id.get(grade_cell.name)
        if cell is None:
            verdicts.append(Verdict("test-supprime", notebook, grade_cell.name))
        elif cell.cell_type != source_cell.cell_type:
            verdicts.append(
                Verdict(
                    "test-retype",
                    notebook,
                    f"{grade_cell.name} : {source_cell.cell_type} → {cell.cell_type}",
                )
            )
        elif not _same(cell.source, visible_source(source_cell.source, config)) and not _same(
            cell.source, source_cell.source
        ):
            verdicts.append(Verdict("test-modifie", notebook, grade_cell.name))
    expected = _kernel_name(source_nb.kernelspec)
    got = (submitted.get("metadata", {}).get("kernelspec") or {}).get("name")
    if expected and got != expected:
        verdicts.append(
            Verdict("noyau-etranger", notebook, f"{got or 'aucun'} au lieu de {expected}")
        )
    return verdicts


def _kernel_name(kernelspec) -> str | None:
    if not kernelspec:
        return None
    try:
        spec = json.loads(kernelspec) if isinstance(kernelspec, str) else kernelspec
    except ValueError:
        return None
    return (spec or {}).get("name")


def execution_verdicts(notebook: str, nb: NotebookNode, result) -> list[Verdict]:
    """Verdicts from what happened while the notebook ran (see `executor.ExecutionResult`)."""
    out: list[Verdict] = []
    enames = [
        o.get("ename", "")
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    evalues = " ".join(
        str(o.get("evalue", ""))
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    )
    stopped = {
        "temps": "limite-temps",
        "sortie": "sortie-trop-volumineuse",
        "arret": "processus-arrete",
        "bloque": "noyau-bloque",
    }
    if result.stopped == "temps":
        out.append(Verdict("limite-temps", notebook, "durée maximale du notebook"))
    elif result.timeouts:
        out.append(Verdict("limite-temps", notebook, ", ".join(result.timeouts)))
    if "MemoryError" in enames:
        out.append(Verdict("limite-memoire", notebook))
    if (
        "BlockingIOError" in enames
        and "temporarily unavailable" in evalues
        or result.counters.get("processus", 0) >= 50
    ):
        out.append(Verdict("limite-processus", notebook))
    if result.stopped and result.stopped != "temps":
        code = stopped[result.stopped]
        if not (code == "processus-arrete" and any(v.code == "limite-memoire" for v in out)):
            out.append(Verdict(code, notebook))
    if "SystemExit" in enames:
        out.append(Verdict("sortie-programme", notebook))
    if result.tamper:
        detail = ", ".join(sorted(result.tamper))
        if result.neutralised:
            detail += " ; tests neutralisés : " + ", ".join(result.neutralised)
        out.append(Verdict("contournement", notebook, detail))
    if result.warnings:
        out.append(
            Verdict("affichage-erreurs-modifie", notebook, ", ".join(sorted(result.warnings)))
        )
    for code in ("lecture-interdite", "ecriture-hors-copie", "reseau"):
        if result.events.get(code):
            out.append(Verdict(code, notebook, ", ".join(result.events[code][:3])))
    return out


def status_of(verdicts: list[Verdict]) -> str:
    """The submission's status for the summary: note (clean), signale (flagged) or echec (failed)."""
    if any(v.severity == "echec" for v in verdicts):
        return "echec"
    return "signale" if verdicts else "note"
