"""`incubo build` on small fixtures: what it writes, what it skips, what it never overwrites."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from harness import incubo

from incubo.exercise_data import FILE_NAME as SIDECAR
from incubo.exercise_data import decode_solution
from incubo.exercise_data import read as read_exercices

FIXTURES = Path(__file__).parent / "fixtures" / "build"
MODULE = "es-01-calculs"

TRAINER_CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "formation-toulouse"
c.ClearSolutions.code_stub = {"python": "# REPONDEZ ICI\\nraise NotImplementedError()"}
c.Exchange.root = "/srv/nbgrader/echange"
"""


@pytest.fixture
def courses(tmp_path) -> Path:
    target = tmp_path / "courses"
    shutil.copytree(FIXTURES / "ok", target)
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory, session_env) -> dict:
    """The valid fixture parcours built once, for the tests that only read the result."""
    base = tmp_path_factory.mktemp("construit")
    shutil.copytree(FIXTURES / "ok", base / "courses")
    result = build(base / "courses", base / "cours", session_env)
    return {"course": base / "cours", "result": result}


def build(courses: Path, course: Path, env, *extra):
    result = incubo(
        "build", "--courses", courses, "--course-dir", course, *extra, env=env, cwd=courses.parent
    )
    assert result.returncode == 0, result.stderr
    return result


def test_build_writes_source_release_and_the_contract_files(built):
    course = built["course"]
    release, source = course / "release" / MODULE, course / "source" / MODULE

    names = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    assert names == {
        "01-lecon.ipynb",
        "02-exercices.ipynb",
        SIDECAR,
        "incubo_quiz.yml",
        "donnees/communes.csv",
    }

    nb = nbformat.read(release / "02-exercices.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert (
        nb.cells.index(first) <= 1 and nb.cells[0].cell_type == "markdown"
    )  # no import cell above the title
    assert (
        first.source
        == 'from incubo.widgets import demarrer, verifier, indice, solution, Quiz\ndemarrer("02-exercices")'
    )
    assert first.metadata["nbgrader"]["locked"] is True
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    answer, tests = by_id["ex-es-somme-reponse"], by_id["ex-es-somme"]
    assert answer.metadata["nbgrader"]["solution"] is True
    assert answer.source == "# VOTRE CODE ICI\nraise NotImplementedError()"
    meta = tests.metadata["nbgrader"]
    assert (meta["grade"], meta["locked"], meta["points"], meta["solution"]) == (
        True,
        True,
        2,
        False,
    )
    assert "HIDDEN" not in tests.source and "resultat == 42" not in tests.source

    data = read_exercices(release)
    assert (data.parcours, data.module) == ("essai", MODULE)
    somme, secret = data.exercises["ex-es-somme"], data.exercises["ex-es-secret"]
    assert somme.visible_tests == tests.source
    assert somme.hints == ["Additionnez.", "Utilisez le signe plus."]
    assert somme.policy.to_dict() == {"mode": "apres", "essais": 2}
    assert decode_solution(somme.solution) == "resultat = 19 + 23"
    assert secret.policy.mode == "jamais" and secret.solution is None
    assert data.notebooks["01-lecon"]["type"] == "lecon"

    source_nb = nbformat.read(source / "02-exercices.ipynb", as_version=4)
    assert "### BEGIN HIDDEN TESTS" in "".join(c.source for c in source_nb.cells)
    assert (course / "nbgrader_config.py").read_text(encoding="utf-8").count("VOTRE CODE ICI") == 1


def test_gradebook_grade_cells_are_the_exercise_ids(built, session_env, monkeypatch):
    import sqlite3

    from nbgrader.api import Gradebook, get_alembic_version

    course = built["course"]
    # stamped with the schema revision nbgrader's own lookup (an `alembic heads` subprocess) gives,
    # though the build reads it in-process: `nbgrader db upgrade` takes the gradebook as its own
    with sqlite3.connect(course / "gradebook.db") as db:
        stamped = db.execute("select version_num from alembic_version").fetchall()
    monkeypatch.setenv("PATH", session_env["PATH"])  # nbgrader runs its `alembic` script
    assert stamped == [(get_alembic_version(),)]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_notebook("02-exercices", MODULE)
        assert {c.name for c in nb.grade_cells} == {"ex-es-somme", "ex-es-secret"}
        assert {c.name: c.max_score for c in nb.grade_cells} == {
            "ex-es-somme": 2,
            "ex-es-secret": 1,
        }


def test_unchanged_parcours_is_skipped_and_a_change_is_rebuilt(courses, tmp_path, session_env):
    course = tmp_path / "cours"
    build(courses, course, session_env)
    released = course / "release" / MODULE / "02-exercices.ipynb"
    stamp = released.stat().st_mtime_ns

    again = build(courses, course, session_env)
    assert f"Inchangés, non reconstruits : {MODULE}" in again.stderr
    assert "Rien à reconstruire" in again.stderr
    assert released.stat().st_mtime_ns == stamp

    md = courses / "essai" / "02-exercices.md"
    md.write_text(
        md.read_text(encoding="utf-8") + "\nUne phrase ajoutée par l'auteur.\n", encoding="utf-8"
    )
    third = build(courses, course, session_env)
    assert f"construit(s) dans {course} : {MODULE}" in third.stderr
    assert "Une phrase ajoutée" in released.read_text(encoding="utf-8")

    (course / "gradebook.db").unlink()  # a lost gradebook: the assignments are recorded again
    fourth = build(courses, course, session_env)
    assert "Inchangés" not in fourth.stderr and (course / "gradebook.db").exists()


def test_progress_is_shown(built):
    result = built["result"]
    assert "Sources vérifiées : 1 parcours, 1 module(s), 2 notebooks." in result.stderr
    assert "Génération nbgrader" in result.stderr


def test_stock_course_dir_keeps_its_config_and_assignments(
    courses, tmp_path, session_env, monkeypatch
):
    """A course directory made by stock nbgrader: its config is never rewritten, its assignments stay."""
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", session_env["PATH"])  # nbgrader runs its `alembic` script

    course = tmp_path / "cours"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "source" / "ps1" / "problem1.ipynb").write_text(
        nbformat.writes(nbformat.v4.new_notebook())
    )
    (course / "nbgrader_config.py").write_text(TRAINER_CONFIG, encoding="utf-8")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_assignment("ps1")
        gb.add_student("alice")

    build(courses, course, session_env)

    assert (course / "nbgrader_config.py").read_text(encoding="utf-8") == TRAINER_CONFIG
    nb = nbformat.read(course / "release" / MODULE / "02-exercices.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    assert (
        answer.source == "# REPONDEZ ICI\nraise NotImplementedError()"
    )  # the trainer's setting wins
    assert (course / "source" / "ps1" / "problem1.ipynb").exists()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert {a.name for a in gb.assignments} == {"ps1", MODULE}
        assert [s.id for s in gb.students] == ["alice"]


def test_only_the_chosen_parcours_is_built(courses, tmp_path, session_env):
    shutil.copytree(FIXTURES / "ok" / "essai", courses / "deuxieme")
    text = (
        (courses / "deuxieme" / "parcours.yml").read_text(encoding="utf-8").replace(MODULE, "de-01")
    )
    (courses / "deuxieme" / "parcours.yml").write_text(text, encoding="utf-8")
    (courses / "deuxieme" / "quiz" / f"{MODULE}.yml").rename(
        courses / "deuxieme" / "quiz" / "de-01.yml"
    )
    for md in (courses / "deuxieme").glob("*.md"):
        md.write_text(md.read_text(encoding="utf-8").replace("ex-es-", "ex-de-"), encoding="utf-8")
    course = tmp_path / "cours"
    build(courses, course, session_env, "--parcours", "deuxieme")
    assert sorted(p.name for p in (course / "release").iterdir()) == ["de-01"]
    stamps = json.loads((course / ".incubo_build.json").read_text(encoding="utf-8"))
    assert stamps["de-01"]["parcours"] == "deuxieme"


def test_solution_policy_and_exercise_file_round_trip(tmp_path):
    from incubo.exercise_data import Exercise, ExerciseData, encode_solution, write
    from incubo.solution_policy import SolutionPolicy

    assert SolutionPolicy.parse("apres-3-essais").to_dict() == {"mode": "apres", "essais": 3}
    with pytest.raises(ValueError):
        SolutionPolicy.parse("parfois")

    assert read_exercices(tmp_path) is None  # a stock course: no data file, no error
    ex = Exercise(
        "02-exercices",
        2,
        "assert x",
        ["un"],
        SolutionPolicy.parse("toujours"),
        encode_solution("x = 40 + 2"),
        extra={"solution_serveur": False},  # a key another writer adds survives the round trip
    )
    write(tmp_path, ExerciseData("p", "m", {"02-exercices": {"type": "exercices"}}, {"ex-a": ex}))
    back = read_exercices(tmp_path)
    assert back.exercises["ex-a"].solution_text() == "x = 40 + 2"
    assert back.to_dict() == json.loads((tmp_path / SIDECAR).read_text(encoding="utf-8"))
