"""`incubo report`: check the parameters, run the analysis notebook with papermill, write an offline HTML report.

Order matters for privacy and for the user: everything that can be checked
is checked before a kernel starts (report name, parameters, key, data
sources), so a typo costs nothing and executes nothing. The executed
notebook lives in a work folder inside the output folder; it only ever holds
pseudonymised aggregates, is deleted after a successful export and kept
(renamed `<name>-echec.ipynb`) when a cell fails, for debugging.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from incubo import rgpd
from incubo.config import project_root, settings
from incubo.errors import IncuboError, suggestion
from incubo.reports import params as params_mod
from incubo.reports import privacy, sources, threshold

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
_REMOTE = re.compile(
    r"<(script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//[^>]*>(?:\s*</script>)?", re.I
)


@dataclass
class Result:
    html: Path
    seconds: float


def analyses_dir() -> Path:
    """`INCUBO_ANALYSES_DIR`, else the checkout's notebooks/analyses, else the copy a wheel installs."""
    env = settings().analyses_dir
    if env:
        return env.resolve()
    checkout = project_root() / "notebooks" / "analyses"
    return checkout if checkout.is_dir() else Path(sys.prefix) / "share" / "incubo" / "analyses"


def available() -> list[str]:
    folder = analyses_dir()
    return sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []


def find(name: str) -> Path:
    names = available()
    if name not in names:
        listing = ", ".join(names) if names else "aucun"
        raise IncuboError(
            f"Rapport inconnu : « {name} ».{suggestion(name, names)} Rapports disponibles : {listing}.",
            code="rapport-inconnu",
        )
    return analyses_dir() / f"{name}.ipynb"


def _check_data(values: dict, course_dir: Path) -> sources.Sources:
    src = sources.resolve(
        str(values.get("dossier_cours") or course_dir),
        str(values.get("evenements") or ""),
        str(values.get("carnet") or ""),
        str(values.get("apprenants") or ""),
    )
    cohorte = str(values.get("cohorte") or "")
    if cohorte and src.learners_file:
        import csv

        with open(src.learners_file, encoding="utf-8-sig", newline="") as fh:
            cohorts = sorted(
                {(row.get("cohorte") or "").strip() for row in csv.DictReader(fh)} - {""}
            )
        if cohorts and cohorte not in cohorts:
            raise IncuboError(
                f"Cohorte inconnue : « {cohorte} ».{suggestion(cohorte, cohorts)} Cohortes : {', '.join(cohorts)}.",
                code="cohorte-inconnue",
            )
    for url in src.lrs_urls:
        sources.probe_lrs(url, src.lrs_auth.get(url))
    parcours = str(values.get("parcours") or "")
    if parcours and src.event_files and not src.lrs_urls:
        import duckdb

        found = {
            p
            for (p,) in duckdb.sql(
                "SELECT DISTINCT regexp_extract(object.id, '/parcours/([^/]+)', 1) FROM read_json($files, "
                "format='newline_delimited', columns={object: 'STRUCT(id VARCHAR)'}, ignore_errors=true)",
                params={"files": [str(p) for p in src.event_files]},
            ).fetchall()
        } - {"", None}
        if parcours not in found:
            raise IncuboError(
                f"Parcours inconnu dans les données : « {parcours} ».{suggestion(parcours, found)} "
                f"Parcours présents : {', '.join(sorted(found)) or 'aucun'}.",
                code="parcours-inconnu",
            )
    return src


def run(
    name: str,
    given: list[tuple[str, str]],
    out_dir: Path,
    course_dir: Path,
    *,
    demo: bool = False,
    progress: bool = True,
    derogation_k: str | None = None,
) -> Result:
    """Run one analysis end to end; returns the HTML report's path."""
    start = time.perf_counter()
    notebook = find(name)
    values = params_mod.validate(name, notebook, given)
    declared = params_mod.declared(notebook)
    if "dossier_cours" in declared and "dossier_cours" not in values:
        values["dossier_cours"] = str(course_dir)
    if demo:
        os.environ[privacy.ENV_DEMO] = "1"  # the kernel inherits it
    privacy.load_key(demo)
    rgpd.research_rule()  # a wrong INCUBO_RECHERCHE_BASE is refused before any kernel
    k = int(values.get("k", declared.get("k", {}).get("default") or threshold.MIN_K))
    notice = threshold.check(k, demo=demo, derogation=derogation_k)
    src = _check_data(values, course_dir)
    if "seance" in declared:  # the séance report: an unknown code costs nothing
        from incubo.reports import seances

        found = seances.find(str(values.get("seance") or ""), src.course_dir)
        values["seance"] = found.code
        seances.check_data(found, src)

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if notice:
        from incubo import console

        console.warning(
            f"{notice} Journalisé dans {threshold.record(out_dir, name, k, derogation_k or '')}."
        )
    work = out_dir / f".{name}-travail"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    executed = work / f"{name}.ipynb"
    import papermill  # noqa: F401 - before the thread below, which then only loads nbconvert's own modules

    exporter = _Background(
        _make_exporter
    )  # nbconvert loads while the kernel works (the CLI is idle meanwhile)
    nb = _execute(notebook, executed, values, work, name, out_dir, progress)
    html_path = out_dir / f"{name}.html"
    if notice:
        nb.cells.insert(_first_after_title(nb), threshold.banner_cell(notice))
    _export(nb, html_path, exporter.result())
    shutil.rmtree(work, ignore_errors=True)
    return Result(html_path, time.perf_counter() - start)


def _first_after_title(nb) -> int:
    """Index just after the report's title cell (its first markdown cell), where a notice belongs."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            return i + 1
    return 0


def _execute(
    notebook: Path,
    executed: Path,
    values: dict,
    work: Path,
    name: str,
    out_dir: Path,
    progress: bool,
) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    env_backup = os.environ.get("MPLCONFIGDIR")
    os.environ.setdefault("MPLCONFIGDIR", str(work / "matplotlib"))
    try:
        return papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=values,
            kernel_name="python3",
            progress_bar={"desc": f"Rapport « {name} »", "unit": "cellule"} if progress else False,
            cwd=str(work),
            log_output=False,
            request_save_on_cell_execute=False,
            extra_arguments=[
                "--IPKernelApp.log_level=ERROR"
            ],  # no kernel chatter around the progress bar
        )
    except PapermillExecutionError as exc:
        kept = out_dir / f"{name}-echec.ipynb"
        if executed.exists():
            shutil.move(str(executed), kept)
        shutil.rmtree(work, ignore_errors=True)
        first = next((line.strip() for line in (exc.source or "").splitlines() if line.strip()), "")
        raise IncuboError(
            f"La cellule de code n° {exc.exec_count} du rapport « {name} » a échoué (« {first[:80]} ») : "
            f"{exc.ename} : {str(exc.evalue)[:300]}. Le notebook exécuté est conservé pour le débogage : {kept}",
            code="cellule-en-echec",
        ) from None
    finally:
        if env_backup is None:
            os.environ.pop("MPLCONFIGDIR", None)


class _Background:
    """Run a function in a thread now, get its result (or its exception) later."""

    def __init__(self, func) -> None:
        import threading

        self._value = self._error = None
        self._thread = threading.Thread(target=self._run, args=(func,), daemon=True)
        self._thread.start()

    def _run(self, func) -> None:
        try:
            self._value = func()
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _make_exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="incubo_rapport", extra_template_basedirs=[str(TEMPLATES)]
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.language_code = "fr"
    exporter.template  # noqa: B018 - load the templates now, in the background
    return exporter


def _export(nb, html_path: Path, exporter=None) -> None:
    """The executed notebook → one self-contained HTML file, without code, stderr or remote scripts."""
    for cell in nb.cells:  # warnings and logs are for the debugging notebook, not for the report
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    title = nb.metadata.get("title") or html_path.stem
    nb.metadata["title"] = title
    exporter = exporter or _make_exporter()
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = strip_remote(body)
    tmp = html_path.with_suffix(".html.tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(html_path)


def strip_remote(page: str) -> str:
    """Remove any script or stylesheet loaded from the network: the report must open offline."""
    return _REMOTE.sub("", page)


def remote_references(page: str) -> list[str]:
    return [m.group(0) for m in _REMOTE.finditer(page)]
