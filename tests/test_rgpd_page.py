"""« Mes données » in a learner's server: the notice, and all their data to download (real Ralph, gate, Chromium).

The learner's Jupyter server reads through the real LRS gate (in front of a real Ralph) with
the learner's own credential, as on a hub: their statements, the grades autograde recorded
(posted with the grader's credential), and their own rows of the RGPD store (the gate's
`rgpd/donnees`). Their hand-in and feedback page are in the exchange, reached through their
view (`~/.incubo/echange/<course>/…`), next to another learner's folder that must never show.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pandas as pd
import pytest
import requests
from harness import BIN, axe_violations, free_port, http_ok, isolated_env, running
from nbgrader.utils import notebook_hash
from test_lrs import RALPH_BIN, Ralph
from test_rgpd import lrs_count, post
from test_seance_registration import HOMEPAGE, PREFIX, XAPI, GateThread

from incubo import rgpd, room_lrs, xapi
from incubo.authority import by_grader
from incubo.hub import lrs_keys

ME, OTHER = "agent-moi", "agent-autre"
SECRET = "secret-de-remise-moi"
ZIP = "mes-donnees-incubo.zip"


def credential(hub_dir, name: str) -> tuple[str, str]:
    user, password = lrs_keys.learner_auth(lrs_keys.gate_secret(hub_dir), name).split(":", 1)
    return user, password


def plant_exchange(base) -> None:
    """Each learner's hand-in and feedback in the exchange; the view of `ME` in their home."""
    for name in (ME, OTHER):
        sub = base / "exchange" / "incubo" / "inbound" / name / f"{name}+m+2026-12-01 10:00:00 UTC"
        sub.mkdir(parents=True)
        (sub / "m.ipynb").write_text(f'{{"copie": "COPIE-DE-{name}"}}', encoding="utf-8")
        (sub / "submission_secret.txt").write_text(f"secret-de-remise-{name[6:]}")
        feedback = base / "exchange" / "incubo" / "feedback" / name
        feedback.mkdir(parents=True)
        page = notebook_hash(secret=f"secret-de-remise-{name[6:]}", notebook_id="m") + ".html"
        (feedback / page).write_text(f"<p>RETOUR-POUR-{name}</p>", encoding="utf-8")
    mine = base / "exchange" / "incubo" / "inbound" / ME / f"{ME}+m+2026-12-01 10:00:00 UTC"
    (mine / "lien.ipynb").symlink_to(
        base / "exchange" / "incubo" / "inbound" / OTHER
    )  # never followed
    view = base / ".incubo" / "echange" / "incubo"
    view.mkdir(parents=True)
    for kind in ("inbound", "feedback"):
        (view / kind).symlink_to(base / "exchange" / "incubo" / kind / ME)


def plant_spool(home, delivered: dict) -> None:
    """The learner's spool: one statement still waiting, one already delivered, one refused."""
    spool = home / ".incubo" / "file-attente"
    (spool / "refusees").mkdir(parents=True)
    waiting = xapi.statement("experienced", parcours="p", actor_name=ME, homepage=HOMEPAGE)
    refused = dict(waiting, id=str(uuid.uuid4()), actor=xapi.actor(OTHER, HOMEPAGE))
    (spool / "1-attente.json").write_text(json.dumps(waiting), encoding="utf-8")
    (spool / "2-livree.json").write_text(json.dumps(delivered), encoding="utf-8")
    (spool / "refusees" / "3-autre.json").write_text(json.dumps(refused), encoding="utf-8")


def learners_statements() -> tuple[list[dict], list[dict]]:
    mine = [
        xapi.statement(
            "attempted",
            parcours="p",
            module="m",
            kind="exercice",
            ident=f"ex-{i}",
            result={"success": i % 2 == 0, "score": xapi.score(1.5, 2)},
            actor_name=ME,
            homepage=HOMEPAGE,
        )
        for i in range(14)
    ]
    mine.append(
        xapi.statement(
            "answered",
            parcours="p",
            module="m",
            kind="quiz",
            ident="seance-ABC123",
            result={"response": "b"},
            actor_name=ME,
            homepage=HOMEPAGE,
        )
    )
    theirs = [
        xapi.statement("experienced", parcours="p", actor_name=OTHER, homepage=HOMEPAGE)
        for _ in range(9)
    ]
    return mine, theirs


def grades(name: str, score: float) -> list[dict]:
    """What `incubo grade autograde` records for one graded cell (scored, then passed or failed)."""
    return [
        xapi.statement(
            verb,
            parcours="p",
            module="m",
            kind="exercice",
            ident="note-1",
            result={"score": xapi.score(score, 2), "success": score >= 2},
            actor_name=name,
            homepage=HOMEPAGE,
        )
        for verb in ("scored", "passed" if score >= 2 else "failed")
    ]


def record_rgpd(hub_dir, gate: GateThread) -> None:
    """Each learner acknowledges the notice and makes a choice, through the gate as themselves."""
    door = gate.url.rsplit("/xAPI", 1)[0] + "/rgpd"
    version = rgpd.notice().version
    for name, included in ((ME, True), (OTHER, False)):
        auth = credential(hub_dir, name)
        r = requests.post(door + "/accuse", json={"version": version}, auth=auth, timeout=30)
        assert r.status_code == 200, r.text
        r = requests.post(door + "/recherche", json={"inclus": included}, auth=auth, timeout=30)
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not (RALPH_BIN / "ralph").exists():
        pytest.fail("Ralph n'est pas installé : lancez « make ralph » (crée .venv-ralph).")
    base = tmp_path_factory.mktemp("mes-donnees")
    env = isolated_env(base / "env")
    hub_dir = base / "hub"
    hub_dir.mkdir()
    lrs = Ralph(base / "ralph", env)
    lrs.start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INCUBO_RGPD_DIR", str(base / "rgpd"))  # the gate's store (in this process)
        gate = GateThread(hub_dir, lrs.url)
        try:
            mine, theirs = learners_statements()
            post(lrs, mine + theirs)
            grader = tuple(lrs_keys.grader_auth(lrs_keys.gate_secret(hub_dir)).split(":", 1))
            for body in (grades(ME, 1.5), grades(ME, 2.0), grades(OTHER, 0.5)):  # ME regraded
                r = requests.post(gate.url, json=body, auth=grader, headers=XAPI, timeout=30)
                assert r.status_code == 200, r.text
            record_rgpd(hub_dir, gate)
            plant_exchange(base)
            plant_spool(base / "env" / "home", mine[0])
            yield from serve(base, env, hub_dir, lrs, gate)
        finally:
            gate.stop()
            lrs.stop()


def serve(base, env, hub_dir, lrs, gate):
    port, token = free_port(), uuid.uuid4().hex
    env.update(
        JUPYTERHUB_USER=ME,
        INCUBO_LRS_URL=f"http://127.0.0.1:{gate.port}{PREFIX}xAPI/statements",
        INCUBO_LRS_AUTH=":".join(credential(hub_dir, ME)),  # the learner's own, as on a hub
        INCUBO_RGPD_CONTACT="dpd@exemple.gouv.fr",
    )
    cmd = [
        BIN / "jupyter",
        "server",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={base}",
        "--ServerApp.jpserver_extensions={'incubo.hub.rgpd_page': True}",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(
        cmd,
        env=env,
        ready=lambda: http_ok(f"{url}/api/status?token={token}"),
        log=base / "server.log",
    ):
        yield url + "/incubo/mes-donnees", token, lrs_count(lrs, ME), lrs, hub_dir, gate


def test_the_learner_downloads_their_own_statements_only(server):
    url, token, count, *_ = server
    r = requests.get(url + "/traces.csv", params={"token": token}, timeout=30)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(r.content), sep=";", decimal=",", encoding="utf-8-sig")
    assert len(frame) == count and {ME} == {
        xapi.learner_of(s)
        for s in requests.get(url + "/traces.json", params={"token": token}).json()
    }
    anonymous = requests.get(url + "/traces.csv", timeout=30, allow_redirects=False)
    assert anonymous.status_code in (302, 403)  # only the server's owner


def unzipped(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return {name: z.read(name) for name in z.namelist()}


def check_archive(files: dict[str, bytes], in_lrs: int) -> None:
    """The export's layout and README; ME's data, all of it their rights reach, and nobody else's:
    the LRS's statements and the one still waiting in their spool."""
    count = in_lrs + 1
    top = "mes-donnees-incubo/"
    assert {n[len(top) :] for n in files if "/copies/" not in f"/{n[len(top) :]}"} == {
        "LISEZMOI.md",
        "traces.json",
        "traces.csv",
        "seances.csv",
        "notes.csv",
        "choix-et-accuses.json",
    }
    traces = json.loads(files[top + "traces.json"])
    assert len(traces) == count and {xapi.learner_of(s) for s in traces} == {ME}
    assert sum(by_grader(s) for s in traces) == 4  # the grades, on the grader's word
    frame = pd.read_csv(io.BytesIO(files[top + "traces.csv"]), sep=";", encoding="utf-8-sig")
    assert len(frame) == count
    answers = pd.read_csv(io.BytesIO(files[top + "seances.csv"]), sep=";", encoding="utf-8-sig")
    assert list(answers["reponse"]) == ["b"]
    notes = files[top + "notes.csv"].decode("utf-8-sig").splitlines()
    assert notes == ["module;exercice;note;note_max", "m;note-1;2,0;2,0"]  # the newest grading
    rows = json.loads(files[top + "choix-et-accuses.json"])
    assert [a["agent"] for a in rows["accuses_notice"]] == [ME]
    assert [(c["agent"], c["recherche"]) for c in rows["choix_recherche"]] == [(ME, True)]
    copies = sorted(n[len(top) :] for n in files if n.startswith(top + "copies/"))
    page = notebook_hash(secret=SECRET, notebook_id="m") + ".html"
    assert copies == [
        f"copies/echange-feedback/{page}",
        f"copies/echange-inbound/{ME}+m+2026-12-01 10:00:00 UTC/m.ipynb",
        f"copies/echange-inbound/{ME}+m+2026-12-01 10:00:00 UTC/submission_secret.txt",
    ]
    assert f"RETOUR-POUR-{ME}".encode() in files[f"{top}copies/echange-feedback/{page}"]
    everything = b"".join(files.values())
    assert OTHER.encode() not in everything  # no row, copy, page nor statement of another learner
    readme = files[top + "LISEZMOI.md"].decode("utf-8")
    assert f"vos {count} traces d'activité" in readme and "**incluses**" in readme
    assert "Ce que cette archive ne contient pas" in readme
    assert f"incubo rgpd exporter {ME} -o DOSSIER" in readme and "dpd@exemple.gouv.fr" in readme
    assert "lien.ipynb" in readme  # the link left out, said


def test_the_archive_holds_all_the_learners_data_and_nobody_elses(server):
    url, token, count, lrs, *_ = server
    assert count == lrs_count(lrs, ME) == 14 + 1 + 4
    r = requests.get(f"{url}/{ZIP}", params={"token": token}, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    check_archive(unzipped(r.content), count)
    anonymous = requests.get(f"{url}/{ZIP}", timeout=30, allow_redirects=False)
    assert anonymous.status_code in (302, 403)


def test_the_gate_gives_a_learner_their_own_rgpd_rows_only(server):
    *_, hub_dir, gate = server
    door = gate.url.rsplit("/xAPI", 1)[0] + "/rgpd/donnees"
    for name, included in ((ME, True), (OTHER, False)):
        r = requests.get(door, auth=credential(hub_dir, name), timeout=30)
        assert r.status_code == 200, r.text
        rows = r.json()
        assert {a["agent"] for a in rows["accuses_notice"]} == {name}
        assert [(c["agent"], c["recherche"]) for c in rows["choix_recherche"]] == [(name, included)]
    assert requests.get(door, timeout=30).status_code == 401
    reader = room_lrs.reader_auth(lrs_keys.gate_secret(hub_dir), "formateurs").split(":", 1)
    assert requests.get(door, auth=tuple(reader), timeout=30).status_code == 403
    forged = requests.get(door, auth=(OTHER, credential(hub_dir, ME)[1]), timeout=30)
    assert forged.status_code == 401  # one learner's password never opens another's rows
    assert requests.post(door, json={}, auth=credential(hub_dir, ME), timeout=30).status_code == 404


def test_the_page_shows_the_notice_and_is_keyboard_and_axe_clean(server, page, tmp_path):
    url, token, count, *_ = server
    page.goto(f"{url}?token={token}")
    assert page.locator("h1").inner_text() == "Mes données"
    text = page.locator("main").inner_text()
    assert "Vos données dans incubo" in text and "Version de la notice : 2026-12-1" in text
    assert f"incubo garde {count} traces" in text and "dpd@exemple.gouv.fr" in text
    assert "Vous avez lu cette version de la notice." in text
    assert axe_violations(page) == []
    for wanted, filename in (("archive ZIP", ZIP), ("tableur", "mes-traces.csv")):
        for _ in range(12):
            page.keyboard.press("Tab")
            if wanted in page.evaluate("document.activeElement.textContent"):
                break
        else:
            pytest.fail(f"le lien « {wanted} » n'est pas atteignable au clavier")
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        assert download.value.suggested_filename == filename
        if filename == ZIP:
            saved = tmp_path / ZIP
            download.value.save_as(saved)
            check_archive(unzipped(saved.read_bytes()), count)
