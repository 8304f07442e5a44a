"""The first module's released exercises, in a real kernel: verdicts, hints, solution policy, no leak."""

from __future__ import annotations

import ast
import base64
import importlib
import json
import re
import zlib
from pathlib import Path

import nbformat
import pytest
from harness import incubo
from nbclient import NotebookClient

PARCOURS, MODULE, NOTEBOOK = "premiers-pas", "pp-01-decouvrir", "02-exercices"


@pytest.fixture(scope="module")
def course(built_courses, tmp_path_factory) -> Path:
    """The real build of the course sources (« Premiers pas » among them), in a copy of its own:
    these tests submit and autograde in it."""
    return built_courses.copy(tmp_path_factory.mktemp("cours") / "cours")


@pytest.fixture(scope="module")
def sidecar(course) -> dict:
    return json.loads((course / "release" / MODULE / "incubo_exercices.json").read_text())


def first_failing_message(tests: str, ns: dict) -> str | None:
    """Independent oracle: run the visible asserts one by one, return the first failing one's message."""
    env = dict(ns)
    for node in ast.parse(tests).body:
        code = compile(ast.Module([node], []), "<oracle>", "exec")
        try:
            exec(code, env)
        except AssertionError as err:
            return str(err)
    return None


def answer_cases(sidecar: dict) -> list[tuple[str, dict]]:
    """Learner answers: one per visible check of each exercise, plus the right one."""
    cases = {
        "ex-pp-courriers": [{"total": 12}, {"total": 30}, {"total": 50}, {"total": 42}],
        "ex-pp-semaine": [
            {"heures_par_jour": 8, "heures_semaine": 40},
            {"heures_par_jour": 7},
            {"heures_par_jour": 7, "heures_semaine": 12},
            {"heures_par_jour": 7, "heures_semaine": 30},
            {"heures_par_jour": 7, "heures_semaine": 35},
        ],
    }
    assert set(cases) == set(sidecar["exercices"]), (
        "the module's exercises changed: update the answers here"
    )
    return [(ex, ns) for ex, answers in cases.items() for ns in answers]


def _text(output) -> str:
    if output.get("output_type") in ("display_data", "execute_result"):
        return output["data"].get("text/plain", "")
    return output.get("text", "") if output.get("output_type") == "stream" else ""


@pytest.fixture(scope="module")
def session_run(course, sidecar, session_env, tmp_path_factory):
    """Run the released notebook in a real kernel, then the learner's actions, cell by cell."""
    folder = course / "release" / MODULE
    nb = nbformat.read(folder / f"{NOTEBOOK}.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "demarrer(" in first.source
    script: list[tuple[str, str]] = [("start", first.source)]
    for ex in sidecar["exercices"]:
        script.append((f"untouched:{ex}", f'verifier("{ex}")'))
    script += [("hint", 'indice("ex-pp-courriers")')] * 3
    script.append(("solution-before", 'solution("ex-pp-courriers")'))
    for i, (ex, ns) in enumerate(answer_cases(sidecar)):
        assign = "\n".join(f"{k} = {v!r}" for k, v in ns.items())
        clear = "\n".join(
            f"globals().pop({k!r}, None)" for k in ("total", "heures_par_jour", "heures_semaine")
        )
        script.append((f"answer:{i}", f"{clear}\n{assign}\nverifier({ex!r})"))
        if i == 0:
            script.append(("solution-after-1", 'solution("ex-pp-courriers")'))
        if i == 1:
            script.append(("solution-after-2", 'solution("ex-pp-courriers")'))
    run = nbformat.v4.new_notebook(metadata=nb.metadata)
    run.cells = [nbformat.v4.new_code_cell(src) for _, src in script]
    events_file = tmp_path_factory.mktemp("apprenant") / "evenements.jsonl"
    env = dict(session_env, INCUBO_EVENTS_FILE=str(events_file))
    NotebookClient(
        run,
        timeout=60,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(folder)}},
    ).execute(env=env)
    outputs = {
        label: "\n".join(_text(o) for o in cell.outputs)
        for (label, _), cell in zip(script, run.cells, strict=True)
    }
    hints = [
        ("\n".join(_text(o) for o in cell.outputs))
        for (label, _), cell in zip(script, run.cells, strict=True)
        if label == "hint"
    ]
    return outputs, hints, events_file


def test_untouched_exercises_are_not_attempted(session_run, sidecar):
    outputs, _, _ = session_run
    for ex in sidecar["exercices"]:
        assert "Pas encore de réponse" in outputs[f"untouched:{ex}"], outputs[f"untouched:{ex}"]


def test_each_wrong_answer_gives_its_check_message_and_right_answer_passes(session_run, sidecar):
    outputs, _, _ = session_run
    seen_messages = set()
    for i, (ex, ns) in enumerate(answer_cases(sidecar)):
        out = outputs[f"answer:{i}"]
        expected = first_failing_message(sidecar["exercices"][ex]["tests_visibles"], ns)
        if expected is None:
            assert "Bravo, c'est correct !" in out, out
        else:
            assert f"Pas encore : {expected}" in out, (ns, out)
            seen_messages.add(expected)
    # every visible check of both exercises (but « variable missing ») was reached by some answer
    assert any("Il manque une partie de la journée" in m for m in seen_messages)
    assert any("Vous avez additionné" in m for m in seen_messages)
    assert any(m.startswith("Créez maintenant la variable heures_semaine") for m in seen_messages)
    assert len(seen_messages) == 6


def test_hints_come_one_at_a_time(session_run, sidecar):
    _, hints, _ = session_run
    expected = sidecar["exercices"]["ex-pp-courriers"]["indices"]
    assert len(expected) == 2
    assert f"Indice 1 sur 2 : {expected[0]}" in hints[0] and expected[1] not in hints[0]
    assert f"Indice 2 sur 2 : {expected[1]}" in hints[1]
    assert "Vous avez vu tous les indices" in hints[2]


def test_solution_after_two_real_attempts(session_run, sidecar):
    outputs, _, _ = session_run
    assert sidecar["exercices"]["ex-pp-courriers"]["politique_solution"] == {
        "mode": "apres",
        "essais": 2,
    }
    assert "Essayez d'abord" in outputs["solution-before"]
    assert "encore 1 essai" in outputs["solution-after-1"]
    assert "total = 12 + 30" not in outputs["solution-after-1"]
    assert "Une solution possible :\ntotal = 12 + 30" in outputs["solution-after-2"]


def test_the_session_left_the_right_statements(session_run):
    _, _, events_file = session_run
    stmts = [json.loads(line) for line in events_file.read_text().splitlines()]
    verbs = [s["verb"]["id"].rsplit("/", 1)[-1] for s in stmts]
    assert verbs[0] == "experienced"
    assert verbs.count("asked") == 2 and verbs.count("viewed") == 1
    assert verbs.count("passed") == 2 and verbs.count("completed") == 1
    assert all(f"/parcours/{PARCOURS}/" in s["object"]["id"] for s in stmts)


# --- hidden tests never reach a learner ------------------------------------------------


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def hidden_lines(course: Path) -> list[str]:
    """Lines of every hidden-test region in the source notebooks (worth looking for)."""
    found = []
    for path in (course / "source").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END HIDDEN TESTS" in line:
                    inside = False
                elif (
                    inside
                    and len(re.sub(r"\s", "", line)) >= 6
                    and not line.strip().startswith("#")
                ):
                    found.append(_normalize(line))
    return found


def readable_texts(path: Path) -> list[str]:
    """What a learner could read from one file: its text, JSON strings, and encoded solutions decoded."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    texts = [raw]
    if path.suffix in (".json", ".ipynb"):

        def walk(value):
            if isinstance(value, dict):
                for v in value.values():
                    yield from walk(v)
            elif isinstance(value, list):
                for v in value:
                    yield from walk(v)
            elif isinstance(value, str):
                yield value
                try:
                    yield zlib.decompress(base64.b64decode(value, validate=True)).decode("utf-8")
                except Exception:
                    pass

        try:
            texts += list(walk(json.loads(raw)))
        except ValueError:
            pass
    return [_normalize(t) for t in texts]


def test_no_hidden_test_text_in_anything_a_learner_receives(course):
    hidden = hidden_lines(course)
    assert len(hidden) >= 4, "the source notebooks should have hidden tests to look for"
    learner_files = [p for p in (course / "release").rglob("*") if p.is_file()]
    for name in ("incubo", "incubo.widgets", "incubo.grading", "incubo.reports"):
        package_dir = Path(importlib.import_module(name).__file__).parent
        learner_files += [
            p for p in package_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
    assert any(p.name == "incubo_exercices.json" for p in learner_files)
    leaks = [
        (str(p), line)
        for p in learner_files
        for text in readable_texts(p)
        for line in hidden
        if line in text
    ]
    assert leaks == []


def test_grading_sandbox_runs_the_released_notebook_silently(course, session_env, tmp_path):
    """Under INCUBO_GRADING=1 (the autograde sandbox): no event, no widget, plain text only, no error."""
    folder = course / "release" / MODULE
    nb = nbformat.read(folder / f"{NOTEBOOK}.ipynb", as_version=4)
    for cell in nb.cells:  # a learner who answered everything
        if cell.cell_type == "code" and "NotImplementedError" in cell.source:
            cell.source = (
                "total = 12 + 30"
                if "courriers" in str(cell.metadata)
                else "heures_par_jour = 7\nheures_semaine = 35"
            )
    nb.cells.append(nbformat.v4.new_code_cell('verifier("ex-pp-courriers")'))
    events_file = tmp_path / "evenements.jsonl"
    env = dict(session_env, INCUBO_EVENTS_FILE=str(events_file), INCUBO_GRADING="1")
    NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(folder)}},
    ).execute(env=env)
    assert not events_file.exists()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert all("application/vnd.jupyter.widget-view+json" not in o.get("data", {}) for o in outputs)
    assert "Bravo, c'est correct !" in _text(nb.cells[-1].outputs[0])


@pytest.mark.slow
def test_instant_verdict_agrees_with_autograde_on_the_visible_tests(course, sidecar, session_env):
    """Same answers, two ways: `verifier()`'s verdict here, `incubo grade autograde` on the submissions."""
    from incubo.widgets import verification

    by_ex: dict[str, list[dict]] = {}
    for ex, ns in answer_cases(sidecar):
        by_ex.setdefault(ex, []).append(ns)
    width = max(len(v) for v in by_ex.values())
    students = {
        f"agent{i}": {
            ex: (answers[i] if i < len(answers) else None) for ex, answers in by_ex.items()
        }
        for i in range(width + 1)
    }  # the last one leaves everything untouched
    release = course / "release" / MODULE
    for student, answers in students.items():
        folder = course / "submitted" / student / MODULE
        folder.mkdir(parents=True)
        nb = nbformat.read(release / f"{NOTEBOOK}.ipynb", as_version=4)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            ex = grade_id.removesuffix("-reponse")
            if grade_id.endswith("-reponse") and answers.get(ex) is not None:
                cell.source = "\n".join(f"{k} = {v!r}" for k, v in answers[ex].items())
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
    result = incubo(
        "grade", "autograde", MODULE, "--course-dir", course, env=session_env, timeout=600
    )
    assert result.returncode == 0, result.stderr
    for student, answers in students.items():
        graded = nbformat.read(
            course / "autograded" / student / MODULE / f"{NOTEBOOK}.ipynb", as_version=4
        )
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in graded.cells}
        for ex, ns in answers.items():
            verdict = verification.check(sidecar["exercices"][ex], dict(ns or {}))
            errors = [o for o in cells[ex].outputs if o.get("output_type") == "error"]
            if verdict.code == "correct":
                assert errors == [], (student, ex)
            elif verdict.code == "incorrect":
                assert [(e["ename"], f"Pas encore : {e['evalue']}") for e in errors] == [
                    ("AssertionError", verdict.message)
                ]
            else:
                assert verdict.code == "non-tente" and ns is None and errors, (student, ex, verdict)
