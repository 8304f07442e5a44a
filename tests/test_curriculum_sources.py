"""The three parcours of issue 7, read from their sources (no kernel, a few seconds).

Shape of every module (micro-lessons with duration, objectives, key points;
quizzes; graded exercises with teaching checks, hidden tests and hints),
durations that add up, self-assessment at both ends, data files with their
source and licence, the reproducible synthetic export, and French spelling
checked by Debian's hunspell-fr with the project word list.
"""

from __future__ import annotations

import ast
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import curriculum_support as cs
import pytest
import yaml

WORDLIST = Path(__file__).resolve().parent / "spelling" / "mots-du-projet.txt"
PREFIX = {"python-pas-a-pas": "pap-", "tableur-pandas": "tp-", "donnees-demarches": "dd-"}
EX_PREFIX = {
    "python-pas-a-pas": "ex-pap-",
    "tableur-pandas": "ex-tp-",
    "donnees-demarches": "ex-dd-",
}
MODULE_COUNT = {"python-pas-a-pas": 6, "tableur-pandas": 5, "donnees-demarches": 3}
QUIZ_KINDS = {"choix-unique", "choix-multiple", "nombre", "texte"}
POLICY = re.compile(r"^(jamais|toujours|apres-\d+-essais)$")


def meta(pid: str, stem: str) -> dict:
    return cs.read(pid, stem).metadata["incubo"]


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_parcours_modules_and_ids(pid):
    data = cs.load_parcours(pid)
    assert data["titre"] and data["public"] and data["objectifs"]
    assert POLICY.match(data.get("solution", "apres-2-essais"))
    assert len(data["modules"]) == MODULE_COUNT[pid]
    for m in data["modules"]:
        assert m["id"].startswith(PREFIX[pid]), m["id"]
        for stem in m["notebooks"]:
            assert cs.notebook_path(pid, stem).exists(), stem


def test_ids_unique_across_all_courses():
    """Module ids become nbgrader assignments, exercise ids grade cells: unique across every parcours."""
    modules, exercises = [], []
    for yml in sorted(cs.COURSES.glob("*/parcours.yml")):
        pid = yml.parent.name
        for m in cs.modules(pid):
            modules.append(m["id"])
            for stem in m["notebooks"]:
                exercises += [ex.ident for ex in cs.exercises_of(pid, stem)]
    assert len(modules) == len(set(modules)), modules
    assert len(exercises) == len(set(exercises)), exercises


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_durations_add_up(pid):
    data = cs.load_parcours(pid)
    total = 0
    for m in data["modules"]:
        for stem in m["notebooks"]:
            info = meta(pid, stem)
            body = cs.notebook_path(pid, stem).read_text("utf-8")
            assert f"**Durée : {info['duree']} minutes.**" in body, (
                f"{stem} : la durée affichée diffère de duree"
            )
            total += info["duree"]
    assert data["duree"] == total, (
        f"parcours.yml dit {data['duree']} min, les notebooks {total} min"
    )


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_every_module_has_lessons_objectives_key_points_quizzes(pid):
    for m in cs.modules(pid):
        lessons = [s for s in m["notebooks"] if meta(pid, s)["type"] == "lecon"]
        assert 2 <= len(lessons) <= 4, (m["id"], lessons)
        quiz_calls = []
        for stem in m["notebooks"]:
            info = meta(pid, stem)
            assert info["titre"] and info["objectifs"] and info["points_cles"], stem
            if info["type"] == "lecon":
                assert 5 <= info["duree"] <= 15, stem
                assert info.get("questions"), f"{stem} : pas de questions (forme Carpentries)"
                body = cs.notebook_path(pid, stem).read_text("utf-8")
                assert "## Points clés" in body, stem
                quiz_calls += re.findall(r'^Quiz\("([^"]+)"\)', body, re.M)
        assert len(quiz_calls) >= 2, f"{m['id']} : {len(quiz_calls)} quiz dans les leçons"
        bank = yaml.safe_load((cs.COURSES / pid / "quiz" / f"{m['id']}.yml").read_text("utf-8"))
        ids = [q["id"] for q in bank]
        assert len(bank) >= 4 and len(ids) == len(set(ids)), m["id"]
        assert set(quiz_calls) <= set(ids), set(quiz_calls) - set(ids)
        kinds = {q["type"] for q in bank}
        assert kinds <= QUIZ_KINDS and len(kinds) >= 3, (m["id"], kinds)
        for q in bank:
            if q["type"].startswith("choix"):
                assert any(o.get("correct") for o in q["options"]), q["id"]
                assert all(o.get("retour") for o in q["options"]), (
                    f"{q['id']} : chaque option a son retour"
                )
            else:
                assert "reponse" in q, q["id"]


def _asserts(source: str) -> list[ast.Assert]:
    return [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Assert)]


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_every_module_has_graded_exercises_with_hints_and_teaching_checks(pid):
    for m in cs.modules(pid):
        exercises = [ex for stem in m["notebooks"] for ex in cs.exercises_of(pid, stem)]
        assert len(exercises) >= 2, m["id"]
        for ex in exercises:
            assert ex.ident.startswith(EX_PREFIX[pid]), ex.ident
            assert ex.tests, f"{ex.ident} : pas de cellule de tests"
            assert ex.points > 0, ex.ident
            assert "### BEGIN SOLUTION" in ex.answer and "### END SOLUTION" in ex.answer, ex.ident
            assert "### BEGIN HIDDEN TESTS" in ex.tests, f"{ex.ident} : pas de tests cachés"
            assert _asserts(ex.tests.replace(ex.visible_tests, "")) or len(
                _asserts(ex.tests)
            ) > len(_asserts(ex.visible_tests)), f"{ex.ident} : tests cachés vides"
            hints = ex.meta.get("indices") or []
            assert len(hints) >= 2 and len(set(hints)) == len(hints), (
                f"{ex.ident} : au moins deux indices"
            )
            policy = ex.meta.get(
                "solution", cs.load_parcours(pid).get("solution", "apres-2-essais")
            )
            assert POLICY.match(policy), (ex.ident, policy)
            visible = _asserts(ex.visible_tests)
            assert len(visible) >= 2, ex.ident
            for node in visible:
                assert node.msg is not None, (
                    f"{ex.ident} ligne {node.lineno} : une vérification sans message"
                )
            messages = [ast.unparse(n.msg) for n in visible]
            assert all(len(msg) > 20 for msg in messages), (
                f"{ex.ident} : des messages trop courts pour guider"
            )
            assert not any(
                re.fullmatch(r"['\"](faux|incorrect|erreur)\.?['\"]", msg, re.I) for msg in messages
            )


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_no_solution_line_readable_in_the_module(pid):
    """The build's no-leak rule, checked on the sources (fast diagnostics; the build enforces it)."""
    found = [leak for m in cs.modules(pid) for leak in cs.leaks(pid, m)]
    assert not found, found


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_self_assessment_at_start_and_end(pid):
    mods = cs.modules(pid)
    first = cs.notebook_path(pid, mods[0]["notebooks"][0]).read_text("utf-8")
    last = cs.notebook_path(pid, mods[-1]["notebooks"][-1]).read_text("utf-8")
    assert f'Autoevaluation("debut", parcours="{pid}")' in first
    assert f'Autoevaluation("fin", parcours="{pid}")' in last
    import incubo.widgets

    assert "Autoevaluation" in incubo.widgets.__all__


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_data_files_carry_source_and_licence(pid):
    data = cs.load_parcours(pid)
    declared = list(data.get("donnees", []))
    sources = (cs.COURSES / pid / "donnees" / "SOURCES.md").read_text("utf-8")
    for m in data["modules"]:
        declared_here = declared + list(m.get("donnees", []))
        for stem in m["notebooks"]:
            nb = cs.read(pid, stem)
            code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
            prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
            used = set(re.findall(r"donnees/([\w.-]+)", code))
            for name in used:
                assert any(d.split("/")[-1] == name for d in declared_here), (
                    f"{stem} : {name} non déclaré"
                )
                assert name in sources, f"{name} absent de donnees/SOURCES.md"
            if used:
                assert re.search(r"[Ss]ource", prose), f"{stem} lit {used} sans en citer la source"
                assert re.search(r"Licence Ouverte|licence MIT", prose), (
                    f"{stem} lit {used} sans sa licence"
                )
    for d in declared + [x for m in data["modules"] for x in m.get("donnees", [])]:
        assert (cs.COURSES / pid / d).exists(), d
        assert Path(d).name in sources, f"{d} absent de SOURCES.md"
    assert "Licence" in sources or "MIT" in sources


def test_real_data_copied_unchanged():
    """The real open data in the courses is the upstream file, byte for byte (checksums kept in the repository)."""
    listed = {}
    for line in (cs.FIXTURES / "open-data.sha256").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, path = line.split(maxsplit=1)
            listed[path] = digest
    assert len(listed) == 4
    for path, digest in listed.items():
        assert hashlib.sha256((cs.COURSES / path).read_bytes()).hexdigest() == digest, path
    raw = (cs.COURSES / "tableur-pandas" / "donnees" / "communes_population_2023.csv").read_bytes()
    assert b"\r\n" in raw[:200], "le fichier des communes doit garder ses fins de ligne CRLF"


def test_synthetic_demarche_export_is_reproducible(tmp_path):
    folder = cs.COURSES / "donnees-demarches" / "donnees"
    subprocess.run(
        [sys.executable, str(folder / "generer_donnees.py"), str(tmp_path)], check=True, timeout=120
    )
    for name in (
        "export_demarche_subventions.csv",
        "api_dossiers_page1.json",
        "api_geo_communes_31.json",
    ):
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), (
            f"{name} ne se régénère pas à l'identique"
        )
    header = (folder / "export_demarche_subventions.csv").read_text("utf-8").splitlines()[0]
    for column in (
        "ID",
        "État du dossier",
        "Déposé le",
        "Passé en instruction le",
        "Traité le",
        "Motivation de la décision",
        "Instructeurs",
    ):
        assert column in header.split(","), column
    assert (
        200
        <= len((folder / "export_demarche_subventions.csv").read_text("utf-8").splitlines()) - 1
        <= 500
    )


def _hunspell(text: str) -> list[str]:
    out = subprocess.run(
        ["hunspell", "-d", "fr_FR", "-p", str(WORDLIST), "-l"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return sorted(set(out.stdout.split()))


def _quiz_strings(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("question", "texte", "retour", "explication") and isinstance(item, str):
                yield item
            else:
                yield from _quiz_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _quiz_strings(item)


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_french_spelling(pid):
    """Lesson prose, hints and quiz banks: no word unknown to hunspell-fr and the word list."""
    if not shutil.which("hunspell"):
        pytest.fail("hunspell manquant : installez hunspell et hunspell-fr (fait par .ci/run).")
    errors = {}
    for m in cs.modules(pid):
        names: set[str] = set()
        for stem in m["notebooks"]:
            names |= cs.code_names(pid, stem)
            unknown = _hunspell(
                cs.prose_for_spelling(cs.markdown_text(pid, stem), cs.code_names(pid, stem))
            )
            if unknown:
                errors[stem] = unknown
        bank = yaml.safe_load((cs.COURSES / pid / "quiz" / f"{m['id']}.yml").read_text("utf-8"))
        unknown = _hunspell(cs.prose_for_spelling("\n".join(_quiz_strings(bank)), names))
        if unknown:
            errors[f"quiz/{m['id']}.yml"] = unknown
    assert not errors, f"mots inconnus (corrigez, ou ajoutez-les à {WORDLIST.name}) : {errors}"


def test_spell_check_catches_a_typo():
    """The check is not vacuous: a misspelt word in lesson prose is reported."""
    assert _hunspell(cs.prose_for_spelling("Les comunes de la préfecture et leur populasion.")) == [
        "comunes",
        "populasion",
    ]


#: Every parcours of courses/, the first steps too: each has its trainer guide (README).
ALL_PARCOURS = sorted(p.parent.name for p in cs.COURSES.glob("*/parcours.yml"))


@pytest.mark.parametrize("pid", ALL_PARCOURS)
def test_trainer_guide_spelling(pid):
    """Each parcours' trainer guide: no word unknown to hunspell-fr and the word list."""
    if not shutil.which("hunspell"):
        pytest.fail("hunspell manquant : installez hunspell et hunspell-fr (fait par .ci/run).")
    guide = (cs.COURSES / pid / "GUIDE-formateur.md").read_text("utf-8")
    unknown = _hunspell(cs.prose_for_spelling(guide))
    assert not unknown, f"mots inconnus (corrigez, ou ajoutez-les à {WORDLIST.name}) : {unknown}"


def test_trainer_guides_give_the_commands():
    assert "premiers-pas" in ALL_PARCOURS
    for pid in ALL_PARCOURS:
        guide = (cs.COURSES / pid / "GUIDE-formateur.md").read_text("utf-8")
        for command in (
            "incubo build",
            "nbgrader release_assignment",
            "nbgrader collect",
            "incubo grade autograde",
            "incubo grade feedback",
            "incubo grade export",
        ):
            assert command in guide, (pid, command)
        for m in cs.modules(pid):
            assert m["id"] in guide, (pid, m["id"])
        assert "Difficultés fréquentes" in guide


@pytest.mark.parametrize("pid", cs.PARCOURS)
def test_quiz_banks_accept_their_own_answers(pid):
    """Each question, read by the widgets' own model, accepts its right answer and refuses a wrong one."""
    from incubo.widgets.quiz import Question

    for path in sorted((cs.COURSES / pid / "quiz").glob("*.yml")):
        for spec in yaml.safe_load(path.read_text("utf-8")):
            q = Question.from_spec(spec)
            if q.type == "choix-unique":
                right = next(i for i, o in enumerate(q.options) if o.get("correct"))
                wrong = next(i for i, o in enumerate(q.options) if not o.get("correct"))
            elif q.type == "choix-multiple":
                right = [i for i, o in enumerate(q.options) if o.get("correct")]
                wrong = [i for i, o in enumerate(q.options) if not o.get("correct")][:1]
            elif q.type == "nombre":
                right, wrong = q.reponse, float(q.reponse) + q.tolerance + 1
            else:
                right = q.reponse[0] if isinstance(q.reponse, list) else q.reponse
                wrong = "je ne sais pas"
            assert q.evaluate(right).success is True, (path.name, q.id)
            assert q.evaluate(wrong).success is False, (path.name, q.id)
