"""RGPD in the room, for real: a new agent reads the notice, objects to research, and is left out.

Real hub, Ralph behind the gate, Chromium: the agent's first screen is the notice
(« Mes données »), acknowledged with the keyboard; in « Mon parcours » they object to
research, with the keyboard; both are recorded by the gate in the hub's RGPD store (the
services account's). The progression and séance reports built afterwards hold none of
their data and say how many were left out; the trainer's dashboard still shows them.
Shares the séance tests' hub (`seance_support.seance_room`).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest
import requests
from harness import BIN, axe_violations, incubo, wait_for
from hub_support import unique_name
from seance_support import MODULE, seance_room  # noqa: F401 (a fixture)
from test_hub_services import tab_to
from test_seance_hub import act, statements

from incubo import rgpd, xapi
from incubo.hub import accounts, lrs_keys
from incubo.reports import privacy

KEY = "cle-de-test-rgpd-0123456789abcdef"


def store_rows(hub, name: str, agent: str) -> list[dict]:
    path = hub.hub_dir / "rgpd" / name
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in rows if r.get("agent") == agent]


#: A hand-in and a feedback page in the learner's own exchange folders, through their view (a
#: module no other test collects).
HAND_IN = """import os, pathlib
me = os.environ["JUPYTERHUB_USER"]
view = pathlib.Path.home() / ".incubo" / "echange" / "incubo"
sub = view / "inbound" / f"{me}+rgpd-essai+2026-12-01 10:00:00.000000 UTC"
sub.mkdir()
(sub / "01-lecon.ipynb").write_text("COPIE-" + me)
(view / "feedback" / "retour-rgpd.html").write_text("RETOUR-" + me)
"""


def download_own_archive(hub, page, agent: str, other: str, ack: dict, tmp_path) -> None:
    """« Télécharger mes données » by keyboard: the export's layout, as many statements as the
    LRS holds for the agent, their acknowledgement and objection, nothing of the other agent."""
    page.goto(f"{hub.url}/user/{agent}/incubo/mes-donnees")
    assert axe_violations(page) == []
    tab_to(page, "e.textContent.includes('archive ZIP')", "« Toutes mes données »")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "mes-donnees-incubo.zip"
    with zipfile.ZipFile(saved) as archive:
        files = {n.split("/", 1)[1]: archive.read(n) for n in archive.namelist()}
    traces = json.loads(files["traces.json"])
    in_lrs = statements(hub, agent=json.dumps(xapi.actor(agent, hub.url)))
    assert len(traces) == len(in_lrs) > 0 and {xapi.learner_of(s) for s in traces} == {agent}
    rows = json.loads(files["choix-et-accuses.json"])
    assert [a["version"] for a in rows["accuses_notice"]] == [ack["version"]]
    assert [c["recherche"] for c in rows["choix_recherche"]] == [False]
    assert {r["agent"] for r in rows["accuses_notice"] + rows["choix_recherche"]} == {agent}
    readme = files["LISEZMOI.md"].decode("utf-8")
    assert "**exclues**" in readme and f"incubo rgpd exporter {agent} -o DOSSIER" in readme
    assert other not in readme and other not in files["traces.csv"].decode("utf-8-sig")
    sub = f"copies/echange-inbound/{agent}+rgpd-essai+2026-12-01 10:00:00.000000 UTC"
    assert files[f"{sub}/01-lecon.ipynb"] == f"COPIE-{agent}".encode()
    assert files["copies/echange-feedback/retour-rgpd.html"] == f"RETOUR-{agent}".encode()
    assert not [name for name in files if other in name]


def erase_in_the_running_room(hub, agent: str, other: str, other_lab, board) -> None:
    """`incubo rgpd effacer` while the hub, its services and another learner run: no file of the
    hub folder, course folder, LRS data or homes names the agent, their account and hub user are
    gone, the dashboard drops them at once, the other learner works on."""
    gradebook = hub.course_dir / "gradebook.db"
    url = f"sqlite:///{gradebook}"
    made = subprocess.run(  # the room's (empty) gradebook made real, with both agents in it
        [
            BIN / "python",
            "-c",
            f"from nbgrader.api import Gradebook\nwith Gradebook({url!r}) as gb:\n"
            f"    gb.add_student({agent!r}); gb.add_student({other!r})",
        ],
        env=dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}"),
        capture_output=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    unix = accounts.unix_name(agent)
    home = Path(pwd.getpwnam(unix).pw_dir)
    others_before = len(statements(hub, agent=json.dumps(xapi.actor(other, hub.url))))
    try:
        erased = incubo("rgpd", "effacer", agent, "--oui", env=hub.env, timeout=300)
        assert erased.returncode == 0 and "Traceback" not in erased.stderr, erased.stderr
        with pytest.raises(KeyError):
            pwd.getpwnam(unix)
        assert not home.exists()
        assert statements(hub, agent=json.dumps(xapi.actor(agent, hub.url))) == []
        pseudo = privacy.pseudonym(agent, KEY.encode())
        for word in (agent, unix, pseudo):
            for folder in (hub.hub_dir, hub.course_dir, hub.base / "homes"):
                found = subprocess.run(["grep", "-rF", word, str(folder)], capture_output=True)
                assert found.stdout == b"", (word, found.stdout.decode()[-6000:])
                assert not list(folder.rglob(f"*{word}*")), (word, folder)
        # (asked last: the hub logs the name of a user asked for, as it would for any visitor)
        assert hub.api("GET", f"/users/{agent}").status_code == 404
        with contextlib.closing(sqlite3.connect(gradebook)) as db:
            assert db.execute("select id from student").fetchall() == [(other,)]
        entry = json.loads(
            (hub.hub_dir / "rgpd" / "effacements.jsonl").read_text().splitlines()[-1]
        )
        assert entry["supprime"]["compte"] == 1 and agent not in json.dumps(entry)
        # the trainer's dashboard drops them at once (not at its next full read); the other goes on
        wait_for(
            lambda: agent not in board.inner_text("#personnes"),
            timeout=20,
            what="the erased agent gone from the dashboard",
        )
        assert other in board.inner_text("#personnes")
        act(other_lab, "from incubo.widgets import demarrer\ndemarrer('01-lecon')")
        assert len(statements(hub, agent=json.dumps(xapi.actor(other, hub.url)))) > others_before
    finally:
        gradebook.write_bytes(b"")  # as the shared room had it (same file, owner and mode)


def test_a_new_agent_reads_the_notice_objects_and_is_left_out_of_research(
    seance_room,  # noqa: F811 (the fixture imported above)
    browser,
    tmp_path,
):
    hub = seance_room
    opened = incubo("seance", "ouvrir", MODULE, env=hub.env)  # as the services account
    assert opened.returncode == 0, opened.stderr
    code = opened.stdout.split()[-1]
    agent, other = unique_name("r"), unique_name("a")
    try:
        ctx = browser.new_context(locale="fr-FR", bypass_csp=True)  # Playwright's waits need eval
        page = ctx.new_page()
        # 1. first login: the notice is the first screen, nothing acknowledged yet
        hub.login(page, agent)
        page.wait_for_url(f"**/user/{agent}/incubo/mes-donnees", timeout=240_000)
        text = page.locator("main").inner_text()
        assert "Bienvenue" in text and "Vos données dans incubo" in text, text
        assert store_rows(hub, rgpd.ACKS, agent) == []
        assert axe_violations(page) == []
        tab_to(page, "e.tagName === 'BUTTON'", "« J'ai lu la notice »")
        assert page.evaluate("document.activeElement.innerText") == "J'ai lu la notice"
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/user/{agent}/incubo/commencez-ici", timeout=60_000)
        (ack,) = store_rows(hub, rgpd.ACKS, agent)
        assert ack["version"] == rgpd.notice().version  # the default notice, as the gate's
        services = pwd.getpwnam(hub.env["INCUBO_HUB_COMPTE_SERVICES"]).pw_uid
        assert (hub.hub_dir / "rgpd" / rgpd.ACKS).stat().st_uid == services
        # the gate records a choice only under the caller's own learner name
        door = hub.url + "/services/lrs/rgpd/recherche"
        assert requests.post(door, json={"inclus": False}, timeout=30).status_code == 401
        reader = lrs_keys.reader_auth(lrs_keys.gate_secret(hub.hub_dir), "formateurs")
        refused = requests.post(
            door, json={"inclus": False}, auth=tuple(reader.split(":", 1)), timeout=30
        )
        assert refused.status_code == 403 and "agent" in refused.json()["detail"]
        assert store_rows(hub, rgpd.CHOICES, agent) == []
        # the next visit goes straight to « Commencez ici »
        page.goto(f"{hub.url}/user/{agent}/incubo/accueil")
        page.wait_for_url(f"**/user/{agent}/incubo/commencez-ici", timeout=60_000)

        # 2. « Mon parcours »: included by default (opposition), objects with the keyboard
        page.goto(f"{hub.url}/user/{agent}/incubo/mon-parcours")
        assert "peuvent servir à la recherche" in page.inner_text("#choix-actuel")
        assert axe_violations(page) == []
        tab_to(page, "e.type === 'radio'", "the research choice")
        page.keyboard.press("ArrowDown")  # from « Oui » (checked) to « Non »
        assert page.evaluate("document.activeElement.value") == "non"
        tab_to(page, "e.tagName === 'BUTTON'", "« Enregistrer mon choix »")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "document.getElementById('choix-actuel').innerText.includes('ne servent pas')"
        )
        assert axe_violations(page) == []
        choice = store_rows(hub, rgpd.CHOICES, agent)[-1]
        assert choice["recherche"] is False and choice["source"] == "agent"

        # 3. both act during the séance; the objector's statements are in the LRS all the same
        labs = hub.labs(agent, other)
        for lab in labs:
            act(lab, "from incubo.widgets import demarrer\ndemarrer('01-lecon')")
            act(lab, HAND_IN)  # as the learner, in their own exchange folders
        assert statements(hub, agent=json.dumps(xapi.actor(agent, hub.url)))
        download_own_archive(hub, page, agent, other, ack, tmp_path)

        # 4. the reports leave the objector out and say so
        reader = lrs_keys.reader_auth(lrs_keys.gate_secret(hub.hub_dir), "recherche")
        env = dict(hub.env, INCUBO_LRS_AUTH=reader, INCUBO_PSEUDONYM_KEY=KEY)
        said = "Choix des agents : &lt; 2 personnes exclues de ce rapport"
        source = ["-p", "evenements", hub.url + "/services/lrs/", "-p", "k", "2"]
        derogation = ["--derogation-k", "test-rgpd-2-apprenants"]
        gradebook = f"sqlite:///{tmp_path / 'carnet.db'}"  # the room's is still empty: no grades
        made = subprocess.run(  # nbgrader runs `alembic` from PATH
            [BIN / "python", "-c", f"from nbgrader.api import Gradebook; Gradebook({gradebook!r})"],
            env=dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}"),
            capture_output=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        built = {}
        for name, params in (
            ("progression", ["-p", "carnet", gradebook]),
            ("seance", ["-p", "seance", code]),
        ):
            r = incubo("report", name, *params, *source, *derogation, "-o", tmp_path, env=env)
            assert r.returncode == 0, r.stderr
            built[name] = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        gone = privacy.pseudonym(agent, KEY.encode())
        for name, html in built.items():
            assert said in html, name
            assert agent not in html and gone not in html and other not in html, name

        # 5. the trainer's own follow-up still shows the objector
        board = browser.new_context(locale="fr-FR", bypass_csp=True).new_page()
        hub.login(board, hub.trainer)
        board.wait_for_load_state()
        assert board.goto(hub.url + "/services/tableau-de-bord/").status == 200
        wait_for(
            lambda: agent in board.inner_text("#personnes"),
            timeout=60,
            what="the objector on the trainer's dashboard",
        )

        # 6. then they ask for erasure, while the room runs
        erase_in_the_running_room(hub, agent, other, labs[1], board)
        board.context.close()
        ctx.close()
    finally:
        incubo("seance", "fermer", code, env=hub.env)
