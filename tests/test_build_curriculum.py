"""The real courses/ built by the real `incubo build`: no leak, solutions pass, releases score 0.

Parametrised over every parcours present in courses/, so each curriculum
added there is held to the same acceptance lines (issue 2).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from harness import BIN, ROOT, incubo

COURSES = ROOT / "courses"
PARCOURS = sorted(p.parent.name for p in COURSES.glob("*/parcours.yml"))
STUDENT = "eleve-test"

_MARKERS = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)")


def region_lines(md: Path) -> list[tuple[int, str]]:
    """Lines strictly inside solution and hidden-test regions, read straight from the source text."""
    out, inside = [], False
    for number, line in enumerate(md.read_text(encoding="utf-8").splitlines(), 1):
        m = _MARKERS.search(line)
        if m:
            inside = m.group(1) == "BEGIN"
        elif inside:
            out.append((number, line))
    return out


def worth_looking_for(line: str) -> str | None:
    """The documented rule (docs/contracts.md « No leak rule »), written again independently."""
    norm = " ".join(line.split())
    trivial = {"pass", "...", "else:", "try:", "finally:", "return", "break", "continue", "raise"}
    if not norm or norm.startswith("#") or norm in trivial or len(norm.replace(" ", "")) < 6:
        return None
    return norm


def released_text(path: Path) -> str:
    raw = path.read_bytes().decode("utf-8", errors="replace")
    texts = [raw]
    if path.suffix in (".ipynb", ".json"):

        def walk(v):
            if isinstance(v, str):
                texts.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)

        walk(json.loads(raw))
    return "\n".join(" ".join(ln.split()) for t in texts for ln in t.split("\n"))


@pytest.fixture(scope="module")
def curriculum(tmp_path_factory, session_env, built_courses) -> dict:
    """One course directory holding every parcours that builds; the build output of the others.

    The whole build is the session's one (tests/conftest.py), copied: autograde writes into it.
    """
    base = tmp_path_factory.mktemp("cursus")
    course = base / "cours"
    whole = built_courses.result
    results = dict.fromkeys(PARCOURS, whole)
    if whole.returncode == 0:
        built_courses.copy(course)
    else:  # build them one by one so a broken parcours does not hide the others
        for pid in PARCOURS:
            results[pid] = incubo(
                "build",
                "--courses",
                COURSES,
                "--parcours",
                pid,
                "--course-dir",
                course,
                env=session_env,
                cwd=ROOT,
            )
    return {"course": course, "results": results, "env": session_env, "whole": whole}


def _modules(pid: str) -> list[str]:
    import yaml

    data = yaml.safe_load((COURSES / pid / "parcours.yml").read_text(encoding="utf-8"))
    return [m["id"] for m in data["modules"]]


def _built(curriculum, pid: str) -> Path:
    result = curriculum["results"][pid]
    assert result.returncode == 0, (
        f"incubo build refuse le parcours {pid} :\n{result.stderr[-2000:]}"
    )
    return curriculum["course"]


@pytest.mark.parametrize("pid", PARCOURS)
def test_no_solution_or_hidden_test_line_in_release(curriculum, pid):
    course = _built(curriculum, pid)
    wanted = [
        (md.name, n, norm)
        for md in sorted((COURSES / pid).glob("*.md"))
        for n, line in region_lines(md)
        if (norm := worth_looking_for(line))
    ]
    assert wanted, "aucune région de solution trouvée : le test ne vérifierait rien"
    files = [p for m in _modules(pid) for p in (course / "release" / m).rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in files)
    leaks = []
    for path in files:
        text = released_text(path)
        leaks += [
            f"{name}:{n} → {path.relative_to(course)}" for name, n, norm in wanted if norm in text
        ]
    assert not leaks, leaks


def test_all_parcours_build_into_one_course_directory_and_none_leaks_into_another(curriculum):
    """Learners can read every module of their course directory: no module's answer in any other's files."""
    whole = curriculum["whole"]
    assert whole.returncode == 0, f"incubo build refuse courses/ :\n{whole.stderr[-2000:]}"
    course = curriculum["course"]
    wanted = [
        (f"{pid}/{md.name}", n, norm)
        for pid in PARCOURS
        for md in sorted((COURSES / pid).glob("*.md"))
        for n, line in region_lines(md)
        if (norm := worth_looking_for(line))
    ]
    files = [p for p in (course / "release").rglob("*") if p.is_file()]
    assert len({p.relative_to(course / "release").parts[0] for p in files}) == sum(
        len(_modules(p)) for p in PARCOURS
    )
    leaks = []
    for path in files:
        text = released_text(path)
        leaks += [
            f"{name}:{n} → {path.relative_to(course)}" for name, n, norm in wanted if norm in text
        ]
    assert not leaks, leaks


def _graded_notebooks(course: Path, pid: str, step: str) -> list[Path]:
    out = []
    for m in _modules(pid):
        data = json.loads((course / step / m / "incubo_exercices.json").read_text(encoding="utf-8"))
        out += [
            course / step / m / f"{nb}.ipynb"
            for nb in sorted({e["notebook"] for e in data["exercices"].values()})
        ]
    return out


async def _execute_all(paths: list[Path], parallel: int = 2) -> dict[Path, str | None]:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    gate = asyncio.Semaphore(parallel)
    errors: dict[Path, str | None] = {}

    async def run(path: Path) -> None:
        async with gate:
            nb = nbformat.read(path, as_version=4)
            client = NotebookClient(
                nb,
                timeout=120,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            )
            try:
                await client.async_execute()
                errors[path] = None
            except CellExecutionError as exc:
                errors[path] = str(exc)[-1500:]

    await asyncio.gather(*(run(p) for p in paths))
    return errors


@pytest.mark.parametrize("pid", PARCOURS)
def test_solution_version_passes_visible_and_hidden_tests(curriculum, pid, monkeypatch, tmp_path):
    course = _built(curriculum, pid)
    for key, value in curriculum["env"].items():  # kernels run in the isolated Jupyter env
        monkeypatch.setenv(key, value)
    notebooks = []
    for path in _graded_notebooks(course, pid, "source"):
        # a copy: notebooks write files, and autograde copies the source folder over submissions
        work = tmp_path / path.parent.name
        if not work.exists():
            shutil.copytree(path.parent, work)
        notebooks.append(work / path.name)
    assert notebooks
    errors = asyncio.run(_execute_all(notebooks))
    failed = {f"{p.parent.name}/{p.name}": e for p, e in errors.items() if e}
    assert not failed, failed


def _autograde(course: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "nbgrader"), "autograde", "*", "--force", f"--student={STUDENT}"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def autograded(curriculum, tmp_path_factory) -> dict:
    """Every graded notebook, released and untouched, submitted by one learner and autograded by nbgrader.

    One copy of the course directory per parcours, autograded side by side (two at a time): nbgrader
    runs its notebooks one after the other, so this halves the wait on two cores.
    """
    courses = {}
    for pid in PARCOURS:
        if curriculum["results"][pid].returncode != 0:
            continue
        course = tmp_path_factory.mktemp(f"note-{pid}") / "cours"
        shutil.copytree(curriculum["course"], course, symlinks=True)
        for path in _graded_notebooks(course, pid, "release"):
            module = path.parent.name
            dest = course / "submitted" / STUDENT / module
            if not dest.exists():
                shutil.copytree(
                    path.parent, dest, ignore=shutil.ignore_patterns("*.ipynb"), dirs_exist_ok=True
                )
            (dest / path.name).write_bytes(path.read_bytes())
        courses[pid] = course
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            pid: pool.submit(_autograde, course, curriculum["env"])
            for pid, course in courses.items()
        }
        results = {pid: f.result() for pid, f in futures.items()}
    return {"course": courses, "result": results}


@pytest.mark.parametrize("pid", PARCOURS)
def test_untouched_release_runs_to_the_end_and_scores_zero(curriculum, autograded, pid):
    from nbgrader.api import Gradebook

    _built(curriculum, pid)
    course, result = autograded["course"][pid], autograded["result"][pid]
    assert result.returncode == 0, result.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for path in _graded_notebooks(course, pid, "release"):
            module = path.parent.name
            graded = course / "autograded" / STUDENT / module / path.name
            nb = nbformat.read(graded, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            assert all(c.execution_count for c in code), (
                f"{graded} ne s'est pas exécuté jusqu'au bout"
            )
            first = code[0]
            assert first.metadata["nbgrader"]["grade_id"] == "incubo-demarrer"
            assert not [o for o in first.outputs if o.output_type == "error"], first.outputs
            scored = gb.find_submission_notebook(path.stem, module, STUDENT)
            assert scored.max_score > 0
            assert scored.score == 0, (
                f"{module}/{path.name} : {scored.score} point(s) sans rien faire"
            )
