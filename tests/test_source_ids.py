"""Ids in the course's sources: a malformed or repeated module or question id is one French sentence
naming the file, the line and the first declaration (one check, `incubo.learning_paths.check_new_id`)."""

from __future__ import annotations

import pytest

from incubo.errors import IncuboError
from incubo.learning_paths import read_learning_path
from incubo.quiz_bank import load_source_bank

QUESTION = "  type: texte\n  question: Combien ?\n  reponse: deux\n"
MODULE = "    titre: Un module\n    notebooks: [cours]\n"


def _error(read, *args, **kwargs) -> IncuboError:
    with pytest.raises(IncuboError) as caught:
        read(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("first", "code", "sentence"),
    [
        ("a", "id-duplique", "q.yml, ligne 5 : la question « a » est déjà définie ligne 1."),
        (
            "Été",
            "id-invalide",
            "q.yml, ligne 1 : l'identifiant « Été » ne doit contenir que des minuscules",
        ),
    ],
)
def test_a_question_id_is_well_formed_and_given_once(tmp_path, monkeypatch, first, code, sentence):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q.yml").write_text(
        f"- id: {first}\n{QUESTION}- id: a\n{QUESTION}", encoding="utf-8"
    )
    error = _error(load_source_bank, tmp_path / "q.yml")
    assert error.code == code and str(error).startswith(sentence), str(error)


@pytest.mark.parametrize(
    ("first", "code", "sentence"),
    [
        ("m1", "id-duplique", "parcours.yml, ligne 6 : le module « m1 » est déjà déclaré ligne 3."),
        ("M1", "id-invalide", "parcours.yml, ligne 3 : l'identifiant de module « M1 » ne doit"),
    ],
)
def test_a_module_id_is_well_formed_and_given_once(tmp_path, monkeypatch, first, code, sentence):
    folder = tmp_path / "mon-parcours"
    folder.mkdir()
    monkeypatch.chdir(folder)
    (folder / "parcours.yml").write_text(
        f"titre: Un parcours\nmodules:\n  - id: {first}\n{MODULE}  - id: m1\n{MODULE}",
        encoding="utf-8",
    )
    error = _error(read_learning_path, folder, check_files=False)
    assert error.code == code and str(error).startswith(sentence), str(error)
