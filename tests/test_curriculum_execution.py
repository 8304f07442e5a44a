"""The three parcours of issue 7, built by the real `incubo build`, run for real.

- every lesson of the released course executes to the end in a real kernel
  (isolated Jupyter env), and its quizzes and self-assessment render;
- every typical-mistake fixture (`tests/fixtures/curriculum/<exercise>.yml`)
  is refused by the learner widgets' own check (`incubo.widgets.verification`)
  run on the released visible tests, with its teaching message.

Solutions passing, untouched releases scoring 0 and the leak scan are in
tests/test_build_curriculum.py (parametrised over every parcours).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import warnings
from pathlib import Path

import curriculum_support as cs
import nbformat
import pytest
import yaml

FIXTURE_FILES = sorted(cs.FIXTURES.glob("*.yml"))


@pytest.fixture(scope="module")
def course(built_courses) -> Path:
    """The course directory where `incubo build` built courses/ (the three parcours among them).

    Shared with the other modules (tests/conftest.py): read only here, lessons run in copies.
    """
    assert built_courses.result.returncode == 0, (
        f"incubo build refuse courses/ :\n{built_courses.result.stderr[-2000:]}"
    )
    for pid in cs.PARCOURS:
        for m in cs.modules(pid):
            assert (built_courses.course / "release" / m["id"]).is_dir(), (pid, m["id"])
    return built_courses.course


def _lessons() -> list[tuple[str, str, str]]:
    return [
        (pid, m["id"], stem)
        for pid, m, stem in cs.all_notebooks()
        if cs.read(pid, stem).metadata["incubo"]["type"] == "lecon"
    ]


async def _run_all(paths: list[Path], parallel: int = 3) -> dict[Path, object]:
    from nbclient import NotebookClient

    gate = asyncio.Semaphore(parallel)
    results: dict[Path, object] = {}

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
                results[path] = nb
            except Exception as exc:  # CellExecutionError, kernel death, timeout
                results[path] = f"{type(exc).__name__}: {str(exc)[-1500:]}"

    await asyncio.gather(*(run(p) for p in paths))
    return results


def _plain(cell) -> str:
    return "\n".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
        for o in cell.get("outputs", [])
    )


def test_every_lesson_executes_with_its_quizzes(course, tmp_path, monkeypatch, session_env):
    for key in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "HOME",
        "INCUBO_EVENTS_FILE",
    ):
        monkeypatch.setenv(key, session_env[key])
    paths, expected = [], {}
    for pid, module, stem in _lessons():
        work = tmp_path / module
        if not work.exists():  # lessons write files: run them in a copy of the released module
            shutil.copytree(course / "release" / module, work)
        paths.append(work / f"{stem}.ipynb")
        bank = {
            q["id"]: q
            for q in yaml.safe_load(
                (cs.COURSES / pid / "quiz" / f"{module}.yml").read_text("utf-8")
            )
        }
        expected[work / f"{stem}.ipynb"] = bank
    assert len(paths) >= 2 * 14
    results = asyncio.run(_run_all(paths))
    failed = {f"{p.parent.name}/{p.name}": r for p, r in results.items() if isinstance(r, str)}
    assert not failed, failed
    for path, nb in results.items():
        quiz_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("Quiz(")]
        assert quiz_cells, f"{path.name} : aucune cellule Quiz"
        for cell in quiz_cells:
            qid = cell.source.split('"')[1]
            question = expected[path][qid]["question"]
            assert question in _plain(cell), (
                f"{path.name} : le quiz {qid} ne s'affiche pas ({_plain(cell)[:200]!r})"
            )
        for cell in nb.cells:
            if cell.cell_type == "code" and "Autoevaluation(" in cell.source:
                assert "Auto-évaluation" in _plain(cell), (
                    f"{path.name} : le questionnaire ne s'affiche pas"
                )


def _exercise_entry(course: Path, module: str, ex_id: str) -> dict:
    data = json.loads((course / "release" / module / "incubo_exercices.json").read_text("utf-8"))
    return data["exercices"][ex_id]


def _mistakes() -> list[tuple[str, str, cs.Exercise, dict]]:
    exercises = {ex.ident: (pid, m["id"], ex) for pid, m, ex in cs.all_exercises()}
    out = []
    for path in FIXTURE_FILES:
        fixture = yaml.safe_load(path.read_text("utf-8"))
        pid, module, ex = exercises[fixture["exercice"]]
        out.append((pid, module, ex, fixture))
    return out


def test_one_typical_mistake_fixture_per_exercise():
    exercises = {ex.ident for _pid, _m, ex in cs.all_exercises()}
    fixtures = {yaml.safe_load(p.read_text("utf-8"))["exercice"] for p in FIXTURE_FILES}
    assert len(exercises) == 28
    assert fixtures == exercises, {
        "sans fixture": exercises - fixtures,
        "inconnues": fixtures - exercises,
    }


def test_typical_mistakes_fail_the_visible_check_with_their_message(course, tmp_path, monkeypatch):
    """The answer most learners would first write gets « incorrect » and the sentence that helps;
    the solution gets « correct » from the same check."""
    from incubo.widgets import verification

    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("INCUBO_GRADING", "1")  # no learning events from this process
    problems = []
    for _pid, module, ex, fixture in _mistakes():
        work = tmp_path / fixture["exercice"]
        shutil.copytree(course / "release" / module, work)
        monkeypatch.chdir(work)
        namespace: dict = {"__name__": "__main__"}
        for setup in ex.setup:  # the notebook's own cells before the answer (data loading…)
            exec(compile(setup, f"<{ex.notebook}>", "exec"), namespace)
        with (
            warnings.catch_warnings()
        ):  # the mistake may trigger a library warning (dates read month first)
            warnings.simplefilter("ignore")
            exec(compile(fixture["reponse"], f"<{fixture['exercice']}>", "exec"), namespace)
        entry = _exercise_entry(course, module, ex.ident)
        assert entry["tests_visibles"].strip() == ex.visible_tests.strip()
        verdict = verification.check(entry, namespace)
        if verdict.code != verification.INCORRECT or fixture["message"] not in verdict.message:
            problems.append(f"{ex.ident} : {verdict.code} — {verdict.text()[:300]}")
        # the same check accepts the solution: the message comes from the mistake, not from broken tests
        monkeypatch.chdir(tmp_path)
        shutil.rmtree(work)
        shutil.copytree(course / "release" / module, work)
        monkeypatch.chdir(work)
        namespace = {"__name__": "__main__"}
        for setup in ex.setup:
            exec(compile(setup, f"<{ex.notebook}>", "exec"), namespace)
        exec(compile(ex.solution, f"<{ex.ident}>", "exec"), namespace)
        good = verification.check(entry, namespace)
        if not good.success:
            problems.append(f"{ex.ident} (solution) : {good.code} — {good.text()[:300]}")
    assert not problems, "\n".join(problems)
