"""Learner widgets without a browser: answer through `.value` and `.click()`, check verdicts and statements."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from incubo import events, xapi
from incubo.widgets import session

FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"


@pytest.fixture
def module_dir(tmp_path, monkeypatch) -> Path:
    """A released module folder (sidecar + quiz bank) as the notebook's working directory."""
    folder = tmp_path / "release" / "essai-01"
    shutil.copytree(FIXTURE, folder)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INCUBO_EVENTS_FILE", str(tmp_path / "evenements.jsonl"))
    for name in ("INCUBO_LRS_URL", "INCUBO_GRADING", "JUPYTERHUB_USER", "INCUBO_REGISTRATION"):
        monkeypatch.delenv(name, raising=False)
    from incubo.widgets import demarrer

    demarrer("02-exercices")
    return folder


def seen(markup: str) -> str:
    """The text a reader sees in an HTML widget (tags stripped, entities unescaped)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def journal() -> list[dict]:
    return events.read_jsonl()


def verb(stmt: dict) -> str:
    return stmt["verb"]["id"].rsplit("/", 1)[-1]


def ext(stmt: dict, name: str):
    return stmt["context"].get("extensions", {}).get(xapi.extension(name))


def new_since(n: int) -> list[dict]:
    return journal()[n:]


# --- demarrer ------------------------------------------------------------------


def test_demarrer_without_sidecar_never_raises(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INCUBO_EVENTS_FILE", "/proc/interdit/evenements.jsonl")  # unwritable
    from incubo.widgets import demarrer, indice, solution, verifier

    demarrer("01-lecon")
    verifier("ex-addition-1")
    indice("ex-addition-1")
    solution("ex-addition-1")
    out = capsys.readouterr().out
    assert "incubo_exercices.json est absent" in out


def test_demarrer_records_lesson_opened(module_dir):
    [stmt] = journal()
    assert verb(stmt) == "experienced"
    assert stmt["object"]["id"].endswith("/parcours/essai/module/essai-01/lecon/02-exercices")
    assert stmt["object"]["definition"]["name"] == {"fr-FR": "Exercices d'essai"}
    assert stmt["actor"]["account"]["name"]


# --- verifier: every verdict, by clicking the panel's button ---------------------


def click_check(ex_id: str, ns: dict):
    from incubo.widgets import Exercice

    panel = Exercice(ex_id, namespace=ns)
    before = len(journal())
    panel.check_button.click()
    return panel, new_since(before)


def test_untouched_answer_is_not_attempted(module_dir):
    panel, stmts = click_check("ex-addition-1", {})
    assert panel.verdict.code == "non-tente"
    assert "Pas encore de réponse" in seen(
        panel.feedback.value
    ) and "« total » n'existe pas encore" in seen(panel.feedback.value)
    assert [verb(s) for s in stmts] == ["attempted"]
    assert ext(stmts[0], "verdict") == "non-tente" and stmts[0]["result"]["success"] is False


def test_stub_raising_not_implemented_is_not_attempted(module_dir):
    def moyenne(nombres):
        raise NotImplementedError()

    panel, stmts = click_check("ex-moyenne", {"moyenne": moyenne})
    assert panel.verdict.code == "non-tente"
    assert [verb(s) for s in stmts] == ["attempted"]


def test_wrong_answer_gives_the_failing_check_message(module_dir):
    panel, stmts = click_check("ex-addition-1", {"total": 41})
    assert panel.verdict.code == "incorrect"
    assert panel.verdict.message == "Pas encore : total devrait valoir 12 + 30."
    assert [verb(s) for s in stmts] == ["attempted", "failed"]
    assert ext(stmts[0], "verdict") == "incorrect" and ext(stmts[0], "attempt") == 1


def test_error_in_code_is_explained_in_french(module_dir):
    panel, stmts = click_check("ex-moyenne", {"moyenne": lambda xs: sum(xs) / 0})
    assert panel.verdict.code == "erreur"
    assert "division par zéro (ZeroDivisionError)" in panel.verdict.message
    assert "diviser par zéro est impossible" in panel.verdict.detail
    assert [verb(s) for s in stmts] == ["attempted", "failed"]
    assert ext(stmts[0], "verdict") == "erreur"


def test_correct_answer_passes(module_dir):
    panel, stmts = click_check("ex-addition-1", {"total": 42})
    assert panel.verdict.code == "correct" and "Bravo" in seen(panel.feedback.value)
    assert [verb(s) for s in stmts] == ["attempted", "passed"]
    assert stmts[0]["result"]["success"] is True and ext(stmts[0], "verdict") == "correct"
    assert (
        "Bravo, c'est correct" in panel._repr_mimebundle_()["text/plain"]
    )  # text for non-widget viewers


def test_tests_do_not_leak_into_the_learner_namespace(module_dir):
    ns = {"total": 42}
    click_check("ex-addition-1", ns)
    assert set(ns) == {"total"}


def test_module_completed_once_all_exercises_pass(module_dir):
    click_check("ex-addition-1", {"total": 42})
    click_check("ex-moyenne", {"moyenne": lambda xs: sum(xs) / len(xs)})
    assert not [s for s in journal() if verb(s) == "completed"]
    click_check("ex-secret", {"secret": "ok"})
    click_check("ex-secret", {"secret": "ok"})
    [done] = [s for s in journal() if verb(s) == "completed"]
    assert done["object"]["id"].endswith("/parcours/essai/module/essai-01")


# --- hints and the solution policy --------------------------------------------------


def test_hints_one_at_a_time(module_dir):
    from incubo.widgets import Exercice

    panel = Exercice("ex-addition-1", namespace={})
    before = len(journal())
    panel.hint_button.click()
    assert "Indice 1 sur 2 : Utilisez le signe +." in seen(panel.hints.value)
    assert "Indice 2" not in seen(panel.hints.value)
    panel.hint_button.click()
    panel.hint_button.click()  # no third hint: says so, records nothing
    assert "Indice 2 sur 2" in seen(panel.hints.value)
    asked = new_since(before)
    assert [verb(s) for s in asked] == ["asked", "asked"]
    assert [ext(s, "hint-number") for s in asked] == [1, 2]


def test_solution_after_two_real_attempts(module_dir):
    from incubo.widgets import Exercice

    panel = Exercice("ex-addition-1", namespace={})
    panel.solution_button.click()
    assert "Essayez d'abord" in seen(panel.solution_area.value)
    panel.check_button.click()  # untouched: not a real attempt
    panel.solution_button.click()
    assert "Essayez d'abord" in seen(panel.solution_area.value)
    panel.namespace = {"total": 1}
    panel.check_button.click()
    panel.solution_button.click()
    assert "après 2 essais vérifiés (encore 1 essai)" in seen(panel.solution_area.value)
    assert "total = 12 + 30" not in seen(panel.solution_area.value)
    panel.check_button.click()
    before = len(journal())
    panel.solution_button.click()
    assert "total = 12 + 30" in seen(panel.solution_area.value)
    assert "BEGIN SOLUTION" not in seen(panel.solution_area.value)
    assert [verb(s) for s in new_since(before)] == ["viewed"]


def test_attempts_count_across_kernel_restarts(module_dir):
    from incubo.widgets import Exercice, demarrer

    for _ in range(2):
        Exercice("ex-addition-1", namespace={"total": 0}).check_button.click()
    demarrer("02-exercices")  # a restarted kernel
    panel = Exercice("ex-addition-1", namespace={})
    panel.solution_button.click()
    assert "total = 12 + 30" in seen(panel.solution_area.value)


def test_solution_toujours_still_needs_one_attempt(module_dir):
    from incubo.widgets import Exercice

    panel = Exercice("ex-moyenne", namespace={"moyenne": lambda xs: 0})
    panel.solution_button.click()
    assert "Essayez d'abord" in seen(panel.solution_area.value)
    panel.check_button.click()
    panel.solution_button.click()
    assert "return sum(nombres) / len(nombres)" in seen(panel.solution_area.value)


def test_solution_jamais_even_after_success(module_dir):
    from incubo.widgets import Exercice

    panel = Exercice("ex-secret", namespace={"secret": "ok"})
    panel.check_button.click()
    assert panel.verdict.code == "correct"
    before = len(journal())
    panel.solution_button.click()
    assert "n'est pas affichée" in seen(panel.solution_area.value)
    assert new_since(before) == []


def test_plain_text_functions_and_unknown_id(module_dir, capsys):
    from incubo.widgets import indice, solution, verifier

    verifier("ex-moyene")
    indice("ex-addition-1")
    solution("ex-secret")
    out = capsys.readouterr().out
    assert "Vouliez-vous dire « ex-moyenne » ?" in out
    assert "Indice 1 sur 2" in out
    assert "n'est pas affichée" in out


def test_grading_mode_emits_nothing(module_dir, monkeypatch, capsys):
    from incubo.widgets import demarrer, verifier

    monkeypatch.setenv("INCUBO_GRADING", "1")
    before = len(journal())
    demarrer("02-exercices")
    verifier("ex-addition-1")
    assert new_since(before) == []
    assert "Pas encore de réponse" in capsys.readouterr().out


# --- quizzes: every kind -----------------------------------------------------------


def answered(before: int) -> dict:
    [stmt] = new_since(before)
    assert verb(stmt) == "answered"
    return stmt


def test_quiz_single_choice_feedback_retry_and_explanation(module_dir):
    from incubo.widgets import Quiz

    q = Quiz("q-cellule")
    before = len(journal())
    q.submit_button.click()  # nothing chosen: a hint, no statement
    assert "Choisissez une réponse" in seen(q.feedback.value) and new_since(before) == []
    q.choice.value = 1
    q.submit_button.click()
    stmt = answered(before)
    assert stmt["result"] == {"success": False, "response": "Double-clic"}
    assert stmt["object"]["id"].endswith("/module/essai-01/quiz/q-cellule")
    assert stmt["object"]["definition"]["type"] == xapi.ACTIVITY_TYPES["quiz"]
    assert "ouvre la cellule en édition" in seen(q.feedback.value) and q.explanation.value == ""
    q.choice.value = 2
    q.submit_button.click()  # second wrong try: the explanation appears
    assert "Explication" in seen(q.explanation.value)
    before = len(journal())
    q.choice.value = 0
    q.submit_button.click()
    stmt = answered(before)
    assert (
        stmt["result"] == {"success": True, "response": "Maj + Entrée"}
        and ext(stmt, "attempt") == 3
    )


def test_quiz_multiple_choice(module_dir):
    from incubo.widgets import Quiz

    q = Quiz("q-types")
    before = len(journal())
    q.cases[0].value = True
    q.cases[2].value = True
    q.submit_button.click()
    stmt = answered(before)
    assert stmt["result"]["success"] is False and stmt["result"]["response"] == '42[,]"12"'
    assert "Entre guillemets, c'est un texte." in seen(q.feedback.value)
    assert "Il manque au moins une bonne réponse" in seen(q.feedback.value)
    q.cases[2].value = False
    q.cases[1].value = True
    before = len(journal())
    q.submit_button.click()
    assert answered(before)["result"] == {"success": True, "response": "42[,]3.5"}
    assert "Explication" in seen(q.explanation.value)  # shown after success


def test_quiz_number_with_tolerance_and_french_decimal(module_dir):
    from incubo.widgets import Quiz

    q = Quiz("q-total")
    before = len(journal())
    q.entry.value = "quarante"
    q.submit_button.click()
    assert "Écrivez un nombre" in seen(q.feedback.value) and new_since(before) == []
    q.entry.value = "43"
    q.submit_button.click()
    assert answered(before)["result"] == {"success": False, "response": "43"}
    assert "trop grand" in seen(q.feedback.value)
    before = len(journal())
    q.entry.value = "42,4"
    q.submit_button.click()
    assert answered(before)["result"] == {"success": True, "response": "42.4"}


def test_quiz_text_ignores_case_accents_and_spaces(module_dir):
    from incubo.widgets import Quiz

    q = Quiz(
        {"id": "q-ville", "type": "texte", "question": "Ville ?", "reponse": ["Saint-Étienne"]}
    )
    before = len(journal())
    q.entry.value = "Montpellier"
    q.submit_button.click()
    assert answered(before)["result"]["success"] is False
    before = len(journal())
    q.entry.value = "  SAINT-etienne  "
    q.submit_button.click()
    stmt = answered(before)
    assert stmt["result"] == {"success": True, "response": "SAINT-etienne"}
    assert stmt["object"]["id"].endswith("/quiz/q-ville")


def test_quiz_from_yaml_text_and_repondre(module_dir):
    from incubo.widgets import Quiz

    q = Quiz('id: q-yaml\ntype: nombre\nquestion: "2 + 2 ?"\nreponse: 4\n')
    assert q.repondre(4).success is True
    assert q.repondre("5").success is False


def test_quiz_errors_are_shown_not_raised(module_dir):
    from incubo.widgets import Quiz

    assert "Vouliez-vous dire « q-total » ?" in Quiz("q-totl").plain_text()
    assert "Type de question inconnu" in Quiz({"id": "x", "type": "choix-unik"}).plain_text()
    assert (
        "aucune option correcte"
        in Quiz({"id": "x", "type": "choix-unique", "options": ["a"]}).plain_text()
    )


# --- progress and self-assessment ---------------------------------------------------


def test_progress_from_own_events(module_dir, tmp_path):
    from incubo.widgets import Exercice, Progression, Quiz

    other = module_dir.parent / "essai-02"
    other.mkdir()
    data = json.loads((module_dir / "incubo_exercices.json").read_text())
    data["module"] = "essai-02"
    (other / "incubo_exercices.json").write_text(json.dumps(data))
    p = Progression()
    [m1, m2] = p.modules
    assert (m1.module, m1.exercises_done, m1.exercises, m1.lessons_seen, m1.lessons) == (
        "essai-01",
        0,
        3,
        1,
        2,
    )
    assert m2.module == "essai-02" and m2.done == 0 and m2.quiz == 0
    Exercice("ex-addition-1", namespace={"total": 42}).check_button.click()
    Quiz("q-total").repondre(42)
    p.submit_button.click()
    m1 = p.modules[0]
    assert (m1.exercises_done, m1.quiz_done, m1.quiz) == (1, 1, 4)
    assert "Exercices réussis : 1 sur 3" in seen(
        p.content.value
    ) and "Modules terminés : 0 sur 2" in seen(p.content.value)
    assert 'aria-label="Module « essai-01 »"' in p.content.value


def test_self_assessment_statements(module_dir):
    from incubo.widgets import Autoevaluation
    from incubo.widgets.self_assessment import ITEMS

    a = Autoevaluation(moment="fin")
    before = len(journal())
    a.submit_button.click()
    assert "au moins une réponse" in seen(a.feedback.value) and new_since(before) == []
    for i, scale in enumerate(a.scales.values()):
        scale.value = 1 + i % 5
    a.submit_button.click()
    stmts = new_since(before)
    assert len(stmts) == len(ITEMS) == 6
    for stmt, (item, _text) in zip(stmts, ITEMS, strict=True):
        assert verb(stmt) == "answered"
        assert stmt["object"]["definition"]["type"] == "http://id.tincanapi.com/activitytype/survey"
        assert stmt["object"]["id"].endswith(f"/questionnaire/autoevaluation-{item}")
        assert ext(stmt, "questionnaire-moment") == "fin"
    assert [s["result"]["response"] for s in stmts] == ["1", "2", "3", "4", "5", "1"]
    a.submit_button.click()  # unchanged answers are not recorded twice
    assert len(new_since(before)) == 6


def test_every_input_has_an_accessible_name(module_dir):
    """Inputs labelled by text (ipywidgets renders descriptions and option texts as <label>)."""
    import ipywidgets as w

    from incubo.widgets import Autoevaluation, Exercice, Progression, Quiz

    built = [Exercice("ex-addition-1"), Progression(), Autoevaluation()]
    built += [Quiz(q) for q in ("q-cellule", "q-types", "q-total", "q-prefecture")]

    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    inputs = [
        x
        for b in built
        for x in walk(b)
        if isinstance(x, w.Button | w.Checkbox | w.Text | w.RadioButtons)
    ]
    assert len(inputs) > 10
    for x in inputs:
        if isinstance(x, w.RadioButtons):
            assert all(label.strip() for label in x._options_labels)
        else:
            assert x.description.strip(), x


def test_quiz_without_demarrer_still_knows_its_module(module_dir, monkeypatch):
    from incubo.widgets import Quiz

    monkeypatch.setattr(
        session, "_session", session.Session()
    )  # a notebook that never called demarrer()
    monkeypatch.setattr(session, "_session_loaded", False)
    before = len(journal())
    Quiz("q-total").repondre(42)
    assert answered(before)["object"]["id"].endswith("/parcours/essai/module/essai-01/quiz/q-total")


def test_an_endless_loop_in_the_answer_is_stopped(module_dir, monkeypatch):
    from incubo.widgets import verification

    monkeypatch.setattr(verification, "TIME_LIMIT", 0.5)

    def moyenne(nombres):
        while True:
            try:
                pass
            except Exception:  # a learner's catch-all must not swallow the time limit
                pass

    panel, stmts = click_check("ex-moyenne", {"moyenne": moyenne})
    assert panel.verdict.code == "erreur" and "boucle sans fin" in panel.verdict.message


def test_a_module_of_lessons_only_is_completed_by_opening_them(module_dir):
    from incubo.widgets import demarrer

    data = json.loads((module_dir / "incubo_exercices.json").read_text())
    data["exercices"] = {}
    (module_dir / "incubo_exercices.json").write_text(json.dumps(data))
    demarrer("02-exercices")  # the fixture opened it already: one notebook of two
    assert not [s for s in journal() if verb(s) == "completed"]
    demarrer("01-lecon")
    demarrer("01-lecon")
    [done] = [s for s in journal() if verb(s) == "completed"]
    assert done["object"]["id"].endswith("/module/essai-01")
