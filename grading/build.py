"""`incubo build`: course sources (courses/) → nbgrader source and release assignments.

Everything is read and checked first; then the changed modules are written
and generated in a temporary course directory next to the real one, their
released files are scanned for solution or hidden-test lines, and only then
swapped into place one assignment at a time. A refused build leaves the
course directory exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from incubo import __version__, console, exercise_data, quiz_bank
from incubo.errors import IncuboError, suggestion
from incubo.exercise_data import Exercise, ExerciseData, encode_solution
from incubo.learning_paths import LearningPath as Parcours
from incubo.learning_paths import Module, find_learning_paths, read_learning_path
from incubo.quiz_bank import MODULE_COPY as QUIZ_FILE
from incubo.yaml_source import where

from . import build_catalogue, build_checks, build_leaks, build_nbgrader
from .myst_source import SourceNotebook, read_source

log = logging.getLogger(__name__)

STAMPS = ".incubo_build.json"
#: Bump when what the build writes changes, so every module is rebuilt.
BUILD_FORMAT = 1


@dataclass
class ModulePlan:
    parcours: Parcours
    module: Module
    notebooks: list[SourceNotebook]
    quiz: Path | None
    digest: str = ""


@dataclass
class BuildReport:
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    course_dir: Path | None = None


def _read_module(p: Parcours, m: Module) -> ModulePlan:
    notebooks = [
        read_source(p.notebook_path(name), parcours=p.id, module=m.id) for name in m.notebooks
    ]
    quiz = p.quiz_source(m.id)
    return ModulePlan(p, m, notebooks, quiz if quiz.is_file() else None)


def _data_files(plan: ModulePlan) -> list[tuple[Path, str]]:
    """(source, name inside the assignment): paths kept as written, unless they climb out."""
    out = []
    for name in plan.parcours.data_files + plan.module.data_files:
        src = (plan.parcours.folder / name).resolve()
        dest = name if ".." not in Path(name).parts and not Path(name).is_absolute() else src.name
        out.append((src, dest))
    return out


def _digest(plan: ModulePlan, course_config: bytes) -> str:
    """Content hash of everything the module's assignment is made from."""
    h = hashlib.sha256()
    h.update(f"incubo {__version__} build {BUILD_FORMAT}\n".encode())
    for code in sorted(Path(__file__).parent.glob("build*.py")) + [
        Path(__file__).parent / "myst_source.py"
    ]:
        h.update(code.read_bytes())
    h.update(course_config)
    files = (
        [plan.parcours.file]
        + [nb.path for nb in plan.notebooks]
        + ([plan.quiz] if plan.quiz else [])
    )
    for src, dest in _data_files(plan):
        h.update(dest.encode())
        files.extend(sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src])
    for path in files:
        h.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _exercise_data(plan: ModulePlan) -> ExerciseData:
    data = ExerciseData(parcours=plan.parcours.id, module=plan.module.id)
    for nb in plan.notebooks:
        entry = {
            k: nb.meta[k]
            for k in ("type", "titre", "duree", "objectifs", "points_cles", "optionnel")
            if k in nb.meta
        }
        data.notebooks[nb.stem] = entry
        for ex in nb.exercises:
            policy = ex.politique or plan.parcours.solution
            data.exercises[ex.id] = Exercise(
                notebook=nb.stem,
                points=ex.points,
                visible_tests=ex.tests_visibles,
                hints=ex.indices,
                policy=policy,
                solution=None if policy.mode == "jamais" else encode_solution(ex.solution),
                title=ex.titre,
            )
    return data


def _write_source(plan: ModulePlan, target: Path, links: dict | None = None) -> None:
    import copy

    import nbformat

    target.mkdir(parents=True)
    for nb in plan.notebooks:
        out = copy.deepcopy(nb.nb)
        build_catalogue.add_next_cell(out, (links or {}).get((plan.module.id, nb.stem)))
        nbformat.write(out, target / f"{nb.stem}.ipynb")
    exercise_data.write(target, _exercise_data(plan))
    if plan.quiz:
        shutil.copyfile(plan.quiz, target / QUIZ_FILE)
    for src, dest in _data_files(plan):
        out = target / dest
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, out)


def _check_release_matches(plan: ModulePlan, release: Path) -> None:
    """The visible tests in the data file are exactly what the learner's notebook holds."""
    import nbformat

    sidecar = exercise_data.read(release)
    for nb in plan.notebooks:
        released = nbformat.read(release / f"{nb.stem}.ipynb", as_version=4)
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in released.cells}
        for ex in nb.exercises:
            if sidecar is None or cells.get(ex.id) != sidecar.exercises[ex.id].visible_tests:
                raise IncuboError(
                    f"{where(nb.path, ex.tests_line)} : les tests visibles publiés de « {ex.id} » diffèrent de ceux "
                    "du fichier d'exercices ; signalez ce problème à l'équipe incubo.",
                    code="incoherence",
                )


def _select(courses: Path, parcours_id: str | None) -> tuple[list[Path], list[Path]]:
    if not courses.is_dir():
        raise IncuboError(
            f"Le dossier des sources de cours « {courses} » n'existe pas ; lancez la commande depuis la racine du projet "
            "ou indiquez-le avec --courses DOSSIER.",
            code="sources-absentes",
        )
    folders = find_learning_paths(courses)
    if not folders:
        raise IncuboError(
            f"Aucun parcours (dossier avec un parcours.yml) dans « {courses} ».",
            code="sources-absentes",
        )
    if parcours_id is None:
        return folders, []
    chosen = [f for f in folders if f.name == parcours_id]
    if not chosen:
        raise IncuboError(
            f"Le parcours « {parcours_id} » n'existe pas dans « {courses} ».{suggestion(parcours_id, [f.name for f in folders])}",
            code="parcours-inconnu",
        )
    return chosen, [f for f in folders if f.name != parcours_id]


def read_all(courses: Path, parcours_id: str | None = None) -> list[ModulePlan]:
    """Read and check every source the build needs (nothing is written)."""
    return _read_sources(courses, parcours_id)[0]


def _read_sources(
    courses: Path, parcours_id: str | None
) -> tuple[list[ModulePlan], list[ModulePlan]]:
    """The plans of the parcours to build, checked; and those of the other parcours (for ids and leaks)."""
    selected, others = _select(courses, parcours_id)
    parcours = [read_learning_path(f) for f in selected]
    plans = [_read_module(p, m) for p in parcours for m in p.modules]
    # The other parcours only matter for id collisions; a broken one is theirs to fix.
    other_parcours, other_plans = [], []
    for folder in others:
        try:
            p = read_learning_path(folder)
            other_parcours.append(p)
            other_plans.extend(_read_module(p, m) for m in p.modules)
        except IncuboError as exc:
            log.debug("ignoring %s while checking ids: %s", folder, exc)
    build_checks.check_unique_modules(other_parcours + parcours)
    build_checks.check_unique_exercises([nb for pl in other_plans + plans for nb in pl.notebooks])
    for plan in plans:
        bank = quiz_bank.load_source_bank(plan.quiz) if plan.quiz else []
        quiz_ids = {str(q["id"]) for q in bank}
        exercises = {ex.id for nb in plan.notebooks for ex in nb.exercises}
        quiz_path = plan.quiz or plan.parcours.quiz_source(plan.module.id)
        build_checks.check_bank_exercises(bank, exercises, quiz_path)
        build_checks.check_references(plan.notebooks, exercises, quiz_ids, quiz_path)
    return plans, other_plans


def _load_stamps(course_dir: Path) -> dict:
    try:
        return json.loads((course_dir / STAMPS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _clean_leftovers(course_dir: Path) -> None:
    """Remove temporary build folders of builds that were killed."""
    for old in course_dir.parent.glob(f".{course_dir.name}.incubo-build-*"):
        pid = old.name.rsplit("-", 2)[-2] if old.name.count("-") >= 2 else ""
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)


def release_digest(folder: Path) -> str:
    """Content hash of a released assignment as it is on disk (a learner may have saved into it)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def build(
    courses: Path, course_dir: Path, *, parcours_id: str | None = None, force: bool = False
) -> BuildReport:
    """Build the parcours of `courses` into the nbgrader course directory `course_dir`.

    A module is rebuilt when its sources changed, when its released files were
    modified since the last build (saved over by a learner), or with `force`.
    """
    courses, course_dir = Path(courses).resolve(), Path(course_dir).resolve()
    report = BuildReport(course_dir=course_dir)
    plans, other_plans = _read_sources(courses, parcours_id)
    console.info(
        f"Sources vérifiées : {len({p.parcours.id for p in plans})} parcours, {len(plans)} module(s), "
        f"{sum(len(p.notebooks) for p in plans)} notebooks."
    )
    cfg = build_nbgrader.merged_config(course_dir)
    source_name, release_name, db_url = build_nbgrader.layout(course_dir, cfg)
    config_path = course_dir / build_nbgrader.CONFIG_FILE
    config_bytes = (
        config_path.read_bytes() if config_path.is_file() else build_nbgrader.CONFIG_TEXT.encode()
    )
    stamps = _load_stamps(course_dir)
    if (
        db_url == build_nbgrader.default_db_url(course_dir)
        and not (course_dir / build_nbgrader.GRADEBOOK).exists()
    ):
        stamps = {}  # the gradebook is gone: every assignment must be recorded again
    for plan in other_plans + plans:
        plan.digest = _digest(plan, config_bytes)
    names = (source_name, release_name)
    todo = _modules_to_build(plans, stamps, course_dir, names, force, report)
    if report.skipped:
        console.info(f"Inchangés, non reconstruits : {', '.join(report.skipped)}.")
    if not todo:
        _nothing_to_build(course_dir, plans, other_plans, stamps, names)
        return report
    _build_modules(course_dir, cfg, db_url, names, todo, (plans, other_plans), stamps)
    report.built = [p.module.id for p in todo]
    console.success(
        f"{len(report.built)} module(s) construit(s) dans {course_dir} : {', '.join(report.built)}."
    )
    return report


def _modules_to_build(
    plans: list[ModulePlan], stamps: dict, course_dir: Path, names, force: bool, report
) -> list[ModulePlan]:
    """The modules whose sources changed, whose released files were saved over, or all with `force`."""
    source_name, release_name = names
    todo: list[ModulePlan] = []
    for plan in plans:
        mid = plan.module.id
        fresh = stamps.get(mid, {}).get("empreinte") == plan.digest
        release = course_dir / release_name / mid
        if fresh and (course_dir / source_name / mid).is_dir() and release.is_dir():
            if stamps[mid].get("release") not in (None, release_digest(release)):
                console.warning(
                    f"Les fichiers publiés du module « {mid} » ont été modifiés depuis la construction : "
                    "ils sont reconstruits."
                )
                todo.append(plan)
            elif force:
                todo.append(plan)
            else:
                report.skipped.append(mid)
        else:
            todo.append(plan)
    return todo


def _nothing_to_build(course_dir: Path, plans, other_plans, stamps: dict, names) -> None:
    """The course is up to date: still checked across modules, its config and catalogue written."""
    build_leaks.check_across_modules(
        _built_modules(course_dir, None, [], plans + other_plans, stamps, names)
    )
    course_dir.mkdir(parents=True, exist_ok=True)
    build_nbgrader.write_config_if_absent(course_dir)
    build_catalogue.write_catalogue(course_dir, plans)
    console.success(f"Rien à reconstruire : le cours est à jour dans {course_dir}.")


def _build_modules(
    course_dir: Path, cfg, db_url: str, names, todo: list[ModulePlan], all_plans, stamps: dict
) -> None:
    """Build `todo` in a folder beside the course, check it, then swap it in (nothing half-built).

    `all_plans`: the plans built from these sources, and those of the course's other parcours.
    """
    source_name, release_name = names
    plans, other_plans = all_plans
    made_parent = not course_dir.parent.exists()
    course_dir.parent.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(course_dir)
    work = Path(
        tempfile.mkdtemp(
            prefix=f".{course_dir.name}.incubo-build-{os.getpid()}-", dir=course_dir.parent
        )
    )
    try:
        own_db = db_url == build_nbgrader.default_db_url(course_dir)
        stamp = build_nbgrader.snapshot_gradebook(course_dir, work) if own_db else None
        links = build_catalogue.next_links(plans)
        for plan in todo:
            _write_source(plan, work / source_name / plan.module.id, links)
        bar = console.progress_bar(len(todo), desc="Génération nbgrader", unit="module")
        try:
            build_nbgrader.generate(
                work,
                cfg,
                [p.module.id for p in todo],
                build_nbgrader.default_db_url(work),
                on_done=lambda _m: bar.update(1),
            )
        finally:
            bar.close()
        for plan in todo:
            release = work / release_name / plan.module.id
            regions = [r for nb in plan.notebooks for r in nb.regions]
            build_checks.check_no_leak([release], regions, work)
            _check_release_matches(plan, release)
        build_leaks.check_across_modules(
            _built_modules(course_dir, work, todo, plans + other_plans, stamps, names)
        )
        if own_db:
            build_nbgrader.check_gradebook_unchanged(course_dir, stamp)
        _swap(work, course_dir, [p.module.id for p in todo], names)
        if own_db:
            build_nbgrader.install_gradebook(course_dir, work, stamp)
        else:  # an external gradebook (PostgreSQL…): let nbgrader record the assignments there too
            build_nbgrader.generate(course_dir, cfg, [p.module.id for p in todo], db_url)
        build_nbgrader.write_config_if_absent(course_dir)
        for plan in todo:
            stamps[plan.module.id] = {
                "parcours": plan.parcours.id,
                "empreinte": plan.digest,
                "release": release_digest(course_dir / release_name / plan.module.id),
            }
        build_catalogue.write_catalogue(course_dir, plans)
        tmp = work / STAMPS
        tmp.write_text(json.dumps(stamps, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, course_dir / STAMPS)
    except BaseException:
        if made_parent and not course_dir.exists():
            shutil.rmtree(work, ignore_errors=True)
            with contextlib.suppress(OSError):
                course_dir.parent.rmdir()  # only when empty: we made it for nothing
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _built_modules(
    course_dir: Path,
    work: Path | None,
    todo: list[ModulePlan],
    known: list[ModulePlan],
    stamps: dict,
    steps: tuple[str, str],
) -> list[build_leaks.BuiltModule]:
    """Every assignment of the course directory as it will be after the swap, with its region lines.

    A module's regions come from its course sources when they are what its
    release was made from (built now, or unchanged since); otherwise from the
    nbgrader source notebooks it was built from.
    """
    source_name, release_name = steps
    built_now = {p.module.id for p in todo}
    by_id = {p.module.id: p for p in known}
    on_disk = (course_dir / release_name).iterdir() if (course_dir / release_name).is_dir() else []
    ids = sorted(built_now | {d.name for d in on_disk if d.is_dir() and not d.name.startswith(".")})
    out = []
    for mid in ids:
        root = work if mid in built_now and work is not None else course_dir
        plan = by_id.get(mid)
        if plan and (mid in built_now or stamps.get(mid, {}).get("empreinte") == plan.digest):
            regions = [r for nb in plan.notebooks for r in nb.regions]
            sources = {f"{nb.stem}.ipynb": nb.path for nb in plan.notebooks}
        else:
            regions, sources = build_leaks.regions_of_built_sources(root / source_name / mid), {}
        out.append(build_leaks.BuiltModule(mid, root, root / release_name / mid, regions, sources))
    return out


def _swap(work: Path, course_dir: Path, modules: list[str], steps: tuple[str, str]) -> None:
    """Replace each assignment's source and release folders by the new ones (rename, same disk)."""
    old = work / ".ancien"
    for mid in modules:
        for step in steps:
            new, dest = work / step / mid, course_dir / step / mid
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                (old / step).mkdir(parents=True, exist_ok=True)
                os.rename(dest, old / step / mid)
            os.rename(new, dest)
