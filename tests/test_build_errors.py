"""Each kind of broken course source is refused: French sentence with file and line, nothing changed.

Every fixture of tests/fixtures/build/<kind>/ holds only the files that differ
from the valid parcours of tests/fixtures/build/ok/; the refused build runs
against a course directory that already holds the valid build, so a
half-written assignment would show in the tree hash.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from harness import assert_french_error, incubo

FIXTURES = Path(__file__).parent / "fixtures" / "build"

# kind -> (file the message must name, line, a fragment of the sentence)
BROKEN = {
    "marqueur-solution-ouvert": ("02-exercices.md", 26, "jamais fermée"),
    "marqueur-cache-orphelin": ("02-exercices.md", 39, "n'a pas été ouverte"),
    "exercice-duplique": ("01-lecon.md", 29, "« ex-es-somme » existe déjà"),
    "exercice-duplique-parcours": ("01-exercices.md", 18, "« ex-es-somme » existe déjà"),
    "module-duplique": ("parcours.yml", 8, "« es-01-calculs » existe déjà"),
    "reponse-sans-tests": ("02-exercices.md", 43, "n'a pas de cellule de tests"),
    "yaml-invalide": ("parcours.yml", 9, "YAML est mal formé"),
    "cle-manquante": ("parcours.yml", 8, "il manque la clé « notebooks »"),
    "notebook-inconnu": ("parcours.yml", 10, "« 02-exercise » n'existe pas"),
    "fuite-lecon": ("02-exercices.md", 27, "release/es-01-calculs/01-lecon.ipynb"),
    "fuite-indice": ("02-exercices.md", 27, "release/es-01-calculs/incubo_exercices.json"),
    "fuite-test-cache": ("02-exercices.md", 64, "ligne de test caché"),
    # the answer of parcours « essai » written in a lesson of parcours « autre »
    "fuite-autre-parcours": ("02-exercices.md", 27, "release/au-01/01-lecon.ipynb"),
    # a question whose right or wrong answer is an exercise's result must name one of the module's
    "exercice-de-quiz-inconnu": ("es-01-calculs.yml", 6, "« ex-es-secre », qui n'existe pas"),
}


def tree_hash(root: Path) -> str:
    """Paths and bytes of every file under `root` (and of its parent's entries: no leftovers)."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        h.update(str(path.relative_to(root)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    for entry in sorted(p.name for p in root.parent.iterdir()):
        h.update(entry.encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def valid_course(tmp_path_factory, session_env) -> Path:
    """A course directory built from the valid fixture parcours."""
    base = tmp_path_factory.mktemp("valide")
    result = incubo(
        "build",
        "--courses",
        FIXTURES / "ok",
        "--course-dir",
        base / "cours",
        env=session_env,
        cwd=base,
    )
    assert result.returncode == 0, result.stderr
    return base / "cours"


def test_fixture_kinds_all_have_a_test():
    kinds = {p.name for p in FIXTURES.iterdir() if p.is_dir()} - {"ok"}
    assert kinds == set(BROKEN)


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_source_is_refused_and_changes_nothing(kind, valid_course, tmp_path, session_env):
    courses = tmp_path / "courses"
    shutil.copytree(FIXTURES / "ok", courses)
    shutil.copytree(FIXTURES / kind, courses, dirs_exist_ok=True)
    course = tmp_path / "depot" / "cours"
    shutil.copytree(valid_course, course)
    before = tree_hash(course)

    result = incubo(
        "build", "--courses", courses, "--course-dir", course, env=session_env, cwd=tmp_path
    )

    filename, line, fragment = BROKEN[kind]
    assert_french_error(result, f"{filename}, ligne {line}", fragment)
    message = [ln for ln in result.stderr.splitlines() if ln.startswith("Erreur")]
    assert len(message) == 1 and message[0].rstrip().endswith((".", "?")), result.stderr
    assert tree_hash(course) == before, "la construction refusée a modifié le dossier de cours"


def test_refused_build_into_a_new_directory_creates_nothing(tmp_path, session_env):
    courses = tmp_path / "courses"
    shutil.copytree(FIXTURES / "ok", courses)
    shutil.copytree(FIXTURES / "fuite-lecon", courses, dirs_exist_ok=True)
    result = incubo(
        "build",
        "--courses",
        courses,
        "--course-dir",
        tmp_path / "neuf" / "cours",
        env=session_env,
        cwd=tmp_path,
    )
    assert_french_error(result, "01-lecon.ipynb")
    assert not (tmp_path / "neuf" / "cours").exists()
    assert not (tmp_path / "neuf").exists()


def test_unknown_parcours_suggests_the_closest(valid_course, tmp_path, session_env):
    result = incubo(
        "build",
        "--courses",
        FIXTURES / "ok",
        "--parcours",
        "esai",
        "--course-dir",
        tmp_path / "c",
        env=session_env,
    )
    assert_french_error(result, "« esai » n'existe pas", "« essai »")


def test_missing_courses_folder_is_a_french_error(tmp_path, session_env):
    result = incubo("build", "--course-dir", tmp_path / "c", env=session_env, cwd=tmp_path)
    assert_french_error(result, "n'existe pas", "--courses")


# --- leaks across the modules of one course directory ---------------------------------------------


def _leak_message(result) -> str:
    assert_french_error(result, "se retrouverait dans le fichier publié")
    return next(ln for ln in result.stderr.splitlines() if ln.startswith("Erreur"))


def test_a_solution_line_in_another_parcours_lesson_names_both_files(tmp_path, session_env):
    courses = tmp_path / "courses"
    shutil.copytree(FIXTURES / "ok", courses)
    shutil.copytree(FIXTURES / "fuite-autre-parcours", courses, dirs_exist_ok=True)
    course = tmp_path / "cours"
    result = incubo(
        "build", "--courses", courses, "--course-dir", course, env=session_env, cwd=tmp_path
    )
    message = _leak_message(result)
    assert "essai/02-exercices.md, ligne 27" in message  # where the solution is written
    assert (
        "autre/01-lecon.md" in message and "release/au-01/01-lecon.ipynb" in message
    )  # where it would be read
    assert (
        "« resultat = 19 + 23 »" in message
        and "« es-01-calculs »" in message
        and "« au-01 »" in message
    )
    assert not course.exists()


def test_an_incremental_build_still_sees_the_modules_it_does_not_rebuild(tmp_path, session_env):
    """Only one module changes each time; the unchanged one is skipped yet still compared."""
    courses = tmp_path / "courses"
    shutil.copytree(FIXTURES / "ok", courses)
    shutil.copytree(FIXTURES / "fuite-autre-parcours", courses, dirs_exist_ok=True)
    lesson = courses / "autre" / "01-lecon.md"
    leaking = lesson.read_text(encoding="utf-8")
    lesson.write_text(leaking.replace("resultat = 19 + 23", "resultat = 20 + 22"), encoding="utf-8")
    course = tmp_path / "cours"

    def build(*extra):
        return incubo(
            "build",
            "--courses",
            courses,
            "--course-dir",
            course,
            *extra,
            env=session_env,
            cwd=tmp_path,
        )

    assert build().returncode == 0
    before = tree_hash(course)
    # 1. only the lesson of « autre » changes: « essai » is not rebuilt, its solution is still looked for
    lesson.write_text(leaking, encoding="utf-8")
    result = build()
    assert "Inchangés, non reconstruits : es-01-calculs" in result.stderr
    assert "essai/02-exercices.md, ligne 27" in _leak_message(result)
    assert tree_hash(course) == before
    # the same when only that parcours is asked for
    assert "release/au-01/01-lecon.ipynb" in _leak_message(build("--parcours", "autre"))
    assert build().returncode != 0, "a refused build must be refused again, not skipped"
    # 2. only the solution of « essai » changes, to a line the (unchanged, released) lesson already shows
    lesson.write_text(leaking.replace("resultat = 19 + 23", "resultat = 20 + 22"), encoding="utf-8")
    assert build().returncode == 0
    exercises = courses / "essai" / "02-exercices.md"
    exercises.write_text(
        exercises.read_text(encoding="utf-8").replace("resultat = 19 + 23", "resultat = 20 + 22"),
        encoding="utf-8",
    )
    message = _leak_message(build())
    assert (
        "essai/02-exercices.md, ligne 27" in message and "release/au-01/01-lecon.ipynb" in message
    )
