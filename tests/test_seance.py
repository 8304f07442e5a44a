"""Séance: the store, steps released to the exchange, polls, the k-protected view, the CLI's errors.

The live side (a hub, learners' labs, the projection in Chromium) is in test_seance_hub.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import assert_french_error, free_port, incubo, isolated_env
from seance_support import MODULE, make_course

from incubo import seance as store
from incubo import xapi
from incubo.config import hub_settings, remember_public_address
from incubo.hub import lrs_keys, seance_ops
from incubo.seance_view import HIDDEN, seance_view


def make_room(tmp_path: Path):
    """A built course (module in two steps + an optional notebook), a hub folder with its exchange."""
    course = make_course(tmp_path / "cours")
    hub = tmp_path / "hub"
    (hub / "exchange" / "incubo" / "outbound").mkdir(parents=True)
    return hub_settings(env={"INCUBO_HUB_DIR": str(hub), "INCUBO_COURSE_DIR": str(course)})


def test_a_step_by_step_seance_releases_one_step_at_a_time(tmp_path):
    settings = make_room(tmp_path)
    s = seance_ops.open_seance(settings, MODULE, step_by_step=True)
    assert 4 <= len(s.code) <= 8 and all(c in store.CODE_ALPHABET for c in s.code)
    assert uuid.UUID(s.registration)
    assert (s.steps, s.optional) == (["01-lecon", "02-exercices"], ["03-plus-loin"])
    outbound = settings.hub_dir / "exchange" / "incubo" / "outbound" / MODULE
    # the optional notebook is not on the learner-readable exchange (the séance service hands it out)
    assert sorted(p.name for p in outbound.glob("*.ipynb")) == ["01-lecon.ipynb"]
    # the state is root's alone: a poll's answer is in it before it is revealed
    assert os.stat(store.seances_dir(settings.hub_dir)).st_mode & 0o077 == 0
    assert os.stat(store.seances_dir(settings.hub_dir) / f"{s.code}.json").st_mode & 0o077 == 0
    with pytest.raises(store.SeanceError, match="encore ouverte"):
        seance_ops.open_seance(settings, MODULE)
    s = seance_ops.next_step(settings, s.code)
    assert s.unlocked == ["01-lecon", "02-exercices"]
    assert (outbound / "02-exercices.ipynb").exists()
    with pytest.raises(store.SeanceError, match="dernière étape"):
        seance_ops.next_step(settings, s.code)
    seance_ops.close_seance(settings, s.code)
    assert store.current(settings.hub_dir) is None
    with pytest.raises(store.SeanceError, match="déjà fermée"):
        seance_ops.close_seance(settings, s.code)


def test_registration_covers_the_seance_window_only(tmp_path):
    settings = make_room(tmp_path)
    before = datetime.now(UTC) - timedelta(seconds=5)
    s = seance_ops.open_seance(settings, MODULE)
    during = datetime.now(UTC)
    assert store.registration_at(settings.hub_dir, before) is None
    assert store.registration_at(settings.hub_dir, during) == s.registration
    time.sleep(0.01)
    seance_ops.close_seance(settings, s.code)
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert store.registration_at(settings.hub_dir, during) == s.registration  # late delivery
    assert store.registration_at(settings.hub_dir, after) is None


def test_polls_from_the_bank_or_typed_hide_the_answer_until_revealed(tmp_path):
    settings = make_room(tmp_path)
    s = seance_ops.open_seance(settings, MODULE)
    bank = store.bank_questions(store.module_info(settings.course_dir, MODULE))
    first = bank[0]
    poll = seance_ops.launch_poll(settings, s.code, {"question_id": first["id"]})
    assert poll.source == first["id"] and poll.kind in store.KINDS
    state = store.load(settings.hub_dir, s.code).learner_state()
    assert state["sondage"]["id"] == poll.id and "correct" not in state["sondage"]
    with pytest.raises(store.SeanceError, match="pas dans la banque"):
        seance_ops.launch_poll(settings, s.code, {"question_id": "q-inexistante"})
    typed = seance_ops.launch_poll(
        settings,
        s.code,
        {
            "type": "choix-unique",
            "question": "Quel jour ?",
            "options": "Lundi\nMardi",
            "correct": [1],
        },
    )
    assert typed.id == "q2" and typed.options == ["Lundi", "Mardi"]
    seance_ops.reveal_poll(settings, s.code)
    state = store.load(settings.hub_dir, s.code).learner_state()
    assert state["sondage"]["bonne_reponse"] == "Mardi"
    for bad, message in (
        ({"type": "choix-unique", "question": "Q ?", "options": ["seule"]}, "au moins deux"),
        ({"type": "sondage", "question": "Q ?"}, "Type de question inconnu"),
        ({"type": "nombre", "question": "", "correct": "3"}, "Écrivez la question"),
        ({"type": "nombre", "question": "Combien ?", "correct": "trois"}, "doit être un nombre"),
    ):
        with pytest.raises(store.SeanceError, match=message):
            seance_ops.launch_poll(settings, s.code, bad)


def _answer(seance, poll, who: str, response: str) -> dict:
    stmt = xapi.statement(
        "answered",
        parcours=seance.parcours,
        module=seance.module,
        kind="quiz",
        ident=f"seance-{seance.code}-{poll.id}",
        result={"response": response},
        registration=seance.registration,
        actor_name=who,
        homepage="http://salle",
    )
    assert xapi.object_iri(stmt) == poll.activity(seance)
    return stmt


def _event(seance, who: str, verb: str, **kw) -> dict:
    return xapi.statement(
        verb,
        parcours=seance.parcours,
        module=seance.module,
        registration=seance.registration,
        actor_name=who,
        homepage="http://salle",
        **kw,
    )


def test_four_learners_the_projection_never_shows_a_small_group_apart(tmp_path):
    settings = make_room(tmp_path)
    s = seance_ops.open_seance(settings, MODULE)  # k = 3 by default
    poll = seance_ops.launch_poll(
        settings,
        s.code,
        {"type": "choix-unique", "question": "Quel jour ?", "options": ["Lundi", "Mardi", "Jeudi"]},
    )
    s = store.load(settings.hub_dir, s.code)
    names = ["agnes.martin", "bruno.petit", "chloe.durand", "david.leroy"]
    statements = [_event(s, who, "experienced", kind="lecon", ident="01-lecon") for who in names]
    statements.append(_event(s, names[0], "passed", kind="exercice", ident="ex-addition-1"))
    statements += [_answer(s, poll, who, "1") for who in names[:3]] + [
        _answer(s, poll, names[3], "0")
    ]
    statements.append(
        _event(s, "ailleurs", "experienced", kind="lecon", ident="01-lecon") | {"context": {}}
    )
    exercises = store.module_info(settings.course_dir, MODULE).exercises
    view = seance_view(s, statements, exercises)
    text = json.dumps(view, ensure_ascii=False)
    for who in [*names, "ailleurs"]:
        assert who not in text
    assert (
        view["participants"] == 4
    )  # the statement without the séance's registration is not counted
    lesson = view["etapes"][0]
    assert lesson["ouverte_par"] == 4
    # one learner passed one of three exercises: nobody has finished the step; nothing small shown
    assert view["etapes"][1]["reussie_par"] == 0
    counts = [o["reponses"] for o in view["sondage"]["options"]]
    # 3 said Mardi, 1 said Lundi: the 1 is hidden, and so is the 3 (4 − 3 would give it away)
    assert counts == ["< 3", HIDDEN, 0]
    assert view["sondage"]["reponses"] == 4
    # the same room once everyone has answered Mardi: shown as is
    statements.append(_answer(s, poll, names[3], "1"))
    counts = [o["reponses"] for o in seance_view(s, statements, exercises)["sondage"]["options"]]
    assert counts == [0, 4, 0]


def test_cli_refuses_bad_requests_in_french(tmp_path):
    settings = make_room(tmp_path)
    env = isolated_env(tmp_path)
    env.update(INCUBO_HUB_DIR=str(settings.hub_dir), INCUBO_COURSE_DIR=str(settings.course_dir))
    # the room was started with `incubo hub --port 8100`; this shell knows only INCUBO_HUB_DIR
    remember_public_address(dataclasses.replace(settings, port=8100))
    opened = incubo("seance", "ouvrir", MODULE, "--pas-a-pas", env=env)
    assert opened.returncode == 0, opened.stderr
    code = opened.stdout.split()[-1]
    projection = f"http://127.0.0.1:8100/services/tableau-de-bord/seance/{code}/projection"
    assert projection in opened.stdout + opened.stderr
    assert_french_error(incubo("seance", "ouvrir", "essai-99", env=env), "essai-01")
    assert_french_error(incubo("seance", "fermer", "zz", env=env), "code de séance")
    assert_french_error(incubo("seance", "fermer", "KKKKKK", env=env), "Aucune séance")
    assert_french_error(incubo("seance", "etat", code, env=env), "LRS")
    assert_french_error(incubo("seance", "sondage", code, env=env), "--question")
    typed = (
        "seance",
        "sondage",
        code,
        "--texte",
        "Quel jour ?",
        "--option",
        "Lundi",
        "--option",
        "Mardi",
    )
    assert incubo(*typed, "--correct", "Mardi", env=env).returncode == 0  # as the dashboard's form
    assert_french_error(incubo(*typed, "--correct", "7", env=env), "ni le numéro")
    assert incubo("seance", "etape-suivante", code, env=env).returncode == 0
    assert incubo("seance", "fermer", code, env=env).returncode == 0
    listed = incubo("seance", "liste", env=env).stdout
    assert code in listed and "fermée le " in listed  # « … le vendredi 4 décembre, 15 h 27 »
    assert re.search(r"ouverte le [a-z]+ \d{1,2}(er)? [a-zéû]+, \d{1,2} h \d{2}\t", listed), listed


def test_on_the_hub_machine_a_report_needs_the_hubs_lrs_running(tmp_path):
    settings = make_room(tmp_path)
    folder = settings.hub_dir / "lrs"
    folder.mkdir(mode=0o700)
    (folder / "ports.json").write_text(json.dumps({"lrs": free_port()}))
    (folder / lrs_keys.SECRET_FILE).write_text("secret-de-test\n")
    env = isolated_env(tmp_path)
    env.update(
        INCUBO_HUB_DIR=str(settings.hub_dir),
        INCUBO_COURSE_DIR=str(settings.course_dir),
        INCUBO_PSEUDONYM_KEY="cle-de-test-seance-0123456789",
    )
    r = incubo("report", "seance", "-p", "seance", "KKKKKK", "-o", tmp_path / "r", env=env)
    assert_french_error(r, "Le LRS du hub", "ne répond pas", "incubo hub")
    assert not (tmp_path / "r").exists()


def test_learners_fetch_the_unlocked_steps_but_not_the_optional_notebooks(tmp_path):
    from incubo.exchange import ExchangeLayout
    from incubo.hub.learner_fetch import fetch_released

    settings = make_room(tmp_path)
    layout = ExchangeLayout(settings.hub_dir / "exchange", "incubo")
    home = tmp_path / "maison"
    home.mkdir()
    s = seance_ops.open_seance(settings, MODULE, step_by_step=True)
    assert fetch_released(home, layout) == [MODULE]
    mine = home / "incubo" / MODULE
    assert sorted(p.name for p in mine.glob("*.ipynb")) == ["01-lecon.ipynb"]
    (mine / "01-lecon.ipynb").write_text("mon travail")
    seance_ops.next_step(settings, s.code)
    assert fetch_released(home, layout) == [MODULE]  # the new step joins the copy already there
    assert sorted(p.name for p in mine.glob("*.ipynb")) == ["01-lecon.ipynb", "02-exercices.ipynb"]
    assert (mine / "01-lecon.ipynb").read_text() == "mon travail"  # never overwritten
    seance_ops.close_seance(settings, s.code)  # afterwards, the whole module for everyone
    assert fetch_released(home, layout) == [MODULE]
    assert (mine / "03-plus-loin.ipynb").exists()
    assert not (mine / ".seance.json").exists()
