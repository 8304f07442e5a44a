"""`incubo rgpd`: export, erasure, purge and research choices, on demo data and a real Ralph LRS.

One module-scoped room: `incubo demo-data` (20 learners) in a course folder, the same
statements posted to a real Ralph (file backend), whose data folder erasure and purge
rewrite while it runs. Tests run in file order; the purge, which changes everyone's data,
runs last.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import requests
from harness import BIN, assert_french_error, free_port, incubo, isolated_env
from test_lrs import PASSWORD, RALPH_BIN, USER, Ralph

from incubo import rgpd, xapi
from incubo.errors import IncuboError
from incubo.reports import privacy

HEADERS = {"X-Experience-API-Version": "1.0.3"}


def post(lrs: Ralph, statements: list[dict]) -> None:
    for i in range(0, len(statements), 250):
        r = requests.post(
            lrs.url + "/xAPI/statements",
            json=statements[i : i + 250],
            auth=(USER, PASSWORD),
            headers=HEADERS,
            timeout=60,
        )
        assert r.status_code == 200, r.text


def lrs_count(lrs: Ralph, agent: str | None = None) -> int:
    return sum(1 for s in lrs.statements() if agent is None or xapi.learner_of(s) == agent)


def snapshot(*folders: Path) -> dict[str, str]:
    """Every file under `folders` with a hash of its content (to prove nothing changed)."""
    found = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.name.endswith(".log") and p.name != ".verrou":
                found[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    if not (RALPH_BIN / "ralph").exists():
        pytest.fail("Ralph n'est pas installé : lancez « make ralph » (crée .venv-ralph).")
    base = tmp_path_factory.mktemp("rgpd")
    env = isolated_env(base / "env")
    course = base / "cours"
    made = incubo("demo-data", "--learners", "20", "--course-dir", course, env=env)
    assert made.returncode == 0, made.stderr
    lrs = Ralph(base / "ralph", env)
    lrs.start()
    try:
        statements = []
        for f in sorted((course / "evenements").glob("*.jsonl")):
            statements += [json.loads(line) for line in f.read_text().splitlines() if line]
        post(lrs, statements)
        env.update(
            INCUBO_COURSE_DIR=str(course),
            INCUBO_LRS_URL=lrs.url,
            INCUBO_LRS_AUTH=f"{USER}:{PASSWORD}",
            INCUBO_LRS_FS_DIR=str(lrs.data),
            INCUBO_RGPD_DIR=str(base / "rgpd"),
        )
        yield lrs, course, env, base
    finally:
        lrs.stop()


def graded_student(course: Path) -> str:
    import sqlite3

    with sqlite3.connect(course / "gradebook.db") as db:
        return db.execute(
            "select s.id from student s join submitted_assignment sa on sa.student_id = s.id "
            "order by s.id limit 1"
        ).fetchone()[0]


def seances_of(course: Path) -> list[tuple[str, str]]:
    """(code, registration) of each demo séance."""
    found = []
    for f in sorted((course / "seances").glob("*.json")):
        body = json.loads(f.read_text(encoding="utf-8"))
        found.append((body["code"], body["registration"]))
    return found


def participant_of(course: Path, registration: str) -> str:
    for line in (course / "evenements" / "seances-demo.jsonl").read_text().splitlines():
        s = json.loads(line)
        if s["context"].get("registration") == registration:
            return xapi.learner_of(s)
    raise AssertionError("séance sans participant")


def test_export_has_as_many_statements_as_the_lrs_and_a_french_excel_csv(room, tmp_path):
    lrs, course, env, _ = room
    agent = graded_student(course)
    expected = lrs_count(lrs, agent)
    assert expected > 0
    incubo("rgpd", "recherche", agent, "non", env=env)
    out = tmp_path / "export"
    r = incubo("rgpd", "exporter", agent, "-o", out, env=env)
    assert r.returncode == 0, r.stderr
    exported = json.loads((out / "traces.json").read_text(encoding="utf-8"))
    assert len(exported) == expected
    assert {xapi.learner_of(s) for s in exported} == {agent}
    raw = (out / "traces.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: French Excel reads the accents
    header = raw[3:].split(b"\n", 1)[0].decode()
    assert header.split(";")[:3] == ["date", "action", "activite"]
    frame = pd.read_csv(out / "traces.csv", sep=";", encoding="utf-8-sig")
    assert len(frame) == expected
    assert "a consulté" in set(frame["action"])
    # the room's time, said so (the first statement, in Paris time)
    first = min(exported, key=lambda s: s["timestamp"])
    paris = xapi.timestamp_of(first).astimezone(ZoneInfo("Europe/Paris"))
    assert paris.strftime("%d/%m/%Y %H:%M:%S") in set(frame["date"])
    notes = (out / "notes.csv").read_bytes().decode("utf-8-sig")
    assert notes.splitlines()[0] == "module;exercice;note;note_max"
    grades = pd.read_csv(out / "notes.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert len(grades) > 0 and grades["note_max"].dtype.kind == "f"
    assert any("," in line.split(";")[2] for line in notes.splitlines()[1:])  # decimal comma
    readme = (out / "LISEZMOI.md").read_text(encoding="utf-8")
    assert f"vos {expected} traces d'activité" in readme and "exclues" in readme
    assert "date (heure de Paris)" in readme
    choices = json.loads((out / "choix-et-accuses.json").read_text(encoding="utf-8"))
    assert choices["choix_recherche"][-1]["recherche"] is False
    incubo("rgpd", "recherche", agent, "oui", env=env)


def test_bad_input_is_one_french_sentence_and_changes_nothing(room):
    lrs, course, env, base = room
    agent = graded_student(course)
    before = snapshot(course, lrs.data, base / "rgpd")
    errors = []
    r = incubo("rgpd", "effacer", "personne-inconnue", "--oui", env=env)
    assert_french_error(r, "Aucune donnée sur l'agent « personne-inconnue »")
    errors.append(r)
    r = incubo("rgpd", "effacer", agent, "--oui", env=dict(env, INCUBO_HUB_FORMATEURS=agent))
    assert_french_error(r, "est encore formateur")
    errors.append(r)
    down = dict(env, INCUBO_LRS_URL=f"http://127.0.0.1:{free_port()}")
    r = incubo("rgpd", "effacer", agent, "--oui", env=down)
    assert_french_error(r, "injoignable", "rien n'a été modifié")
    errors.append(r)
    elsewhere = base / "autre-ralph"
    elsewhere.mkdir(exist_ok=True)
    r = incubo("rgpd", "effacer", agent, "--oui", env=dict(env, INCUBO_LRS_FS_DIR=str(elsewhere)))
    assert_french_error(r, "ne désigne pas le dossier de ce LRS")
    errors.append(r)
    r = incubo("rgpd", "exporter", agent, "-o", base / "jamais", env=down)
    assert_french_error(r, "injoignable")
    errors.append(r)
    r = subprocess.run(  # no terminal, no --oui
        [str(BIN / "incubo"), "rgpd", "effacer", agent],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert_french_error(r, "--oui")
    errors.append(r)
    r = incubo("rgpd", "purger", env=dict(env, INCUBO_CONSERVATION_MOIS="0"))
    assert_french_error(r, "INCUBO_CONSERVATION_MOIS")
    errors.append(r)
    # a misspelt name on a paper request would be recorded for nobody: refused, with the way out
    r = incubo("rgpd", "recherche", agent + "x", "non", env=env)
    assert_french_error(r, f"Aucun agent « {agent}x »", "--nouveau")
    errors.append(r)
    for result in errors:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert snapshot(course, lrs.data, base / "rgpd") == before
    # an agent who has not logged in yet may object on paper beforehand
    store = base / "rgpd-a-part"  # apart: the reports' exclusion counts below stay the room's
    r = incubo(
        "rgpd", "recherche", "pas-encore-venu", "non", "--nouveau",
        env=dict(env, INCUBO_RGPD_DIR=str(store)),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (store / rgpd.CHOICES).read_text().splitlines()]
    assert [(row["agent"], row["recherche"]) for row in rows] == [("pas-encore-venu", False)]
    assert lrs_count(lrs, agent) > 0


def test_reports_leave_out_an_agent_who_objected_and_say_so(room, tmp_path):
    lrs, course, env, base = room
    from test_rgpd_support import open_demo_data

    agent = graded_student(course)
    pseudo = privacy.pseudonym(agent, privacy.DEMO_KEY)
    data = open_demo_data(env, course)
    assert data.excluded == 0
    assert data.scalar("select count(*) from statements where learner = ?", [pseudo]) > 0
    r = incubo("rgpd", "recherche", agent, "non", env=env)
    assert r.returncode == 0 and "exclu de la recherche" in r.stderr
    data = open_demo_data(env, course)
    assert data.excluded == 1
    for table in ("statements", "learners"):
        assert data.scalar(f"select count(*) from {table} where learner = ?", [pseudo]) == 0
    assert data.grades()
    assert data.scalar("select count(*) from grades where learner = ?", [pseudo]) == 0
    assert data.scalar("select count(*) from grades") > 0
    # consent as the basis: only those who said yes remain
    consent = dict(env, INCUBO_RECHERCHE_BASE="consentement")
    with pytest.raises(IncuboError, match="accord pour la recherche"):
        open_demo_data(consent, course)
    other = next(
        line.split(",")[0]
        for line in (course / "apprenants.csv").read_text().splitlines()[1:]
        if not line.startswith(agent + ",")
    )
    assert incubo("rgpd", "recherche", other, "oui", env=env).returncode == 0
    data = open_demo_data(consent, course)
    assert data.n_learners == 1 and data.excluded >= 19
    assert data.scalar("select min(learner) from statements") == privacy.pseudonym(
        other, privacy.DEMO_KEY
    )
    r = incubo("report", "progression", "--demo", "-p", "k", "2", "-o", tmp_path / "p", env=env)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "p" / "progression.html").read_text(encoding="utf-8")
    assert "Choix des agents : &lt; 2 personnes exclues de ce rapport" in page
    assert pseudo not in page and agent not in page
    # the séance summary: a participant of a séance objects
    code, registration = seances_of(course)[0]
    participant = participant_of(course, registration)
    assert incubo("rgpd", "recherche", participant, "non", env=env).returncode == 0
    data = open_demo_data(env, course, registration=registration)
    assert data.excluded >= 1
    gone = privacy.pseudonym(participant, privacy.DEMO_KEY)
    assert data.scalar("select count(*) from statements where learner = ?", [gone]) == 0
    r = incubo(
        "report",
        "seance",
        "--demo",
        "-p",
        "seance",
        code,
        "-p",
        "k",
        "2",
        "-o",
        tmp_path / "s",
        env=env,
    )
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "s" / "seance.html").read_text(encoding="utf-8")
    phrase = rgpd.excluded_phrase(data.excluded, 2).replace("<", "&lt;")
    assert f"Choix des agents : {phrase} de ce rapport" in page
    assert gone not in page and participant not in page
    assert incubo("rgpd", "recherche", participant, "oui", env=env).returncode == 0
    r = incubo("rgpd", "recherche", agent, "oui", env=env)
    assert r.returncode == 0


def test_erasure_leaves_no_trace_anywhere_and_the_room_keeps_running(room, tmp_path):
    lrs, course, env, base = room
    from test_rgpd_support import plant_agent

    agent = f"rgpd-{uuid.uuid4().hex[:8]}"
    hub = tmp_path / "hub"
    homes = tmp_path / "homes"
    hub_env = dict(
        env,
        INCUBO_HUB_DIR=str(hub),
        INCUBO_HUB_HOME_BASE=str(homes),
        INCUBO_HUB_API_PORT=str(free_port()),  # the hub is not running: its database is edited
    )
    hub_env.pop("INCUBO_RGPD_DIR")
    unix = plant_agent(agent, lrs, course, hub, homes, hub_env)
    assert incubo("rgpd", "recherche", agent, "non", env=hub_env).returncode == 0
    others = lrs_count(lrs) - lrs_count(lrs, agent)
    # first the agent asks for their data: everything, the spooled statement and copies included
    out = tmp_path / "export"
    r = incubo("rgpd", "exporter", agent, "-o", out, env=hub_env)
    assert r.returncode == 0, r.stderr
    exported = json.loads((out / "traces.json").read_text(encoding="utf-8"))
    assert len(exported) == lrs_count(lrs, agent) + 1  # + the one still waiting in a spool
    copies = sorted(p.relative_to(out / "copies").parts[0] for p in (out / "copies").rglob("*.*"))
    assert copies == ["autograded", "echange-feedback", "echange-inbound", "feedback", "submitted"]
    shutil.rmtree(out)
    # another learner keeps writing all through the erasure: none of their statements is lost
    erase = subprocess.Popen(
        [str(BIN / "incubo"), "rgpd", "effacer", agent, "--oui"],
        env=hub_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    live = []
    while erase.poll() is None and len(live) < 3000:
        stmt = xapi.statement(
            "experienced", parcours="p", actor_name="autre-apprenant", homepage="http://localhost"
        )
        post(lrs, [stmt])
        live.append(stmt["id"])
    out, err = erase.communicate(timeout=120)
    assert erase.returncode == 0, err
    assert len(live) > 5  # writes really overlapped the erasure
    stored = {s["id"] for s in lrs.statements()}
    assert set(live) <= stored
    assert lrs_count(lrs, agent) == 0
    assert lrs_count(lrs) == others + len(live)
    with pytest.raises(KeyError):
        pwd.getpwnam(unix)
    pseudo = privacy.pseudonym(agent, privacy.DEMO_KEY)
    for word in (agent, unix, pseudo):
        for folder in (hub, course, lrs.base, homes, base / "env" / "home"):
            found = subprocess.run(["grep", "-rl", word, str(folder)], capture_output=True)
            assert found.stdout == b"", (word, found.stdout)
            named = [p for p in folder.rglob(f"*{word}*")]
            assert named == [], named
    log = (hub / "logs" / "jupyterhub.log").read_text()
    assert log.count("autre-apprenant") == 2 and log.count("[efface]") == 2
    import sqlite3

    with sqlite3.connect(hub / "jupyterhub.sqlite") as db:
        assert db.execute("select name from users").fetchall() == [("autre-apprenant",)]
    register = (hub / "rgpd" / "effacements.jsonl").read_text(encoding="utf-8").splitlines()
    entry = json.loads(register[-1])
    assert entry["empreinte"].startswith("h-") and entry["operateur"]
    assert entry["supprime"]["traces"] > 0 and entry["supprime"]["compte"] == 1
    assert agent not in register[-1]


def test_purge_with_one_month_removes_exactly_the_older_statements(room):
    lrs, course, env, base = room
    from incubo.rgpd_erase import months_ago

    cutoff = months_ago(datetime.now(UTC), 1)

    def old(s):
        return xapi.timestamp_of(s) < cutoff

    in_lrs = lrs.statements()
    files = [lrs.data / "fs_lrs.jsonl", *sorted((course / "evenements").glob("*.jsonl"))]
    expected = sum(1 for f in files for line in f.read_text().splitlines() if old(json.loads(line)))
    old_in_lrs = sum(1 for s in in_lrs if old(s))
    assert 0 < old_in_lrs < len(in_lrs)  # demo data spans both sides of the cutoff
    month = dict(env, INCUBO_CONSERVATION_MOIS="1")
    before = snapshot(course, lrs.data)
    r = incubo("rgpd", "purger", "--simulation", env=month)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == expected and "rien n'a été modifié" in r.stderr
    assert "(heure de Paris, conservation 1 mois)" in r.stderr  # the room's time, not UTC
    assert snapshot(course, lrs.data) == before
    r = incubo("rgpd", "purger", env=month)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == expected
    after = lrs.statements()
    assert len(after) == len(in_lrs) - old_in_lrs
    assert not any(old(s) for s in after)
    assert os.stat(lrs.data / "fs_lrs.jsonl").st_size > 0


def test_purge_on_a_hub_reaches_each_learners_own_journal_as_that_learner(room, tmp_path):
    lrs, course, env, base = room
    from incubo.hub import accounts

    agent = f"rgpd-{uuid.uuid4().hex[:8]}"
    homes, hub = tmp_path / "homes", tmp_path / "hub"
    unix, home = accounts.ensure_account(agent, homes)
    try:
        entry = pwd.getpwnam(unix)
        folder = home / ".incubo"
        (folder / "file-attente").mkdir(parents=True)
        stamps = ["2020-01-01T08:00:00.000Z", xapi.now(), "2020-02-01T08:00:00.000Z"]
        lines = [
            json.dumps(xapi.statement("experienced", parcours="p", actor_name=agent, timestamp=t))
            for t in stamps
        ]
        journal = folder / "evenements.jsonl"
        journal.write_text("\n".join(lines) + "\n")
        (folder / "file-attente" / "0001-ancienne.json").write_text(lines[0])
        victim = tmp_path / "fichier-root.json"  # a planted link is never followed
        victim.write_text(lines[0])
        (folder / "file-attente" / "0002-lien.json").symlink_to(victim)
        for p in [folder, *folder.rglob("*")]:
            os.lchown(p, entry.pw_uid, entry.pw_gid)
        hub_env = dict(
            env,
            INCUBO_HUB_DIR=str(hub),
            INCUBO_HUB_HOME_BASE=str(homes),
            INCUBO_CONSERVATION_MOIS="1",
        )
        before = journal.read_bytes()
        r = incubo("rgpd", "purger", "--simulation", env=hub_env)
        assert r.returncode == 0, r.stderr
        assert int(r.stdout) == 3 and str(folder) in r.stderr
        assert journal.read_bytes() == before
        r = incubo("rgpd", "purger", env=hub_env)
        assert r.returncode == 0, r.stderr
        assert int(r.stdout) == 3
        assert [json.loads(x)["timestamp"] for x in journal.read_text().splitlines()] == [stamps[1]]
        assert journal.stat().st_uid == entry.pw_uid
        assert not (folder / "file-attente" / "0001-ancienne.json").exists()
        assert victim.read_text() == lines[0]
    finally:
        accounts.remove_account(agent)
