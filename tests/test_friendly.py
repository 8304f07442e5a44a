"""Friendly French errors in a real kernel: a short explanation above the traceback, for each common error."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"

#: error type -> (cell that raises it, French words its explanation must contain)
CASES = {
    "NameError": ("prnt('bonjour')", ["nom inconnu", "`print`"]),
    "SyntaxError": ("x = (1, 2", ["écriture incorrecte", "parenthèse"]),
    "IndentationError": ("if True:\nprint('oui')", ["décalage des lignes incorrect", "4 espaces"]),
    "TypeError": ("'Dossier ' + 3", ["type de valeur inadapté", "concaténer"]),
    "KeyError": ("{'Toulouse': 31}['Albi']", ["clé ou colonne inconnue", "'Albi'"]),
    "IndexError": ("[10, 20, 30][3]", ["position inexistante", "commencent à 0"]),
    "ValueError": ("int('douze')", ["valeur inadaptée", "'douze'"]),
    "AttributeError": ("'texte'.majuscules()", ["attribut ou méthode inconnus", "majuscules"]),
    "FileNotFoundError": ("open('communes.csv')", ["fichier introuvable", "communes.csv"]),
    "ZeroDivisionError": ("1 / 0", ["division par zéro", "Vous divisez par zéro"]),
    "ModuleNotFoundError": ("import pandass", ["module introuvable", "pandass"]),
}


def _text(output) -> str:
    if output.get("output_type") in ("display_data", "execute_result"):
        return output["data"].get("text/plain", "")
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return ""


@pytest.fixture(scope="module")
def executed(tmp_path_factory, session_env):
    """One real kernel runs demarrer() then one failing cell per error type (and the exercise's test cell)."""
    folder = tmp_path_factory.mktemp("friendly") / "essai-01"
    shutil.copytree(FIXTURE, folder)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = [
        'from incubo.widgets import demarrer, verifier, indice, solution, Quiz\ndemarrer("02-exercices")'
    ]
    cells += [code for code, _ in CASES.values()]
    tests = "\n".join(
        [
            'assert "total" in globals(), "Créez une variable nommée total."',
            'assert total == 42, "total devrait valoir 12 + 30."',
        ]
    )
    cells += [tests, "total = 41", tests, "total = 42", tests]
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    env = dict(session_env, INCUBO_EVENTS_FILE=str(folder.parent / "evenements.jsonl"))
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=env)
    nb.metadata["events_file"] = env["INCUBO_EVENTS_FILE"]
    return nb


@pytest.mark.parametrize("error", list(CASES))
def test_each_error_has_a_french_explanation_above_the_traceback(executed, error):
    index = 1 + list(CASES).index(error)
    outputs = executed.cells[index].outputs
    kinds = [o["output_type"] for o in outputs]
    assert "error" in kinds, kinds
    explanation_at = next(i for i, o in enumerate(outputs) if "À savoir" in _text(o))
    assert explanation_at < kinds.index("error"), "the explanation must come above the traceback"
    text = _text(outputs[explanation_at])
    assert f"À savoir — {error} :" in text
    assert not any(ord(c) > 0xFFFF for c in text), (
        "an emoji renders as an empty box with Debian's fonts"
    )
    for words in CASES[error][1]:
        assert words in text, (words, text)
    assert 'lang="fr"' in outputs[explanation_at]["data"]["text/html"]
    assert outputs[kinds.index("error")]["ename"] == error  # the real traceback is still there


def test_running_the_graded_test_cell_gives_the_verdict(executed):
    n = 1 + len(CASES)
    untouched, wrong, right = executed.cells[n], executed.cells[n + 2], executed.cells[n + 4]
    # a failed check is a verdict: French only, its detail folded in French, no English traceback;
    # the right answer that came later replaced both failures in place (same display id)
    for failed in (untouched, wrong):
        assert [o["output_type"] for o in failed.outputs] == ["display_data"], failed.outputs
        assert "Bravo, c'est correct !" in _text(failed.outputs[0])
        assert "incubo-incorrect" not in failed.outputs[0]["data"]["text/html"]
    assert [o["output_type"] for o in right.outputs] == ["display_data"]
    assert "Bravo, c'est correct !" in _text(right.outputs[0])
    # the same statements as verifier(): the attempts count for the solution policy
    from incubo import events, xapi

    attempts = [
        s["context"]["extensions"][xapi.extension("verdict")]
        for s in events.read_jsonl(Path(executed.metadata["events_file"]))
        if s["verb"]["id"].endswith("/attempted")
    ]
    assert attempts == ["non-tente", "incorrect", "correct"]
