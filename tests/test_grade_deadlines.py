"""`incubo grade release --echeance --retard` and a collect that knows the due date (no hub).

The release writes the module's deadline file; collect marks a hand-in late by the change time
(ctime) of the submission folder and what it holds, never by the time in its name (which the
learner writes); under « refuser », a late copy is not collected: the learner's last copy on
time is, or nothing, and a French line says who was refused.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from harness import ROOT, assert_french_error, incubo, isolated_env

from incubo import deadlines, french_time
from incubo.exchange import ExchangeLayout

MODULE = "es-01-calculs"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A built course and an empty exchange (the folders the hub makes)."""
    work = tmp_path_factory.mktemp("echeances")
    env = isolated_env(work / "env")
    course = work / "cours"
    built = incubo(
        "build", "--courses", ROOT / "tests" / "fixtures" / "build" / "ok", "--course-dir", course,
        env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    env["INCUBO_HUB_DIR"] = str(work / "hub")
    env["INCUBO_FUSEAU_HORAIRE"] = "Europe/Paris"
    layout = ExchangeLayout(work / "hub" / "exchange", "incubo")
    for folder in (layout.outbound, layout.inbound, layout.feedback):
        folder.mkdir(parents=True)
    return work, course, env, layout


def grade(course, env, *args):
    return incubo("grade", *args, "--course-dir", course, env=env)


def test_release_with_a_due_date_writes_the_deadline_file(course):
    _work, course_dir, env, layout = course
    done = grade(
        course_dir, env, "release", MODULE, "--echeance", "2026-12-12 17:00", "--retard", "refuser"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    saved = json.loads((layout.outbound / ".echeances" / f"{MODULE}.json").read_text())
    assert saved == {"echeance": "2026-12-12T16:00:00+00:00", "retard": "refuse"}
    assert "samedi 12 décembre, 17 h 00" in done.stdout + done.stderr
    assert "refusée" in done.stdout + done.stderr
    # released again without a due date: the module has none any more
    again = grade(course_dir, env, "release", MODULE, "--force")
    assert again.returncode == 0, again.stderr
    assert deadlines.read(layout.outbound, MODULE) is None


def test_a_bad_date_or_policy_is_one_french_sentence_and_nothing_is_released(course):
    _work, course_dir, env, layout = course
    shutil.rmtree(layout.outbound / MODULE, ignore_errors=True)
    bad = grade(course_dir, env, "release", MODULE, "--echeance", "vendredi soir")
    assert_french_error(bad, "Date d'échéance illisible", "vendredi soir")
    policy = grade(
        course_dir, env, "release", MODULE, "--echeance", "2026-12-12", "--retard", "bof"
    )
    assert_french_error(policy, "Règle de retard inconnue")
    alone = grade(course_dir, env, "release", MODULE, "--retard", "refuser")
    assert_french_error(alone, "--echeance")
    assert not (layout.outbound / MODULE).exists()


def hand_in(layout: ExchangeLayout, learner: str, stamp: str) -> Path:
    """A submission as nbgrader's submit leaves it (its name's time is the learner's to write)."""
    folder = layout.inbound_of(learner) / f"{learner}+{MODULE}+{stamp} UTC"
    folder.mkdir(parents=True)
    (folder / "02-exercices.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    (folder / "timestamp.txt").write_text(f"{stamp} UTC")
    return folder


def due_now(course_dir: Path, env: dict, policy: str) -> None:
    """Release again with a due date of now (seconds), through the command line."""
    now = french_time.local(datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S")
    done = grade(
        course_dir, env, "release", MODULE, "--force", "--echeance", now, "--retard", policy
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def submissions(course):
    """A on time; B on time then late; C late only, under a name that claims an early time."""
    _work, course_dir, env, layout = course
    for folder in (layout.inbound, course_dir / "submitted"):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    hand_in(layout, "a", "2026-01-01 10:00:00.000000")
    hand_in(layout, "b", "2026-01-01 10:00:00.000000")
    time.sleep(1.1)
    return course_dir, env, layout


def test_accepted_late_copy_is_collected_and_said_late_by_ctime(submissions):
    course_dir, env, layout = submissions
    due_now(course_dir, env, "accepter")
    time.sleep(1.1)
    hand_in(layout, "b", "2026-01-02 10:00:00.000000")
    hand_in(layout, "c", "2000-01-01 00:00:00.000000")  # the name lies, the ctime does not
    done = grade(course_dir, env, "collect", MODULE)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "Rendu(s) en retard, ramassé(s) : b, c." in out, out
    for learner in "abc":
        assert (course_dir / "submitted" / learner / MODULE / "02-exercices.ipynb").is_file()
    stamp = (course_dir / "submitted" / "b" / MODULE / "timestamp.txt").read_text()
    assert stamp.startswith("2026-01-02")


def test_refused_late_copy_leaves_the_last_on_time_one_or_nothing(submissions):
    course_dir, env, layout = submissions
    due_now(course_dir, env, "refuser")
    time.sleep(1.1)
    hand_in(layout, "b", "2026-01-02 10:00:00.000000")
    hand_in(layout, "c", "2000-01-01 00:00:00.000000")
    done = grade(course_dir, env, "collect", MODULE)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "b : copie rendue en retard" in out and "sa dernière copie à l'heure est ramassée" in out
    assert "c : copie rendue en retard" in out and "aucune copie ramassée" in out
    assert "Traceback" not in out
    stamp = (course_dir / "submitted" / "b" / MODULE / "timestamp.txt").read_text()
    assert stamp.startswith("2026-01-01"), stamp
    assert (course_dir / "submitted" / "a" / MODULE).is_dir()
    assert not (course_dir / "submitted" / "c").exists()


def test_the_devoirs_page_reads_receipts_and_late_hand_ins_and_refuses_a_bad_form(course):
    """What « Devoirs » shows, read from the same files (no hub): `.recu-` marks, ctime, due date."""
    from incubo.errors import IncuboError
    from incubo.hub.devoirs import Room, release_options

    work, course_dir, _env, layout = course
    shutil.rmtree(layout.inbound)
    layout.inbound.mkdir()
    hand_in(layout, "a", "2026-01-01 10:00:00.000000")
    (layout.inbound_of("a") / f".recu-{MODULE}").touch()
    layout.inbound_of("b").mkdir()
    deadlines.write(layout.outbound, MODULE, deadlines.Deadline(datetime(2020, 1, 1, tzinfo=UTC)))
    view = Room(course_dir, work / "hub", "incubo").view()
    module = next(m for m in view["modules"] if m["module"] == MODULE)
    a, b = module["apprenants"]
    assert (a["nom"], a["recu"], a["copies"], a["en_retard"]) == ("a", True, 1, True)
    assert a["rendu"].startswith(
        french_time.french_date(french_time.local(datetime.now(UTC)).date())
    )
    assert (b["nom"], b["recu"], b["rendu"]) == ("b", False, None)
    assert module["echeance"]["texte"].startswith("à rendre avant mercredi 1er janvier 2020")
    assert release_options({"date": "2026-12-12", "heure": "17:00", "retard": "refuser"}, True) == [
        "--force", "--echeance", "2026-12-12 17:00", "--retard", "refuse",
    ]  # fmt: skip
    for form, words in (
        ({"date": "12/12/2026"}, "Date d'échéance illisible"),
        ({"heure": "17:00"}, "Indiquez aussi la date"),
        ({"date": "2026-12-12", "retard": "bof"}, "Règle de retard inconnue"),
    ):
        with pytest.raises(IncuboError, match=words):
            release_options(form, False)


def test_root_opens_outbound_to_the_grader_without_following_a_link(tmp_path):
    """Attack: at hub start, root makes the outbound folder group-writable (the grader releases
    from « Devoirs »); a link the services account planted there must not make root change the
    mode of what it points to."""
    import os
    import stat

    from incubo.hub.privileges import _group_writable

    outbound = tmp_path / "outbound"
    (outbound / "m" / "sous-dossier").mkdir(parents=True)
    (outbound / "m" / "01.ipynb").write_text("{}")
    secret = tmp_path / "secret"
    secret.mkdir(mode=0o700)
    (secret / "cle").write_text("x")
    os.chmod(secret / "cle", 0o600)
    (outbound / "m" / "lien").symlink_to(secret / "cle")
    (outbound / "lien-dossier").symlink_to(secret)
    _group_writable(outbound)

    def mode(path):
        return stat.S_IMODE(os.stat(path).st_mode)

    assert mode(outbound) == mode(outbound / "m" / "sous-dossier") == 0o2775
    assert mode(outbound / "m" / "01.ipynb") == 0o664
    assert (mode(secret), mode(secret / "cle")) == (0o700, 0o600)
